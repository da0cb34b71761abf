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
Property tests: whatever chunks arrive, the emitted command stays safe.

Random chunk streams (random walks, NaNs, jumps, out-of-limit rows, wrong joints, stale and
out-of-order stamps), random inference delays, irregular ticks and joint-state dropouts: no tick
emits a non-finite value, a position outside the limits or a step above the velocity limit; every
refused chunk is logged with its reason; a refused chunk never changes what is executed.
"""

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog

MS = 1_000_000
NAMES = ('shoulder', 'elbow', 'wrist', 'gripper')
LIMITS = JointLimits(NAMES, [-1.0, -2.0, -np.inf, 0.0], [1.0, 0.5, np.inf, 0.08],
                     [1.0, 1.5, 3.0, 0.1], [5.0, 8.0, 20.0, 1.0])
FAULTS = ('none', 'none', 'none', 'nan', 'inf', 'jump', 'outside', 'names', 'stale', 'old',
          'far')


def make_chunk(rng, fault: str, start: np.ndarray, stamp_ns: int, dt_ns: int, horizon: int,
               last_stamp: int) -> ActionChunk:
    steps = rng.uniform(-0.8, 0.8, (horizon, len(NAMES))) * LIMITS.max_velocity * dt_ns * 1e-9
    rows = LIMITS.clamp_positions(start + np.cumsum(steps, axis=0))
    names = NAMES
    if fault == 'nan':
        rows[rng.integers(horizon), rng.integers(len(NAMES))] = np.nan
    elif fault == 'inf':
        rows[rng.integers(horizon), rng.integers(len(NAMES))] = -np.inf
    elif fault == 'jump':
        rows[rng.integers(1, horizon):, 0] += 0.5
    elif fault == 'outside':
        rows[:, 3] = 0.2
    elif fault == 'names':
        names = ('shoulder', 'elbow', 'wrist', 'finger')
    elif fault == 'stale':
        stamp_ns -= 5_000 * MS
    elif fault == 'old':
        stamp_ns = last_stamp - 1  # out of order, or before the startup
    elif fault == 'far':
        rows = rows + 0.5
    return ActionChunk(rows, stamp_ns, dt_ns, names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 31 - 1),
       faults=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=8),
       interpolation=st.sampled_from(['linear', 'cubic', 'quintic']),
       blend_window_s=st.sampled_from([0.0, 0.1, 0.3]),
       dt_ms=st.sampled_from([20, 33, 67]),
       horizon=st.integers(2, 30),
       state_dropout=st.booleans())
def test_emitted_commands_are_always_safe(seed, faults, interpolation, blend_window_s, dt_ms,
                                          horizon, state_dropout):
    rng = np.random.default_rng(seed)
    log = CommandLog()
    config = ExecutorConfig(interpolation=interpolation, blend_window_s=blend_window_s,
                            max_blend_window_s=max(blend_window_s, 0.5), state_timeout_s=0.1,
                            chunk_timeout_s=1.0)
    executor = TrajectoryExecutor(LIMITS, config, log)
    measured = LIMITS.clamp_positions(rng.uniform(-0.5, 0.5, len(NAMES)))
    measured[3] = 0.04
    executor.update_joint_state(measured, 0)
    arrivals = []  # (arrival_ns, fault)
    now = 0
    for fault in faults:
        now += int(rng.uniform(50, 600) * MS)
        arrivals.append((now, fault))
    end_ns = now + 1_500 * MS
    dropout = (int(rng.uniform(0, end_ns)), int(rng.uniform(100, 400) * MS))
    last_stamp, previous, t = 0, None, 0
    while t < end_ns:
        t += int(rng.integers(1, 15)) * MS  # irregular ticks, 1-14 ms
        in_dropout = state_dropout and dropout[0] <= t < dropout[0] + dropout[1]
        if not in_dropout:
            executor.update_joint_state(measured, t)
        while arrivals and arrivals[0][0] <= t:
            _, fault = arrivals.pop(0)
            stamp = t - int(rng.uniform(0, 350) * MS)
            command = executor.last_command
            start = command.positions if command is not None else measured
            chunk = make_chunk(rng, fault, start, stamp, dt_ms * MS, horizon, last_stamp)
            decision = executor.submit(chunk, t)
            if decision.accepted:
                last_stamp = chunk.stamp_ns
            else:
                assert decision.reason  # every refusal says why
            if fault in ('nan', 'inf', 'jump', 'outside', 'names', 'old', 'far'):
                assert not decision.accepted, fault
        command = executor.tick(t)
        assert np.isfinite(command.positions).all() and np.isfinite(command.velocities).all()
        assert (command.positions >= LIMITS.lower).all()
        assert (command.positions <= LIMITS.upper).all()
        assert (np.abs(command.velocities) <= LIMITS.max_velocity).all()
        if previous is not None:
            max_step = LIMITS.max_velocity * (t - previous.stamp_ns) * 1e-9
            assert (np.abs(command.positions - previous.positions) <= max_step + 1e-12).all()
        if in_dropout and t - dropout[0] > 100 * MS:
            assert command.status == 'holding'
        previous = command
        measured = command.positions  # a perfect position-controlled robot
    refused = log.refused()
    assert len(refused) == sum(executor.refusals.values())
    assert all(reason.split(':')[0] in executor.refusals for _, _, reason in refused)
    # long after the last chunk the robot holds still
    final = executor.tick(end_ns + 3_000 * MS)
    assert final.status == 'holding'
    np.testing.assert_array_equal(final.velocities, 0.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), fault=st.sampled_from(FAULTS[3:8]))
def test_a_refused_chunk_does_not_change_the_command_stream(seed, fault):
    rng = np.random.default_rng(seed)
    config = ExecutorConfig(state_timeout_s=None)
    streams = []
    for submit_bad in (False, True):
        executor = TrajectoryExecutor(LIMITS, config)
        executor.update_joint_state(np.array([0.0, 0.0, 0.0, 0.04]), 0)
        good = make_chunk(np.random.default_rng(seed), 'none', executor.tick(0).positions,
                          0, 20 * MS, 30, 0)
        assert executor.submit(good, 10 * MS).accepted
        stream = []
        for t in range(10 * MS, 900 * MS, 5 * MS):
            if submit_bad and t == 300 * MS:
                bad = make_chunk(rng, fault, executor.last_command.positions, 250 * MS, 20 * MS,
                                 30, 0)
                assert not executor.submit(bad, t).accepted
            stream.append(executor.tick(t).positions)
        streams.append(np.array(stream))
    np.testing.assert_array_equal(streams[0], streams[1])
