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
The commanded state: one (position, velocity, acceleration) per joint, moved under limits.

Everything the executor sends comes from this state, and it only moves by :meth:`track` (follow
a target state) or :meth:`brake` (come to rest). Each step is the first ``dt`` of a trajectory
that Ruckig computes from the current state, so between steps the command is a jerk-limited
motion with ``|v| <= v_max``, ``|a| <= a_max`` and ``|j| <= j_max`` per joint (an infinite jerk
limit gives an acceleration-limited motion). Hence the samples the executor emits satisfy the
limits too, also as finite differences (a mean of a bounded quantity is bounded).

``track``: when every joint can reach its target state in exactly ``dt`` (a feasible reference),
the new state is the target: tracking is exact. A joint that cannot makes the time-optimal
first step towards it; the others still arrive exactly (joints are independent).

Position limits: the state is kept such that braking from it at the acceleration and jerk
limits stops inside ``[lower, upper]``. A step that would break this is replaced, for that joint,
by a braking step from the current state (which keeps it, by induction).
"""

import math
from typing import Callable, Optional, Tuple

import numpy as np
from pi05_ros.control.limits import JointLimits
from ruckig import (
    ControlInterface, InputParameter, Result, Ruckig, RuckigError, Synchronization, Trajectory)

State = Tuple[np.ndarray, np.ndarray, np.ndarray]  # positions, velocities, accelerations (J,)
ARRIVAL_TOLERANCE = 1e-9  # relative: a synchronized duration this close to dt arrives at dt
CATCH_UP_S = 0.04  # a joint that cannot follow the reference aims this far ahead on it
CATCH_UP_TICKS = 4  # ... and at least this many periods ahead
_OK = (Result.Working, Result.Finished)


class CommandedStateError(ValueError):
    """The commanded state was given an input it cannot take (names the field)."""


class CommandedState:
    """
    Positions, velocities and accelerations (J,) that move only within ``limits``.

    ``limits.max_jerk`` None (or inf on a joint) means no jerk limit there; the acceleration
    limits must be finite.
    """

    def __init__(self, limits: JointLimits, positions: np.ndarray,
                 velocities: Optional[np.ndarray] = None,
                 accelerations: Optional[np.ndarray] = None):
        if not np.isfinite(limits.max_acceleration).all():
            raise CommandedStateError(
                'limits.max_acceleration: the executor needs finite acceleration limits, got '
                f'{limits.max_acceleration.tolist()}')
        self.limits = limits
        num = limits.num_joints
        self._jerk = (np.full(num, np.inf) if limits.max_jerk is None
                      else np.asarray(limits.max_jerk, dtype=np.float64))
        self._inverse_jerk = np.where(np.isinf(self._jerk), 0.0, 1.0 / self._jerk)
        self._no_jerk_limit = np.isinf(self._jerk)  # there, any acceleration is safe
        self._half_inverse_jerk = 0.5 * self._inverse_jerk
        self._finite_jerk = np.where(self._no_jerk_limit, 0.0, self._jerk)
        peak = limits.max_velocity + 0.5 * limits.max_acceleration ** 2 * self._inverse_jerk
        reach = peak * (3.0 * limits.max_acceleration * self._inverse_jerk
                        + peak / limits.max_acceleration)  # the longest stop within the limits
        self._lower_clear = limits.lower + reach
        self._upper_clear = limits.upper - reach
        self._solvers = {}  # joint count -> (Ruckig, InputParameter, Trajectory)
        self._velocity_scale = 1.0
        self._full_limits_scale = None
        self._full_limits = None
        zeros = np.zeros(num)
        self.positions = limits.clamp_positions(self._finite('positions', positions))
        self.velocities = zeros if velocities is None else self._finite('velocities', velocities)
        self.accelerations = (zeros.copy() if accelerations is None
                              else self._finite('accelerations', accelerations))
        self.velocities = np.clip(self.velocities, -limits.max_velocity, limits.max_velocity)
        self.accelerations = np.clip(self.accelerations, -limits.max_acceleration,
                                     limits.max_acceleration)

    def _finite(self, name: str, values) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (self.limits.num_joints,) or not np.isfinite(array).all():
            raise CommandedStateError(
                f'{name}: expected {self.limits.num_joints} finite values, got {values!r}')
        return array.copy()

    def with_limits(self, limits: JointLimits) -> 'CommandedState':
        """
        Return this state under other limits; CommandedStateError if it is outside them.

        Outside: a position beyond them, a velocity or acceleration above them, an acceleration
        that carries the velocity past them, or braking from here leaving the position limits.
        """
        moved = CommandedState(limits, self.positions, self.velocities, self.accelerations)
        p, v, a = self.state
        problems = []
        if ((p < limits.lower) | (p > limits.upper)).any():
            problems.append('positions outside the position limits')
        if (np.abs(v) > limits.max_velocity).any() or (
                np.abs(a) > limits.max_acceleration).any():
            problems.append('moving faster than the velocity or acceleration limits')
        elif not np.array_equal(moved._clipped((p, v, a))[2], a):
            problems.append('accelerating past the velocity limits under the jerk limits')
        elif moved._stops_outside((p, v, a)).any():
            problems.append('braking would leave the position limits')
        if problems:
            raise CommandedStateError(
                'limits: the command is outside the new limits (' + '; '.join(problems)
                + '): change them when it is')
        return moved

    @property
    def state(self) -> State:
        return self.positions.copy(), self.velocities.copy(), self.accelerations.copy()

    def copy(self) -> 'CommandedState':
        """Return an independent duplicate (for rollouts) sharing nothing mutable with this one."""
        return CommandedState(self.limits, self.positions, self.velocities, self.accelerations)

    # ------------------------------------------------------------------------------ steps
    def track(self, reference: Callable[[float], State], dt_s: float,
              velocity_scale: float = 1.0) -> bool:
        """
        Move ``dt_s`` along the reference; return True if every joint is on it after.

        ``reference(tau_s)`` is the target state ``tau_s`` seconds from now (positions,
        velocities, accelerations (J,)); it is clipped into the limits. ``velocity_scale`` in
        (0, 1] scales the velocity limits for this step (teleop ramps).
        """
        if not self._begin_step(dt_s, velocity_scale):
            return False
        target = self._clipped(reference(dt_s))
        trajectory = self._solve(None, ControlInterface.Position, Synchronization.Time, dt_s,
                                 target)
        if trajectory is not None and trajectory.duration <= dt_s * (1.0 + ARRIVAL_TOLERANCE):
            step = target  # every joint arrives: exact tracking
        else:
            late = (np.ones(self.limits.num_joints, dtype=bool) if trajectory is None else
                    np.array(trajectory.independent_min_durations) > dt_s * (
                        1.0 + ARRIVAL_TOLERANCE))
            if late.any():
                step = self._catch_up_step(reference, target, late, dt_s)
            else:  # each could arrive, not all together at dt_s: the synchronized motion
                step = self._sample(trajectory, dt_s)
        self._commit(self._inside_position_limits(step, dt_s))
        return bool(np.array_equal(self.positions, target[0]))

    def _clipped(self, state: State) -> State:
        """Return a target state the command can follow: inside the (scaled) limits."""
        limits = self.limits
        limit_v = limits.max_velocity * self._velocity_scale
        positions, velocities, accelerations = state
        inside = np.minimum(np.maximum(positions, limits.lower), limits.upper)
        velocities = np.minimum(np.maximum(velocities, -limit_v), limit_v)
        accelerations = np.minimum(np.maximum(accelerations, -limits.max_acceleration),
                                   limits.max_acceleration)
        at_limit = (inside >= limits.upper) | (inside <= limits.lower)
        if at_limit.any():  # a target at a limit, moving out of it: at rest there
            out = (((inside >= limits.upper) & (velocities > 0.0))
                   | ((inside <= limits.lower) & (velocities < 0.0)))
            velocities = np.where(out, 0.0, velocities)
            accelerations = np.where(out, 0.0, accelerations)
        # A state whose acceleration carries the velocity past its limit before the jerk limit
        # can bring the acceleration to zero (|v + a|a| / 2j| > v_max) cannot be followed within
        # the limits: aim at the largest acceleration from which it can.
        coasting = velocities + accelerations * np.abs(accelerations) * self._half_inverse_jerk
        if (np.abs(coasting) > limit_v).any():
            headroom = np.maximum(limit_v - velocities * np.sign(accelerations), 0.0)
            safe = np.where(self._no_jerk_limit, np.inf,
                            np.sqrt(2.0 * headroom * self._finite_jerk))
            accelerations = np.sign(accelerations) * np.minimum(np.abs(accelerations), safe)
        return inside, velocities, accelerations

    def _catch_up_step(self, reference: Callable[[float], State], target: State,
                       late: np.ndarray, dt_s: float) -> State:
        """
        Return the state after dt_s when the ``late`` joints cannot reach the reference then.

        The late joints aim at where the reference will be a catch-up horizon ahead (at least
        CATCH_UP_S, CATCH_UP_TICKS periods) and get there together, as early as their limits
        allow from then on: aiming at where the reference is now would plan to meet it behind
        (often backing up first). Re-aimed every period, this rejoins the reference, and it
        smooths a reference that is not followable (steps in acceleration at the rows of a
        cubic interpolation, noise) instead of chasing it. The other joints arrive at dt_s.
        """
        step = tuple(x.copy() for x in target)
        horizon = max(CATCH_UP_S, CATCH_UP_TICKS * dt_s)
        aim = self._clipped(reference(horizon))
        ahead = self._solve(late, ControlInterface.Position, Synchronization.Time, horizon,
                            tuple(x[late] for x in aim))
        if ahead is None:  # no way there within the limits: brake
            ahead = self._solve(late, ControlInterface.Velocity, Synchronization.No, None)
        if ahead is not None:  # sampled now: solvers (and their trajectories) are reused
            for full, part in zip(step, self._sample(ahead, dt_s)):
                full[late] = part
        early = ~late
        if early.any():  # arrive at dt_s, unless they can exactly (then the target is the step)
            arrived = self._solve(early, ControlInterface.Position, Synchronization.Time, dt_s,
                                  tuple(x[early] for x in target))
            if arrived is not None and arrived.duration > dt_s * (1.0 + ARRIVAL_TOLERANCE):
                for full, part in zip(step, self._sample(arrived, dt_s)):
                    full[early] = part
        return step

    def move_to(self, positions: np.ndarray, dt_s: float, velocity_scale: float = 1.0) -> bool:
        """
        Move ``dt_s`` along each joint's fastest way to rest at ``positions``.

        Returns True once every joint is there. For a target that does not move (teleop):
        time-optimal per joint, one Ruckig solve.
        """
        if not self._begin_step(dt_s, velocity_scale):
            return False
        zeros = np.zeros_like(self.positions)
        target = self._clipped((positions, zeros, zeros))
        trajectory = self._solve(None, ControlInterface.Position, Synchronization.No, None,
                                 target)
        step = self._sample(trajectory, dt_s) if trajectory is not None else \
            self._braking_step(dt_s)
        self._commit(self._inside_position_limits(step, dt_s))
        return bool(np.array_equal(self.positions, target[0]))

    def _begin_step(self, dt_s: float, velocity_scale: float) -> bool:
        """Check the velocity scale and take it for this step; False when dt_s is no step."""
        if not 0.0 < velocity_scale <= 1.0:
            raise CommandedStateError(
                f'velocity_scale: expected in (0, 1], got {velocity_scale}')
        if dt_s <= 0.0:
            return False
        self._velocity_scale = velocity_scale
        return True

    def brake(self, dt_s: float) -> None:
        """Move ``dt_s`` along the fastest stop to rest (velocity and acceleration zero)."""
        if dt_s <= 0.0:
            return
        self._velocity_scale = 1.0
        self._commit(self._braking_step(dt_s))

    def stopping_state(self) -> Tuple[float, State]:
        """Return (seconds, state at rest) of the fastest stop from the commanded state."""
        stop = self._solve(None, ControlInterface.Velocity, Synchronization.No, None)
        if stop is None:  # cannot happen within the limits
            return 0.0, (self.positions.copy(), np.zeros_like(self.positions),
                         np.zeros_like(self.positions))
        duration = float(stop.duration)
        return duration, self._sample(stop, duration)

    def at_rest(self) -> bool:
        return not (self.velocities.any() or self.accelerations.any())

    # ------------------------------------------------------------------------------ ruckig
    def _solve(self, joints: Optional[np.ndarray], interface, synchronization,
               minimum_duration: Optional[float], target: Optional[State] = None,
               start: Optional[State] = None) -> Optional[Trajectory]:
        """
        Ruckig's trajectory for the joints selected by a mask (None: all), or None.

        ``target`` None: come to rest. ``start`` None: from the commanded state.
        """
        count = self.limits.num_joints if joints is None else int(joints.sum())
        if count == 0:  # Ruckig cannot take zero degrees of freedom
            return None
        if count not in self._solvers:
            self._solvers[count] = (Ruckig(count), InputParameter(count), Trajectory(count))
        otg, parameters, trajectory = self._solvers[count]
        p, v, a = (self.positions, self.velocities, self.accelerations) if start is None else start
        limits = self._limit_lists(joints)
        if joints is not None:
            p, v, a = p[joints], v[joints], a[joints]
        parameters.current_position = p.tolist()
        parameters.current_velocity = v.tolist()
        parameters.current_acceleration = a.tolist()
        if target is None:
            parameters.target_position = parameters.target_velocity = \
                parameters.target_acceleration = [0.0] * count
        else:
            parameters.target_position = target[0].tolist()
            parameters.target_velocity = target[1].tolist()
            parameters.target_acceleration = target[2].tolist()
        parameters.max_velocity, parameters.max_acceleration, parameters.max_jerk = limits
        parameters.control_interface = interface
        parameters.synchronization = synchronization
        parameters.minimum_duration = minimum_duration
        try:
            if otg.calculate(parameters, trajectory) in _OK:
                return trajectory
        except RuckigError:  # no trajectory for this input
            pass
        return None

    def _limit_lists(self, joints: Optional[np.ndarray]):
        """(max_velocity, max_acceleration, max_jerk) as lists for Ruckig, velocity scaled."""
        if joints is None:
            if self._velocity_scale != self._full_limits_scale:
                self._full_limits = (
                    (self.limits.max_velocity * self._velocity_scale).tolist(),
                    self.limits.max_acceleration.tolist(), self._jerk.tolist())
                self._full_limits_scale = self._velocity_scale
            return self._full_limits
        return ((self.limits.max_velocity[joints] * self._velocity_scale).tolist(),
                self.limits.max_acceleration[joints].tolist(), self._jerk[joints].tolist())

    @staticmethod
    def _sample(trajectory: Trajectory, t_s: float) -> State:
        p, v, a = trajectory.at_time(t_s)
        return np.array(p), np.array(v), np.array(a)

    def _braking_step(self, dt_s: float) -> State:
        trajectory = self._solve(None, ControlInterface.Velocity, Synchronization.No, None)
        if trajectory is None:  # cannot happen for a state within the limits
            return self.positions.copy(), np.zeros_like(self.positions), np.zeros_like(
                self.positions)
        return self._sample(trajectory, dt_s)

    def _stops_outside(self, state: State) -> np.ndarray:
        """(J,) bool: braking from ``state`` would leave the position limits on that joint."""
        p, v, a = state
        limits = self.limits
        if ((p > self._lower_clear) & (p < self._upper_clear)).all():
            return np.zeros(limits.num_joints, dtype=bool)  # no stop reaches a limit from here
        # A cheap bound first: the speed never exceeds |v| + a+^2 / 2j while stopping, and the
        # stop takes at most (|a| + a_max) / j + v_peak / a_max + a_max / j.
        ahead = np.maximum(a * np.sign(v), 0.0)
        peak = np.abs(v) + 0.5 * ahead * ahead * self._inverse_jerk
        span = ((np.abs(a) + 2.0 * limits.max_acceleration) * self._inverse_jerk
                + peak / limits.max_acceleration)
        reach = peak * span + 1e-12
        near = (p - reach < limits.lower) | (p + reach > limits.upper)
        if not near.any():
            return near
        stop = self._solve(near, ControlInterface.Velocity, Synchronization.No, None, None, state)
        if stop is None:
            return near
        outside = np.zeros_like(near)
        extrema = stop.position_extrema
        outside[near] = ((np.array([e.min for e in extrema]) < limits.lower[near])
                         | (np.array([e.max for e in extrema]) > limits.upper[near]))
        return outside

    def _inside_position_limits(self, step: State, dt_s: float) -> State:
        outside = self._stops_outside(step)
        if not outside.any():
            return step
        brake = self._braking_step(dt_s)
        return tuple(np.where(outside, b, s) for b, s in zip(brake, step))

    def _commit(self, step: State) -> None:
        p, v, a = step
        if not math.isfinite(float(p.sum() + v.sum() + a.sum())):
            p, v, a = self.positions, np.zeros_like(p), np.zeros_like(p)  # never emit NaN
        limits = self.limits
        self.positions = np.minimum(np.maximum(p, limits.lower), limits.upper)
        self.velocities = np.minimum(np.maximum(v, -limits.max_velocity), limits.max_velocity)
        self.accelerations = np.minimum(np.maximum(a, -limits.max_acceleration),
                                        limits.max_acceleration)
