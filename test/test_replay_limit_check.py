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

"""Counting executed ticks above a limit: each limit broken is flagged, a clean stream passes."""

import numpy as np
from pi05_ros.control.limits import JointLimits
from pi05_ros.replay.metrics import COMMANDED, FINITE_DIFFERENCES, limit_exceedances
import pytest

NAMES = ('shoulder', 'elbow')
TICK_NS = 10_000_000  # 100 Hz
T0_NS = 1_700_000_000 * 10**9
AMPLITUDE = np.array([0.5, 0.2])  # rad
OMEGA = 4.0  # rad/s: peaks v 2.0 / 0.8, a 8 / 3.2, j 32 / 12.8


def sine_stream(ticks=200):
    """Sample p = A sin(w t): (times, positions, velocities, accelerations), consistent."""
    t = np.arange(ticks) * TICK_NS / 1e9
    phase = OMEGA * t[:, None]
    return (T0_NS + np.arange(ticks, dtype=np.int64) * TICK_NS, AMPLITUDE * np.sin(phase),
            AMPLITUDE * OMEGA * np.cos(phase), -AMPLITUDE * OMEGA ** 2 * np.sin(phase))


def limits(lower=-1.0, upper=1.0, velocity=2.5, acceleration=10.0, jerk=(40.0, 40.0)):
    return JointLimits(NAMES, lower, upper, velocity, acceleration,
                       None if jerk is None else np.asarray(jerk, dtype=np.float64))


def check(result, quantity, source=COMMANDED):
    (found,) = [c for c in result['checks']
                if c['quantity'] == quantity and c['source'] == source]
    return found


CHECKS = [('position', COMMANDED), ('velocity', COMMANDED), ('acceleration', COMMANDED),
          ('jerk', COMMANDED), ('velocity', FINITE_DIFFERENCES),
          ('acceleration', FINITE_DIFFERENCES), ('jerk', FINITE_DIFFERENCES)]


def test_a_stream_inside_every_limit_passes_and_reports_its_peaks():
    result = limit_exceedances(*sine_stream(), limits())
    assert result['ticks'] == 200 and result['ticks_above_any'] == 0
    assert result['above_ticks'] == [] and result['tolerance_relative'] == 1e-9
    assert {(c['quantity'], c['source']) for c in result['checks']} == set(CHECKS)
    for c in result['checks']:
        assert c['ticks_above'] == 0 and c['above_per_joint'] == {}
        assert c['first_above_time_s'] is None
        if c['quantity'] == 'position':  # the position nearest to a bound, inside it
            assert abs(c['peak']) <= abs(c['limit']) == 1.0
        else:
            assert c['peak'] <= c['limit']
    # the peaks are the stream's own (shoulder: the larger amplitude)
    assert check(result, 'velocity')['peak'] == pytest.approx(2.0, rel=1e-6)
    assert check(result, 'velocity')['joint'] == 'shoulder'
    assert check(result, 'acceleration', FINITE_DIFFERENCES)['peak'] == pytest.approx(
        8.0, rel=1e-3)
    assert check(result, 'jerk', FINITE_DIFFERENCES)['peak'] == pytest.approx(32.0, rel=1e-2)
    assert check(result, 'jerk')['peak'] == pytest.approx(32.0, rel=1e-2)
    assert check(result, 'jerk')['ticks_checked'] == 199
    assert check(result, 'jerk', FINITE_DIFFERENCES)['ticks_checked'] == 197


@pytest.mark.parametrize('quantity,source', CHECKS)
def test_each_limit_just_below_the_peak_is_flagged_and_within_tolerance_is_not(quantity,
                                                                               source):
    stream = sine_stream()
    passed = check(limit_exceedances(*stream, limits()), quantity, source)
    peak = passed['peak']
    field = {'position': 'upper' if passed['limit'] > 0 else 'lower', 'velocity': 'velocity',
             'acceleration': 'acceleration', 'jerk': 'jerk'}[quantity]

    def with_limit(value):
        value = (value, value) if field == 'jerk' else value
        return limit_exceedances(*stream, limits(**{field: value}))

    inside_tolerance = with_limit(peak / (1 + 5e-10))
    assert check(inside_tolerance, quantity, source)['ticks_above'] == 0
    broken = with_limit(peak / (1 + 1e-6))
    flagged = check(broken, quantity, source)
    assert flagged['ticks_above'] >= 1
    assert flagged['above_per_joint'] == {'shoulder': flagged['ticks_above']}
    assert flagged['peak'] == pytest.approx(peak) and flagged['joint'] == 'shoulder'
    assert flagged['limit'] == pytest.approx(peak / (1 + 1e-6))
    assert broken['ticks_above_any'] >= flagged['ticks_above']
    assert flagged['first_above_time_s'] is not None


def test_velocities_that_contradict_the_positions_are_flagged_from_the_field_only():
    times, _, _, _ = sine_stream(20)
    positions = np.outer(np.arange(20) * 0.01, [1.0, 0.0])  # 1.0 rad/s on the shoulder
    velocities = np.tile([1.5, 0.0], (20, 1))  # but the command says 1.5
    result = limit_exceedances(times, positions, velocities, np.zeros((20, 2)),
                               limits(velocity=1.2))
    assert check(result, 'velocity')['ticks_above'] == 20
    assert check(result, 'velocity')['peak'] == 1.5
    assert check(result, 'velocity', FINITE_DIFFERENCES)['ticks_above'] == 0
    assert check(result, 'velocity', FINITE_DIFFERENCES)['peak'] == pytest.approx(1.0)
    assert result['ticks_above_any'] == 20


def test_a_velocity_drop_in_one_tick_is_flagged_at_that_tick_from_the_positions():
    """Issue 12: 1.0 -> 0.023 rad/s in one 10 ms tick is 97.7 rad/s² against a_max 10."""
    steps = np.array([0.01] * 10 + [0.00023] * 10)  # per tick, on the shoulder
    positions = np.zeros((21, 2))
    positions[1:, 0] = np.cumsum(steps)
    times = T0_NS + np.arange(21, dtype=np.int64) * TICK_NS
    zeros = np.zeros((21, 2))
    result = limit_exceedances(times, positions, zeros, zeros, limits(jerk=None))
    acceleration = check(result, 'acceleration', FINITE_DIFFERENCES)
    assert acceleration['ticks_above'] == 1
    assert acceleration['peak'] == pytest.approx(97.7)
    assert acceleration['limit'] == 10.0 and acceleration['joint'] == 'shoulder'
    assert acceleration['first_above_time_s'] == pytest.approx(0.11)  # the tick after the drop
    assert check(result, 'acceleration')['ticks_above'] == 0  # the field said 0 throughout
    assert check(result, 'jerk', FINITE_DIFFERENCES)['ticks_above'] == 0  # no jerk limit
    assert check(result, 'jerk', FINITE_DIFFERENCES)['limit'] is None
    assert check(result, 'jerk', FINITE_DIFFERENCES)['peak'] == pytest.approx(9770.0)
    assert 11 in result['above_ticks']


def test_an_acceleration_step_breaks_the_jerk_limit_from_the_field():
    times, positions, velocities, _ = sine_stream(10)
    accelerations = np.zeros((10, 2))
    accelerations[5:, 1] = 8.0  # 0 -> 8 rad/s² in one tick: 800 rad/s³
    result = limit_exceedances(times, positions, velocities, accelerations, limits())
    jerk = check(result, 'jerk')
    assert jerk['ticks_above'] == 1 and jerk['above_per_joint'] == {'elbow': 1}
    assert jerk['peak'] == pytest.approx(800.0) and jerk['limit'] == 40.0
    assert result['above_ticks'] == [5]


def test_positions_outside_the_range_are_flagged_on_either_side():
    times, positions, velocities, accelerations = sine_stream(50)
    positions = positions.copy()
    positions[7, 1] = 0.3 + 1e-6  # above the elbow's upper bound 0.3
    positions[9, 0] = -0.6 - 1e-6  # below the shoulder's lower bound -0.6
    result = limit_exceedances(times, positions, velocities, accelerations,
                               limits(lower=[-0.6, -0.3], upper=[0.6, 0.3]))
    position = check(result, 'position')
    assert position['ticks_above'] == 2
    assert position['above_per_joint'] == {'shoulder': 1, 'elbow': 1}
    assert 7 in result['above_ticks'] and 9 in result['above_ticks']
    assert position['peak'] == pytest.approx(0.3 + 1e-6) or position['peak'] == pytest.approx(
        -0.6 - 1e-6)
    unbounded = limit_exceedances(times, positions, velocities, accelerations,
                                  limits(lower=-np.inf, upper=np.inf))
    assert check(unbounded, 'position')['ticks_above'] == 0
    assert check(unbounded, 'position')['limit'] is None


def test_a_non_finite_command_is_above_every_limit():
    times, positions, velocities, accelerations = sine_stream(10)
    velocities = velocities.copy()
    velocities[4, 0] = np.nan
    result = limit_exceedances(times, positions, velocities, accelerations, limits())
    assert check(result, 'velocity')['ticks_above'] == 1 and 4 in result['above_ticks']


def test_times_relative_to_a_given_start_and_bad_times_refused():
    stream = sine_stream(20)
    accelerations = stream[3].copy()
    accelerations[10:, 0] += 5.0
    result = limit_exceedances(*stream[:3], accelerations, limits(),
                               t0_ns=T0_NS - 500_000_000)
    assert check(result, 'jerk')['first_above_time_s'] == pytest.approx(0.6)
    assert limit_exceedances(*(x[:0] for x in stream), limits())['ticks'] == 0
    times = stream[0].copy()
    times[3] = times[2]
    with pytest.raises(ValueError, match='times_ns'):
        limit_exceedances(times, *stream[1:], limits())
