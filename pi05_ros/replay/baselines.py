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
Baselines for the replay report: what simple rules would have done on the same bag.

Each baseline makes one chunk per policy chunk, with the policy chunk's observation stamp, row
times (``stamp + (k + 1) dt``) and joints, so it is scored by the same metrics, chunk by chunk
and row by row, and executed by a fresh executor with the same limits, settings, joint states
and delivery times:

* ``hold_position``: every row is the joint state the policy observed (the robot stays put).
* ``constant_velocity``: the observed state continued at the joint velocity estimated from the
  joint states received up to the observation (least-squares slope over the last
  ``VELOCITY_WINDOW_NS``; the last two samples when the window holds fewer).
* ``delayed_recording``: the recorded truth itself, late by the chunk's simulated inference delay
  (the row for time ``t`` is the truth at ``t - delay``): a perfect copy of the recording that
  arrives as late as the policy's chunk. It sees the recording, so it is a reference for what
  the latency costs, not a rule a robot could run; with no delay it equals the truth.
"""

from dataclasses import dataclass, field
import heapq
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog
from pi05_ros.replay import metrics as replay_metrics

HOLD, VELOCITY, DELAYED = 'hold_position', 'constant_velocity', 'delayed_recording'
NAMES = (HOLD, VELOCITY, DELAYED)
LABELS = {HOLD: 'hold position', VELOCITY: 'constant velocity',
          DELAYED: 'recording, delayed'}
VELOCITY_WINDOW_NS = 100_000_000  # 0.1 s: 5 joint states at 50 Hz
DEFINITIONS = {
    HOLD: 'every row is the joint state the policy observed: the robot stays where it is',
    VELOCITY: 'the observed joint state continued at the velocity of the joint states '
              'received up to the observation (least-squares slope over the last 0.1 s)',
    DELAYED: 'the recorded truth shifted late by the inference delay (the row for time t is '
             'the truth at t - delay): a perfect copy of the recording that arrives as late as '
             "the policy's chunk; it knows the recording, so it is a reference for what the "
             'latency alone costs, not a rule a robot could run',
}


@dataclass(frozen=True)
class ChunkInput:
    """What the policy saw for one chunk: the observed state, its stamps and the prompt."""

    state: np.ndarray  # (J,) observed joint positions, profile order
    state_stamp_ns: int  # stamp of the joint state in the observation
    camera_stamps_ns: Mapping[str, int] = field(default_factory=dict)  # camera -> frame stamp
    prompt: str = ''


def estimate_velocity(times_ns: np.ndarray, positions: np.ndarray, at_ns: int,
                      window_ns: int = VELOCITY_WINDOW_NS) -> np.ndarray:
    """
    (J,) joint velocity at ``at_ns`` from the samples stamped at or before it (no future).

    Least-squares slope over the samples in ``[at_ns - window_ns, at_ns]``; the last two samples
    when the window holds fewer than two distinct times; zeros with fewer than two samples.
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.float64).reshape(times_ns.size, -1)
    past = np.flatnonzero(times_ns <= at_ns)
    if past.size < 2:
        return np.zeros(positions.shape[1])
    inside = past[times_ns[past] >= at_ns - window_ns]
    if np.unique(times_ns[inside]).size < 2:
        inside = past[-2:]
    t = (times_ns[inside] - at_ns) / 1e9  # (K,) seconds, <= 0
    if np.ptp(t) == 0:
        return np.zeros(positions.shape[1])
    t = t - t.mean()
    q = positions[inside] - positions[inside].mean(axis=0)
    return (t @ q) / (t @ t)  # (J,)


def _like(chunk: ActionChunk, positions: np.ndarray) -> ActionChunk:
    return ActionChunk(positions, chunk.stamp_ns, chunk.dt_ns, chunk.joint_names)


def hold_position(chunk: ActionChunk, seen: ChunkInput) -> ActionChunk:
    """Return the observed state on every row of ``chunk``'s row times."""
    return _like(chunk, np.tile(np.asarray(seen.state, dtype=np.float64), (chunk.horizon, 1)))


def constant_velocity(chunk: ActionChunk, seen: ChunkInput, velocity: np.ndarray) -> ActionChunk:
    """Return the observed state moved at ``velocity`` (J,) from its stamp to each row time."""
    dt_s = (chunk.row_times_ns() - seen.state_stamp_ns) / 1e9  # (H,)
    return _like(chunk, np.asarray(seen.state)[None, :] + dt_s[:, None] * velocity[None, :])


def delayed_recording(chunk: ActionChunk, delay_ns: int, truth_times_ns: np.ndarray,
                      truth_values: np.ndarray) -> ActionChunk:
    """Return the truth at each row time minus ``delay_ns`` (held at its first/last value)."""
    truth_times_ns = np.asarray(truth_times_ns, dtype=np.int64)
    values = np.asarray(truth_values, dtype=np.float64).reshape(truth_times_ns.size, -1)
    if truth_times_ns.size == 0:
        return _like(chunk, np.full(chunk.positions.shape, np.nan))
    t0 = truth_times_ns[0]
    query = (chunk.row_times_ns() - int(delay_ns) - t0) / 1e9
    times = (truth_times_ns - t0) / 1e9
    rows = np.stack([np.interp(query, times, values[:, j]) for j in range(values.shape[1])],
                    axis=1)  # (H, J)
    return _like(chunk, rows)


def baseline_chunks(chunks: Sequence[ActionChunk], seen: Sequence[ChunkInput],
                    delays_ms: Sequence[float], joint_times_ns: np.ndarray,
                    joint_positions: np.ndarray, truth_times_ns: np.ndarray,
                    truth_values: np.ndarray) -> Dict[str, List[ActionChunk]]:
    """Every baseline's chunk for each policy chunk (same stamps, row times and joints)."""
    out: Dict[str, List[ActionChunk]] = {name: [] for name in NAMES}
    for chunk, inp, delay_ms in zip(chunks, seen, delays_ms):
        velocity = estimate_velocity(joint_times_ns, joint_positions, inp.state_stamp_ns)
        out[HOLD].append(hold_position(chunk, inp))
        out[VELOCITY].append(constant_velocity(chunk, inp, velocity))
        out[DELAYED].append(delayed_recording(chunk, int(round(delay_ms * 1e6)),
                                              truth_times_ns, truth_values))
    return out


def execute_chunks(limits: JointLimits, config: ExecutorConfig,
                   joint_states: Sequence[Tuple[int, int, np.ndarray]],
                   deliveries: Sequence[Tuple[int, ActionChunk]], start_ns: int, end_ns: int,
                   tick_ns: int) -> CommandLog:
    """
    Run a fresh executor over recorded joint states and chunk deliveries, as the replay does.

    ``joint_states``: (stamp_ns, received_ns, positions) in arrival order; ``deliveries``:
    (available_ns, chunk). Ticks every ``tick_ns`` after ``start_ns`` up to ``end_ns``. At equal
    times a joint state comes first, then a delivery, then the tick (the replay's order).
    """
    log = CommandLog()
    executor = TrajectoryExecutor(limits, config, log=log)
    events: List[Tuple[int, int, int, object]] = []
    for seq, (stamp_ns, received_ns, positions) in enumerate(joint_states):
        events.append((int(received_ns), 0, seq, (int(stamp_ns), positions)))
    for seq, (available_ns, chunk) in enumerate(deliveries):
        if available_ns <= end_ns:
            events.append((int(available_ns), 1, seq, chunk))
    events += [(t, 2, 0, None) for t in range(start_ns + tick_ns, end_ns + 1, tick_ns)]
    heapq.heapify(events)
    while events:
        time_ns, kind, _, payload = heapq.heappop(events)
        if kind == 0:
            stamp_ns, positions = payload
            executor.update_joint_state(positions, stamp_ns, time_ns)
        elif kind == 1:
            executor.submit(payload, time_ns)
        else:
            executor.tick(time_ns)
    return log


def overlap_block(chunks: Sequence[ActionChunk]) -> int:
    """Return how many consecutive chunks overlap one horizon (their errors are correlated)."""
    if len(chunks) < 2:
        return 1
    period_ns = float(np.median(np.diff([c.stamp_ns for c in chunks])))
    horizon_ns = float(np.median([c.horizon * c.dt_ns for c in chunks]))
    return max(1, int(np.ceil(horizon_ns / max(period_ns, 1.0))))


def no_delay(delays_ms: Sequence[float]) -> bool:
    """Return True when every chunk reached the executor at its observation (delayed = truth)."""
    return len(delays_ms) > 0 and all(d == 0 for d in delays_ms)


def describe(name: str, delays_ms: Optional[Sequence[float]] = None) -> str:
    """Return the baseline's label, with the delay for the delayed recording."""
    if name == DELAYED and delays_ms:
        low, high = min(delays_ms), max(delays_ms)
        delay = f'{low:.0f} ms' if round(low) == round(high) else f'{low:.0f}-{high:.0f} ms'
        return f'recording, delayed {delay}'
    return LABELS[name]


def score_baselines(record, truth_times_ns: np.ndarray, truth_values: np.ndarray,
                    limits: JointLimits, config: ExecutorConfig,
                    tick_ns: int) -> Dict[str, object]:
    """
    Every baseline scored as the policy is: prediction errors and the executed stream's error.

    ``record`` is a :class:`~pi05_ros.replay.evaluate.ReplayRecord`. Returns, per baseline, its
    label and definition, ``prediction`` (:func:`~pi05_ros.replay.metrics.error_summary`:
    MAE/RMSE overall, per horizon step, per joint, per chunk) and ``executed`` (MAE/RMSE of its
    executed stream against the truth, per window between observations, chunks accepted, ticks
    checked against the limits and above one), plus
    the policy's executed error per window and ``overlap_block`` (chunks per horizon).
    """
    names = record.joint_names
    chunks = record.chunks
    starts = [c.stamp_ns for c in chunks]
    joint_times = np.array([s[0] for s in record.joint_states], dtype=np.int64)
    joint_positions = (np.stack([s[2] for s in record.joint_states]) if record.joint_states
                       else np.zeros((0, len(names))))
    made = baseline_chunks(chunks, record.chunk_inputs, record.chunk_delay_ms, joint_times,
                           joint_positions, truth_times_ns, truth_values)
    policy_times, policy_positions = record.log.arrays()
    result: Dict[str, object] = {
        'names': list(NAMES), 'overlap_block': overlap_block(chunks),
        'no_delay': no_delay(record.chunk_delay_ms),
        'policy': {'executed_per_window': (
            replay_metrics.window_errors(policy_times, policy_positions, truth_times_ns,
                                         truth_values, starts) if policy_times.size else {})},
    }
    for name, baseline in made.items():
        errors = replay_metrics.chunk_errors(baseline, truth_times_ns, truth_values)
        entry: Dict[str, object] = {'label': describe(name, record.chunk_delay_ms),
                                    'definition': DEFINITIONS[name]}
        entry['prediction'] = (replay_metrics.error_summary(errors, names) if baseline
                               else {'num_chunks': 0})
        log = execute_chunks(limits, config, record.joint_states,
                             list(zip(record.chunk_available_ns, baseline)), record.start_ns,
                             record.end_ns, tick_ns)
        times, positions = log.arrays()
        executed: Dict[str, object] = {'num_commands': int(times.size)}
        if times.size:
            executed['error'] = replay_metrics.stream_error_summary(
                times, positions, truth_times_ns, truth_values, names)
            executed['per_window'] = replay_metrics.window_errors(
                times, positions, truth_times_ns, truth_values, starts)
            checked = replay_metrics.limit_exceedances(
                times, positions, np.array(log.velocities), np.array(log.accelerations), limits,
                t0_ns=record.start_ns)
            executed['limits'] = {k: checked[k] for k in ('ticks', 'ticks_above_any')}
        executed['chunks_accepted'] = int(sum(1 for d in log.decisions if d[2]))
        executed['chunks_refused'] = int(sum(1 for d in log.decisions if not d[2]))
        entry['executed'] = executed
        result[name] = entry
    return result
