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
Real-time chunking at run time: what the next inference continues, and how far it is frozen.

The network side is :mod:`pi05_ros.model.rtc` (guided sampling). This module decides, per
inference cycle, what to guide toward and how many rows to freeze (numpy only; time is integer
nanoseconds passed in):

- the previous chunk is kept as the network gave it (normalized model frame, all
  ``action_horizon`` rows) together with its absolute rows;
- when the next inference starts from an observation stamped ``t``, its rows are resampled at
  the new chunk's row times ``t + (j + 1) dt`` (held past its end) and expressed in the model's
  action frame *relative to the new observation* with the inverse of the policy's output
  transforms (:func:`robot_to_actions`: velocity un-integrated from the new state, conversions
  and signs undone, the delta anchor of the new state subtracted), then normalized;
- ``d``, the rows that execute before the new chunk arrives, comes from a high quantile of the
  observation-to-execution delays of the last cycles, the first (warm-up) cycles left out, so
  one slow cycle (a compile, a cold cache) is forgotten after ``delay_window`` cycles instead of
  being kept as a maximum; ``d <= s <= H - d`` holds by construction (d is bounded by
  ``min(s, H - s)``);
- with the remote backend (no normalizer here: the server has the norm stats) the prefix goes
  out as the resampled absolute rows (:class:`~pi05_ros.policy.remote_rtc.WireGuidance`) and
  pi05-serve does the rest; only the chunk's returned rows are kept (the last held past them),
  and a chunk counts as guided only when the server says it guided it (openpi's does not);
- a cycle samples plainly (and the executor splices its chunk with a blend) when there is no
  previous chunk, after a hold (:meth:`RtcRuntime.reset`), when the measured joints are more
  than ``max_state_deviation`` away from the previous chunk at the observation time (it does
  not run: a hold, teleop or a refusal the policy side was not told of; guiding toward it would
  be refused again and again), while the delay estimate warms up, or when more than ``s`` rows
  of the previous chunk ran between the two observations (the previous chunk no longer covers
  the guided rows); the reason is kept for diagnostics.
"""

from collections import deque
from dataclasses import dataclass, replace
import math
from typing import Any, Deque, Dict, Mapping, Optional, Union

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk, RtcInfo
from pi05_ros.policy import conversions
from pi05_ros.policy.normalize import Normalizer
from pi05_ros.policy.profiles import actions_to_robot, check_state, RobotProfile, state_to_model
from pi05_ros.policy.remote_rtc import WireGuidance

PAPER_GUIDANCE_WEIGHT_MAX = 5.0  # beta of the paper's reference implementation
# pi05_ros.model.rtc.SCHEDULES, repeated so that this module (and replay) needs no torch
SCHEDULES = ('exp', 'linear', 'ones', 'zeros')


class RtcConfigError(ValueError):
    """A real-time-chunking parameter is out of range (the message names it)."""


def _gripper_to_pi_action(value: np.ndarray) -> np.ndarray:
    """Invert :func:`conversions.aloha_gripper_from_pi` (ALOHA gripper joint -> PI action)."""
    span = conversions.PUPPET_GRIPPER_JOINT_CLOSE - conversions.PUPPET_GRIPPER_JOINT_OPEN
    return (np.asarray(value, dtype=np.float64) * span + conversions.PUPPET_GRIPPER_JOINT_OPEN
            - conversions.PI_GRIPPER_ANGLE_MIN)


# action conversion name -> its inverse (robot units -> the model's action units)
INVERSE_ACTION_CONVERSIONS = {'aloha_gripper_from_pi': _gripper_to_pi_action}


@dataclass(frozen=True)
class RtcSettings:
    """
    The ``rtc.*`` parameters of the policy node and pi05-replay.

    ``execution_horizon`` s: rows of a chunk that execute before the next one takes over (the
    guidance reaches rows [0, H - s)); ``guidance_weight_max`` beta (0: plain sampling);
    ``schedule`` of the soft mask; the delay estimate is the ``delay_quantile`` of the last
    ``delay_window`` cycles after the first ``warmup_cycles``.
    """

    enabled: bool = False
    execution_horizon: int = 10
    guidance_weight_max: float = PAPER_GUIDANCE_WEIGHT_MAX
    schedule: str = 'exp'
    delay_quantile: float = 0.9
    delay_window: int = 20
    warmup_cycles: int = 2
    max_state_deviation: float = 0.2

    def check(self, action_horizon: int, chunk_rows: int) -> 'RtcSettings':
        """Return self if usable with this model and profile; RtcConfigError naming the field."""
        s = self.execution_horizon
        top = min(action_horizon - 1, chunk_rows)
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= top:
            raise RtcConfigError(
                f'rtc.execution_horizon: expected an integer 1 <= s <= min(action_horizon - 1, '
                f'chunk_rows) = {top} (d <= s <= H - d with H = {action_horizon}, the chunk '
                f'has {chunk_rows} rows), got {s!r}')
        beta = self.guidance_weight_max
        if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
            raise RtcConfigError(f'rtc.guidance_weight_max: expected a finite number >= 0 '
                                 f'(0: plain sampling), got {beta!r}')
        if self.schedule not in SCHEDULES:
            raise RtcConfigError(f'rtc.schedule: expected one of {list(SCHEDULES)}, got '
                                 f'{self.schedule!r}')
        if not (isinstance(self.delay_quantile, (int, float))
                and 0.0 < self.delay_quantile <= 1.0):
            raise RtcConfigError(f'rtc.delay_quantile: expected 0 < q <= 1, got '
                                 f'{self.delay_quantile!r}')
        if isinstance(self.delay_window, bool) or not (
                isinstance(self.delay_window, (int, np.integer)) and self.delay_window >= 1):
            raise RtcConfigError(f'rtc.delay_window: expected an integer >= 1 (cycles), got '
                                 f'{self.delay_window!r}')
        if isinstance(self.warmup_cycles, bool) or not (
                isinstance(self.warmup_cycles, (int, np.integer)) and self.warmup_cycles >= 0):
            raise RtcConfigError(f'rtc.warmup_cycles: expected an integer >= 0, got '
                                 f'{self.warmup_cycles!r}')
        gap = self.max_state_deviation
        if not (isinstance(gap, (int, float)) and not isinstance(gap, bool) and gap > 0):
            raise RtcConfigError(f'rtc.max_state_deviation: expected a number > 0 (rad / m), '
                                 f'got {gap!r}')
        return self

    def max_delay_rows(self, action_horizon: int) -> int:
        """Return the largest d the model takes with this s: min(s, H - s, H // 2)."""
        s = self.execution_horizon
        return min(s, action_horizon - s, action_horizon // 2)


# the policy node's rtc.* parameters (name, default, description); pi05-replay reads the same
# names from the pi05_policy section of a parameter file
RTC_PARAMETERS = (
    ('rtc.enabled', False,
     'Real-time chunking: sample each chunk as the continuation of the one that runs '
     '(guided toward it; the executor takes it without a blend). Remote backend: needs '
     'pi05-serve (openpi serve_policy.py ignores the prefix).'),
    ('rtc.execution_horizon', RtcSettings.execution_horizon,
     'RTC s: rows of a chunk that run before the next takes over (at least the rows per '
     'inference period; the guidance reaches rows [0, H - s)).'),
    ('rtc.guidance_weight_max', RtcSettings.guidance_weight_max,
     'RTC beta: clip of the guidance weight (5: the paper; 0: plain sampling).'),
    ('rtc.schedule', RtcSettings.schedule,
     "RTC soft mask after the d frozen rows: 'exp' (the paper), 'linear', 'ones', 'zeros'."),
    ('rtc.delay_quantile', RtcSettings.delay_quantile,
     'RTC: d = this quantile of the recent observation-to-publish delays, in rows.'),
    ('rtc.delay_window', RtcSettings.delay_window, 'RTC: cycles the delay quantile covers.'),
    ('rtc.warmup_cycles', RtcSettings.warmup_cycles,
     'RTC: first cycles left out of the delay estimate (compilation, cold caches).'),
    ('rtc.max_state_deviation', RtcSettings.max_state_deviation,
     'RTC: a measured joint further than this from the previous chunk at the observation '
     'time means that chunk does not run (a hold, teleop, a refusal): sample plainly.'),
)


def settings_from_parameters(params: Mapping[str, Any]) -> RtcSettings:
    """``rtc.*`` parameter values (missing ones: the defaults) -> RtcSettings (unchecked)."""
    fields = {name.split('.', 1)[1]: params[name] for name, _, _ in RTC_PARAMETERS
              if params.get(name) is not None}
    return RtcSettings(**fields)


@dataclass(frozen=True)
class GuidanceRequest:
    """What ``Policy.infer(observation, rtc=...)`` hands to ``PI05Model.sample_actions``."""

    prefix_actions: np.ndarray  # (H, A) float32: the previous chunk in the new model frame
    delay: int  # d: rows frozen (weight 1)
    execution_horizon: int  # s: the guidance ends at row H - s
    schedule: str
    guidance_weight_max: float


# --- the inverse of the policy's output transforms -------------------------------------------

def robot_to_actions(profile: RobotProfile, positions: np.ndarray,
                     state: np.ndarray) -> np.ndarray:
    """
    (K, J) absolute targets in ``joint_names`` order -> (K, A) model-space actions.

    The inverse of :func:`~pi05_ros.policy.profiles.actions_to_robot` for an observation with
    robot ``state``: rows are consecutive control steps, row 0 one step after the observation.
    Velocity dims are the differences of consecutive targets from the state
    (``v_k = (q_k - q_{k-1}) / (velocity_scale dt)``, ``q_{-1}`` the state); named conversions
    are inverted, signs undone, and delta dims get the new model-space state subtracted.
    A = len(action_dims), unnormalized. Clipping is not inverted (a clipped row maps to the
    clip bound, which is what executed).
    """
    positions = np.asarray(positions, dtype=np.float64)
    joints = profile.joint_names
    if positions.ndim != 2 or positions.shape[1] != len(joints):
        raise ValueError(f'positions: expected shape (K, {len(joints)}), got {positions.shape}')
    state = check_state(profile, state)
    column = {n: i for i, n in enumerate(joints)}
    out = positions[:, [column[n] for n in profile.action_dims]]  # (K, A) action-dim order
    mask = np.array([n in profile.action_mask for n in profile.action_dims])
    if profile.action_space == 'velocity':
        state_index = {n: i for i, n in enumerate(profile.state_names)}
        start = np.array([state[state_index[n]] if m else 0.0
                          for n, m in zip(profile.action_dims, mask)])
        previous = np.vstack([start[None, :], out[:-1]])
        step = profile.velocity_scale * profile.control_dt_s
        out = np.where(mask[None, :], (out - previous) / step, out)
    for i, name in enumerate(profile.action_dims):
        if name in profile.action_convert:
            out[:, i] = inverse_action_conversion(profile, name)(out[:, i])
    out = out / np.asarray(profile.action_sign)[None, :]
    if profile.action_space == 'delta':
        model_state = state_to_model(profile, state)
        model_index = {n: i for i, n in enumerate(profile.state_dims)}
        anchor = np.array([model_state[model_index[n]] if m else 0.0
                           for n, m in zip(profile.action_dims, mask)])
        out = out - anchor[None, :]
    return out


def inverse_action_conversion(profile: RobotProfile, dim: str):
    """Return the inverse of the action conversion on ``dim``; RtcConfigError if it has none."""
    name = profile.action_convert[dim]
    inverse = INVERSE_ACTION_CONVERSIONS.get(name)
    if inverse is None:
        raise RtcConfigError(f'profile {profile.name!r} action.convert.{dim}: conversion '
                             f'{name!r} has no inverse, which rtc.enabled needs (known: '
                             f'{sorted(INVERSE_ACTION_CONVERSIONS)})')
    return inverse


def check_invertible(profile: RobotProfile) -> None:
    """Raise RtcConfigError when the profile's outputs cannot be mapped back to the model."""
    for dim in profile.action_convert:
        inverse_action_conversion(profile, dim)


# --- the previous chunk and the prefix of the next one ---------------------------------------

@dataclass(frozen=True)
class ChunkMemory:
    """The chunk the next inference continues: every row the network gave, two frames."""

    stamp_ns: int  # its observation stamp; row k is for stamp + (k + 1) dt
    dt_ns: int
    model_actions: Optional[np.ndarray]  # (H, A) float32, normalized model frame; None: remote
    positions: np.ndarray  # (H, J) float64 absolute targets of all H rows (remote: the chunk's)

    def rows_elapsed(self, stamp_ns: int) -> float:
        """Return the rows of this chunk that ran between its observation and ``stamp_ns``."""
        return (int(stamp_ns) - self.stamp_ns) / self.dt_ns


def remember(profile: RobotProfile, normalizer: Normalizer, model_actions: np.ndarray,
             stamp_ns: int, dt_ns: int, state: np.ndarray) -> ChunkMemory:
    """
    Keep a chunk for the next cycle: its raw rows and their absolute targets (all H rows).

    ``state``: the robot state of the observation it was sampled from (the delta / velocity
    anchor), the same transforms as ``PolicyTransforms.postprocess``.
    """
    raw = np.asarray(model_actions, dtype=np.float32)
    if raw.ndim != 2:
        raise ValueError(f'model_actions: expected shape (H, A), got {raw.shape}')
    actions = normalizer.unnormalize('actions', raw.astype(np.float64))
    positions = actions_to_robot(profile, actions, state, state_to_model(profile, state))
    return ChunkMemory(int(stamp_ns), int(dt_ns), raw, positions)


def resampled_rows(previous: ChunkMemory, stamp_ns: int, rows: int) -> np.ndarray:
    """
    Return the previous chunk's absolute targets at a new chunk's row times: (rows, J).

    Row j is at ``stamp_ns + (j + 1) dt``: linear between the previous chunk's rows, its last
    row held after its end.
    """
    index = np.arange(rows) + previous.rows_elapsed(stamp_ns)  # (rows,) fractional rows
    known = np.arange(previous.positions.shape[0])
    return np.stack([np.interp(index, known, previous.positions[:, j])
                     for j in range(previous.positions.shape[1])], axis=1)


def frozen_prefix(previous: ChunkMemory, profile: RobotProfile, normalizer: Normalizer,
                  stamp_ns: int, state: np.ndarray) -> np.ndarray:
    """
    Return the previous chunk as the next one's prefix: (H, A) float32, model frame.

    Row j is the previous chunk at the new chunk's row time ``stamp_ns + (j + 1) dt`` (linear
    between its rows, its last row held after its end), relative to the new observation's
    ``state`` (:func:`robot_to_actions`), normalized. Model dims beyond the robot's keep the
    previous raw values, shifted by the nearest whole row.
    """
    horizon, dim = previous.model_actions.shape
    index = np.arange(horizon) + previous.rows_elapsed(stamp_ns)  # (H,) fractional rows
    positions = resampled_rows(previous, stamp_ns, horizon)  # (H, J)
    actions = robot_to_actions(profile, positions, state)  # (H, A_robot) unnormalized
    nearest = np.clip(np.rint(index).astype(np.int64), 0, horizon - 1)
    prefix = previous.model_actions[nearest].astype(np.float64)  # (H, A)
    robot_dims = actions.shape[1]
    prefix[:, :robot_dims] = normalizer.normalize('actions', actions)
    return prefix.astype(np.float32)


# --- the delay --------------------------------------------------------------------------------

class DelayEstimator:
    """
    A robust observation-to-execution delay: a high quantile of the recent cycles.

    The first ``warmup`` samples are dropped (a first inference compiles, allocates and fills
    caches), and only the last ``window`` are kept, so a slow cycle leaves the estimate after
    ``window`` cycles instead of staying as its maximum.
    """

    def __init__(self, dt_ns: int, quantile: float = 0.9, window: int = 20, warmup: int = 2):
        self.dt_ns = int(dt_ns)
        self.quantile = float(quantile)
        self.warmup = int(warmup)
        self._samples: Deque[int] = deque(maxlen=int(window))
        self.recorded = 0  # every sample, warm-up included

    def record(self, delay_ns: int) -> None:
        """Add one cycle's delay: observation stamp to execution (the chunk's arrival)."""
        self.recorded += 1
        if self.recorded > self.warmup:
            self._samples.append(max(int(delay_ns), 0))

    @property
    def ready(self) -> bool:
        return bool(self._samples)

    def quantile_ns(self) -> Optional[int]:
        """Return the delay quantile of the kept samples (None while warming up)."""
        if not self._samples:
            return None
        return int(np.quantile(np.array(self._samples, dtype=np.float64), self.quantile,
                               method='higher'))

    def rows(self, max_rows: int) -> Optional[int]:
        """Return d = ceil(quantile / dt), at most ``max_rows`` (None while warming up)."""
        delay = self.quantile_ns()
        if delay is None:
            return None
        return min(-(-delay // self.dt_ns), int(max_rows))


# --- one cycle at a time ------------------------------------------------------------------------

@dataclass(frozen=True)
class RtcPlan:
    """What one cycle samples: guided (request) or plain (request None, reason why)."""

    request: Optional[Union[GuidanceRequest, WireGuidance]]  # WireGuidance: remote backend
    reason: str  # '' when guided
    rows_elapsed: float = 0.0  # rows of the previous chunk run since its observation
    delay_rows: int = 0  # d of the request (0 when plain)

    def info(self) -> RtcInfo:
        return RtcInfo(self.delay_rows, self.request is not None, self.reason)


class RtcRuntime:
    """
    Real-time chunking across inference cycles, for one robot profile and model.

    Per cycle: :meth:`plan` (or :meth:`infer`, which plans, infers and remembers), then
    :meth:`record_delay` when the chunk reaches the executor. :meth:`reset` after a hold or
    a failed cycle: the next chunk is sampled plainly. ``normalizer`` None: the remote backend
    (plans carry a WireGuidance; ``action_horizon`` is then the rows a response has).
    """

    def __init__(self, settings: RtcSettings, profile: RobotProfile,
                 normalizer: Optional[Normalizer], action_horizon: int, action_dim: int):
        self.settings = settings.check(action_horizon, profile.chunk_rows)
        if settings.enabled:
            check_invertible(profile)
        self.profile = profile
        self.normalizer = normalizer
        self.action_horizon = int(action_horizon)
        self.action_dim = int(action_dim)
        self.max_delay_rows = settings.max_delay_rows(action_horizon)
        self.delays = DelayEstimator(profile.control_dt_ns, settings.delay_quantile,
                                     settings.delay_window, settings.warmup_cycles)
        self._previous: Optional[ChunkMemory] = None
        self._reset_reason = 'no previous chunk'
        self.guided_chunks = 0
        self.plain_chunks = 0
        self.late_chunks = 0
        self.fallbacks: Dict[str, int] = {}
        self.last_plan: Optional[RtcPlan] = None
        self.last_delay_ns: Optional[int] = None

    def reset(self, reason: str) -> None:
        """Forget the previous chunk (it no longer runs): the next cycle samples plainly."""
        self._previous = None
        self._reset_reason = f'after a hold ({reason})'

    def plan(self, stamp_ns: int, state: np.ndarray) -> RtcPlan:
        """Decide how the cycle for the observation stamped ``stamp_ns`` samples."""
        settings = self.settings
        previous = self._previous
        if not settings.enabled:
            return self._plain('disabled')
        if settings.guidance_weight_max == 0:
            return self._plain('rtc.guidance_weight_max is 0')
        if previous is None:
            return self._plain(self._reset_reason)
        elapsed = previous.rows_elapsed(stamp_ns)
        gap = self.state_gap(previous, stamp_ns, state)
        if gap is not None and gap > settings.max_state_deviation:
            return self._plain(
                f'state off the previous chunk: a joint {gap:.3f} from it at the observation '
                f'(rtc.max_state_deviation {settings.max_state_deviation})', elapsed)
        if elapsed > settings.execution_horizon:
            return self._plain(
                f'late cycle: {elapsed:.1f} rows of the previous chunk ran since its '
                f'observation, more than rtc.execution_horizon {settings.execution_horizon}',
                elapsed)
        delay = self.delays.rows(self.max_delay_rows)
        if delay is None:
            return self._plain(f'delay estimate warming up ({self.delays.recorded} of '
                               f'{settings.warmup_cycles + 1} cycles)', elapsed)
        beta = float(settings.guidance_weight_max)
        if self.normalizer is None:  # remote: the server maps the rows into its model's frame
            rows = resampled_rows(previous, stamp_ns, self.action_horizon)
            request: Union[GuidanceRequest, WireGuidance] = WireGuidance(
                rows, delay, settings.execution_horizon, settings.schedule, beta)
        else:
            prefix = frozen_prefix(previous, self.profile, self.normalizer, stamp_ns, state)
            request = GuidanceRequest(prefix, delay, settings.execution_horizon,
                                      settings.schedule, beta)
        return self._keep(RtcPlan(request, '', elapsed, delay))

    def state_gap(self, previous: ChunkMemory, stamp_ns: int,
                  state: np.ndarray) -> Optional[float]:
        """
        Return how far the measured joints are from the previous chunk at ``stamp_ns``.

        The largest |previous chunk - state| over the joints, the chunk linear between its rows
        (its first row before them); None when the state is not the joints (libero).
        """
        joints = self.profile.joint_names
        names = self.profile.state_names
        if not set(joints) <= set(names):
            return None
        state = check_state(self.profile, state)
        at = previous.rows_elapsed(stamp_ns) - 1.0  # row k is for stamp + (k + 1) dt
        rows = np.arange(previous.positions.shape[0])
        expected = np.array([np.interp(at, rows, previous.positions[:, j])
                             for j in range(len(joints))])
        measured = state[[names.index(n) for n in joints]]
        return float(np.abs(measured - expected).max())

    def _plain(self, reason: str, elapsed: float = 0.0) -> RtcPlan:
        return self._keep(RtcPlan(None, reason, elapsed, 0))

    def _keep(self, plan: RtcPlan) -> RtcPlan:
        self.last_plan = plan
        return plan

    def remember(self, chunk: ActionChunk, state: np.ndarray,
                 plan: Optional[RtcPlan] = None) -> ActionChunk:
        """
        Keep ``chunk`` for the next cycle; return it tagged with how it was sampled.

        A local chunk must carry model_actions. A remote one is guided only if the server says
        so (``chunk.rtc`` from the response): openpi's server ignores the prefix.
        """
        plan = plan or self.last_plan
        if self.normalizer is None:
            self._previous = ChunkMemory(int(chunk.stamp_ns), int(chunk.dt_ns), None,
                                         np.asarray(chunk.positions, dtype=np.float64))
            if plan is not None and plan.request is not None and not (
                    chunk.rtc is not None and chunk.rtc.guided):
                plan = replace(plan, request=None, delay_rows=0,
                               reason='the server ignored the RTC prefix (not pi05-serve)')
                self.last_plan = plan
        else:
            if chunk.model_actions is None:
                raise ValueError('chunk.model_actions: real-time chunking needs the raw model '
                                 'output (a local policy); got None')
            self._previous = remember(self.profile, self.normalizer, chunk.model_actions,
                                      chunk.stamp_ns, chunk.dt_ns, state)
        if plan is None or plan.request is None:
            self.plain_chunks += 1
            reason = 'no plan' if plan is None else plan.reason
            kind = reason.split(':', 1)[0].split(' (', 1)[0]
            self.fallbacks[kind] = self.fallbacks.get(kind, 0) + 1
        else:
            self.guided_chunks += 1
        return replace(chunk, rtc=plan.info() if plan is not None else None)

    def infer(self, policy, observation, noise: Optional[np.ndarray] = None) -> ActionChunk:
        """Plan the cycle, run the policy with the plan's guidance and remember the chunk."""
        plan = self.plan(observation.stamp_ns, observation.state)
        chunk = policy.infer(observation, noise=noise, rtc=plan.request)
        return self.remember(chunk, observation.state, plan)

    def record_delay(self, stamp_ns: int, ready_ns: int) -> Optional[str]:
        """
        Record when a chunk reached the executor; return why it came late (None: in time).

        Late: more rows of it had run by then than were frozen (the executor blends it).
        """
        delay_ns = int(ready_ns) - int(stamp_ns)
        self.delays.record(delay_ns)
        self.last_delay_ns = delay_ns
        plan = self.last_plan
        if plan is None or plan.request is None:
            return None
        first_row = delay_ns // self.profile.control_dt_ns
        if first_row <= plan.delay_rows:
            return None
        self.late_chunks += 1
        return (f'late chunk: row {first_row} was due when it arrived, {plan.delay_rows} '
                'rows frozen')

    def status(self) -> Dict[str, object]:
        """Key/values for /diagnostics and reports (``rtc.*``)."""
        settings = self.settings
        plan = self.last_plan
        quantile = self.delays.quantile_ns()
        values: Dict[str, object] = {
            'rtc.enabled': settings.enabled,
            'rtc.execution_horizon': settings.execution_horizon,
            'rtc.schedule': settings.schedule,
            'rtc.guidance_weight_max': float(settings.guidance_weight_max),
            'rtc.guided_chunks': self.guided_chunks,
            'rtc.plain_chunks': self.plain_chunks,
            'rtc.late_chunks': self.late_chunks,
            'rtc.last_guided': bool(plan is not None and plan.request is not None),
            'rtc.last_reason': 'none' if plan is None else (plan.reason or 'guided'),
            'rtc.delay_rows': 0 if plan is None else plan.delay_rows,
            'rtc.delay_estimate_ms': 'warming up' if quantile is None else quantile / 1e6,
        }
        values.update({f'rtc.fallbacks.{k}': v for k, v in sorted(self.fallbacks.items())})
        return values
