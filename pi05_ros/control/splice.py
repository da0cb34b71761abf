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
How long a splice blends the running reference into a new chunk.

During a blend of length T with the minimum-jerk weight w, the command is
``q = q_old + w (q_new - q_old)``. With the gap D = q_new - q_old, its rate D' and the limits,
the blend adds at most ``1.875 D / T`` of velocity and ``5.77 D / T^2 + 3.75 D' / T`` of
acceleration to the convex mix of the two references, and its jerk steps by ``60 D / T^3`` at
both ends. The window is the shortest T >= blend_window_s that keeps those additions (D, D'
measured over the window itself) within ``headroom`` times the joint's velocity, acceleration
and (where ``JointLimits.max_jerk`` is given) jerk limits, capped at max_blend_window_s.

Seam jerk bound that follows: at the splice instant the jerk steps by ``60 D0 / T^3``; with
T >= T_acc this is at most ``10.4 * headroom * a_max / blend_window_s`` (and at most
``headroom * j_max`` with a jerk limit). Over the whole blend,
``|jerk| <= J_ref + 10.4 h a_max / T_min + 11.3 A_ref / T_min`` (J_ref, A_ref: the largest jerk and
acceleration of the two references). Only where the budget needs more than max_blend_window_s
is it not met; the step is then ``60 D0 / T_max^3``.
"""

import numpy as np

from pi05_ros.control.interpolation import (
    SMOOTHSTEP_END_JERK, SMOOTHSTEP_MAX_CURVATURE, SMOOTHSTEP_MAX_SLOPE)
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.trajectory import NS, Reference

GAP_SAMPLES = 5  # gap samples per candidate window
WINDOW_GROWTH = 1.25  # ratio between successive candidate windows


def required_window_s(old: Reference, new: Reference, start_ns: int, window_s: float,
                      limits: JointLimits, headroom: float) -> float:
    """Return the blend length the gap between old and new over [start, start + window_s] needs."""
    times = start_ns + np.round(np.linspace(0.0, window_s, GAP_SAMPLES) / NS).astype(np.int64)
    gaps, gap_rates = [], []
    for t in times:
        old_p, old_v, _ = old.evaluate(int(t))
        new_p, new_v, _ = new.evaluate(int(t))
        gaps.append(np.abs(new_p - old_p))
        gap_rates.append(np.abs(new_v - old_v))
    gap = np.max(gaps, axis=0)  # (J,) D
    gap_rate = np.max(gap_rates, axis=0)  # (J,) D'
    velocity_budget = headroom * limits.max_velocity
    acceleration_budget = headroom * limits.max_acceleration
    window_velocity = SMOOTHSTEP_MAX_SLOPE * gap / velocity_budget
    # smallest T with budget T^2 - 2 * 1.875 D' T - 5.77 D >= 0
    linear = 2.0 * SMOOTHSTEP_MAX_SLOPE * gap_rate
    with np.errstate(divide='ignore', invalid='ignore'):
        window_acceleration = (linear + np.sqrt(
            linear ** 2 + 4.0 * acceleration_budget * SMOOTHSTEP_MAX_CURVATURE * gap)) / (
            2.0 * acceleration_budget)
    window_acceleration = np.nan_to_num(window_acceleration, nan=0.0, posinf=np.inf)
    window = max(float(window_velocity.max()), float(window_acceleration.max()))
    if limits.max_jerk is not None:  # jerk step 60 D / T^3 at both ends of the blend
        window = max(window, float(np.cbrt(
            SMOOTHSTEP_END_JERK * gap / (headroom * limits.max_jerk)).max()))
    return window


def blend_duration_ns(old: Reference, new: Reference, start_ns: int, limits: JointLimits,
                      min_window_s: float, max_window_s: float, headroom: float) -> int:
    """
    Return the blend length (ns) for splicing ``new`` into ``old`` from ``start_ns``.

    Tries windows from min_window_s upwards (x1.25) and takes the first one that is long enough
    for the gap measured over that window; when none up to max_window_s is, max_window_s. The
    window may outlast either chunk's rows: a reference past its last row brakes to a stop, and
    the blend follows that (cutting the blend short there would break the acceleration limit).
    """
    if max_window_s <= 0.0:
        return 0
    window = max(min_window_s, 1e-3)
    while window < max_window_s:
        if required_window_s(old, new, start_ns, window, limits, headroom) <= window:
            return int(round(max(window, min_window_s) / NS))
        window *= WINDOW_GROWTH
    return int(round(max_window_s / NS))
