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
Interpolation between chunk rows: linear, cubic (velocity-continuous), quintic (C2).

Every method is written as one degree-5 polynomial per segment in local time ``tau`` (seconds
since the segment's first knot): ``q(tau) = sum_i c[i] * tau**i``, coefficients (S, 6, J). Linear
uses c0..c1, cubic Hermite c0..c3, quintic c0..c5. Knot velocities and accelerations are
estimated from the rows by central differences (one-sided at the ends).
"""

from typing import Optional, Tuple

import numpy as np

METHODS = ('linear', 'cubic', 'quintic')
DEGREE = 5  # coefficients per segment: DEGREE + 1


def knot_velocities(positions: np.ndarray, dt_s: float) -> np.ndarray:
    """(N, J) velocities at the rows: central differences inside, one-sided at the ends."""
    n = positions.shape[0]
    velocities = np.zeros_like(positions)
    if n < 2:
        return velocities
    velocities[0] = (positions[1] - positions[0]) / dt_s
    velocities[1:-1] = (positions[2:] - positions[:-2]) / (2.0 * dt_s)
    velocities[-1] = (positions[-1] - positions[-2]) / dt_s
    return velocities


def knot_accelerations(positions: np.ndarray, dt_s: float) -> np.ndarray:
    """(N, J) accelerations at the rows: second differences; end rows copy their neighbours."""
    n = positions.shape[0]
    accelerations = np.zeros_like(positions)
    if n < 3:
        return accelerations
    accelerations[1:-1] = (positions[2:] - 2.0 * positions[1:-1] + positions[:-2]) / dt_s ** 2
    accelerations[0] = accelerations[1]
    accelerations[-1] = accelerations[-2]
    return accelerations


def linear_coefficients(p0: np.ndarray, p1: np.ndarray, duration_s: float) -> np.ndarray:
    """(S, 6, J) straight lines from p0 (S, J) to p1 (S, J) over duration_s."""
    coefficients = np.zeros((p0.shape[0], DEGREE + 1, p0.shape[1]))
    coefficients[:, 0] = p0
    coefficients[:, 1] = (p1 - p0) / duration_s
    return coefficients


def cubic_coefficients(p0: np.ndarray, v0: np.ndarray, p1: np.ndarray, v1: np.ndarray,
                       duration_s: float) -> np.ndarray:
    """(S, 6, J) cubic Hermite segments matching position and velocity at both ends."""
    t = duration_s
    coefficients = np.zeros((p0.shape[0], DEGREE + 1, p0.shape[1]))
    coefficients[:, 0] = p0
    coefficients[:, 1] = v0
    coefficients[:, 2] = (3.0 * (p1 - p0) - (2.0 * v0 + v1) * t) / t ** 2
    coefficients[:, 3] = (-2.0 * (p1 - p0) + (v0 + v1) * t) / t ** 3
    return coefficients


def quintic_coefficients(p0: np.ndarray, v0: np.ndarray, a0: np.ndarray, p1: np.ndarray,
                         v1: np.ndarray, a1: np.ndarray, duration_s: float) -> np.ndarray:
    """
    (S, 6, J) quintic segments matching position, velocity and acceleration at both ends.

    With zero velocity and acceleration at both ends this is the minimum-jerk move.
    """
    t = duration_s
    h = p1 - p0
    coefficients = np.zeros((p0.shape[0], DEGREE + 1, p0.shape[1]))
    coefficients[:, 0] = p0
    coefficients[:, 1] = v0
    coefficients[:, 2] = 0.5 * a0
    coefficients[:, 3] = (20.0 * h - (8.0 * v1 + 12.0 * v0) * t
                          - (3.0 * a0 - a1) * t ** 2) / (2.0 * t ** 3)
    coefficients[:, 4] = (-30.0 * h + (14.0 * v1 + 16.0 * v0) * t
                          + (3.0 * a0 - 2.0 * a1) * t ** 2) / (2.0 * t ** 4)
    coefficients[:, 5] = (12.0 * h - 6.0 * (v1 + v0) * t
                          - (a0 - a1) * t ** 2) / (2.0 * t ** 5)
    return coefficients


def fit_rows(positions: np.ndarray, dt_s: float, method: str = 'cubic',
             velocities: Optional[np.ndarray] = None) -> np.ndarray:
    """
    (N-1, 6, J) segment coefficients through rows (N, J) spaced dt_s apart.

    ``velocities`` (N, J), where the policy gives them, replace the finite-difference estimates
    (cubic and quintic). Every method passes exactly through every row.
    """
    if method not in METHODS:
        raise ValueError(f'interpolation: expected one of {METHODS}, got {method!r}')
    if positions.ndim != 2 or positions.shape[0] < 2:
        raise ValueError(f'positions: expected shape (N >= 2, J), got {positions.shape}')
    p0, p1 = positions[:-1], positions[1:]
    if method == 'linear':
        return linear_coefficients(p0, p1, dt_s)
    v = knot_velocities(positions, dt_s) if velocities is None else velocities
    if method == 'cubic':
        return cubic_coefficients(p0, v[:-1], p1, v[1:], dt_s)
    a = knot_accelerations(positions, dt_s)
    return quintic_coefficients(p0, v[:-1], a[:-1], p1, v[1:], a[1:], dt_s)


def evaluate_segment(coefficients: np.ndarray,
                     tau_s: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position, velocity and acceleration (J,) of a segment's coefficients (6, J) at tau_s."""
    t2 = tau_s * tau_s
    t3 = t2 * tau_s
    t4 = t3 * tau_s
    basis = np.array(((1.0, tau_s, t2, t3, t4, t4 * tau_s),
                      (0.0, 1.0, 2.0 * tau_s, 3.0 * t2, 4.0 * t3, 5.0 * t4),
                      (0.0, 0.0, 2.0, 6.0 * tau_s, 12.0 * t2, 20.0 * t3)))
    positions, velocities, accelerations = basis @ coefficients
    return positions, velocities, accelerations


def evaluate_derivative(coefficients: np.ndarray, tau_s: np.ndarray, order: int) -> np.ndarray:
    """Evaluate the order-th time derivative of coefficients (6, J) at local times tau_s (T,)."""
    tau_s = np.atleast_1d(np.asarray(tau_s, dtype=np.float64))
    result = np.zeros((tau_s.shape[0], coefficients.shape[1]))
    for i in range(order, DEGREE + 1):
        factor = float(np.prod(np.arange(i - order + 1, i + 1)))
        result += factor * np.outer(tau_s ** (i - order), coefficients[i])
    return result


def smoothstep(s: float) -> Tuple[float, float, float]:
    """
    Minimum-jerk blend weight w(s) = 10s^3 - 15s^4 + 6s^5 and its derivatives w'(s), w''(s).

    w goes 0 -> 1 on s in [0, 1] with zero slope and curvature at both ends. Peak values:
    max w' = 1.875, max |w''| = 10/sqrt(3) ~ 5.77, |w'''| = 60 at s = 0 and s = 1.
    """
    if s <= 0.0:
        return 0.0, 0.0, 0.0
    if s >= 1.0:
        return 1.0, 0.0, 0.0
    s2 = s * s
    return (s2 * s * (10.0 - 15.0 * s + 6.0 * s2), 30.0 * s2 * (1.0 - s) ** 2,
            60.0 * s * (1.0 - s) * (1.0 - 2.0 * s))


SMOOTHSTEP_MAX_SLOPE = 1.875
SMOOTHSTEP_MAX_CURVATURE = 10.0 / np.sqrt(3.0)
SMOOTHSTEP_END_JERK = 60.0
