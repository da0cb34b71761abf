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

"""Splice edge cases: old chunk ending, chunks faster than blends, jerk limits, chunk run-out."""


import numpy as np
from pi05_ros.control import executor as executor_module
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, MAX_BLEND_DEPTH, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog, derivatives, log_metrics
from pi05_ros.control.trajectory import Blend
import pytest

MS = 1_000_000
TICK = 2 * MS
ROW = 20 * MS
NAMES = ('a', 'b')
A_MAX = 8.0


def still(stamp_ns: int, value: float, horizon: int = 50) -> ActionChunk:
    return ActionChunk(np.full((horizon, 2), value), stamp_ns, ROW, NAMES)


def make(limits=None, config=None, log=None) -> TrajectoryExecutor:
    limits = limits or JointLimits(NAMES, -3.0, 3.0, 2.0, A_MAX)
    executor = TrajectoryExecutor(limits, config or ExecutorConfig(state_timeout_s=None), log)
    executor.update_joint_state(np.zeros(2), 0)
    return executor


def blend_depth(executor: TrajectoryExecutor) -> int:
    depth, reference = 0, executor._reference
    while isinstance(reference, Blend):
        depth, reference = depth + 1, reference.old
    return depth


def test_splice_just_before_the_old_chunk_ends_keeps_the_acceleration_budget():
    """
    The old chunk's rows end 50 ms after the splice; the blend must not be cut to fit them.

    Both chunks stand still, so all acceleration is the blend's: at most headroom * a_max.
    (Capping the blend at the old chunk's end gave 21.6 rad/s^2 here, 2.7x a_max.)
    """
    log = CommandLog()
    config = ExecutorConfig(state_timeout_s=None)
    executor = make(config=config, log=log)
    assert executor.submit(still(0, 0.0, horizon=10), 10 * MS).accepted  # rows end at 200 ms
    for t in range(10 * MS, 150 * MS, TICK):
        executor.tick(t)
    decision = executor.submit(still(100 * MS, 0.15), 150 * MS)
    assert decision.accepted and decision.blend_s > 0.05 + config.blend_window_s
    for t in range(150 * MS, 1500 * MS, TICK):
        executor.tick(t)
    metrics = log_metrics(log)
    assert metrics.max_acceleration.max() <= config.blend_headroom * A_MAX * 1.01
    assert executor.last_command.positions == pytest.approx([0.15, 0.15], abs=1e-12)


def run_fast_stream(log: CommandLog, period_ms: int = 50):
    """Chunks every period_ms (80 ms inference) for 3 s; blends last >= 0.2 s, so they overlap."""
    names = tuple(f'j{i}' for i in range(6))
    limits = JointLimits(names, -3.0, 3.0, 2.0, 10.0)
    executor = TrajectoryExecutor(limits, ExecutorConfig(state_timeout_s=None,
                                                         interpolation='quintic'), log)
    executor.update_joint_state(np.zeros(6), 0)
    rng = np.random.default_rng(0)
    depths = []
    for now in range(TICK, 3000 * MS, TICK):
        if now % (period_ms * MS) == 0 and now > 80 * MS:
            stamp = now - 80 * MS
            times_s = (stamp + ROW * np.arange(1, 51)) * 1e-9
            rows = 0.3 * np.sin(times_s[:, None] * np.linspace(1, 2, 6)) + rng.normal(0, 0.05, 6)
            assert executor.submit(ActionChunk(rows, stamp, ROW, names), now).accepted
            depths.append(blend_depth(executor))
        executor.tick(now)
    return depths


def test_chunks_faster_than_blends_keep_the_blends_per_tick_bounded(monkeypatch):
    bounded, unbounded = CommandLog(), CommandLog()
    depths = run_fast_stream(bounded)
    assert max(depths) == MAX_BLEND_DEPTH  # blends evaluated per tick never exceed this
    monkeypatch.setattr(executor_module, 'MAX_BLEND_DEPTH', 1000)
    assert max(run_fast_stream(unbounded)) > 2 * MAX_BLEND_DEPTH  # they would without the cap
    # the sampled copy of the oldest blend commands the same motion, to well below an encoder tick
    difference = np.abs(np.array(bounded.positions) - np.array(unbounded.positions)).max()
    assert difference < 1e-6
    assert log_metrics(bounded).max_acceleration.max() <= 10.0
    assert not any(bounded.limited)


def test_jerk_limit_lengthens_the_blend_to_keep_the_splice_jerk_within_headroom():
    """Still chunks 0.1 rad apart: the blend's jerk is 60 D / T^3 at its ends, <= h * j_max."""
    streams = {}
    for max_jerk in (None, 20.0):
        log = CommandLog()
        limits = JointLimits(NAMES, -3.0, 3.0, 2.0, A_MAX, max_jerk=max_jerk)
        executor = make(limits, log=log)
        executor.submit(still(0, 0.0), 10 * MS)
        decision = executor.submit(still(20 * MS, 0.1), 40 * MS)
        for t in range(40 * MS, 1500 * MS, TICK):
            executor.tick(t)
        times, positions = log.arrays()
        streams[max_jerk] = (decision.blend_s, np.abs(derivatives(times, positions)[2]).max())
    headroom = ExecutorConfig().blend_headroom
    blend_s, jerk = streams[20.0]
    assert blend_s >= np.cbrt(60 * 0.1 / (headroom * 20.0))
    assert 0.5 * headroom * 20.0 < jerk <= headroom * 20.0
    assert streams[None][1] > 10 * jerk  # without a jerk limit the blend is shorter and harsher


def test_chunk_running_out_during_a_blend_overshoots_at_most_the_braking_distance():
    """
    A short chunk ends while it is still being blended in; the hold then brakes at a_max.

    The executor never decelerates ahead of a chunk's last row (that would leave the rows), so
    past it the command travels on by at most v_last^2 / (2 a_max) and holds there.
    """
    executor = make()
    assert executor.submit(still(0, 0.0), 10 * MS).accepted
    rows = 0.02 + 0.01 * np.arange(1, 11)[:, None].repeat(2, axis=1)  # 0.5 rad/s, ends at 0.12
    decision = executor.submit(ActionChunk(rows, 80 * MS, ROW, NAMES), 100 * MS)
    assert decision.accepted and decision.blend_s > (280 - 100) * 1e-3  # outlasts the rows
    commands = [executor.tick(t) for t in range(100 * MS, 2000 * MS, TICK)]
    last = commands[-1]
    assert (last.status, last.reason) == ('holding', 'chunk_exhausted')
    overshoot = max(c.positions[0] for c in commands) - rows[-1, 0]
    assert overshoot <= 0.5 ** 2 / (2 * A_MAX) + 1e-9
    np.testing.assert_array_equal(last.velocities, 0.0)


def test_infinite_acceleration_limit_is_refused_with_a_clear_error():
    limits = JointLimits(NAMES, -3.0, 3.0, 2.0, np.inf)
    with pytest.raises(ValueError, match='max_acceleration: the executor needs finite'):
        make(limits)
