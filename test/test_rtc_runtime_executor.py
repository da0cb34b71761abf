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

"""The executor and real-time-chunking chunks: taken without a blend, or refused, or blended."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk, RtcInfo
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog, log_metrics

MS = 1_000_000
TICK = 2 * MS
ROW = 20 * MS
NAMES = ('a', 'b')
V_MAX, A_MAX = 2.0, 8.0
NOW = 1400 * MS  # when the next chunk arrives


def path(times_ns):
    """Return a smooth motion both chunks sample: 0.3 sin(t), 0.2 sin(1.5 t)."""
    t = np.asarray(times_ns) * 1e-9
    return np.stack([0.3 * np.sin(t), 0.2 * np.sin(1.5 * t)], axis=1)


def chunk(stamp_ns, offset=0.0, rtc=None, rows=50):
    times = stamp_ns + ROW * np.arange(1, rows + 1)
    return ActionChunk(path(times) + offset, stamp_ns, ROW, NAMES, rtc=rtc)


def running_executor(log=None):
    """Return an executor that has followed chunk(0) for 1.4 s (past its start-up blend)."""
    limits = JointLimits(NAMES, -3.0, 3.0, V_MAX, A_MAX)
    executor = TrajectoryExecutor(limits, ExecutorConfig(state_timeout_s=None), log)
    executor.update_joint_state(path([0])[0], 0)
    assert executor.submit(chunk(0, rows=150), 0).accepted
    for t in range(TICK, NOW + 1, TICK):
        executor.tick(t)
    assert executor.last_command.reason == 'chunk' and not executor.last_command.limited
    return executor


def run(executor, start_ns, end_ns):
    commands = []
    for t in range(start_ns, end_ns, TICK):
        commands.append(executor.tick(t))
    return commands


def test_rtc_chunk_that_continues_the_running_one_is_taken_without_a_blend():
    log = CommandLog()
    executor = running_executor(log)
    stamp = NOW - 60 * MS  # observed 3 rows before it arrives; 4 rows frozen
    new = chunk(stamp, rtc=RtcInfo(delay_rows=4, guided=True))
    decision = executor.submit(new, NOW)
    assert decision.accepted and decision.continued and decision.blend_s == 0.0
    assert decision.first_row == 3
    commands = run(executor, NOW + TICK, NOW + 500 * MS)
    assert all(c.reason == 'chunk' for c in commands)  # never 'blending'
    # the command goes on along the same motion (the chunk's rows, cubic between them)
    error = max(np.abs(c.positions - path([c.stamp_ns])[0]).max() for c in commands)
    assert error < 2e-3


def test_the_same_chunk_without_rtc_is_blended():
    executor = running_executor()
    decision = executor.submit(chunk(NOW - 60 * MS), NOW)
    assert decision.accepted and not decision.continued and decision.blend_s > 0.1


def test_rtc_chunk_that_does_not_agree_is_refused_by_the_first_row_check():
    executor = running_executor()
    decision = executor.submit(chunk(NOW - 60 * MS, offset=0.5, rtc=RtcInfo(4, True)), NOW)
    assert not decision.accepted and decision.reason.startswith('first_row')


def test_rtc_chunk_arriving_after_its_frozen_rows_is_blended():
    executor = running_executor()
    late = chunk(NOW - 100 * MS, offset=0.05, rtc=RtcInfo(delay_rows=2, guided=True))
    decision = executor.submit(late, NOW)  # 5 rows in, 2 frozen
    assert decision.accepted and not decision.continued and decision.blend_s > 0.1


def test_a_continued_chunk_off_the_command_still_moves_within_the_limits():
    """No blend, but the commanded state (Ruckig) joins the new rows within v/a limits."""
    log = CommandLog()
    executor = running_executor(log)
    decision = executor.submit(chunk(NOW - 60 * MS, offset=0.15, rtc=RtcInfo(4, True)), NOW)
    assert decision.accepted and decision.continued
    commands = run(executor, NOW + TICK, NOW + 800 * MS)
    assert any(c.limited for c in commands)  # the limits, not the chunk, shaped the join
    metrics = log_metrics(log)
    assert metrics.max_velocity.max() <= V_MAX * (1 + 1e-6)
    assert metrics.max_acceleration.max() <= A_MAX * (1 + 1e-3)
    final = commands[-1]
    assert np.abs(final.positions - (path([final.stamp_ns])[0] + 0.15)).max() < 2e-3


def test_plain_sampled_fallback_chunk_is_blended():
    executor = running_executor()
    fallback = chunk(NOW - 60 * MS, rtc=RtcInfo(0, False, 'late cycle'))
    decision = executor.submit(fallback, NOW)
    assert decision.accepted and not decision.continued and decision.blend_s > 0.1
