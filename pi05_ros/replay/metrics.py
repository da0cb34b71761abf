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

from typing import Dict, List, Mapping, Optional, Sequence

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


def window_errors(times_ns: np.ndarray, positions: np.ndarray, truth_times_ns: np.ndarray,
                  truth_values: np.ndarray, starts_ns: Sequence[int]) -> Dict[str, list]:
    """
    MAE and RMSE of a stream (T, J) within each window ``[starts[i], starts[i + 1])``.

    The last window runs to the end of the stream. A window without a sample with truth is None.
    Pairs a command stream with the chunks whose observations start the windows.
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.float64).reshape(times_ns.size, -1)
    errors = positions - interpolate_series(truth_times_ns, truth_values, times_ns)  # (T, J)
    window = np.searchsorted(np.asarray(starts_ns, dtype=np.int64), times_ns, side='right') - 1
    mae, rmse = [], []
    for i in range(len(starts_ns)):
        inside = errors[window == i]
        summary = _mae_rmse(inside, axis=None) if inside.size else None
        mae.append(None if summary is None else to_list([summary['mae']])[0])
        rmse.append(None if summary is None else to_list([summary['rmse']])[0])
    return {'mae': mae, 'rmse': rmse}


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


# --- executed ticks against the limits -------------------------------------------------------

LIMIT_TOLERANCE = 1e-9  # relative: a value this close above its limit is not above it
COMMANDED = 'commanded'  # from the command's own fields (velocities, accelerations)
FINITE_DIFFERENCES = 'finite differences'  # from the commanded positions over the tick times
LIMIT_UNITS = {'position': 'rad', 'velocity': 'rad/s', 'acceleration': 'rad/s²',
               'jerk': 'rad/s³'}


def _midpoint_derivative(times_s: np.ndarray, values: np.ndarray):
    """(d values / dt at the interval midpoints, the midpoint times) of a (N, J) series."""
    dt = np.diff(times_s)
    return np.diff(values, axis=0) / dt[:, None], times_s[:-1] + 0.5 * dt


def _magnitude_check(quantity: str, source: str, values: np.ndarray, first_tick: int,
                     limit: np.ndarray, joint_names: Sequence[str], times_s: np.ndarray,
                     tolerance: float) -> Dict[str, object]:
    """Count the ticks where |values| (K, J) is above limit (J,) (inf: no limit on a joint)."""
    magnitude = np.abs(values)
    above = ~(magnitude <= limit * (1.0 + tolerance))  # NaN is above every limit
    ratio = np.where(np.isinf(limit), 0.0, magnitude / limit)
    return _check_result(quantity, source, above, first_tick, magnitude,
                         np.broadcast_to(limit, magnitude.shape), ratio, joint_names, times_s)


def _check_result(quantity: str, source: str, above: np.ndarray, first_tick: int,
                  values: np.ndarray, limits: np.ndarray, score: np.ndarray,
                  joint_names: Sequence[str], times_s: np.ndarray) -> Dict[str, object]:
    """One check's JSON: ticks above, and the peak (largest score; ties: largest value)."""
    rows = np.flatnonzero(above.any(axis=1))
    result: Dict[str, object] = {
        'quantity': quantity, 'source': source, 'unit': LIMIT_UNITS[quantity],
        'ticks_checked': int(above.shape[0]), 'ticks_above': int(rows.size),
        'above_per_joint': {joint_names[j]: int(n) for j, n in enumerate(above.sum(axis=0))
                            if n},
        'first_above_time_s': float(times_s[first_tick + rows[0]]) if rows.size else None,
        'peak': None, 'limit': None, 'joint': None, 'peak_time_s': None,
        'above_ticks': (first_tick + rows).tolist(),
    }
    if values.size:
        bounded = np.isfinite(limits)
        key = np.where(bounded, score, -np.inf)
        if not bounded.any():  # no limit on any joint: the largest value, for the record
            key = np.nan_to_num(values, nan=-np.inf, neginf=-np.inf)
        row, joint = np.unravel_index(int(np.argmax(key)), key.shape)
        result.update(peak=float(values[row, joint]),
                      limit=float(limits[row, joint]) if bounded[row, joint] else None,
                      joint=joint_names[joint], peak_time_s=float(times_s[first_tick + row]))
    return result


def _position_check(positions: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                    joint_names: Sequence[str], times_s: np.ndarray,
                    tolerance: float) -> Dict[str, object]:
    """Count the ticks with a commanded position outside [lower, upper] (tolerance relative)."""
    with np.errstate(invalid='ignore'):
        upper_slack = tolerance * np.maximum(np.abs(upper), 1.0)
        lower_slack = tolerance * np.maximum(np.abs(lower), 1.0)
    above = ~((positions <= upper + upper_slack) & (positions >= lower - lower_slack))
    over_upper = positions - upper  # > 0: beyond the upper limit
    under_lower = lower - positions
    nearer_upper = over_upper >= under_lower
    bound = np.where(nearer_upper, upper, lower)
    # score: how far beyond (or, < 0, how far inside) the nearer limit, per unit range
    excess = np.where(nearer_upper, over_upper, under_lower)
    return _check_result('position', COMMANDED, above, 0, positions, bound,
                         np.where(np.isfinite(bound), excess, -np.inf), joint_names, times_s)


def limit_exceedances(times_ns: np.ndarray, positions: np.ndarray, velocities: np.ndarray,
                      accelerations: np.ndarray, limits, tolerance: float = LIMIT_TOLERANCE,
                      t0_ns: Optional[int] = None) -> Dict[str, object]:
    """
    Count and locate every executed tick above a limit.

    Checks the position range, and velocity, acceleration and jerk both from the commanded
    fields (``velocities``, ``accelerations``, jerk = Δacceleration / Δt between ticks) and as
    finite differences of the commanded positions over the tick times (velocity at interval
    midpoints, acceleration and jerk as derivatives of those). A value is above its limit when
    ``|x| > limit * (1 + tolerance)`` (positions: beyond a bound by more than ``tolerance *
    max(|bound|, 1)``). A difference is counted at the later tick it uses. Joints without a
    limit (inf, or no jerk limits) are never above it; their peak is reported with limit None.

    :param times_ns: (T,) strictly increasing tick times.
    :param positions: (T, J) commanded positions; velocities, accelerations likewise.
    :param limits: a :class:`~pi05_ros.control.limits.JointLimits` in the same joint order.
    :param t0_ns: times in the result are seconds from this (default: the first tick).
    :returns: ``ticks``, ``ticks_above_any``, ``above_ticks`` (indices), ``tolerance_relative``
        and ``checks``: per quantity and source, ``ticks_above``, ``above_per_joint``, the
        ``peak`` value with its ``limit``, ``joint`` and time (s from ``t0_ns``).
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    arrays = [np.asarray(a, dtype=np.float64).reshape(times_ns.size, limits.num_joints)
              for a in (positions, velocities, accelerations)]
    positions, velocities, accelerations = arrays
    if (np.diff(times_ns) <= 0).any():
        raise ValueError('times_ns: expected strictly increasing tick times')
    names = limits.joint_names
    if t0_ns is None:
        t0_ns = int(times_ns[0]) if times_ns.size else 0
    times_s = (times_ns - int(t0_ns)) / 1e9
    jerk_limit = (np.full(limits.num_joints, np.inf) if limits.max_jerk is None
                  else np.asarray(limits.max_jerk, dtype=np.float64))
    fd_velocity, mid_1 = _midpoint_derivative(times_s, positions)
    fd_acceleration, mid_2 = _midpoint_derivative(mid_1, fd_velocity)
    fd_jerk, _ = _midpoint_derivative(mid_2, fd_acceleration)
    commanded_jerk, _ = _midpoint_derivative(times_s, accelerations)
    series = (('velocity', COMMANDED, velocities, 0, limits.max_velocity),
              ('acceleration', COMMANDED, accelerations, 0, limits.max_acceleration),
              ('jerk', COMMANDED, commanded_jerk, 1, jerk_limit),
              ('velocity', FINITE_DIFFERENCES, fd_velocity, 1, limits.max_velocity),
              ('acceleration', FINITE_DIFFERENCES, fd_acceleration, 2,
               limits.max_acceleration),
              ('jerk', FINITE_DIFFERENCES, fd_jerk, 3, jerk_limit))
    checks = [_position_check(positions, limits.lower, limits.upper, names, times_s, tolerance)]
    checks += [_magnitude_check(q, s, values, first, np.asarray(limit, dtype=np.float64),
                                names, times_s, tolerance)
               for q, s, values, first, limit in series]
    above = sorted(set().union(*(c.pop('above_ticks') for c in checks)))
    return {'ticks': int(times_ns.size), 'ticks_above_any': len(above),
            'above_ticks': above, 'tolerance_relative': tolerance, 'checks': checks}
