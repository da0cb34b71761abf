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
Teleop / policy / hold mode switching with jump-free handover.

:class:`ModeSwitch` sits between the inputs (teleop stream, policy chunks via the
:class:`~pi05_ros.control.executor.TrajectoryExecutor`, operator requests, an intervention Bool
stream) and the command output. Every control period ``tick(now_ns)`` returns one command, the
mode, and who commanded the period (``source``: 'teleop', 'policy' or 'hold').

Which mode is wanted follows from three inputs, evaluated in this order:

1. ``requested``: what the operator last asked for: POLICY (``engage_policy(True)``), TELEOP
   (``request_teleop`` or ``engage_policy(False)``) or HOLD (``request_hold``, or any timeout).
2. the intervention lock (twist_mux semantics): while asserted and POLICY is requested, the human
   has priority and the wanted mode is TELEOP; releasing it gives control back to the policy.
   It does not mask HOLD and has no effect while TELEOP is requested.
3. alignment (GELLO style): TELEOP is entered only while the leader is within ``align_threshold``
   of the current command on every joint; otherwise the mode is HOLD with a reason saying which
   joint is how far, until the leader is brought close. In TELEOP, a leader farther than
   ``tracking_error_limit`` (a jump) goes back to that aligning HOLD. On continuous joints (both
   position limits infinite) the leader's angle is taken modulo 2 pi, nearest the command.

Timeouts latch HOLD: a teleop stream that goes silent while the human is in charge, or a
monitored intervention stream that goes silent while the policy is engaged, sets ``requested``
to HOLD; only a new request leaves it.

Every command is the executor's one commanded state (position, velocity, acceleration per
joint), whoever is in charge: the policy's chunks are tracked by
:meth:`TrajectoryExecutor.tick`, the leader by :meth:`TrajectoryExecutor.follow` (a scaled
velocity limit while ramping onto it), a hold brakes that state to rest. So a handover never
jumps: it changes what the state follows, not the state, which stays inside the position,
velocity, acceleration and jerk limits throughout. Entering POLICY makes the executor refuse
chunks computed before the switch; it brakes from the current command and blends into the
first chunk computed after it.
"""

import collections
from dataclasses import dataclass, field
import enum
import math
from typing import Callable, Deque, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ChunkDecision, Command, TRACKING, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.teleop import joint_vector, TeleopStream

NS_PER_S = 1_000_000_000
CHANGE_LOG_SIZE = 1000  # ModeSwitch.changes keeps the newest; listeners see every change


class Mode(str, enum.Enum):
    """Who may command the robot."""

    TELEOP = 'TELEOP'
    POLICY = 'POLICY'
    HOLD = 'HOLD'


SOURCES = ('teleop', 'policy', 'hold')
REQUESTS = ('engage_policy', 'disengage_policy', 'teleop', 'hold')


@dataclass(frozen=True)
class ModeSwitchConfig:
    """Parameters of the mode switch (times in ns, distances in the joints' units)."""

    teleop_timeout_ns: int = 200_000_000
    intervention_timeout_ns: int = 0  # 0: intervention stream not monitored (last value holds)
    align_threshold: Union[float, Sequence[float]] = 0.1  # enter TELEOP only within this
    tracking_error_limit: Union[float, Sequence[float], None] = 0.5  # None: never leave TELEOP
    handover_velocity_fraction: float = 0.5  # of max_velocity, until the leader is reached
    teleop_velocity_fraction: float = 1.0  # of max_velocity, while tracking the leader
    handover_tolerance: float = 1e-3  # the handover ramp ends within this of the leader

    def __post_init__(self):
        for name in ('teleop_timeout_ns', 'intervention_timeout_ns'):
            value = int(getattr(self, name))
            if value < 0 or (name == 'teleop_timeout_ns' and value == 0):
                raise ValueError(f'ModeSwitchConfig.{name}: expected a positive integer '
                                 f'(0 allowed for intervention), got {value}')
            object.__setattr__(self, name, value)
        for name in ('handover_velocity_fraction', 'teleop_velocity_fraction'):
            value = float(getattr(self, name))
            if not 0.0 < value <= 1.0:
                raise ValueError(f'ModeSwitchConfig.{name}: expected a value in (0, 1], '
                                 f'got {value}')
        if not float(self.handover_tolerance) > 0.0:
            raise ValueError('ModeSwitchConfig.handover_tolerance: expected a positive value, '
                             f'got {self.handover_tolerance}')


class RequestResult(NamedTuple):
    """What a request service answers: ``std_srvs`` (success, message)."""

    success: bool
    message: str


@dataclass(frozen=True)
class ModeTick:
    """The command of one control period and who produced it."""

    stamp_ns: int
    positions: np.ndarray  # (J,) in the limits' joint order
    velocities: np.ndarray  # (J,)
    mode: Mode
    source: str  # 'teleop' | 'policy' | 'hold'
    reason: str
    accelerations: Optional[np.ndarray] = None  # (J,)


@dataclass(frozen=True)
class ModeChange:
    """One entry of the mode-change log."""

    stamp_ns: int
    from_mode: Mode
    to_mode: Mode
    cause: str


# --- Inputs as events: what a bag (or the live node) feeds into ModeSwitch.handle ----------------

@dataclass(frozen=True)
class ModeRequest:
    """An operator request: 'engage_policy', 'disengage_policy', 'teleop' or 'hold'."""

    stamp_ns: int
    request: str

    def __post_init__(self):
        if self.request not in REQUESTS:
            raise ValueError(f'ModeRequest.request: expected one of {REQUESTS}, '
                             f'got {self.request!r}')

    def to_text(self) -> str:
        """Encode as the ``~/mode_request`` String the node publishes: '<request> <stamp_ns>'."""
        return f'{self.request} {int(self.stamp_ns)}'

    @classmethod
    def from_text(cls, text: str, fallback_stamp_ns: int) -> 'ModeRequest':
        """Parse :meth:`to_text` output; without a stamp, ``fallback_stamp_ns`` (bag time)."""
        parts = str(text).split()
        if len(parts) not in (1, 2):
            raise ValueError(f'mode_request: expected "<request> [<stamp_ns>]", got {text!r}')
        if len(parts) == 2 and not parts[1].lstrip('-').isdigit():
            raise ValueError(f'mode_request: stamp must be integer ns, got {parts[1]!r}')
        stamp = int(parts[1]) if len(parts) == 2 else int(fallback_stamp_ns)
        return cls(stamp, parts[0])


@dataclass(frozen=True)
class InterventionSample:
    """One message of the intervention Bool stream (True: the human has priority)."""

    stamp_ns: int
    asserted: bool


@dataclass(frozen=True)
class _PositionsByName:
    """
    A JointState received at ``stamp_ns``.

    ``header_stamp_ns`` is the message's own stamp, which freshness is judged by; None means the
    receive time (for a publisher whose header stamps are zero or on another clock).
    """

    stamp_ns: int
    names: Tuple[str, ...]
    positions: Tuple[float, ...]
    header_stamp_ns: Optional[int] = None


@dataclass(frozen=True)
class TeleopSample(_PositionsByName):
    """One teleop target (a JointState of the leader)."""


@dataclass(frozen=True)
class JointStateSample(_PositionsByName):
    """Measured joint positions by name (for the executor's joint-state watchdog)."""


@dataclass(frozen=True)
class ChunkArrival:
    """A policy chunk, received at ``stamp_ns`` (the chunk carries its observation stamp)."""

    stamp_ns: int
    chunk: ActionChunk


@dataclass(frozen=True)
class Tick:
    """A control period ending at ``stamp_ns``."""

    stamp_ns: int


ModeEvent = Union[ModeRequest, InterventionSample, TeleopSample, JointStateSample, ChunkArrival,
                  Tick]


@dataclass(frozen=True)
class Segment:
    """Consecutive control periods with one mode and one source (first and last tick stamps)."""

    start_ns: int
    end_ns: int
    mode: Mode
    source: str


@dataclass
class ModeTimeline:
    """What a run of the mode switch did: every mode change, and (mode, source) segments."""

    changes: List[ModeChange] = field(default_factory=list)
    segments: List[Segment] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)  # input events refused as bad (ValueError)

    def record_change(self, change: ModeChange) -> None:
        self.changes.append(change)

    def record_tick(self, tick: 'ModeTick') -> None:
        """Extend the last segment, or start one when the mode or the source changed."""
        last = self.segments[-1] if self.segments else None
        if last is not None and (last.mode, last.source) == (tick.mode, tick.source):
            self.segments[-1] = Segment(last.start_ns, tick.stamp_ns, last.mode, last.source)
        else:
            self.segments.append(Segment(tick.stamp_ns, tick.stamp_ns, tick.mode, tick.source))

    def source_segments(self, source: str) -> List[Tuple[int, int]]:
        """(start_ns, end_ns) of the periods commanded by ``source`` (merged across modes)."""
        spans: List[Tuple[int, int]] = []
        previous = None
        for segment in self.segments:
            if segment.source == source and previous is not None and previous.source == source:
                spans[-1] = (spans[-1][0], segment.end_ns)
            elif segment.source == source:
                spans.append((segment.start_ns, segment.end_ns))
            previous = segment
        return spans


class ModeSwitch:
    """
    TELEOP / POLICY / HOLD with bounded-velocity handover. Time is int ns from the caller.

    ``executor`` is a :class:`~pi05_ros.control.executor.TrajectoryExecutor` over the same
    ``limits``: its commanded state is the command in every mode. ``initial_positions`` (J,) is
    the command held at start (the measured joint state) when the executor has none yet.
    """

    def __init__(self, limits: JointLimits, executor: TrajectoryExecutor,
                 initial_positions: Sequence[float],
                 config: Optional[ModeSwitchConfig] = None):
        self.limits = limits
        self.executor = executor
        self.config = config or ModeSwitchConfig()
        positions = np.asarray(initial_positions, dtype=np.float64).reshape(-1)
        if positions.shape != (limits.num_joints,):
            raise ValueError(f'initial_positions: expected shape ({limits.num_joints},), '
                             f'got {positions.shape}')
        if not np.isfinite(positions).all():
            raise ValueError('initial_positions: expected finite values')
        limits.check_positions(positions)
        self._align = _per_joint_threshold('align_threshold', self.config.align_threshold,
                                           limits.num_joints)
        self._tracking = None
        if self.config.tracking_error_limit is not None:
            self._tracking = _per_joint_threshold(
                'tracking_error_limit', self.config.tracking_error_limit, limits.num_joints)
            if (self._tracking < self._align).any():
                raise ValueError('ModeSwitchConfig.tracking_error_limit: expected >= '
                                 'align_threshold on every joint')
        self.teleop = TeleopStream(limits)
        self._continuous = np.isinf(limits.lower) & np.isinf(limits.upper)
        self._initial = positions.copy()
        self._last_tick_ns: Optional[int] = None
        self.last_chunk_decision: Optional[ChunkDecision] = None  # the executor's, last chunk
        self._mode = Mode.HOLD
        self._reason = 'waiting for a request'
        self._requested = Mode.HOLD
        self._hold_reason = 'waiting for a request'
        self._intervening = False
        self._intervention_ns: Optional[int] = None
        self._policy_since_ns: Optional[int] = None
        self._handover = False
        self._source = 'hold'
        self.changes: Deque[ModeChange] = collections.deque(maxlen=CHANGE_LOG_SIZE)
        self.change_listeners: List[Callable[[ModeChange], None]] = []
        self.counters = {'chunks_discarded': 0, 'limited_ticks': 0}

    # --- state --------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def source(self) -> str:
        """Who commanded the last period: 'teleop', 'policy' or 'hold'."""
        return self._source

    @property
    def command(self) -> np.ndarray:
        """(J,) the last command emitted (the initial positions before the first tick)."""
        last = self.executor.last_command
        return self._initial.copy() if last is None else last.positions.copy()

    def tighten_limits(self, limits: JointLimits) -> None:
        """Use tighter limits from now on (see :meth:`TrajectoryExecutor.tighten_limits`)."""
        self.executor.tighten_limits(limits)
        self.limits = limits
        self.teleop.limits = limits
        self._continuous = np.isinf(limits.lower) & np.isinf(limits.upper)

    # --- inputs -------------------------------------------------------------------------------

    def engage_policy(self, enable: bool, now_ns: int) -> RequestResult:
        """``~/engage_policy`` (SetBool): True hands over to the policy, False takes it back."""
        now_ns = int(now_ns)
        if not enable:
            return self._disengage(now_ns)
        silent = self._intervention_silence(now_ns)
        if silent:
            return RequestResult(False, f'policy not engaged: {silent}')
        if self._mode == Mode.POLICY:
            return RequestResult(True, 'policy already engaged')
        self._requested = Mode.POLICY
        self._update(now_ns, 'engage_policy request')
        if self._intervening:
            return RequestResult(True, f'policy engaged; the human has priority until the '
                                       f'intervention is released (mode {self._mode.value})')
        return RequestResult(True, 'policy engaged: ramping from the current command into the '
                                   'first chunk computed after this request')

    def request_teleop(self, now_ns: int) -> RequestResult:
        """``~/teleop`` (Trigger): hand control to the teleop stream (refused if it is silent)."""
        now_ns = int(now_ns)
        fresh, why = self.teleop.freshness(now_ns, self.config.teleop_timeout_ns)
        if not fresh:
            return RequestResult(False, f'teleop not engaged: {why}')
        self._requested = Mode.TELEOP
        self._update(now_ns, 'teleop request')
        return RequestResult(True, f'teleop requested: mode {self._mode.value} ({self._reason})')

    def request_hold(self, now_ns: int) -> RequestResult:
        """``~/hold`` (Trigger): hold the current command until the next request."""
        self._latch_hold('hold requested')
        self._update(int(now_ns), 'hold request')
        return RequestResult(True, 'holding the current command')

    def intervention(self, asserted: bool, now_ns: int) -> None:
        """Take one message of the intervention Bool stream (True: the human has priority)."""
        now_ns = int(now_ns)
        changed = bool(asserted) != self._intervening
        self._intervening = bool(asserted)
        self._intervention_ns = now_ns
        if changed:
            state = 'asserted' if asserted else 'released'
            self._update(now_ns, f'intervention {state}')

    def teleop_sample(self, names: Sequence[str], positions: Sequence[float],
                      stamp_ns: int) -> bool:
        """
        Take a teleop target by joint name; False if ignored (non-finite or out of order).

        Raises ValueError naming the joints missing from ``names``.
        """
        return self.teleop.offer(names, positions, stamp_ns)

    def joint_state(self, names: Sequence[str], positions: Sequence[float],
                    stamp_ns: int, received_ns: Optional[int] = None) -> bool:
        """
        Pass measured joint positions by name to the executor (its joint-state watchdog).

        ``received_ns``: when it arrived (default: the stamp); see
        :meth:`TrajectoryExecutor.update_joint_state`. False if the executor refused it.
        """
        vector = joint_vector(names, positions, self.limits.joint_names, 'joint_state')
        return self.executor.update_joint_state(vector, stamp_ns, received_ns)

    def submit_chunk(self, chunk: ActionChunk, now_ns: int) -> RequestResult:
        """
        Forward a policy chunk to the executor in POLICY; discard it otherwise.

        Chunks computed before POLICY was entered (observation stamp before the switch) are
        discarded too, so the policy ramps into the first chunk computed after the switch.
        """
        now_ns = int(now_ns)
        if self._mode != Mode.POLICY:
            return self._discard(f'not in POLICY (mode {self._mode.value})')
        if chunk.stamp_ns < self._policy_since_ns:
            return self._discard(f'chunk computed before the switch to POLICY '
                                 f'(stamp {chunk.stamp_ns} < {self._policy_since_ns})')
        decision = self.executor.submit(chunk, now_ns)
        self.last_chunk_decision = decision
        return RequestResult(decision.accepted, decision.reason or 'chunk accepted')

    def handle(self, event: ModeEvent):
        """Feed one event (as recorded in a bag); returns what the matching method returns."""
        if isinstance(event, Tick):
            return self.tick(event.stamp_ns)
        if isinstance(event, TeleopSample):
            return self.teleop_sample(event.names, event.positions, _header(event))
        if isinstance(event, JointStateSample):
            return self.joint_state(event.names, event.positions, _header(event),
                                    event.stamp_ns)
        if isinstance(event, ChunkArrival):
            return self.submit_chunk(event.chunk, event.stamp_ns)
        if isinstance(event, InterventionSample):
            return self.intervention(event.asserted, event.stamp_ns)
        if isinstance(event, ModeRequest):
            if event.request in ('engage_policy', 'disengage_policy'):
                return self.engage_policy(event.request == 'engage_policy', event.stamp_ns)
            if event.request == 'teleop':
                return self.request_teleop(event.stamp_ns)
            return self.request_hold(event.stamp_ns)
        raise ValueError(f'event: expected one of ModeRequest, InterventionSample, '
                         f'TeleopSample, JointStateSample, ChunkArrival, Tick; got '
                         f'{type(event).__name__}')

    # --- output -------------------------------------------------------------------------------

    def tick(self, now_ns: int) -> ModeTick:
        """Compute the command for the control period ending at ``now_ns`` (non-decreasing)."""
        now_ns = int(now_ns)
        if self._last_tick_ns is not None and now_ns < self._last_tick_ns:
            raise ValueError(f'now_ns: expected >= the previous tick ({self._last_tick_ns}), '
                             f'got {now_ns}')
        self._last_tick_ns = now_ns
        if not self.executor.ready:
            self.executor.reset(self._initial, now_ns)
        self._update(now_ns, '')
        command, source, reason = self._command_for(now_ns)
        if command.limited:
            self.counters['limited_ticks'] += 1
        self._source = source
        return ModeTick(now_ns, command.positions.copy(), command.velocities.copy(), self._mode,
                        source, reason, command.accelerations.copy())

    def diagnostics(self) -> dict:
        """Key/values for ``diagnostic_msgs``: mode, reason, requested mode, counters."""
        values = {
            'mode': self._mode.value, 'reason': self._reason, 'source': self._source,
            'requested': self._requested.value, 'intervention': str(self._intervening),
            'teleop_accepted': str(self.teleop.accepted),
            'last_teleop_rejection': self.teleop.last_rejection,
        }
        values.update({f'teleop_rejected_{k}': str(v) for k, v in self.teleop.rejected.items()})
        values.update({k: str(v) for k, v in self.counters.items()})
        return values

    # --- internals ----------------------------------------------------------------------------

    def _disengage(self, now_ns: int) -> RequestResult:
        fresh, why = self.teleop.freshness(now_ns, self.config.teleop_timeout_ns)
        if fresh:
            self._requested = Mode.TELEOP
        else:
            self._latch_hold(f'policy disengaged, teleop unavailable ({why})')
        self._update(now_ns, 'disengage_policy request')
        return RequestResult(True, f'policy disengaged: mode {self._mode.value} ({self._reason})')

    def _discard(self, why: str) -> RequestResult:
        self.counters['chunks_discarded'] += 1
        return RequestResult(False, f'chunk discarded: {why}')

    def _latch_hold(self, reason: str) -> None:
        self._requested = Mode.HOLD
        self._hold_reason = reason

    def _intervention_silence(self, now_ns: int) -> str:
        """Why the monitored intervention stream counts as silent, or '' if it does not."""
        timeout = self.config.intervention_timeout_ns
        if timeout == 0:
            return ''
        if self._intervention_ns is None:
            return 'no intervention message received (the stream is monitored)'
        age = now_ns - self._intervention_ns
        if age > timeout:
            return (f'intervention stream silent for {age / 1e6:.1f} ms '
                    f'(timeout {timeout / 1e6:.1f} ms)')
        return ''

    def _wanted(self, now_ns: int) -> Tuple[Mode, str]:
        """Return the mode the inputs ask for now, and why; latch HOLD on a timeout."""
        if self._requested == Mode.POLICY:
            silent = self._intervention_silence(now_ns)
            if silent:
                self._latch_hold(f'timeout: {silent}')
        human = self._requested == Mode.TELEOP or (
            self._requested == Mode.POLICY and self._intervening)
        if human:
            fresh, why = self.teleop.freshness(now_ns, self.config.teleop_timeout_ns)
            if not fresh:
                self._latch_hold(f'timeout: {why}')
                human = False
        if self._requested == Mode.HOLD:
            return Mode.HOLD, self._hold_reason
        if not human:
            return Mode.POLICY, 'policy engaged'
        deviation = np.abs(self._leader() - self.command)
        if self._mode == Mode.TELEOP:
            if self._tracking is not None and (deviation > self._tracking).any():
                return Mode.HOLD, 'leader too far: ' + self._worst(deviation, self._tracking,
                                                                   'tracking_error_limit')
            return Mode.TELEOP, 'leader in command'
        if (deviation <= self._align).all():
            return Mode.TELEOP, 'leader aligned'
        return Mode.HOLD, 'waiting for the leader: ' + self._worst(deviation, self._align,
                                                                   'align_threshold')

    def _leader(self) -> np.ndarray:
        """
        Return the teleop target; on continuous joints the turn nearest the command.

        A leader reporting +3.1 rad and a follower commanded at -3.1 rad (or at 3.1 + 2 pi) are
        0.08 rad apart, not 6.2: alignment and the ramp take the short way round.
        """
        target = self.teleop.target
        if self._continuous.any():
            command = self.command
            offset = np.mod(target - command + math.pi, 2.0 * math.pi) - math.pi
            target = np.where(self._continuous, command + offset, target)
        return target

    def _worst(self, deviation: np.ndarray, threshold: np.ndarray, name: str) -> str:
        i = int(np.argmax(deviation / threshold))
        return (f'joint {self.limits.joint_names[i]} is {deviation[i]:.3f} from the command '
                f'({name} {threshold[i]:.3f})')

    def _update(self, now_ns: int, trigger: str) -> None:
        """Re-evaluate the wanted mode; log and perform a change."""
        wanted, reason = self._wanted(now_ns)
        self._reason = reason
        if wanted == self._mode:
            return
        cause = f'{trigger}: {reason}' if trigger else reason
        change = ModeChange(now_ns, self._mode, wanted, cause)
        self.changes.append(change)
        for listener in self.change_listeners:
            listener(change)
        self._mode = wanted
        if wanted == Mode.POLICY:
            self._policy_since_ns = now_ns
        if self.executor.ready:  # brake from the command; refuse chunks from before the switch
            self.executor.hold(now_ns, 'reset' if wanted == Mode.POLICY else reason)
        self._handover = wanted == Mode.TELEOP

    def _command_for(self, now_ns: int) -> Tuple[Command, str, str]:
        """Return (the executor's command for this period, source, reason) in the current mode."""
        if self._mode == Mode.POLICY:
            command = self.executor.tick(now_ns)
            if command.status == TRACKING:
                return command, 'policy', f'policy {command.reason}'
            if command.reason == 'reset':
                return command, 'hold', 'waiting for the first chunk computed after the switch'
            return command, 'hold', f'policy stale: executor holding ({command.reason})'
        if self._mode == Mode.TELEOP:
            target = self._leader()
            fraction = (self.config.handover_velocity_fraction if self._handover
                        else self.config.teleop_velocity_fraction)
            reason = 'handover ramp to the leader' if self._handover else 'tracking the leader'
            command = self.executor.follow(target, now_ns, fraction, reason)
            if self._handover and (np.abs(target - command.positions)
                                   <= self.config.handover_tolerance).all():
                self._handover = False
            return command, 'teleop', reason
        return self.executor.tick(now_ns), 'hold', self._reason


def _header(event: _PositionsByName) -> int:
    return event.stamp_ns if event.header_stamp_ns is None else event.header_stamp_ns


def _per_joint_threshold(name: str, value, num_joints: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(num_joints, float(array))
    if array.shape != (num_joints,) or not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(f'ModeSwitchConfig.{name}: expected a positive scalar or '
                         f'({num_joints},) positive values, got {value!r}')
    return array


# --- replay ----------------------------------------------------------------------------------

def replay_mode_timeline(events: Iterable[ModeEvent],
                         make_switch: Callable[[], ModeSwitch]) -> ModeTimeline:
    """
    Replay recorded events through a fresh switch and return the mode timeline.

    Events are applied in stamp order (ties keep their given order, so pass them in the order
    they were recorded). ``make_switch`` builds the switch exactly as the live node did (same
    limits, executor configuration, initial positions and config). An input the node would
    have refused (a ValueError, e.g. a JointState missing a joint) is skipped and listed in
    ``refused``, as the node logs and skips it.
    """
    switch = make_switch()
    timeline = ModeTimeline()
    switch.change_listeners.append(timeline.record_change)
    for event in sorted(events, key=lambda e: e.stamp_ns):
        if isinstance(event, Tick):
            timeline.record_tick(switch.tick(event.stamp_ns))
            continue
        try:
            switch.handle(event)
        except ValueError as error:
            timeline.refused.append(f'{event.stamp_ns}: {error}')
    return timeline
