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

"""The trajectory executor: latency-aware, jump-free execution of time-stamped action chunks.

Time is integer nanoseconds passed in by the caller; nothing here reads a clock.

- ``submit(chunk, now)`` checks a whole chunk and either refuses it with a reason or splices it
  into the running reference: rows whose time has passed are skipped (the chunk enters at
  ``now - stamp``) and the running reference is blended into the new chunk with a minimum-jerk
  weight, so position, velocity and acceleration stay continuous. Blends overlap when chunks
  arrive faster than blends finish; at most MAX_BLEND_DEPTH are evaluated per tick.
- ``tick(now)`` samples the reference, and guards the result: finite, inside the position limits,
  no step faster than the velocity limit. It holds (braking at the acceleration limit) when the
  chunk runs out, when joint states or chunks go stale, or on a fault.
- ``splice_trajectory(now)`` gives the same spliced reference as stamped points for
  joint_trajectory_controller.
"""

from dataclasses import dataclass
import math
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.interpolation import METHODS
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog
from pi05_ros.control.safety import (
    first_row_reason, joint_order, non_finite_reason, position_limit_reason,
    row_acceleration_reason, row_velocity_reason)
from pi05_ros.control.splice import blend_duration_ns
from pi05_ros.control.trajectory import (
    Blend, BrakingHold, ChunkTrajectory, NS, Reference, SampledBlend)

TRACKING = 'tracking'
HOLDING = 'holding'
MAX_BLEND_DEPTH = 2  # blends evaluated per tick at most (chunks faster than blends finish)


def _fold(reference: Reference, now_ns: int) -> Reference:
    """Drop every blend (or sampled blend) in the reference that is over at now_ns."""
    while isinstance(reference, (Blend, SampledBlend)) and now_ns >= reference.end_ns:
        reference = reference.new
    if isinstance(reference, Blend):
        reference.old = _fold(reference.old, now_ns)
    return reference


def _bounded(reference: Reference, now_ns: int) -> Reference:
    """Keep a reference that is about to get a new blend on top under MAX_BLEND_DEPTH blends.

    The oldest running blend is replaced by a sampled copy of its rest (same motion within
    micro-radians, C2, evaluated in one segment), so a tick's cost does not grow with the rate
    at which chunks arrive.
    """
    chain = []
    node = reference
    while isinstance(node, Blend):
        chain.append(node)
        node = node.old
    if len(chain) < MAX_BLEND_DEPTH:
        return reference
    sampled = SampledBlend(chain[-1], now_ns)
    if len(chain) == 1:
        return sampled
    chain[-2].old = sampled
    return reference


@dataclass(frozen=True)
class ExecutorConfig:
    """Executor parameters (seconds, radians / metres). None disables a timeout."""

    interpolation: str = 'cubic'  # 'linear' | 'cubic' | 'quintic'
    blend_window_s: float = 0.2  # shortest splice blend; 0 with max 0 = snap (naive)
    max_blend_window_s: float = 1.0  # longest splice blend
    blend_headroom: float = 0.5  # share of v/a limits a blend may add on top of the chunks
    max_chunk_age_s: float = 1.0  # refuse chunks whose observation is older than this
    future_tolerance_s: float = 0.05  # refuse chunks stamped further than this in the future
    state_timeout_s: Optional[float] = 0.25  # hold when joint states are older than this
    chunk_timeout_s: Optional[float] = 1.5  # hold when no chunk was accepted for this long
    max_first_row_deviation: Union[float, Sequence[float]] = 0.2  # first row vs command
    row_velocity_factor: float = 1.0  # refuse rows stepping faster than factor * v_max
    row_acceleration_factor: Optional[float] = None  # refuse rows above factor * a_max
    position_limit_margin: float = 0.02  # refuse rows further outside the limits than this
    jtc_min_lead_s: float = 0.005  # JTC points closer than this to now are left out
    jtc_hold_period_s: float = 0.02  # JTC point spacing while braking to a hold

    def __post_init__(self):
        if self.interpolation not in METHODS:
            raise ValueError(
                f'ExecutorConfig.interpolation: expected one of {METHODS}, '
                f'got {self.interpolation!r}')
        if not 0.0 <= self.blend_window_s <= self.max_blend_window_s:
            raise ValueError(
                f'ExecutorConfig.blend_window_s: expected 0 <= blend_window_s <= '
                f'max_blend_window_s ({self.max_blend_window_s}), got {self.blend_window_s}')
        if not 0.0 < self.blend_headroom <= 1.0:
            raise ValueError(
                f'ExecutorConfig.blend_headroom: expected in (0, 1], got {self.blend_headroom}')
        for name in ('max_chunk_age_s', 'future_tolerance_s', 'row_velocity_factor',
                     'position_limit_margin', 'jtc_min_lead_s', 'jtc_hold_period_s'):
            if not getattr(self, name) >= 0.0:
                raise ValueError(
                    f'ExecutorConfig.{name}: expected >= 0, got {getattr(self, name)}')
        for name in ('state_timeout_s', 'chunk_timeout_s', 'row_acceleration_factor'):
            value = getattr(self, name)
            if value is not None and not value > 0.0:
                raise ValueError(f'ExecutorConfig.{name}: expected > 0 or None, got {value}')
        if self.jtc_hold_period_s <= 0.0:
            raise ValueError('ExecutorConfig.jtc_hold_period_s: expected > 0')
        deviation = np.asarray(self.max_first_row_deviation, dtype=np.float64)
        if not (deviation > 0).all():
            raise ValueError(
                f'ExecutorConfig.max_first_row_deviation: expected > 0, got {deviation}')


@dataclass(frozen=True)
class Command:
    """One executor output: joint set-points in the limits' joint order."""

    positions: np.ndarray  # (J,) finite, within position limits
    velocities: np.ndarray  # (J,) finite, within velocity limits
    stamp_ns: int
    status: str  # 'tracking' | 'holding'
    reason: str  # 'chunk' | 'blending' while tracking; why, while holding
    limited: bool = False  # the velocity guard changed this command


@dataclass(frozen=True)
class ChunkDecision:
    """Whether a chunk was accepted, and why not (reason '' when accepted)."""

    accepted: bool
    reason: str
    first_row: int = -1  # index of the first row that will be executed
    blend_s: float = 0.0  # length of the splice blend


class PendingRows(NamedTuple):
    """The not-yet-executed rows of the active chunk (for real-time chunking)."""

    first_index: int  # index in the chunk of the first pending row
    times_ns: np.ndarray  # (K,) int64
    positions: np.ndarray  # (K, J)


class TrajectoryPoints(NamedTuple):
    """A spliced trajectory for joint_trajectory_controller (header.stamp = stamp_ns)."""

    stamp_ns: int
    joint_names: Tuple[str, ...]
    time_from_start_ns: np.ndarray  # (K,) int64, strictly increasing, > 0
    positions: np.ndarray  # (K, J)
    velocities: np.ndarray  # (K, J); the last row is zero


class TrajectoryExecutor:
    """Turns time-stamped action chunks into a smooth, limited command stream."""

    def __init__(self, limits: JointLimits, config: Optional[ExecutorConfig] = None,
                 log: Optional[CommandLog] = None):
        self.limits = limits
        self.config = config or ExecutorConfig()
        self.log = log
        self._max_deviation = np.broadcast_to(
            np.asarray(self.config.max_first_row_deviation, dtype=np.float64),
            (limits.num_joints,)).copy()
        self._reference: Optional[Reference] = None
        self._active: Optional[ChunkTrajectory] = None
        self._hold_reason = 'startup'
        self._min_stamp_ns: Optional[int] = None
        self._last_stamp_ns: Optional[int] = None
        self._last_accept_ns: Optional[int] = None
        self._state_stamp_ns: Optional[int] = None
        self.measured_positions: Optional[np.ndarray] = None
        self.last_command: Optional[Command] = None
        self.refusals: Dict[str, int] = {}

    # ----------------------------------------------------------------------------- state
    @property
    def ready(self) -> bool:
        """True once there is a command to hold (after reset() or the first joint state)."""
        return self._reference is not None

    @property
    def active_chunk(self) -> Optional[ActionChunk]:
        return None if self._active is None else self._active.chunk

    def _vector(self, name: str, values: np.ndarray) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (self.limits.num_joints,):
            raise ValueError(
                f'{name}: expected shape ({self.limits.num_joints},), got {array.shape}')
        if not np.isfinite(array).all():
            raise ValueError(f'{name}: expected finite values, got {array}')
        return array

    def _hold_from(self, positions: np.ndarray, velocities: np.ndarray, start_ns: int,
                   reason: str) -> None:
        self._reference = BrakingHold(positions, velocities, start_ns,
                                      self.limits.max_acceleration, self.limits.lower,
                                      self.limits.upper)
        self._active = None
        self._hold_reason = reason

    def _hold(self, now_ns: int, reason: str) -> None:
        """Stop executing chunks: brake from where the reference is now.

        If the reference is not finite (a fault), brake from the last emitted command instead.
        """
        positions, velocities = self._reference.evaluate(now_ns)
        if math.isfinite(float(positions.sum()) + float(velocities.sum())):
            self._hold_from(positions, velocities, now_ns, reason)
        else:
            last = self.last_command
            self._hold_from(last.positions, last.velocities, last.stamp_ns, reason)

    def reset(self, command: np.ndarray, now_ns: int,
              velocities: Optional[np.ndarray] = None) -> None:
        """Hold ``command`` from now on; drop the active chunk and every chunk stamped before now.

        Used at startup and by the teleop -> policy handover. With ``velocities`` the hold
        brakes from that motion at the acceleration limit instead of stopping dead.
        """
        command = self.limits.clamp_positions(self._vector('command', command))
        motion = (np.zeros_like(command) if velocities is None
                  else self._vector('velocities', velocities))
        now_ns = int(now_ns)
        self._hold_from(command, motion, now_ns, 'reset')
        self._min_stamp_ns = now_ns
        self._last_stamp_ns = None
        self._last_accept_ns = None
        motion = np.clip(motion, -self.limits.max_velocity, self.limits.max_velocity)
        self.last_command = Command(command, motion, now_ns, HOLDING, 'reset')

    def update_joint_state(self, positions: np.ndarray, stamp_ns: int) -> None:
        """Record measured joint positions (feeds the watchdog; the first one starts a hold)."""
        positions = self._vector('joint_state.positions', positions)
        stamp_ns = int(stamp_ns)
        if self._state_stamp_ns is None or stamp_ns >= self._state_stamp_ns:
            self._state_stamp_ns = stamp_ns
            self.measured_positions = positions
        if self._reference is None:
            hold = self.limits.clamp_positions(positions)
            self._hold_from(hold, np.zeros_like(hold), stamp_ns, 'startup')
            self._min_stamp_ns = stamp_ns

    def _state_stale(self, now_ns: int) -> bool:
        timeout = self.config.state_timeout_s
        if timeout is None:
            return False
        return self._state_stamp_ns is None or (now_ns - self._state_stamp_ns) * NS > timeout

    # ----------------------------------------------------------------------------- chunks
    def _refuse(self, now_ns: int, chunk: ActionChunk, reason: str) -> ChunkDecision:
        kind = reason.split(':', 1)[0]
        self.refusals[kind] = self.refusals.get(kind, 0) + 1
        decision = ChunkDecision(False, reason)
        if self.log is not None:
            self.log.record_decision(now_ns, chunk.stamp_ns, decision)
        return decision

    def _timing_reason(self, chunk: ActionChunk, now_ns: int) -> Optional[str]:
        config = self.config
        if self._min_stamp_ns is not None and chunk.stamp_ns < self._min_stamp_ns:
            return 'before_reset: chunk stamped before the last reset/startup'
        if self._last_stamp_ns is not None and chunk.stamp_ns <= self._last_stamp_ns:
            return (f'out_of_order: stamp {chunk.stamp_ns} not newer than the last accepted '
                    f'stamp {self._last_stamp_ns}')
        age_s = (now_ns - chunk.stamp_ns) * NS
        if age_s < -config.future_tolerance_s:
            return f'from_future: stamp {-age_s:.3f} s ahead of now (clock mismatch?)'
        if age_s > config.max_chunk_age_s:
            return f'stale: observation {age_s:.3f} s old (max {config.max_chunk_age_s})'
        if chunk.row_times_ns()[-1] <= now_ns:
            return 'expired: every row of the chunk is already in the past'
        if self._state_stale(now_ns):
            return 'joint_state_stale: no fresh joint state to execute against'
        return None

    def _content_reason(self, positions: np.ndarray, chunk: ActionChunk,
                        first_row: int, now_ns: int) -> Optional[str]:
        config = self.config
        reason = position_limit_reason(positions, self.limits, config.position_limit_margin)
        reason = reason or row_velocity_reason(positions, chunk.dt_ns, self.limits,
                                               config.row_velocity_factor)
        if reason is None and config.row_acceleration_factor is not None:
            reason = row_acceleration_reason(positions, chunk.dt_ns, self.limits,
                                             config.row_acceleration_factor)
        if reason is None:
            current, _ = self._reference.evaluate(now_ns)
            reason = first_row_reason(positions[first_row], current, self.limits,
                                      self._max_deviation)
        return reason

    def submit(self, chunk: ActionChunk, now_ns: int) -> ChunkDecision:
        """Check a whole chunk; refuse it with a reason or splice it into the command stream."""
        now_ns = int(now_ns)
        if self._reference is None:
            return self._refuse(now_ns, chunk, 'uninitialized: no joint state or reset yet')
        order = joint_order(chunk.joint_names, self.limits.joint_names)
        if order is None:
            return self._refuse(
                now_ns, chunk, f'joint_names: expected {list(self.limits.joint_names)}, got '
                f'{list(chunk.joint_names)}')
        if not np.array_equal(order, np.arange(order.size)):
            chunk = ActionChunk(chunk.positions[:, order], chunk.stamp_ns, chunk.dt_ns,
                                self.limits.joint_names,
                                None if chunk.velocities is None else chunk.velocities[:, order],
                                chunk.timing_ms)
        reason = non_finite_reason(chunk) or self._timing_reason(chunk, now_ns)
        first_row = int(np.searchsorted(chunk.row_times_ns(), now_ns, side='right'))
        reason = reason or self._content_reason(chunk.positions, chunk, first_row, now_ns)
        if reason is not None:
            return self._refuse(now_ns, chunk, reason)
        return self._splice(chunk, now_ns, first_row)

    def _splice(self, chunk: ActionChunk, now_ns: int, first_row: int) -> ChunkDecision:
        limits = self.limits
        new = ChunkTrajectory(chunk, self.config.interpolation, limits.max_acceleration,
                              limits.lower, limits.upper)
        old = _bounded(self._settled_reference(now_ns), now_ns)
        start_ns = max(now_ns, new.start_ns)
        config = self.config
        duration_ns = blend_duration_ns(old, new, start_ns, self.limits, config.blend_window_s,
                                        config.max_blend_window_s, config.blend_headroom)
        self._reference = new if duration_ns <= 0 else Blend(old, new, start_ns, duration_ns)
        self._active = new
        self._last_stamp_ns = chunk.stamp_ns
        self._last_accept_ns = now_ns
        decision = ChunkDecision(True, '', first_row, duration_ns * NS)
        if self.log is not None:
            self.log.record_decision(now_ns, chunk.stamp_ns, decision)
        return decision

    def _settled_reference(self, now_ns: int) -> Reference:
        """Return the running reference with finished blends folded away."""
        self._reference = _fold(self._reference, now_ns)
        return self._reference

    def pending_rows(self, now_ns: int) -> PendingRows:
        """Rows of the active chunk whose time is after now (empty when holding)."""
        if self._active is None:
            num = self.limits.num_joints
            return PendingRows(0, np.zeros(0, dtype=np.int64), np.zeros((0, num)))
        times = self._active.row_times_ns
        first = int(np.searchsorted(times, int(now_ns), side='right'))
        rows = self._active.chunk.positions[first:].copy()
        return PendingRows(first, times[first:].copy(), rows)

    # ----------------------------------------------------------------------------- output
    def _watchdog(self, now_ns: int) -> None:
        if self._active is None:
            return
        timeout = self.config.chunk_timeout_s
        if self._state_stale(now_ns):
            self._hold(now_ns, 'joint_state_stale')
        elif timeout is not None and (now_ns - self._last_accept_ns) * NS > timeout:
            self._hold(now_ns, 'chunk_timeout')
        elif (now_ns >= self._active.end_ns
              and not isinstance(self._settled_reference(now_ns), Blend)):
            self._hold(now_ns, 'chunk_exhausted')  # rows done and the splice into them too

    def tick(self, now_ns: int) -> Optional[Command]:
        """Return the command for time now_ns (None before the first joint state or reset)."""
        if self._reference is None:
            return None
        now_ns = int(now_ns)
        last = self.last_command
        if last is not None and now_ns <= last.stamp_ns:
            if now_ns < last.stamp_ns:
                raise ValueError(
                    f'now_ns: expected >= the last tick ({last.stamp_ns}), got {now_ns}')
            return last
        self._watchdog(now_ns)
        reference = self._settled_reference(now_ns)
        positions, velocities = reference.evaluate(now_ns)
        if not math.isfinite(float(positions.sum()) + float(velocities.sum())):  # any NaN/inf
            self._hold(now_ns, 'fault_non_finite')
            positions, velocities = self._reference.evaluate(now_ns)
        limits = self.limits
        limited = False
        if last is not None:
            dt_s = (now_ns - last.stamp_ns) * NS
            max_step = limits.max_velocity * dt_s
            step = positions - last.positions
            if (np.abs(step) > max_step).any():
                limited = True
                step = np.minimum(np.maximum(step, -max_step), max_step)
                positions = last.positions + step
                velocities = step / dt_s
        inside = np.minimum(np.maximum(positions, limits.lower), limits.upper)
        if (inside != positions).any():  # pinned at a position limit: not moving there
            velocities = np.where(inside != positions, 0.0, velocities)
            positions = inside
        velocities = np.minimum(np.maximum(velocities, -limits.max_velocity),
                                limits.max_velocity)
        if self._active is not None:
            status = TRACKING
            reason = 'blending' if isinstance(reference, Blend) else 'chunk'
        else:
            status, reason = HOLDING, self._hold_reason
        command = Command(positions, velocities, now_ns, status, reason, limited)
        self.last_command = command
        if self.log is not None:
            self.log.record(command)
        return command

    def splice_trajectory(self, now_ns: int) -> Optional[TrajectoryPoints]:
        """Return the spliced reference from now on as JointTrajectory points (None before ready).

        While tracking: one point per remaining chunk row (the blend included), then the braking
        tail after the last row sampled every jtc_hold_period_s, ending at rest. While holding:
        the braking ramp sampled the same way.
        Publish it with ``header.stamp = stamp_ns`` after every accepted chunk and whenever
        tick() switches to holding.
        """
        if self._reference is None:
            return None
        now_ns = int(now_ns)
        reference = self._settled_reference(now_ns)
        lead_ns = int(round(self.config.jtc_min_lead_s / NS))
        period_ns = int(round(self.config.jtc_hold_period_s / NS))
        rows = np.zeros(0, dtype=np.int64)
        rest_ns = reference.end_ns  # a hold's stop, or a blend's end
        if self._active is not None:
            rows = self._active.row_times_ns
            rows = rows[rows > now_ns + lead_ns]
            rest_ns = max(rest_ns, self._active.rest_ns)
        after = rows[-1] if rows.size else now_ns
        tail = np.arange(after + period_ns, max(rest_ns, after + period_ns) + period_ns,
                         period_ns, dtype=np.int64)
        times = np.concatenate([rows, tail])
        samples = [reference.evaluate(int(t)) for t in times]
        positions = self.limits.clamp_positions(np.array([p for p, _ in samples]))
        velocities = np.array([v for _, v in samples])
        velocities = np.clip(velocities, -self.limits.max_velocity, self.limits.max_velocity)
        velocities[-1] = 0.0
        return TrajectoryPoints(now_ns, self.limits.joint_names, times - now_ns, positions,
                                velocities)
