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
The trajectory executor: latency-aware, jump-free execution of time-stamped action chunks.

Time is integer nanoseconds passed in by the caller; nothing here reads a clock.

The executor keeps one commanded state per joint (position, velocity, acceleration; see
:mod:`pi05_ros.control.commanded_state`). Every output comes from it: tick commands, and the
points for joint_trajectory_controller, which are the same state rolled forward. Every decision
uses it: holds brake from it, the first-row check measures against it, a splice starts from it.
It stays inside the position, velocity, acceleration and jerk limits at every tick.

- ``submit(chunk, now)`` checks a whole chunk and either refuses it with a reason or splices it
  into the running reference: rows whose time has passed are skipped (the chunk enters at
  ``now - stamp``) and the running reference is blended into the new chunk with a minimum-jerk
  weight. Blends overlap when chunks arrive faster than blends finish; at most MAX_BLEND_DEPTH
  are evaluated per tick. A real-time-chunking chunk that arrives within its frozen rows
  (:func:`continues_running`) already agrees with the running one there: it replaces the
  reference without a blend, after the same checks (a first row away from the command is
  refused), and the command still follows it within the limits.
- ``tick(now)`` moves the commanded state along the reference (exactly where the reference is
  within the limits, time-optimally back onto it where it is not), or brakes it to rest when the
  chunk runs out, when joint states or chunks go stale, or on a fault.
- ``follow(target, now)`` moves it towards a teleop target (the mode switch's TELEOP).
- ``splice_trajectory(now)`` gives the commanded state's future as stamped points for
  joint_trajectory_controller.
"""

import copy
import dataclasses
from dataclasses import dataclass
import math
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.commanded_state import CommandedState
from pi05_ros.control.interpolation import METHODS
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog
from pi05_ros.control.safety import (
    first_row_reason, joint_order, non_finite_reason, position_limit_reason,
    row_acceleration_reason, row_velocity_reason)
from pi05_ros.control.splice import blend_duration_ns
from pi05_ros.control.trajectory import (
    Blend, ChunkTrajectory, Knots, NS, Reference, sampled_blend, State)

TRACKING = 'tracking'
HOLDING = 'holding'
FOLLOWING = 'following'  # moving towards a teleop target (ModeSwitch TELEOP)
MAX_BLEND_DEPTH = 2  # blends evaluated per tick at most (chunks faster than blends finish)
MIN_ROWS = 2  # a chunk needs two rows to define a motion
CATCH_UP_S = 0.1  # a splice from a command off its reference joins the reference this later
MAX_ROLLOUT_S = 30.0  # a rollout that has not come to rest by then is cut there


def continues_running(chunk: ActionChunk, first_row: int) -> bool:
    """
    Tell whether ``chunk`` continues the running chunk from ``first_row`` on (no blend needed).

    True for a chunk sampled by real-time chunking with guidance whose first executed row is
    within its frozen rows (``first_row <= rtc.delay_rows``): those rows were pulled onto the
    chunk that runs. A chunk that arrives later than that is blended like any other.
    """
    rtc = chunk.rtc
    return rtc is not None and rtc.guided and first_row <= rtc.delay_rows


def _fold(reference: Reference, now_ns: int, in_place: bool = True) -> Reference:
    """
    Drop every blend (or knot piece) in the reference that is over at now_ns.

    ``in_place`` False leaves the given reference as it is (rollouts of the future must not
    change what the next tick follows): a blend whose old side changes is copied.
    """
    while True:
        if isinstance(reference, Blend) and now_ns >= reference.end_ns:
            reference = reference.new
        elif (isinstance(reference, Knots) and reference.after is not None
              and now_ns >= reference.end_ns):
            reference = reference.after
        else:
            break
    if isinstance(reference, Blend):
        old = _fold(reference.old, now_ns, in_place)
        if old is not reference.old:
            if not in_place:
                reference = copy.copy(reference)
            reference.old = old
    return reference


def _bounded(reference: Reference, now_ns: int) -> Reference:
    """
    Keep a reference that is about to get a new blend on top under MAX_BLEND_DEPTH blends.

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
    sampled = sampled_blend(chain[-1], now_ns)
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
    future_tolerance_s: float = 0.05  # refuse chunks / joint states stamped further ahead
    state_timeout_s: Optional[float] = 0.25  # hold when joint states are older than this
    chunk_timeout_s: Optional[float] = 1.5  # hold when no chunk was accepted for this long
    max_first_row_deviation: Union[float, Sequence[float]] = 0.2  # first row vs command
    row_velocity_factor: float = 1.0  # refuse rows stepping faster than factor * v_max
    row_acceleration_factor: Optional[float] = None  # refuse rows above factor * a_max
    position_limit_margin: float = 0.02  # refuse rows further outside the limits than this
    jtc_min_lead_s: float = 0.005  # JTC points closer than this to now are left out
    jtc_point_period_s: float = 0.02  # spacing of the points sent to JTC

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
                     'position_limit_margin', 'jtc_min_lead_s'):
            if not getattr(self, name) >= 0.0:
                raise ValueError(
                    f'ExecutorConfig.{name}: expected >= 0, got {getattr(self, name)}')
        for name in ('state_timeout_s', 'chunk_timeout_s', 'row_acceleration_factor'):
            value = getattr(self, name)
            if value is not None and not value > 0.0:
                raise ValueError(f'ExecutorConfig.{name}: expected > 0 or None, got {value}')
        if not self.jtc_point_period_s > 0.0:
            raise ValueError(
                f'ExecutorConfig.jtc_point_period_s: expected > 0, got {self.jtc_point_period_s}')
        deviation = np.asarray(self.max_first_row_deviation, dtype=np.float64)
        if not (deviation > 0).all():
            raise ValueError(
                f'ExecutorConfig.max_first_row_deviation: expected > 0, got {deviation}')


@dataclass(frozen=True)
class Command:
    """One executor output: the commanded state at stamp_ns, in the limits' joint order."""

    positions: np.ndarray  # (J,) within position limits
    velocities: np.ndarray  # (J,) within velocity limits
    accelerations: np.ndarray  # (J,) within acceleration limits
    stamp_ns: int
    status: str  # 'tracking' | 'holding' | 'following'
    reason: str  # 'chunk' | 'blending' while tracking; why, while holding
    limited: bool = False  # the limits kept the command off its reference this period
    tracking_error: float = 0.0  # largest |command - reference| over the joints (tracking)


@dataclass(frozen=True)
class ChunkDecision:
    """Whether a chunk was accepted, and why not (reason '' when accepted)."""

    accepted: bool
    reason: str
    first_row: int = -1  # index of the first row that will be executed
    blend_s: float = 0.0  # length of the splice blend
    continued: bool = False  # a real-time-chunking chunk taken without a blend


class PendingRows(NamedTuple):
    """The not-yet-executed rows of the active chunk, as the command will execute them."""

    first_index: int  # index in the chunk of the first pending row
    times_ns: np.ndarray  # (K,) int64
    positions: np.ndarray  # (K, J) the commanded state rolled forward to each row time


class TrajectoryPoints(NamedTuple):
    """The commanded state's future for joint_trajectory_controller (header.stamp = stamp_ns)."""

    stamp_ns: int
    joint_names: Tuple[str, ...]
    time_from_start_ns: np.ndarray  # (K,) int64, strictly increasing, > 0
    positions: np.ndarray  # (K, J)
    velocities: np.ndarray  # (K, J); the last row is zero
    accelerations: np.ndarray  # (K, J); the last row is zero


class TrajectoryExecutor:
    """Turns time-stamped action chunks into a smooth command stream inside the limits."""

    def __init__(self, limits: JointLimits, config: Optional[ExecutorConfig] = None,
                 log: Optional[CommandLog] = None):
        self.limits = limits
        self.config = config or ExecutorConfig()
        self.log = log
        self._max_deviation = np.broadcast_to(
            np.asarray(self.config.max_first_row_deviation, dtype=np.float64),
            (limits.num_joints,)).copy()
        CommandedState(limits, np.zeros(limits.num_joints))  # refuses unusable limits now
        self._state: Optional[CommandedState] = None
        self._reference: Optional[Reference] = None  # None while holding
        self._active: Optional[ChunkTrajectory] = None
        self._on_reference = False  # the last tick left the command exactly on the reference
        self._hold_reason = 'startup'
        self._min_stamp_ns: Optional[int] = None
        self._last_stamp_ns: Optional[int] = None
        self._last_accept_ns: Optional[int] = None
        self._state_stamp_ns: Optional[int] = None
        self._state_received_ns: Optional[int] = None
        self.measured_positions: Optional[np.ndarray] = None
        self.last_command: Optional[Command] = None
        self._unlogged = False  # last_command is a start command no tick has output yet
        self.refusals: Dict[str, int] = {}

    # ----------------------------------------------------------------------------- state
    @property
    def ready(self) -> bool:
        """Return True once there is a commanded state (after reset() or the first joint state)."""
        return self._state is not None

    @property
    def tracking(self) -> bool:
        return self._active is not None

    @property
    def active_chunk(self) -> Optional[ActionChunk]:
        return None if self._active is None else self._active.chunk

    @property
    def commanded_state(self) -> Optional[State]:
        """(positions, velocities, accelerations) of the last command; None before ready."""
        return None if self._state is None else self._state.state

    def tighten_limits(self, limits: JointLimits) -> None:
        """
        Use ``limits`` from now on; they may only tighten the running ones.

        Raises ValueError (naming the field) when a limit is looser, or when the command is
        outside the new limits now (then nothing changes: try again when it is, e.g. at rest).
        """
        reason = limits.looser_than(self.limits)
        if reason is not None:
            raise ValueError(reason)
        if self._state is not None:
            self._state = self._state.with_limits(limits)
        self.limits = limits

    def _vector(self, name: str, values: np.ndarray) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (self.limits.num_joints,):
            raise ValueError(
                f'{name}: expected shape ({self.limits.num_joints},), got {array.shape}')
        if not np.isfinite(array).all():
            raise ValueError(f'{name}: expected finite values, got {array}')
        return array

    def _emit(self, now_ns: int, status: str, reason: str, limited: bool = False,
              reference: Optional[np.ndarray] = None, record: bool = True) -> Command:
        positions, velocities, accelerations = self._state.state
        error = 0.0 if reference is None else float(np.abs(positions - reference).max())
        command = Command(positions, velocities, accelerations, now_ns, status, reason, limited,
                          error)
        self.last_command = command
        self._unlogged = not record
        if self.log is not None and record:
            self.log.record(command)
        return command

    def reset(self, command: np.ndarray, now_ns: int,
              velocities: Optional[np.ndarray] = None) -> None:
        """
        Command ``command`` from now on; drop the active chunk and every chunk stamped before.

        Used at startup. With ``velocities`` the command continues with that motion and brakes
        from it within the limits.
        """
        command = self._vector('command', command)
        motion = None if velocities is None else self._vector('velocities', velocities)
        now_ns = int(now_ns)
        self._state = CommandedState(self.limits, command, motion)
        self._stop(now_ns, 'reset')
        self._emit(now_ns, HOLDING, 'reset', record=False)  # the start, not a tick

    def hold(self, now_ns: int, reason: str) -> None:
        """
        Stop executing chunks: brake from the commanded state from now on.

        Chunks stamped before now are refused afterwards (they were computed for a motion that
        no longer runs); the mode switch calls this when it enters or leaves POLICY.
        """
        self._stop(int(now_ns), reason)

    def _stop(self, now_ns: int, reason: str) -> None:
        self._reference = None
        self._active = None
        self._on_reference = False
        self._hold_reason = reason
        self._min_stamp_ns = now_ns
        self._last_stamp_ns = None
        self._last_accept_ns = None

    def _hold(self, reason: str) -> None:
        """Brake from the commanded state (a watchdog or a fault); keeps the chunk stamps."""
        self._reference = None
        self._active = None
        self._on_reference = False
        self._hold_reason = reason

    def update_joint_state(self, positions: np.ndarray, stamp_ns: int,
                           received_ns: Optional[int] = None) -> bool:
        """
        Take measured joint positions; False (and a refusal count) if refused.

        ``received_ns`` is when it arrived, on the clock ticks and chunks are judged on (the
        node's clock; a bag's receive time in replay; default: the stamp). A joint state
        stamped more than ``future_tolerance_s`` after it arrived is refused: a driver whose
        clock runs ahead must not keep the watchdog fed. Staleness is judged on arrival times.
        The first joint state accepted starts the command there, at rest.
        """
        positions = self._vector('joint_state.positions', positions)
        stamp_ns = int(stamp_ns)
        received_ns = stamp_ns if received_ns is None else int(received_ns)
        if (stamp_ns - received_ns) * NS > self.config.future_tolerance_s:
            self.refusals['joint_state_from_future'] = (
                self.refusals.get('joint_state_from_future', 0) + 1)
            return False
        if self._state_stamp_ns is not None and stamp_ns < self._state_stamp_ns:
            self.refusals['joint_state_out_of_order'] = (
                self.refusals.get('joint_state_out_of_order', 0) + 1)
            return False
        self._state_stamp_ns = stamp_ns
        self._state_received_ns = received_ns
        self.measured_positions = positions
        if self._state is None:
            self._state = CommandedState(self.limits, positions)
            self._stop(received_ns, 'startup')
            self._emit(received_ns, HOLDING, 'startup', record=False)
        return True

    def _state_stale(self, now_ns: int) -> bool:
        timeout = self.config.state_timeout_s
        if timeout is None:
            return False
        return (self._state_received_ns is None
                or (now_ns - self._state_received_ns) * NS > timeout)

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
            return 'before_reset: chunk stamped before the last reset/startup/hold request'
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
                        first_row: int) -> Optional[str]:
        config = self.config
        reason = position_limit_reason(positions, self.limits, config.position_limit_margin)
        reason = reason or row_velocity_reason(positions, chunk.dt_ns, self.limits,
                                               config.row_velocity_factor)
        if reason is None and config.row_acceleration_factor is not None:
            reason = row_acceleration_reason(positions, chunk.dt_ns, self.limits,
                                             config.row_acceleration_factor)
        if reason is None:
            reason = first_row_reason(positions[first_row], self._state.positions, self.limits,
                                      self._max_deviation)
        return reason

    def submit(self, chunk: ActionChunk, now_ns: int) -> ChunkDecision:
        """Check a whole chunk; refuse it with a reason or splice it into the command stream."""
        now_ns = int(now_ns)
        if self._state is None:
            return self._refuse(now_ns, chunk, 'uninitialized: no joint state or reset yet')
        if chunk.horizon < MIN_ROWS:
            return self._refuse(now_ns, chunk, f'too_short: {chunk.horizon} rows (expected at '
                                               f'least {MIN_ROWS})')
        order = joint_order(chunk.joint_names, self.limits.joint_names)
        if order is None:
            return self._refuse(
                now_ns, chunk, f'joint_names: expected {list(self.limits.joint_names)}, got '
                f'{list(chunk.joint_names)}')
        if not np.array_equal(order, np.arange(order.size)):
            chunk = dataclasses.replace(
                chunk, positions=chunk.positions[:, order], joint_names=self.limits.joint_names,
                velocities=None if chunk.velocities is None else chunk.velocities[:, order])
        reason = non_finite_reason(chunk) or self._timing_reason(chunk, now_ns)
        first_row = int(np.searchsorted(chunk.row_times_ns(), now_ns, side='right'))
        reason = reason or self._content_reason(chunk.positions, chunk, first_row)
        if reason is not None:
            return self._refuse(now_ns, chunk, reason)
        return self._splice(chunk, now_ns, first_row)

    def _splice(self, chunk: ActionChunk, now_ns: int, first_row: int) -> ChunkDecision:
        limits = self.limits
        new = ChunkTrajectory(chunk, self.config.interpolation, limits.max_acceleration,
                              limits.lower, limits.upper)
        old = self._command_reference(now_ns)
        start_ns = max(now_ns, new.start_ns)
        config = self.config
        continued = continues_running(chunk, first_row) and self._active is not None
        if continued:  # its rows up to now are the running ones: no blend, the command goes on
            duration_ns = 0
        else:
            duration_ns = blend_duration_ns(old, new, start_ns, self.limits,
                                            config.blend_window_s, config.max_blend_window_s,
                                            config.blend_headroom)
        self._reference = new if duration_ns <= 0 else Blend(old, new, start_ns, duration_ns)
        self._active = new
        self._last_stamp_ns = chunk.stamp_ns
        self._last_accept_ns = now_ns
        decision = ChunkDecision(True, '', first_row, duration_ns * NS, continued)
        if self.log is not None:
            self.log.record_decision(now_ns, chunk.stamp_ns, decision)
        return decision

    def _command_reference(self, now_ns: int) -> Reference:
        """
        Return what the command will do from its last tick on, as a reference to splice into.

        While the command is exactly on the running reference, that reference (bounded).
        Otherwise a C2 piece from the commanded state (position, velocity, acceleration at the
        last tick) that joins the running reference CATCH_UP_S later, or, while holding, comes to
        rest where braking from the command stops: the splice starts from the command itself.
        """
        if self._on_reference and self._reference is not None:
            return _bounded(self._settled_reference(now_ns), now_ns)
        start_ns = self.last_command.stamp_ns
        command = self._state.state
        if self._reference is None:
            duration_s, rest = self._state.stopping_state()
            end_ns = start_ns + max(int(round(duration_s / NS)), 1)
            return Knots(np.array([start_ns, end_ns]), *(np.array(x) for x in zip(command, rest)))
        reference = _bounded(self._settled_reference(now_ns), now_ns)
        end_ns = max(now_ns, start_ns) + int(round(CATCH_UP_S / NS))
        joined = reference.evaluate(end_ns)
        return Knots(np.array([start_ns, end_ns]), *(np.array(x) for x in zip(command, joined)),
                     after=reference)

    def _settled_reference(self, now_ns: int) -> Reference:
        """Return the running reference with finished blends folded away."""
        self._reference = _fold(self._reference, now_ns)
        return self._reference

    def pending_rows(self, now_ns: int) -> PendingRows:
        """
        Rows of the active chunk after now, as the command will execute them.

        Positions are the commanded state rolled forward from row to row: where the command is
        on the chunk, the chunk's own rows; during a blend, the blend; empty when holding.
        """
        num = self.limits.num_joints
        if self._active is None:
            return PendingRows(0, np.zeros(0, dtype=np.int64), np.zeros((0, num)))
        times = self._active.row_times_ns
        start_ns = self.last_command.stamp_ns
        rows = times[times > max(int(now_ns), start_ns)]
        if not rows.size:
            return PendingRows(times.size, rows.copy(), np.zeros((0, num)))
        steps = np.concatenate([[start_ns], rows])  # rolled forward row by row
        positions, _, _ = self._rollout(steps)
        return PendingRows(times.size - rows.size, rows.copy(), positions[1:])

    def _rollout(self, times_ns: np.ndarray) -> State:
        """
        (K, J) commanded states at times_ns[0] (the last tick) and after, if nothing changes.

        Follows the running reference (or brakes, while holding) exactly as tick() would.
        """
        state = self._state.copy()
        reference = self._reference
        samples = [state.state]
        for previous, t in zip(times_ns[:-1].tolist(), times_ns[1:].tolist()):
            reference = self._rollout_reference(reference, t)
            self._advance(state, reference, previous, t)
            samples.append(state.state)
        positions, velocities, accelerations = (np.array(x) for x in zip(*samples))
        return positions, velocities, accelerations

    def _rollout_reference(self, reference: Optional[Reference],
                           now_ns: int) -> Optional[Reference]:
        """
        Return the reference a tick at now_ns follows if no chunk or timeout comes (None: brake).

        Mirrors the watchdog's exhaustion rule: after the chunk's last row and its blend, brake.
        """
        if reference is None:
            return None
        reference = _fold(reference, now_ns, in_place=False)
        if now_ns >= self._active.end_ns and not isinstance(reference, Blend):
            return None
        return reference

    @staticmethod
    def _advance(state: CommandedState, reference: Optional[Reference], from_ns: int,
                 to_ns: int, target: Optional[State] = None) -> bool:
        """
        Move ``state`` from from_ns to to_ns along ``reference`` (None: brake).

        ``target``: the reference evaluated at to_ns, when the caller has it already.
        """
        dt_s = (to_ns - from_ns) * NS
        if reference is None:
            state.brake(dt_s)
            return False

        def reference_at(tau_s: float) -> State:
            t_ns = from_ns + int(round(tau_s / NS))
            return target if t_ns == to_ns and target is not None else reference.evaluate(t_ns)

        return state.track(reference_at, dt_s)

    # ----------------------------------------------------------------------------- output
    def _watchdog(self, now_ns: int) -> None:
        if self._active is None:
            return
        timeout = self.config.chunk_timeout_s
        if self._state_stale(now_ns):
            self._hold('joint_state_stale')
        elif timeout is not None and (now_ns - self._last_accept_ns) * NS > timeout:
            self._hold('chunk_timeout')
        elif (now_ns >= self._active.end_ns
              and not isinstance(self._settled_reference(now_ns), Blend)):
            self._hold('chunk_exhausted')  # rows done and the splice into them too

    def _previous_tick_ns(self, now_ns: int) -> Optional[int]:
        """Return the last tick's time; raise on time going backwards; None if now is that tick."""
        last = self.last_command.stamp_ns
        if now_ns < last:
            raise ValueError(f'now_ns: expected >= the last tick ({last}), got {now_ns}')
        return None if now_ns == last else last

    def tick(self, now_ns: int) -> Optional[Command]:
        """Return the command for time now_ns (None before the first joint state or reset)."""
        if self._state is None:
            return None
        now_ns = int(now_ns)
        previous_ns = self._previous_tick_ns(now_ns)
        if previous_ns is None:  # a tick at the start time: the start command is the output
            if self._unlogged and self.log is not None:
                self.log.record(self.last_command)
            self._unlogged = False
            return self.last_command
        self._watchdog(now_ns)
        reference = None if self._reference is None else self._settled_reference(now_ns)
        target = None if reference is None else reference.evaluate(now_ns)
        if target is not None and not _finite(target):
            self._hold('fault_non_finite')
            reference = None
        self._on_reference = self._advance(self._state, reference, previous_ns, now_ns, target)
        if reference is None:
            return self._emit(now_ns, HOLDING, self._hold_reason)
        reason = 'blending' if isinstance(reference, Blend) else 'chunk'
        return self._emit(now_ns, TRACKING, reason, not self._on_reference, target[0])

    def follow(self, target: np.ndarray, now_ns: int, velocity_fraction: float = 1.0,
               reason: str = 'teleop') -> Optional[Command]:
        """
        Move the command towards ``target`` (J,) (at rest there) for the period ending now.

        Drops any chunk (the mode switch calls it in TELEOP). ``velocity_fraction`` in (0, 1]
        of the velocity limits.
        """
        if self._state is None:
            return None
        target = self._vector('target', target)
        now_ns = int(now_ns)
        previous_ns = self._previous_tick_ns(now_ns)
        if self._active is not None or self._reference is not None:
            self._stop(now_ns, reason)
        if previous_ns is None:
            return self.last_command
        exact = self._state.move_to(target, (now_ns - previous_ns) * NS, velocity_fraction)
        return self._emit(now_ns, FOLLOWING, reason, limited=not exact)

    def splice_trajectory(self, now_ns: int) -> Optional[TrajectoryPoints]:
        """
        Return the commanded state's future from now on as JointTrajectory points.

        The state is rolled forward from the last tick in steps of jtc_point_period_s, as tick()
        would move it at that period, along the running reference (or braking, while holding),
        until it is at rest after the chunk's last row; each step is a point, and points closer
        than jtc_min_lead_s to now are left out. Every point's position, velocity
        and acceleration come from that one limited motion, so they agree with each other and
        with the limits, and the first one continues the command. Publish it with
        ``header.stamp = stamp_ns`` after every accepted chunk and whenever tick() switches to
        holding. None before ready.
        """
        if self._state is None:
            return None
        now_ns = int(now_ns)
        period_ns = int(round(self.config.jtc_point_period_s / NS))
        lead_ns = int(round(self.config.jtc_min_lead_s / NS))
        start_ns = self.last_command.stamp_ns
        limit_ns = start_ns + int(round(MAX_ROLLOUT_S / NS))
        state = self._state.copy()
        reference = self._reference
        times, samples = [], []
        t = start_ns
        while t < limit_ns:
            reference = self._rollout_reference(reference, t + period_ns)
            self._advance(state, reference, t, t + period_ns)
            t += period_ns
            done = reference is None and state.at_rest()
            if t > now_ns + lead_ns:
                times.append(t)
                samples.append(state.state)
            if done and times:
                break
        positions, velocities, accelerations = (np.array(x) for x in zip(*samples))
        velocities[-1] = 0.0
        accelerations[-1] = 0.0
        return TrajectoryPoints(now_ns, self.limits.joint_names,
                                np.array(times, dtype=np.int64) - now_ns, positions, velocities,
                                accelerations)


def _finite(state: State) -> bool:
    """Whether every entry of a (positions, velocities, accelerations) triple is finite."""
    return math.isfinite(float(state[0].sum() + state[1].sum() + state[2].sum()))
