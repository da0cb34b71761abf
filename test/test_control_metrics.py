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

"""Command-stream metrics: derivatives, seams, held time, refusals."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog, derivatives, log_metrics, stream_metrics
import pytest

MS = 1_000_000


def test_derivatives_of_a_cubic_are_exact():
    times = np.arange(0, 200) * 2 * MS
    t = times * 1e-9
    positions = np.stack([t ** 3, 2.0 * t], axis=1)
    velocity, acceleration, jerk = derivatives(times, positions)
    np.testing.assert_allclose(jerk[:, 0], 6.0, rtol=1e-6)
    np.testing.assert_allclose(velocity[:, 1], 2.0, rtol=1e-9)
    np.testing.assert_allclose(acceleration[:, 1], 0.0, atol=1e-6)


def test_seam_metrics_see_a_jump_only_at_the_seam():
    times = np.arange(0, 100) * 10 * MS
    positions = np.zeros((100, 1))
    positions[50:] = 0.1  # a 0.1 step between ticks 49 and 50
    jumped = stream_metrics(times, positions, seam_times_ns=[times[50]])
    assert jumped.seam_max_step == pytest.approx(0.1)
    assert jumped.max_velocity[0] == pytest.approx(10.0)
    elsewhere = stream_metrics(times, positions, seam_times_ns=[times[20]])
    assert elsewhere.seam_max_step == 0.0
    with pytest.raises(ValueError, match='times_ns'):
        stream_metrics(times[::-1], positions)


def test_log_metrics_count_held_time_and_refusals():
    names = ('a', 'b')
    log = CommandLog()
    executor = TrajectoryExecutor(JointLimits(names, -1, 1, 1, 10),
                                  ExecutorConfig(state_timeout_s=None), log)
    executor.update_joint_state(np.zeros(2), 0)
    for t in range(0, 100 * MS, 10 * MS):
        executor.tick(t)
    bad = np.zeros((10, 2))
    bad[3, 1] = np.nan
    executor.submit(ActionChunk(bad, 90 * MS, 20 * MS, names), 100 * MS)
    executor.submit(ActionChunk(np.zeros((10, 2)), 90 * MS, 20 * MS, names), 100 * MS)
    for t in range(100 * MS, 200 * MS, 10 * MS):
        executor.tick(t)
    metrics = log_metrics(log)
    assert metrics.refused == {'non_finite': 1}
    assert metrics.holding_s == pytest.approx(0.1)  # ticks 0-90 ms held (startup)
    assert list(log.seam_times_ns()) == [100 * MS]
    assert metrics.as_dict()['refused'] == {'non_finite': 1}
