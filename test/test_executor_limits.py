# Copyright 2026 pi05_ros maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
The command the executor sends is its state, and it stays inside every limit.

Property tests drive the executor with random and adversarial chunk streams (jumps, noise,
NaN, stale and future stamps, too-short chunks, joint-state dropouts, resets, teleop targets)
and check every command and every point sent to joint_trajectory_controller against the
position, velocity, acceleration and jerk limits, from the command's own fields and as finite
differences. Each defect the issue measured on the previous executor has a regression test.
"""

from typing import List, Sequence

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
from pi05_ros.control import commanded_state
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import Command, ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
import pytest

MS = 1_000_000
NAMES = ('a', 'b', 'c')
LIMITS = JointLimits(NAMES, [-1.0, -2.0, -0.5], [1.0, 2.0, 0.5], [1.0, 2.0, 0.8],
                     [10.0, 20.0, 5.0], [500.0, 1000.0, 200.0])
RELATIVE = 1e-9


def within(values: np.ndarray, limit: np.ndarray) -> bool:
    return bool((np.abs(values) <= limit * (1.0 + RELATIVE) + 1e-12).all())


def assert_commands_within_limits(commands: Sequence[Command],
                                  limits: JointLimits = LIMITS) -> None:
    """Fields and finite differences of a command stream inside every limit."""
    positions = np.array([c.positions for c in commands])
    times = np.array([c.stamp_ns for c in commands], dtype=np.int64)
    assert np.isfinite(positions).all()
    assert (positions >= limits.lower).all() and (positions <= limits.upper).all()
    for c in commands:
        assert within(c.velocities, limits.max_velocity), c
        assert within(c.accelerations, limits.max_acceleration), c
    keep = np.concatenate([[True], np.diff(times) > 0])
    positions, times = positions[keep], times[keep]
    accelerations = np.array([c.accelerations for c in commands])[keep]
    dt = np.diff(times) * 1e-9
    assert within(np.diff(positions, axis=0) / dt[:, None], limits.max_velocity)
    assert within(np.diff(accelerations, axis=0) / dt[:, None], limits.max_jerk)
    if len(dt) > 1:
        velocity = np.diff(positions, axis=0) / dt[:, None]
        acceleration = np.diff(velocity, axis=0) / (0.5 * (dt[1:] + dt[:-1]))[:, None]
        assert within(acceleration, limits.max_acceleration)


def assert_points_consistent(executor: TrajectoryExecutor, now_ns: int,
                             limits: JointLimits = LIMITS) -> None:
    """JTC points: inside the limits, each consistent with the next, continuing the command."""
    points = executor.splice_trajectory(now_ns)
    last = executor.last_command
    times = np.concatenate([[last.stamp_ns], points.stamp_ns + points.time_from_start_ns])
    p = np.vstack([last.positions, points.positions])
    v = np.vstack([last.velocities, points.velocities])
    a = np.vstack([last.accelerations, points.accelerations])
    assert (np.diff(points.time_from_start_ns) > 0).all() and points.time_from_start_ns[0] > 0
    assert (p >= limits.lower).all() and (p <= limits.upper).all()
    assert within(v, limits.max_velocity) and within(a, limits.max_acceleration)
    dt = np.diff(times)[:, None] * 1e-9
    assert within(np.diff(p, axis=0) / dt, limits.max_velocity)
    assert within(np.diff(v, axis=0) / dt, limits.max_acceleration)
    assert within(np.diff(a, axis=0) / dt, limits.max_jerk)
    # consecutive points are samples of one motion: the trapezoid rule holds to its error bound
    position_error = np.abs(np.diff(p, axis=0) - 0.5 * (v[1:] + v[:-1]) * dt)
    assert (position_error <= limits.max_acceleration * dt ** 2 / 4 * (1 + 1e-6) + 1e-12).all()
    velocity_error = np.abs(np.diff(v, axis=0) - 0.5 * (a[1:] + a[:-1]) * dt)
    assert (velocity_error <= limits.max_jerk * dt ** 2 / 4 * (1 + 1e-6) + 1e-12).all()
    np.testing.assert_array_equal(points.velocities[-1], 0.0)


def chunk_from(start: np.ndarray, rows: int, dt_ns: int, stamp_ns: int, slope: np.ndarray,
               noise: float, rng: np.random.Generator) -> ActionChunk:
    times = np.arange(1, rows + 1)[:, None] * dt_ns * 1e-9
    positions = start + slope * times + rng.normal(0.0, noise, (rows, len(NAMES)))
    return ActionChunk(positions, stamp_ns, dt_ns, NAMES)


event = st.fixed_dictionaries({
    'dt_ms': st.sampled_from([1, 2, 5, 10, 10, 10, 20, 37]),
    'chunk': st.sampled_from([None] * 6 + ['near', 'noisy', 'step', 'fast', 'jump', 'limit',
                                           'nan', 'short', 'empty', 'future', 'stale']),
    'delay_ms': st.integers(0, 300),
    'slope': st.floats(-1.5, 1.5),
    'joint_state': st.sampled_from([True] * 8 + [False, 'future']),
    'other': st.sampled_from([None] * 20 + ['reset', 'hold', 'follow', 'jtc']),
    'seed': st.integers(0, 2 ** 16),
})


def run_stream(events, config: ExecutorConfig, limits: JointLimits = LIMITS) -> List[Command]:
    """Drive an executor with one scenario; checks JTC points along the way; returns commands."""
    executor = TrajectoryExecutor(limits, config)
    executor.update_joint_state(np.zeros(limits.num_joints), 0)
    commands: List[Command] = [executor.tick(0)]
    now = 0
    for e in events:
        now += e['dt_ms'] * MS
        rng = np.random.default_rng(e['seed'])
        command = executor.last_command.positions
        if e['joint_state'] is True:
            executor.update_joint_state(command, now - MS, now)
        elif e['joint_state'] == 'future':
            assert not executor.update_joint_state(command, now + 10_000 * MS, now)
        kind = e['chunk']
        if kind is not None:
            stamp = now - e['delay_ms'] * MS
            slope = np.full(limits.num_joints, e['slope'])
            if kind == 'future':
                stamp = now + 500 * MS
            elif kind == 'stale':
                stamp = now - 5000 * MS
            rows = {'short': 1, 'empty': 0}.get(kind, 30)
            start = command + {'step': 0.15, 'jump': 0.6, 'limit': 2.0}.get(kind, 0.0)
            noise = {'noisy': 0.01, 'fast': 0.0}.get(kind, 0.0005)
            if kind == 'fast':
                slope = slope * 10.0
            chunk = chunk_from(start, rows, 20 * MS, stamp, slope, noise, rng)
            if kind == 'nan' and rows:
                chunk.positions[5, 1] = np.nan
            decision = executor.submit(chunk, now)
            if kind in ('nan', 'short', 'empty', 'future', 'stale'):
                assert not decision.accepted and decision.reason
        if e['other'] == 'reset':
            commands.append(executor.tick(now))
            executor.hold(now, 'operator')
        elif e['other'] == 'hold':
            executor.hold(now, 'hold request')
        elif e['other'] == 'jtc':
            assert_points_consistent(executor, now, limits)
        if e['other'] == 'follow':
            target = limits.clamp_positions(command + rng.normal(0.0, 0.5, limits.num_joints))
            commands.append(executor.follow(target, now, 0.5))
        else:
            commands.append(executor.tick(now))
    return commands


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=150),
       interpolation=st.sampled_from(['linear', 'cubic', 'quintic']),
       blend=st.sampled_from([(0.0, 0.0), (0.2, 1.0), (0.05, 0.3)]))
def test_every_command_and_jtc_point_is_inside_every_limit(events, interpolation, blend):
    config = ExecutorConfig(interpolation=interpolation, blend_window_s=blend[0],
                            max_blend_window_s=blend[1], state_timeout_s=0.1,
                            chunk_timeout_s=0.5)
    assert_commands_within_limits(run_stream(events, config))


ADVERSARIAL = [{'dt_ms': 10, 'chunk': None, 'delay_ms': 0, 'slope': 0.0, 'joint_state': True,
                'other': None, 'seed': k} for k in range(120)]
for k, kind in ((1, 'step'), (20, 'noisy'), (45, 'step'), (60, 'limit'), (80, 'step')):
    ADVERSARIAL[k] = dict(ADVERSARIAL[k], chunk=kind, slope=0.5, delay_ms=10)


def test_breaking_the_limiter_makes_the_properties_fail(monkeypatch):
    """The properties can fail: a limiter that jumps to its target breaks them."""
    config = ExecutorConfig(blend_window_s=0.0, max_blend_window_s=0.0)
    assert_commands_within_limits(run_stream(ADVERSARIAL, config))  # the real limiter passes

    def jump_to_target(self, reference, dt_s, velocity_scale=1.0):
        self.positions, self.velocities, self.accelerations = (
            np.array(x, dtype=np.float64) for x in reference(dt_s))
        return True

    monkeypatch.setattr(commanded_state.CommandedState, 'track', jump_to_target)
    with pytest.raises(AssertionError):
        assert_commands_within_limits(run_stream(ADVERSARIAL, config))


def test_feasible_stream_is_tracked_exactly():
    """Chunks of one slow motion, spliced every 200 ms: the command is the spliced reference."""
    config = ExecutorConfig(state_timeout_s=None, interpolation='quintic')
    executor = TrajectoryExecutor(LIMITS, config)

    def motion(t_s):
        return 0.3 * np.sin(np.asarray(t_s)[..., None] * np.array([1.0, 1.5, 2.0]))

    executor.update_joint_state(motion(0.02), 0)  # at rest on the first row
    commands = []
    for now in range(0, 3000 * MS, 10 * MS):
        if now % (200 * MS) == 0:
            stamp = now - 50 * MS if now else 0
            rows = motion((stamp + 20 * MS * np.arange(1, 51)) * 1e-9)
            assert executor.submit(ActionChunk(rows, stamp, 20 * MS, NAMES), now).accepted
        commands.append(executor.tick(now))
    tracking = commands[30:]
    assert all(c.status == 'tracking' for c in tracking)
    assert max(c.tracking_error for c in tracking) <= 1e-9
    assert not any(c.limited for c in tracking)
    assert_commands_within_limits(commands)


# --- regressions: the defects measured on the previous executor ---------------------------

LINE = JointLimits(('j',), -10.0, 10.0, 1.0, 10.0, 500.0)


def line_chunk(stamp_ns: int, start: float, speed: float, rows: int = 100) -> ActionChunk:
    times = np.arange(1, rows + 1)[:, None] * 20e-3
    return ActionChunk(start + speed * times, stamp_ns, 20 * MS, ('j',))


def test_a_timeout_brakes_from_the_command_within_the_acceleration_limit():
    """Was: the command ran on at 1 rad/s after the timeout, then dropped at 97.7 rad/s^2."""
    executor = TrajectoryExecutor(LINE, ExecutorConfig(chunk_timeout_s=1.5, state_timeout_s=1.0))
    executor.update_joint_state(np.zeros(1), 0)
    commands = [executor.tick(0)]
    assert executor.submit(line_chunk(0, 0.0, 0.8, rows=200), 210 * MS).accepted
    for now in range(10 * MS, 2500 * MS, 10 * MS):
        executor.update_joint_state(executor.last_command.positions, now)
        commands.append(executor.tick(now))
    held = [c for c in commands if c.reason == 'chunk_timeout']
    assert held, 'the chunk timed out'
    at_timeout = commands[commands.index(held[0]) - 1]
    assert_commands_within_limits(commands, LINE)
    overshoot = held[-1].positions[0] - at_timeout.positions[0]
    speed = abs(at_timeout.velocities[0])
    assert overshoot <= speed ** 2 / (2 * 10.0) + speed * 10.0 / 500.0 + 1e-9  # v^2/2a + v a/j
    assert held[-1].velocities[0] == 0.0


def test_first_row_is_checked_against_the_command_not_the_reference():
    """Was: accepted 0.29 rad from the last command, refused a chunk starting at the arm."""
    config = ExecutorConfig(blend_window_s=0.0, max_blend_window_s=0.0, state_timeout_s=None,
                            max_first_row_deviation=0.2)
    executor = TrajectoryExecutor(LINE, config)
    executor.update_joint_state(np.zeros(1), 0)
    assert executor.submit(line_chunk(0, 0.19, 0.0), 20 * MS).accepted  # reference snaps
    command = executor.tick(30 * MS).positions[0]
    assert command < 0.01  # the command accelerates; the reference is already at 0.19
    far = executor.submit(line_chunk(20 * MS, 0.19 + 0.10, 0.0), 40 * MS)
    assert not far.accepted and far.reason.startswith('first_row_deviation')
    near = executor.submit(line_chunk(25 * MS, command - 0.1, 0.0), 40 * MS)
    assert near.accepted  # 0.1 from the command, 0.29 from the reference


def test_jtc_points_agree_with_their_velocities_and_the_limits():
    """Was: consecutive points implied 1.71 rad/s while their velocity fields said 1.0."""
    limits = JointLimits(('j',), -10.0, 10.0, 1.0, 10.0, 500.0)
    executor = TrajectoryExecutor(limits, ExecutorConfig(state_timeout_s=None))
    executor.update_joint_state(np.zeros(1), 0)
    executor.tick(10 * MS)
    assert executor.submit(line_chunk(0, 0.0, 0.95), 20 * MS).accepted
    executor.tick(20 * MS)
    assert executor.submit(line_chunk(10 * MS, 0.15, 0.95), 30 * MS).accepted  # a seam
    assert_points_consistent(executor, 30 * MS, limits)


def test_a_joint_state_from_the_future_does_not_feed_the_watchdog():
    """Was: one state stamped 10 s ahead kept the executor tracking for 1.9 s without states."""
    executor = TrajectoryExecutor(LINE, ExecutorConfig(state_timeout_s=0.25))
    executor.update_joint_state(np.zeros(1), 0)
    assert executor.submit(line_chunk(0, 0.0, 0.2), 20 * MS).accepted
    assert not executor.update_joint_state(np.zeros(1), 10_000 * MS, 30 * MS)
    assert executor.refusals['joint_state_from_future'] == 1
    commands = [executor.tick(t) for t in range(30 * MS, 400 * MS, 10 * MS)]
    assert commands[-1].reason == 'joint_state_stale'
    late = executor.submit(line_chunk(380 * MS, 0.0, 0.2), 400 * MS)
    assert not late.accepted and late.reason.startswith('joint_state_stale')


@pytest.mark.parametrize('rows', [0, 1])
def test_zero_and_one_row_chunks_are_refused_with_a_reason(rows):
    """Was: IndexError inside submit() for a zero-row chunk."""
    executor = TrajectoryExecutor(LINE)
    executor.update_joint_state(np.zeros(1), 0)
    decision = executor.submit(ActionChunk(np.zeros((rows, 1)), 0, 20 * MS, ('j',)), 10 * MS)
    assert not decision.accepted
    assert decision.reason == f'too_short: {rows} rows (expected at least 2)'


def test_looking_ahead_does_not_change_what_is_commanded():
    """splice_trajectory() and pending_rows() roll the command forward on a copy of everything."""
    rng = np.random.default_rng(5)
    config = ExecutorConfig(state_timeout_s=None, blend_window_s=0.3, max_blend_window_s=0.6)
    plain, looking = TrajectoryExecutor(LIMITS, config), TrajectoryExecutor(LIMITS, config)
    for executor in (plain, looking):
        executor.update_joint_state(np.zeros(3), 0)
    for now in range(10 * MS, 2000 * MS, 10 * MS):
        if now % (60 * MS) == 0:  # faster than the blends finish: they overlap
            start = plain.last_command.positions + rng.normal(0.0, 0.05, 3)
            chunk = chunk_from(start, 30, 20 * MS, now - 40 * MS, rng.normal(0.0, 0.3, 3), 0.002,
                               rng)
            assert plain.submit(chunk, now).accepted == looking.submit(chunk, now).accepted
            looking.splice_trajectory(now)
            looking.pending_rows(now)
        np.testing.assert_array_equal(plain.tick(now).positions, looking.tick(now).positions)


def test_limits_only_tighten_and_only_when_the_command_is_inside_them():
    executor = TrajectoryExecutor(LINE, ExecutorConfig(state_timeout_s=None))
    executor.update_joint_state(np.zeros(1), 0)
    assert executor.submit(line_chunk(0, 0.0, 0.9), 10 * MS).accepted
    commands = [executor.tick(t) for t in range(10 * MS, 500 * MS, 10 * MS)]
    assert commands[-1].velocities[0] > 0.5
    looser = JointLimits(('j',), -10.0, 10.0, 2.0, 10.0, 500.0)
    with pytest.raises(ValueError, match='limits.max_velocity: looser'):
        executor.tighten_limits(looser)
    slower = JointLimits(('j',), -10.0, 10.0, 0.5, 10.0, 500.0)
    with pytest.raises(ValueError, match='moving faster than the velocity'):
        executor.tighten_limits(slower)  # the command moves at 0.9 rad/s now
    assert executor.limits is LINE
    executor.hold(500 * MS, 'operator')
    commands += [executor.tick(t) for t in range(510 * MS, 1500 * MS, 10 * MS)]
    executor.tighten_limits(slower)  # at rest: fine
    assert executor.submit(line_chunk(1490 * MS, commands[-1].positions[0], 0.45),
                           1500 * MS).accepted
    assert not executor.submit(line_chunk(1495 * MS, commands[-1].positions[0], 0.9),
                               1500 * MS).accepted  # rows now too fast for 0.5 rad/s
    later = [executor.tick(t) for t in range(1510 * MS, 3000 * MS, 10 * MS)]
    assert max(abs(c.velocities[0]) for c in later) <= 0.5
    assert_commands_within_limits(later, slower)
