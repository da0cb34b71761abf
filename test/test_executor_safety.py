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

"""Safety: whole-chunk refusal, watchdogs, bad input."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog
import pytest

MS = 1_000_000
ROW = 20 * MS
NAMES = ('a', 'b')
LIMITS = JointLimits(NAMES, [-1.0, -1.0], [1.0, 1.0], 1.0, 10.0)


def still_chunk(stamp_ns: int, value: float = 0.0, horizon: int = 20) -> ActionChunk:
    return ActionChunk(np.full((horizon, 2), value), stamp_ns, ROW, NAMES)


def executor_with_state(config=None, log=None) -> TrajectoryExecutor:
    executor = TrajectoryExecutor(LIMITS, config or ExecutorConfig(), log)
    executor.update_joint_state(np.zeros(2), 0)
    return executor


def with_row(chunk: ActionChunk, row: int, values) -> ActionChunk:
    positions = chunk.positions.copy()
    positions[row] = values
    return ActionChunk(positions, chunk.stamp_ns, chunk.dt_ns, chunk.joint_names)


@pytest.mark.parametrize('mutate, reason', [
    (lambda c: with_row(c, 15, [np.nan, 0.0]), 'non_finite'),
    (lambda c: with_row(c, 19, [0.0, np.inf]), 'non_finite'),
    (lambda c: with_row(c, 12, [0.0, 0.05]), 'velocity_limits'),  # 2.5 rad/s for one row
    (lambda c: ActionChunk(c.positions + 0.3, c.stamp_ns, ROW, NAMES), 'first_row_deviation'),
    (lambda c: ActionChunk(c.positions, c.stamp_ns, ROW, ('a', 'x')), 'joint_names'),
    (lambda c: ActionChunk(c.positions[:, :1], c.stamp_ns, ROW, ('a',)), 'joint_names'),
    (lambda c: ActionChunk(c.positions, c.stamp_ns - 2_000 * MS, ROW, NAMES), 'stale'),
    (lambda c: ActionChunk(c.positions, c.stamp_ns + 500 * MS, ROW, NAMES), 'from_future'),
    (lambda c: ActionChunk(c.positions[:2], c.stamp_ns - 200 * MS, ROW, NAMES), 'expired'),
])
def test_bad_chunks_are_refused_whole_with_a_reason(mutate, reason):
    log = CommandLog()
    config = ExecutorConfig(state_timeout_s=None, max_chunk_age_s=1.0)
    executor = executor_with_state(config, log)
    now = 2_200 * MS
    held = executor.tick(now)
    decision = executor.submit(mutate(still_chunk(now - 100 * MS)), now)
    assert not decision.accepted
    assert decision.reason.startswith(reason), decision.reason
    assert executor.refusals == {reason: 1}
    assert log.refused()[0][2] == decision.reason
    # nothing of the refused chunk is executed: the held command stays
    after = executor.tick(now + 100 * MS)
    np.testing.assert_array_equal(after.positions, held.positions)
    assert after.status == 'holding'


def test_row_acceleration_check_is_opt_in():
    chunk = still_chunk(0)
    zigzag = chunk.positions.copy()
    zigzag[10::2] += 0.01  # +-25 rad/s^2 between rows
    chunk = ActionChunk(zigzag, 0, ROW, NAMES)
    lenient = executor_with_state(ExecutorConfig(state_timeout_s=None))
    assert lenient.submit(chunk, 100 * MS).accepted
    strict = executor_with_state(ExecutorConfig(state_timeout_s=None, row_acceleration_factor=2.0))
    assert strict.submit(chunk, 100 * MS).reason.startswith('acceleration_limits')


def test_rows_outside_position_limits_are_refused_beyond_the_margin_and_clamped_within():
    executor = executor_with_state(ExecutorConfig(state_timeout_s=None))
    executor.reset(np.array([0.9, 0.0]), 0)
    rows = np.zeros((20, 2))
    rows[:, 0] = 0.9 + 0.015 * np.arange(1, 21)  # 0.75 rad/s up to 1.2 (limit 1.0)
    refused = executor.submit(ActionChunk(rows, 0, ROW, NAMES), 50 * MS)
    assert refused.reason.startswith('position_limits: joints a ')
    rows[:, 0] = np.minimum(rows[:, 0], 1.01)  # within the 0.02 margin
    assert executor.submit(ActionChunk(rows, 10 * MS, ROW, NAMES), 50 * MS).accepted
    commands = [executor.tick(t) for t in range(50 * MS, 1500 * MS, 10 * MS)]
    highest = max(c.positions[0] for c in commands)
    assert 1.0 - 1e-6 < highest <= 1.0


def test_submit_before_any_state_is_refused():
    executor = TrajectoryExecutor(LIMITS)
    decision = executor.submit(still_chunk(0), 50 * MS)
    assert not decision.accepted and decision.reason.startswith('uninitialized')


def test_stale_joint_states_hold_and_refuse_new_chunks():
    executor = executor_with_state(ExecutorConfig(state_timeout_s=0.1))
    ramp = np.linspace(0.0, 0.3, 40)[:, None].repeat(2, axis=1)
    assert executor.submit(ActionChunk(ramp, 0, ROW, NAMES), 50 * MS).accepted
    assert executor.tick(90 * MS).status == 'tracking'
    # joint states stop at 0; 100 ms later the executor holds
    command = executor.tick(150 * MS)
    assert (command.status, command.reason) == ('holding', 'joint_state_stale')
    refused = executor.submit(ActionChunk(ramp, 140 * MS, ROW, NAMES), 160 * MS)
    assert refused.reason.startswith('joint_state_stale')
    # the hold brakes smoothly and stays within the velocity limit
    commands = [executor.tick(t) for t in range(152 * MS, 400 * MS, 2 * MS)]
    positions = np.array([c.positions for c in commands])
    assert np.abs(np.diff(positions, axis=0)).max() <= 0.002 + 1e-12
    np.testing.assert_array_equal(commands[-1].velocities, 0.0)
    # states resume: chunks are accepted again
    executor.update_joint_state(positions[-1], 400 * MS)
    start = positions[-1] + np.zeros((40, 2))
    assert executor.submit(ActionChunk(start, 390 * MS, ROW, NAMES), 400 * MS).accepted


def test_chunk_timeout_holds_when_the_policy_goes_quiet():
    executor = executor_with_state(ExecutorConfig(state_timeout_s=None, chunk_timeout_s=0.3))
    assert executor.submit(still_chunk(0, horizon=50), 50 * MS).accepted
    assert executor.tick(300 * MS).status == 'tracking'
    command = executor.tick(400 * MS)
    assert (command.status, command.reason) == ('holding', 'chunk_timeout')


def test_bad_inputs_raise_naming_the_field():
    executor = executor_with_state()
    with pytest.raises(ValueError, match='joint_state.positions'):
        executor.update_joint_state(np.zeros(3), 10)
    with pytest.raises(ValueError, match='command'):
        executor.reset(np.array([np.nan, 0.0]), 10)
    executor.tick(100 * MS)
    with pytest.raises(ValueError, match='now_ns'):
        executor.tick(50 * MS)
    with pytest.raises(ValueError, match='interpolation'):
        ExecutorConfig(interpolation='bezier')
    with pytest.raises(ValueError, match='blend_window_s'):
        ExecutorConfig(blend_window_s=2.0, max_blend_window_s=1.0)
    with pytest.raises(ValueError, match='state_timeout_s'):
        ExecutorConfig(state_timeout_s=0.0)
