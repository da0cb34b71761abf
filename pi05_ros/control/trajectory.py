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

"""Reference trajectories the executor samples: chunk, braking hold, blend, sampled blend.

A sampled blend is a cheap copy of a running blend; it keeps the number of blends evaluated per
tick bounded when chunks arrive faster than their blends finish.

Each is a function of absolute time in integer nanoseconds returning position and velocity (J,):
``evaluate(t_ns) -> (positions, velocities)``.
"""

from typing import Tuple

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.interpolation import (
    evaluate_segment, fit_rows, quintic_coefficients, smoothstep)

NS = 1e-9  # seconds per nanosecond

State = Tuple[np.ndarray, np.ndarray]  # positions (J,), velocities (J,)


class Reference:
    """A position/velocity reference over absolute time (ns)."""

    def evaluate(self, t_ns: int) -> State:
        raise NotImplementedError


class BrakingHold(Reference):
    """Hold a command: decelerate from (position, velocity) at the acceleration limit, then stay.

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
            return self.final_positions, self._zero
        tau = np.minimum(max(t_ns - self.start_ns, 0) * NS, self._stop_s)
        positions = self._p0 + self._v0 * tau + 0.5 * self._decel * tau * tau
        velocities = np.where(tau < self._stop_s, self._v0 + self._decel * tau, 0.0)
        return np.clip(positions, self._lower, self._upper), velocities


class ChunkTrajectory(Reference):
    """The rows of one chunk joined by the chosen interpolation, then a braking tail.

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
        positions = chunk.positions
        if chunk.horizon == 1:
            positions = np.vstack([positions, positions])  # a one-row chunk: hold that row
        velocities = chunk.velocities
        if velocities is not None and chunk.horizon == 1:
            velocities = np.zeros_like(positions)
        self.coefficients = fit_rows(positions, self._dt_s, method, velocities)  # (H-1, 6, J)
        _, last_velocity = evaluate_segment(self.coefficients[-1], self._dt_s)
        self.tail = BrakingHold(positions[-1], last_velocity, self.end_ns, max_acceleration,
                                lower, upper)
        self.rest_ns = self.tail.end_ns
        self._first = positions[0].copy()
        self._zero = np.zeros(positions.shape[1])

    def evaluate(self, t_ns: int) -> State:
        offset = t_ns - self.start_ns
        if offset <= 0:
            return self._first, self._zero
        if t_ns >= self.end_ns:
            return self.tail.evaluate(t_ns)
        segment = offset // self.dt_ns
        tau_s = (offset - segment * self.dt_ns) * NS
        return evaluate_segment(self.coefficients[segment], tau_s)


class Blend(Reference):
    """old -> new over [start, start + duration] with the minimum-jerk weight w(t).

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
        old_p, old_v = self.old.evaluate(t_ns)
        if t_ns <= self.start_ns:
            return old_p, old_v
        new_p, new_v = self.new.evaluate(t_ns)
        w, dw, _ = smoothstep((t_ns - self.start_ns) / self.duration_ns)
        gap = new_p - old_p
        return (old_p + w * gap,
                old_v + w * (new_v - old_v) + dw * self._inv_duration_s * gap)


class SampledBlend(Reference):
    """A blend's remaining part [from_ns, end], copied as C2 quintic pieces; its new side after.

    Knots every ~step_ns carry the blend's position, velocity and acceleration (the latter by a
    central difference of its velocity over +-0.5 ms), so the copy is C2 and stays within
    micro-radians of the blend. Evaluating it costs one segment instead of a whole blend (whose
    sides may be blends themselves); the executor uses it when chunks arrive faster than their
    blends finish.
    """

    DIFF_NS = 500_000  # half-width of the acceleration difference

    def __init__(self, blend: Blend, from_ns: int, step_ns: int = 10_000_000):
        self.new = blend.new
        self.start_ns = int(from_ns)
        span = max(blend.end_ns - self.start_ns, 1)
        count = -(-span // int(step_ns))  # segments, ceil
        self.step_ns = -(-span // count)
        self.end_ns = self.start_ns + count * self.step_ns  # >= blend.end_ns: the new side there
        times = self.start_ns + self.step_ns * np.arange(count + 1, dtype=np.int64)
        positions, velocities, accelerations = [], [], []
        for t in times.tolist():
            p, v = blend.evaluate(t)
            positions.append(p)
            velocities.append(v)
            _, before = blend.evaluate(t - self.DIFF_NS)
            _, after = blend.evaluate(t + self.DIFF_NS)
            accelerations.append((after - before) / (2 * self.DIFF_NS * NS))
        p, v, a = np.array(positions), np.array(velocities), np.array(accelerations)
        self.coefficients = quintic_coefficients(p[:-1], v[:-1], a[:-1], p[1:], v[1:], a[1:],
                                                 self.step_ns * NS)

    def evaluate(self, t_ns: int) -> State:
        if t_ns >= self.end_ns:
            return self.new.evaluate(t_ns)
        offset = max(t_ns - self.start_ns, 0)
        segment = offset // self.step_ns
        return evaluate_segment(self.coefficients[segment], (offset - segment * self.step_ns) * NS)
