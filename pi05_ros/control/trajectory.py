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
Reference trajectories the executor samples: chunk, braking hold, blend, sampled blend.

A sampled blend is a cheap copy of a running blend; it keeps the number of blends evaluated per
tick bounded when chunks arrive faster than their blends finish.

Each is a function of absolute time in integer nanoseconds returning position, velocity and
acceleration (J,): ``evaluate(t_ns) -> (positions, velocities, accelerations)``. They are what
the executor's commanded state follows (:mod:`pi05_ros.control.commanded_state`), which keeps
the command inside the limits where a reference is not.
"""

from typing import Optional, Tuple

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.interpolation import (
    evaluate_segment, fit_rows, quintic_coefficients, smoothstep)

NS = 1e-9  # seconds per nanosecond

State = Tuple[np.ndarray, np.ndarray, np.ndarray]  # positions, velocities, accelerations (J,)


class Reference:
    """A position/velocity/acceleration reference over absolute time (ns)."""

    def evaluate(self, t_ns: int) -> State:
        raise NotImplementedError


class BrakingHold(Reference):
    """
    Hold a command: decelerate from (position, velocity) at the acceleration limit, then stay.

    With zero velocity it is a plain hold. Positions are clamped into [lower, upper].
    """

    def __init__(self, positions: np.ndarray, velocities: np.ndarray, start_ns: int,
                 max_acceleration: np.ndarray, lower: np.ndarray, upper: np.ndarray):
        self.start_ns = int(start_ns)
        self._p0 = np.asarray(positions, dtype=np.float64).copy()
        self._v0 = np.asarray(velocities, dtype=np.float64).copy()
        acceleration = np.asarray(max_acceleration, dtype=np.float64)
        self._stop_s = np.abs(self._v0) / acceleration  # 0 where the limit is inf
        self._decel = -np.sign(self._v0) * np.where(self._stop_s > 0.0, acceleration, 0.0)
        self._lower = lower
        self._upper = upper
        stop_positions = self._p0 + 0.5 * self._v0 * self._stop_s
        self.final_positions = np.clip(stop_positions, lower, upper)
        self.end_ns = self.start_ns + int(np.ceil(float(self._stop_s.max(initial=0.0)) / NS))
        self._zero = np.zeros_like(self._p0)

    def evaluate(self, t_ns: int) -> State:
        if t_ns >= self.end_ns:
            return self.final_positions, self._zero, self._zero
        tau = np.minimum(max(t_ns - self.start_ns, 0) * NS, self._stop_s)
        positions = self._p0 + self._v0 * tau + 0.5 * self._decel * tau * tau
        braking = tau < self._stop_s
        velocities = np.where(braking, self._v0 + self._decel * tau, 0.0)
        accelerations = np.where(braking, self._decel, 0.0)
        return np.clip(positions, self._lower, self._upper), velocities, accelerations


class ChunkTrajectory(Reference):
    """
    The rows of one chunk joined by the chosen interpolation, then a braking tail.

    Defined from the first row's time on; before it, it holds the first row (the executor never
    samples it there: a splice starts no earlier than the first row's time). After the last row
    it brakes from the last row's velocity at the acceleration limit and stays there.
    """

    def __init__(self, chunk: ActionChunk, method: str, max_acceleration: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray):
        self.chunk = chunk
        self.row_times_ns = chunk.row_times_ns()
        self.start_ns = int(self.row_times_ns[0])
        self.end_ns = int(self.row_times_ns[-1])
        self.dt_ns = chunk.dt_ns
        self._dt_s = chunk.dt_ns * NS
        positions = chunk.positions  # (H >= 2, J): fit_rows refuses fewer rows
        self.coefficients = fit_rows(positions, self._dt_s, method, chunk.velocities)  # (H-1,6,J)
        _, last_velocity, _ = evaluate_segment(self.coefficients[-1], self._dt_s)
        self.tail = BrakingHold(positions[-1], last_velocity, self.end_ns, max_acceleration,
                                lower, upper)
        self.rest_ns = self.tail.end_ns
        self._first = positions[0].copy()
        self._zero = np.zeros(positions.shape[1])

    def evaluate(self, t_ns: int) -> State:
        offset = t_ns - self.start_ns
        if offset <= 0:
            return self._first, self._zero, self._zero
        if t_ns >= self.end_ns:
            return self.tail.evaluate(t_ns)
        segment = offset // self.dt_ns
        tau_s = (offset - segment * self.dt_ns) * NS
        return evaluate_segment(self.coefficients[segment], tau_s)


class Blend(Reference):
    """
    old -> new over [start, start + duration] with the minimum-jerk weight w(t).

    q = q_old + w (q_new - q_old); position, velocity and acceleration equal the old
    reference's at the start and the new one's at the end.
    """

    def __init__(self, old: Reference, new: Reference, start_ns: int, duration_ns: int):
        if duration_ns <= 0:
            raise ValueError(f'Blend.duration_ns: expected > 0, got {duration_ns}')
        self.old = old
        self.new = new
        self.start_ns = int(start_ns)
        self.duration_ns = int(duration_ns)
        self.end_ns = self.start_ns + self.duration_ns
        self._inv_duration_s = 1.0 / (duration_ns * NS)

    def evaluate(self, t_ns: int) -> State:
        if t_ns >= self.end_ns:
            return self.new.evaluate(t_ns)
        old_p, old_v, old_a = self.old.evaluate(t_ns)
        if t_ns <= self.start_ns:
            return old_p, old_v, old_a
        new_p, new_v, new_a = self.new.evaluate(t_ns)
        w, dw, ddw = smoothstep((t_ns - self.start_ns) / self.duration_ns)
        rate = self._inv_duration_s
        gap, gap_v = new_p - old_p, new_v - old_v
        return (old_p + w * gap,
                old_v + w * gap_v + dw * rate * gap,
                old_a + w * (new_a - old_a) + 2.0 * dw * rate * gap_v + ddw * rate * rate * gap)


class Knots(Reference):
    """
    C2 quintic pieces through (time, position, velocity, acceleration) knots; ``after`` next.

    Past the last knot it is ``after`` (when given) or rests at the last knot's position.
    """

    def __init__(self, times_ns: np.ndarray, positions: np.ndarray, velocities: np.ndarray,
                 accelerations: np.ndarray, after: Optional[Reference] = None):
        self.times_ns = np.asarray(times_ns, dtype=np.int64)
        self.start_ns = int(self.times_ns[0])
        self.end_ns = int(self.times_ns[-1])
        self.after = after
        self._last = positions[-1].copy()
        self._zero = np.zeros_like(self._last)
        spans_s = np.diff(self.times_ns) * NS
        self.coefficients = quintic_coefficients(
            positions[:-1], velocities[:-1], accelerations[:-1], positions[1:], velocities[1:],
            accelerations[1:], spans_s[:, None])

    def evaluate(self, t_ns: int) -> State:
        if t_ns >= self.end_ns:
            if self.after is not None:
                return self.after.evaluate(t_ns)
            return self._last, self._zero, self._zero
        segment = max(int(np.searchsorted(self.times_ns, t_ns, side='right')) - 1, 0)
        tau_s = max(t_ns - int(self.times_ns[segment]), 0) * NS
        return evaluate_segment(self.coefficients[segment], tau_s)


def sampled_blend(blend: Blend, from_ns: int, step_ns: int = 10_000_000) -> Knots:
    """
    Copy a blend's remaining part [from_ns, end] as knots every ~step_ns; its new side after.

    The copy carries the blend's own position, velocity and acceleration at every knot, so it is
    C2 and stays within micro-radians of the blend. Evaluating it costs one segment instead of a
    whole blend (whose sides may be blends themselves); the executor uses it when chunks arrive
    faster than their blends finish.
    """
    start_ns = int(from_ns)
    span = max(blend.end_ns - start_ns, 1)
    count = -(-span // int(step_ns))  # segments, ceil
    step = -(-span // count)
    times = start_ns + step * np.arange(count + 1, dtype=np.int64)  # ends >= blend.end_ns
    samples = [blend.evaluate(int(t)) for t in times]
    positions, velocities, accelerations = (np.array(x) for x in zip(*samples))
    return Knots(times, positions, velocities, accelerations, after=blend.new)
