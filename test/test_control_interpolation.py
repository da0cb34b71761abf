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

"""Interpolation between chunk rows: exactness and continuity."""

import numpy as np
from pi05_ros.control.interpolation import (
    evaluate_derivative, evaluate_segment, fit_rows, knot_velocities, quintic_coefficients,
    smoothstep)
import pytest

DT = 0.02


def rows(num: int = 12, joints: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0.0, 0.01, (num, joints)), axis=0)


def ends(coefficients: np.ndarray, order: int) -> np.ndarray:
    """order-th derivative at the start (S, J) and end (S, J) of every segment."""
    starts = np.array([evaluate_derivative(c, 0.0, order)[0] for c in coefficients])
    finishes = np.array([evaluate_derivative(c, DT, order)[0] for c in coefficients])
    return starts, finishes


@pytest.mark.parametrize('method', ['linear', 'cubic', 'quintic'])
def test_every_method_hits_every_row_exactly(method):
    positions = rows()
    coefficients = fit_rows(positions, DT, method)
    starts, finishes = ends(coefficients, 0)
    np.testing.assert_allclose(starts, positions[:-1], atol=1e-12)
    np.testing.assert_allclose(finishes, positions[1:], atol=1e-12)


def test_linear_moves_at_constant_speed_between_rows():
    positions = rows()
    coefficients = fit_rows(positions, DT, 'linear')
    for k, c in enumerate(coefficients):
        midpoint, velocity, _ = evaluate_segment(c, DT / 2)
        np.testing.assert_allclose(midpoint, 0.5 * (positions[k] + positions[k + 1]), atol=1e-12)
        np.testing.assert_allclose(velocity, (positions[k + 1] - positions[k]) / DT, atol=1e-9)


@pytest.mark.parametrize('method', ['cubic', 'quintic'])
def test_velocity_is_continuous_at_rows(method):
    coefficients = fit_rows(rows(), DT, method)
    starts, finishes = ends(coefficients, 1)
    np.testing.assert_allclose(finishes[:-1], starts[1:], atol=1e-9)


def test_cubic_knot_velocities_are_central_differences():
    positions = rows()
    coefficients = fit_rows(positions, DT, 'cubic')
    starts, _ = ends(coefficients, 1)
    expected = knot_velocities(positions, DT)
    np.testing.assert_allclose(starts[1:], (positions[2:] - positions[:-2]) / (2 * DT), atol=1e-9)
    np.testing.assert_allclose(starts, expected[:-1], atol=1e-9)


def test_given_velocities_are_used_by_cubic():
    positions = rows()
    velocities = np.full_like(positions, 0.3)
    coefficients = fit_rows(positions, DT, 'cubic', velocities)
    starts, finishes = ends(coefficients, 1)
    np.testing.assert_allclose(starts, 0.3, atol=1e-9)
    np.testing.assert_allclose(finishes, 0.3, atol=1e-9)


def test_quintic_acceleration_is_continuous_at_rows():
    coefficients = fit_rows(rows(), DT, 'quintic')
    starts, finishes = ends(coefficients, 2)
    np.testing.assert_allclose(finishes[:-1], starts[1:], atol=1e-6)


def test_cubic_acceleration_jumps_at_rows_where_quintic_does_not():
    positions = rows(seed=4)
    cubic_starts, cubic_ends = ends(fit_rows(positions, DT, 'cubic'), 2)
    quintic_starts, quintic_ends = ends(fit_rows(positions, DT, 'quintic'), 2)
    assert np.abs(cubic_ends[:-1] - cubic_starts[1:]).max() > 1.0
    assert np.abs(quintic_ends[:-1] - quintic_starts[1:]).max() < 1e-6


def test_minimum_jerk_move_starts_and_ends_at_rest():
    p0, p1 = np.array([[0.0, 1.0]]), np.array([[0.5, -1.0]])
    zero = np.zeros_like(p0)
    coefficients = quintic_coefficients(p0, zero, zero, p1, zero, zero, 2.0)[0]
    for order, at_start, at_end in ((0, p0[0], p1[0]), (1, 0.0, 0.0), (2, 0.0, 0.0)):
        np.testing.assert_allclose(evaluate_derivative(coefficients, 0.0, order)[0], at_start,
                                   atol=1e-12)
        np.testing.assert_allclose(evaluate_derivative(coefficients, 2.0, order)[0], at_end,
                                   atol=1e-12)
    # the textbook profile: halfway at mid-time, peak speed 1.875 * distance / duration
    middle = evaluate_derivative(coefficients, 1.0, 0)[0]
    np.testing.assert_allclose(middle, 0.5 * (p0[0] + p1[0]), atol=1e-12)
    np.testing.assert_allclose(evaluate_derivative(coefficients, 1.0, 1)[0],
                               1.875 * (p1[0] - p0[0]) / 2.0, atol=1e-12)
    # jerk is 60 D / T^3 at both ends (not zero: only velocity and acceleration vanish there)
    np.testing.assert_allclose(evaluate_derivative(coefficients, 0.0, 3)[0],
                               60.0 * (p1[0] - p0[0]) / 2.0 ** 3, atol=1e-9)
    np.testing.assert_allclose(evaluate_derivative(coefficients, 2.0, 3)[0],
                               60.0 * (p1[0] - p0[0]) / 2.0 ** 3, atol=1e-9)


def test_smoothstep_derivatives_match_finite_differences():
    h = 1e-6
    for s in np.linspace(0.05, 0.95, 10):
        w, dw, ddw = smoothstep(s)
        assert dw == pytest.approx((smoothstep(s + h)[0] - smoothstep(s - h)[0]) / (2 * h),
                                   abs=1e-6)
        assert ddw == pytest.approx((smoothstep(s + h)[1] - smoothstep(s - h)[1]) / (2 * h),
                                    abs=1e-5)
    assert smoothstep(0.0) == (0.0, 0.0, 0.0)
    assert smoothstep(1.0) == (1.0, 0.0, 0.0)
    assert smoothstep(0.5)[0] == pytest.approx(0.5)


def test_bad_method_and_shape_are_named():
    with pytest.raises(ValueError, match='interpolation'):
        fit_rows(rows(), DT, 'spline')
    with pytest.raises(ValueError, match='positions'):
        fit_rows(np.zeros((1, 3)), DT, 'cubic')
