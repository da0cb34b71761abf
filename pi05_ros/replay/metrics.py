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
Replay metrics: predicted chunks against ground truth, and inference latency (numpy only).

Errors are ``prediction - truth`` in joint units (radians / metres). Ground truth is a time
series of joint vectors, linearly interpolated at each chunk row's time; a row whose time lies
outside the series has no truth (NaN) and is left out of every mean. The smoothness of the
executed command stream comes from the executor's own metrics (``pi05_ros.control.metrics``).
"""

from typing import Dict, List, Mapping, Sequence

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk

PERCENTILES = (50, 90, 99)


def interpolate_series(times_ns: np.ndarray, values: np.ndarray,
                       query_ns: np.ndarray) -> np.ndarray:
    """Linear interpolation of a (N, J) series at (M,) times; NaN outside [times[0], times[-1]]."""
    times_ns = np.asarray(times_ns, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    query_ns = np.asarray(query_ns, dtype=np.int64)
    if values.ndim != 2 or values.shape[0] != times_ns.shape[0]:
        raise ValueError(f'values: expected shape ({times_ns.shape[0]}, J), got {values.shape}')
    out = np.full((query_ns.shape[0], values.shape[1]), np.nan)
    if times_ns.shape[0] == 0:
        return out
    if np.any(np.diff(times_ns) < 0):
        raise ValueError('times_ns: expected non-decreasing times')
    # relative float seconds keep precision (int64 ns ~ 1e18 would lose it as float64)
    t0 = times_ns[0]
    t = (times_ns - t0) / 1e9
    q = (query_ns - t0) / 1e9
    inside = (query_ns >= times_ns[0]) & (query_ns <= times_ns[-1])
    for j in range(values.shape[1]):
        out[inside, j] = np.interp(q[inside], t, values[:, j])
    return out


def chunk_errors(chunks: Sequence[ActionChunk], truth_times_ns: np.ndarray,
                 truth_values: np.ndarray) -> np.ndarray:
    """(C, H, J) signed errors of each chunk row against the truth at that row's time."""
    if not chunks:
        num_joints = np.asarray(truth_values).reshape(len(truth_times_ns), -1).shape[1]
        return np.zeros((0, 0, num_joints))
    horizon = min(c.horizon for c in chunks)
    errors = []
    for chunk in chunks:
        truth = interpolate_series(truth_times_ns, truth_values, chunk.row_times_ns()[:horizon])
        errors.append(chunk.positions[:horizon] - truth)  # (H, J)
    return np.stack(errors)  # (C, H, J)


def _nanmean(x: np.ndarray, axis=None):
    with np.errstate(invalid='ignore'):
        count = np.sum(~np.isnan(x), axis=axis)
        total = np.nansum(x, axis=axis)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _mae_rmse(errors: np.ndarray, axis) -> Dict[str, np.ndarray]:
    return {'mae': _nanmean(np.abs(errors), axis=axis),
            'rmse': np.sqrt(_nanmean(errors ** 2, axis=axis))}


def error_summary(errors: np.ndarray, joint_names: Sequence[str]) -> Dict[str, object]:
    """MAE and RMSE overall, per horizon step, per joint and per chunk from (C, H, J) errors."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 3 or errors.shape[2] != len(joint_names):
        raise ValueError(f'errors: expected shape (C, H, {len(joint_names)}), '
                         f'got {errors.shape}')
    overall = _mae_rmse(errors, axis=None)
    per_step = _mae_rmse(errors, axis=(0, 2))  # (H,)
    per_joint = _mae_rmse(errors, axis=(0, 1))  # (J,)
    per_chunk = _mae_rmse(errors, axis=(1, 2))  # (C,)
    return {
        'num_chunks': int(errors.shape[0]),
        'horizon': int(errors.shape[1]),
        'rows_with_truth': int(np.sum(~np.isnan(errors[..., 0]))) if errors.size else 0,
        'mae': float(overall['mae']),
        'rmse': float(overall['rmse']),
        'per_step': {k: to_list(v) for k, v in per_step.items()},
        'per_joint': {name: {'mae': float(per_joint['mae'][j]),
                             'rmse': float(per_joint['rmse'][j])}
                      for j, name in enumerate(joint_names)},
        'per_chunk': {k: to_list(v) for k, v in per_chunk.items()},
    }


def stream_error_summary(times_ns: np.ndarray, positions: np.ndarray, truth_times_ns: np.ndarray,
                         truth_values: np.ndarray,
                         joint_names: Sequence[str]) -> Dict[str, object]:
    """MAE/RMSE of an executed command stream (T, J) against the truth at the same times."""
    positions = np.asarray(positions, dtype=np.float64).reshape(len(times_ns), -1)
    truth = interpolate_series(truth_times_ns, truth_values, times_ns)
    errors = positions - truth  # (T, J)
    overall = _mae_rmse(errors, axis=None)
    per_joint = _mae_rmse(errors, axis=0)
    return {
        'samples_with_truth': int(np.sum(~np.isnan(errors[:, 0]))) if errors.size else 0,
        'mae': float(overall['mae']),
        'rmse': float(overall['rmse']),
        'per_joint': {name: {'mae': float(per_joint['mae'][j]),
                             'rmse': float(per_joint['rmse'][j])}
                      for j, name in enumerate(joint_names)},
    }


def latency_summary(timings: Sequence[Mapping[str, float]]) -> Dict[str, Dict[str, float]]:
    """Per stage (plus 'total' = sum of stages, if absent): count, mean, p50/p90/p99, max (ms)."""
    stages: Dict[str, List[float]] = {}
    for timing in timings:
        for stage, ms in timing.items():
            stages.setdefault(stage, []).append(float(ms))
        if timing and 'total' not in timing:
            stages.setdefault('total', []).append(float(sum(timing.values())))
    summary = {}
    for stage, values in stages.items():
        v = np.asarray(values)
        summary[stage] = {'count': int(v.size), 'mean': float(v.mean()), 'max': float(v.max())}
        for p in PERCENTILES:
            summary[stage][f'p{p}'] = float(np.percentile(v, p))
    return summary


def to_list(x: np.ndarray) -> list:
    """JSON-friendly list; NaN becomes None."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(x, dtype=np.float64)]
