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

"""Chunk scheduling: latency compensation, splicing, exhaustion, pending rows, the JTC path."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog
import pytest

MS = 1_000_000
ROW = 20 * MS
NAMES = ('a', 'b', 'c')
LIMITS = JointLimits(NAMES, -2.0, 2.0, 1.0, 10.0)


def ramp_chunk(stamp_ns: int, start: float, speed: float = 0.5, horizon: int = 50,
               names=NAMES) -> ActionChunk:
    """Every joint moves from `start` at `speed` rad/s; row k at stamp + (k+1) * 20 ms."""
    times_s = np.arange(1, horizon + 1) * ROW * 1e-9
    rows = np.repeat((start + speed * times_s)[:, None], len(names), axis=1)
    return ActionChunk(rows, stamp_ns, ROW, names)


def ready_executor(config=None, log=None, at=0.0, now=0) -> TrajectoryExecutor:
    executor = TrajectoryExecutor(LIMITS, config or ExecutorConfig(state_timeout_s=None), log)
    executor.update_joint_state(np.full(3, at), now)
    return executor


def run(executor, start_ns, end_ns, step_ns=2 * MS):
    return [executor.tick(t) for t in range(start_ns, end_ns, step_ns)]


def test_tick_is_none_until_ready_then_holds_the_first_joint_state():
    executor = TrajectoryExecutor(LIMITS)
    assert executor.tick(0) is None
    executor.update_joint_state(np.array([0.1, 0.2, 0.3]), 5 * MS)
    command = executor.tick(6 * MS)
    np.testing.assert_array_equal(command.positions, [0.1, 0.2, 0.3])
    assert (command.status, command.reason) == ('holding', 'startup')


def test_chunk_enters_at_its_latency_and_past_rows_are_skipped():
    executor = ready_executor(ExecutorConfig(state_timeout_s=None, blend_window_s=0.0,
                                             max_blend_window_s=0.0))
    chunk = ramp_chunk(stamp_ns=0, start=0.0)
    decision = executor.submit(chunk, now_ns=150 * MS)  # 150 ms of inference: rows 0-6 passed
    assert decision.accepted and decision.first_row == 7
    pending = executor.pending_rows(150 * MS)
    assert pending.first_index == 7
    np.testing.assert_array_equal(pending.times_ns, chunk.row_times_ns()[7:])
    # with snapping (no blend) the command is the chunk's own trajectory from then on
    command = executor.tick(160 * MS)
    np.testing.assert_allclose(command.positions, chunk.positions[7], atol=1e-12)


def test_splice_is_continuous_and_settles_on_the_new_chunk():
    log = CommandLog()
    executor = ready_executor(log=log)
    first = ramp_chunk(0, 0.0, speed=0.5)
    assert executor.submit(first, 100 * MS).accepted
    run(executor, 100 * MS, 400 * MS)
    # a newer chunk that disagrees by 5 cm and moves slower
    second = ramp_chunk(300 * MS, 0.15 + 0.05, speed=0.2, horizon=100)
    decision = executor.submit(second, 400 * MS)
    assert decision.accepted and decision.blend_s >= 0.2
    commands = run(executor, 400 * MS, 1600 * MS)
    positions = np.array([c.positions for c in commands])
    steps = np.abs(np.diff(positions, axis=0))
    assert steps.max() <= 1.0 * 0.002 + 1e-12  # never faster than the velocity limit
    velocities = np.diff(positions[:, 0]) / 0.002
    assert np.abs(np.diff(velocities)).max() / 0.002 <= 10.0 * 1.05  # acceleration limit
    # after the blend the command follows the new chunk's rows exactly
    settle = 400 * MS + int(decision.blend_s * 1e9)
    row = int(np.searchsorted(second.row_times_ns(), settle)) + 1
    at_row = commands[(int(second.row_times_ns()[row]) - 400 * MS) // (2 * MS)]
    assert at_row.stamp_ns == second.row_times_ns()[row]
    np.testing.assert_allclose(at_row.positions, second.positions[row], atol=1e-12)
    assert at_row.reason == 'chunk'
    assert commands[0].reason == 'blending'


def test_naive_snap_config_jumps_in_the_reference_but_the_command_stays_limited():
    executor = ready_executor(ExecutorConfig(state_timeout_s=None, blend_window_s=0.0,
                                             max_blend_window_s=0.0))
    executor.submit(ramp_chunk(0, 0.0, speed=0.0), 100 * MS)
    run(executor, 100 * MS, 200 * MS)
    executor.submit(ramp_chunk(150 * MS, 0.1, speed=0.0), 200 * MS)
    before = executor.last_command
    command = executor.tick(202 * MS)  # 4 ms after the last tick (198 ms)
    assert command.limited
    # accelerating from rest at 10 rad/s^2 for 4 ms: 0.08 mrad, not the 0.1 rad jump
    np.testing.assert_allclose(command.positions - before.positions, 0.5 * 10.0 * 0.004 ** 2)
    np.testing.assert_allclose(command.velocities, 10.0 * 0.004)
    commands = run(executor, 204 * MS, 800 * MS)
    assert max(np.abs(c.velocities).max() for c in commands) <= 1.0
    np.testing.assert_allclose(commands[-1].positions, executor.active_chunk.positions[-1]
                               if executor.tracking else commands[-1].positions)


def test_chunk_that_runs_out_brakes_and_holds_with_a_reason():
    executor = ready_executor()
    chunk = ramp_chunk(0, 0.0, speed=0.5, horizon=10)
    executor.submit(chunk, 100 * MS)
    commands = run(executor, 100 * MS, 1500 * MS)  # rows end at 200 ms, the splice later
    assert commands[0].status == 'tracking'
    last = commands[-1]
    assert (last.status, last.reason) == ('holding', 'chunk_exhausted')
    np.testing.assert_array_equal(last.velocities, 0.0)
    positions = np.array([c.positions[0] for c in commands])
    velocity = np.diff(positions) / 0.002
    assert np.abs(np.diff(velocity)).max() / 0.002 <= 10.0 * 1.05  # braked, no sudden stop
    assert executor.pending_rows(1500 * MS).times_ns.size == 0


def test_out_of_order_and_reset_drop_chunks():
    executor = ready_executor()
    assert executor.submit(ramp_chunk(100 * MS, 0.0), 200 * MS).accepted
    older = executor.submit(ramp_chunk(50 * MS, 0.0), 210 * MS)
    assert not older.accepted and older.reason.startswith('out_of_order')
    run(executor, 200 * MS, 300 * MS)
    executor.reset(np.array([0.3, 0.3, 0.3]), 300 * MS)
    assert executor.active_chunk is None
    command = executor.tick(302 * MS)
    assert (command.status, command.reason) == ('holding', 'reset')
    np.testing.assert_array_equal(command.positions, 0.3)
    before = executor.submit(ramp_chunk(250 * MS, 0.3), 320 * MS)
    assert not before.accepted and before.reason.startswith('before_reset')
    assert executor.submit(ramp_chunk(305 * MS, 0.3), 400 * MS).accepted


def test_reset_with_velocity_brakes_instead_of_stopping_dead():
    executor = ready_executor()
    executor.reset(np.zeros(3), 0, velocities=np.array([1.0, 0.0, -1.0]))
    commands = run(executor, 2 * MS, 300 * MS)
    positions = np.array([c.positions for c in commands])
    assert positions[-1, 0] == pytest.approx(0.05, abs=1e-3)  # v^2 / (2 a) = 1 / 20
    assert positions[-1, 2] == pytest.approx(-0.05, abs=1e-3)
    np.testing.assert_array_equal(commands[-1].velocities, 0.0)


@pytest.mark.parametrize('interpolation', ['linear', 'cubic', 'quintic'])
def test_jtc_trajectory_is_stamped_increasing_and_matches_ticks(interpolation):
    executor = ready_executor(ExecutorConfig(state_timeout_s=None, interpolation=interpolation))
    executor.submit(ramp_chunk(0, 0.0), 100 * MS)
    run(executor, 100 * MS, 200 * MS)
    executor.submit(ramp_chunk(120 * MS, 0.09), 200 * MS)
    points = executor.splice_trajectory(200 * MS)
    ticks = {c.stamp_ns: c for c in run(executor, 200 * MS, 200 * MS + int(
        points.time_from_start_ns[-1]) + 2 * MS)}
    assert points.stamp_ns == 200 * MS and points.joint_names == NAMES
    assert points.time_from_start_ns[0] > 0
    assert (np.diff(points.time_from_start_ns) > 0).all()
    assert np.isfinite(points.velocities).all()
    np.testing.assert_array_equal(points.velocities[-1], 0.0)
    # the points are the command's own future: where the chunks are within the limits, what
    # the ticks give exactly; where the command catches up (at 20 ms steps instead of 2 ms), close
    for k in range(len(points.positions)):
        tick = ticks[points.stamp_ns + int(points.time_from_start_ns[k])]
        np.testing.assert_allclose(points.positions[k], tick.positions, atol=5e-3)
        np.testing.assert_allclose(points.velocities[k], tick.velocities, atol=0.1)
    # the last point is where the executor comes to rest by itself: no velocity zeroed early
    np.testing.assert_array_equal(tick.velocities, 0.0)


def test_jtc_trajectory_while_holding_ends_at_rest():
    executor = ready_executor()
    executor.reset(np.zeros(3), 0, velocities=np.array([0.5, 0.0, 0.0]))
    points = executor.splice_trajectory(0)
    assert (np.diff(points.time_from_start_ns) > 0).all()
    np.testing.assert_allclose(points.positions[-1, 0], 0.0125, atol=1e-6)  # 0.25 / 20
    np.testing.assert_array_equal(points.velocities[-1], 0.0)


def test_reordered_joint_names_are_accepted():
    executor = ready_executor(ExecutorConfig(state_timeout_s=None, blend_window_s=0.0,
                                             max_blend_window_s=0.0))
    chunk = ramp_chunk(0, 0.0, names=('c', 'a', 'b'))
    rows = chunk.positions.copy()
    rows[:, 0] += 0.01  # joint c differs
    decision = executor.submit(ActionChunk(rows, 0, ROW, ('c', 'a', 'b')), 100 * MS)
    assert decision.accepted
    np.testing.assert_array_equal(executor.active_chunk.positions,
                                  rows[:, [1, 2, 0]])  # in the executor's joint order
    ticks = {c.stamp_ns: c for c in run(executor, 102 * MS, 900 * MS)}
    command = ticks[880 * MS]
    assert not command.limited  # caught up with the chunk
    row = int(np.searchsorted(executor.active_chunk.row_times_ns(), command.stamp_ns))
    np.testing.assert_allclose(command.positions, [rows[row, 1], rows[row, 2], rows[row, 0]],
                               atol=1e-12)


@pytest.mark.parametrize('interpolation', ['linear', 'cubic', 'quintic'])
def test_splice_jerk_stays_within_the_stated_bound(interpolation):
    """
    Constant-velocity chunks have no jerk of their own: all jerk comes from the splices.

    Bound (splice.py): |jerk| <= 10.4 * headroom * a_max / blend_window_s during a blend.
    """
    log = CommandLog()
    config = ExecutorConfig(state_timeout_s=None, interpolation=interpolation)
    executor = ready_executor(config, log)
    assert executor.submit(ramp_chunk(0, 0.0, speed=0.3, horizon=100), 100 * MS).accepted
    run(executor, 100 * MS, 550 * MS)
    assert executor.submit(ramp_chunk(400 * MS, 0.17, speed=-0.2, horizon=100),
                           550 * MS).accepted
    run(executor, 550 * MS, 1900 * MS)
    times, positions = log.arrays()
    velocity = np.diff(positions[:, 0]) / 0.002
    jerk = np.diff(velocity, n=2) / 0.002 ** 2
    bound = 10.4 * config.blend_headroom * 10.0 / config.blend_window_s
    assert np.abs(jerk).max() <= bound
    assert np.abs(jerk).max() > 0.05 * bound  # the splices did need some jerk
    assert np.abs(np.diff(velocity)).max() / 0.002 <= config.blend_headroom * 10.0 * 1.01
