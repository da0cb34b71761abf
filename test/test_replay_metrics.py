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

"""Replay metrics on cases whose answer is known."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.replay import metrics
import pytest

JOINTS = ('a', 'b')
DT = 20_000_000  # 20 ms
T0 = 5 * 10**18  # a large absolute time, as in real bags


def truth_series(duration_s: float = 4.0):
    times = T0 + np.arange(0, int(duration_s * 1e9) + 1, 10_000_000, dtype=np.int64)
    t = (times - T0) / 1e9
    values = np.stack([np.sin(t), 0.5 * t], axis=1)  # (N, 2)
    return times, values


def truth_at(times_ns: np.ndarray) -> np.ndarray:
    t = (times_ns - T0) / 1e9
    return np.stack([np.sin(t), 0.5 * t], axis=1)


def chunks_from(offset_fn, starts_s=(0.0, 0.5, 1.0, 1.5), horizon=10):
    chunks = []
    for s in starts_s:
        stamp = T0 + int(s * 1e9)
        rows = stamp + DT * np.arange(1, horizon + 1)
        positions = truth_at(rows) + offset_fn(np.arange(horizon))[:, None]
        chunks.append(ActionChunk(positions, stamp, DT, JOINTS))
    return chunks


def test_interpolation_is_exact_on_linear_data_and_nan_outside():
    times = np.array([T0, T0 + 10**9, T0 + 3 * 10**9])
    values = np.array([[0.0, 1.0], [1.0, 3.0], [3.0, 7.0]])  # both columns linear in t
    query = np.array([T0 - 1, T0, T0 + 2 * 10**9 + 500_000_000, T0 + 3 * 10**9 + 1])
    out = metrics.interpolate_series(times, values, query)
    assert np.all(np.isnan(out[[0, 3]]))
    np.testing.assert_allclose(out[1], [0.0, 1.0])
    np.testing.assert_allclose(out[2], [2.5, 6.0])


def test_perfect_prediction_has_zero_error():
    times, values = truth_series()
    errors = metrics.chunk_errors(chunks_from(lambda k: 0.0 * k), times, values)
    summary = metrics.error_summary(errors, JOINTS)
    assert summary['mae'] == pytest.approx(0.0, abs=1e-4)  # linear interpolation of sin
    assert summary['rmse'] == pytest.approx(0.0, abs=1e-4)
    assert summary['rows_with_truth'] == 40


def test_constant_offset_gives_that_offset_everywhere():
    times, values = truth_series()
    errors = metrics.chunk_errors(chunks_from(lambda k: 0.3 + 0.0 * k), times, values)
    summary = metrics.error_summary(errors, JOINTS)
    assert summary['mae'] == pytest.approx(0.3, abs=1e-4)
    assert summary['rmse'] == pytest.approx(0.3, abs=1e-4)
    np.testing.assert_allclose(summary['per_step']['mae'], 0.3, atol=1e-4)
    for name in JOINTS:
        assert summary['per_joint'][name]['mae'] == pytest.approx(0.3, abs=1e-4)
    np.testing.assert_allclose(summary['per_chunk']['rmse'], 0.3, atol=1e-4)


def test_error_growing_with_horizon_step_is_seen_per_step():
    times, values = truth_series()
    errors = metrics.chunk_errors(chunks_from(lambda k: 0.01 * (k + 1)), times, values)
    summary = metrics.error_summary(errors, JOINTS)
    np.testing.assert_allclose(summary['per_step']['mae'], 0.01 * np.arange(1, 11), atol=1e-4)
    expected_rmse = np.sqrt(np.mean((0.01 * np.arange(1, 11)) ** 2))
    assert summary['rmse'] == pytest.approx(expected_rmse, abs=1e-4)


def test_rows_without_truth_are_left_out():
    times, values = truth_series(duration_s=1.6)
    # the last chunk starts at 1.5 s: rows 6..10 (1.62 s ..) have no truth
    chunk_list = chunks_from(lambda k: np.where(k >= 5, 100.0, 0.2))
    summary = metrics.error_summary(metrics.chunk_errors(chunk_list, times, values), JOINTS)
    assert summary['rows_with_truth'] == 35
    assert summary['per_step']['mae'][9] == pytest.approx(100.0, abs=1e-3)  # chunks 0-2 only
    assert summary['per_chunk']['mae'][3] == pytest.approx(0.2, abs=1e-4)


def test_stream_error_against_truth():
    times, values = truth_series()
    summary = metrics.stream_error_summary(times, values - 0.1, times, values, JOINTS)
    assert summary['mae'] == pytest.approx(0.1)
    assert summary['per_joint']['b']['rmse'] == pytest.approx(0.1)


def test_latency_summary_percentiles():
    timings = [{'preprocess': 1.0, 'model': float(v)} for v in range(1, 101)]
    summary = metrics.latency_summary(timings)
    assert summary['model']['count'] == 100
    assert summary['model']['p50'] == pytest.approx(50.5)
    assert summary['model']['max'] == 100.0
    assert summary['total']['max'] == 101.0
    assert summary['preprocess']['p99'] == 1.0


def test_shape_errors_name_the_field():
    with pytest.raises(ValueError, match='values'):
        metrics.interpolate_series(np.arange(3), np.zeros((4, 2)), np.arange(2))
    with pytest.raises(ValueError, match='errors'):
        metrics.error_summary(np.zeros((2, 3, 4)), JOINTS)
