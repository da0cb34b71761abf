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
A log of executed commands and chunk decisions, and the metrics of a command stream.

Derivatives are finite differences of the logged positions over the logged times, so the metrics
describe what was actually commanded, whatever produced it (the executor or a baseline).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

NS = 1e-9


@dataclass
class CommandLog:
    """Executed commands (one per tick) and chunk decisions, in arrival order."""

    times_ns: List[int] = field(default_factory=list)
    positions: List[np.ndarray] = field(default_factory=list)
    velocities: List[np.ndarray] = field(default_factory=list)
    accelerations: List[np.ndarray] = field(default_factory=list)
    statuses: List[str] = field(default_factory=list)
    reasons: List[str] = field(default_factory=list)
    limited: List[bool] = field(default_factory=list)
    tracking_errors: List[float] = field(default_factory=list)
    # (now_ns, chunk stamp_ns, accepted, reason)
    decisions: List[Tuple[int, int, bool, str]] = field(default_factory=list)

    def record(self, command) -> None:
        """Append one executor Command (anything with the same fields)."""
        self.times_ns.append(command.stamp_ns)
        self.positions.append(command.positions)
        self.velocities.append(command.velocities)
        self.accelerations.append(command.accelerations)
        self.statuses.append(command.status)
        self.reasons.append(command.reason)
        self.limited.append(bool(getattr(command, 'limited', False)))
        self.tracking_errors.append(float(getattr(command, 'tracking_error', 0.0)))

    def record_decision(self, now_ns: int, stamp_ns: int, decision) -> None:
        """Append one ChunkDecision taken at now_ns for the chunk stamped stamp_ns."""
        self.decisions.append((int(now_ns), int(stamp_ns), bool(decision.accepted),
                               decision.reason))

    def seam_times_ns(self) -> np.ndarray:
        """Return the times at which a chunk was accepted (the seams of the stream)."""
        return np.array([d[0] for d in self.decisions if d[2]], dtype=np.int64)

    def refused(self) -> List[Tuple[int, int, str]]:
        """(now, stamp, reason) of every refused chunk."""
        return [(d[0], d[1], d[3]) for d in self.decisions if not d[2]]

    def arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        """(T,) int64 times and (T, J) positions."""
        return np.array(self.times_ns, dtype=np.int64), np.array(self.positions)


@dataclass(frozen=True)
class StreamMetrics:
    """Per-joint maxima over a command stream and what happened at its seams."""

    max_velocity: np.ndarray  # (J,)
    max_acceleration: np.ndarray  # (J,)
    max_jerk: np.ndarray  # (J,)
    seam_max_step: float  # largest per-tick position change at a seam tick
    seam_max_velocity_change: float  # largest |dv| across a seam tick
    seam_max_jerk: float  # largest |jerk| within seam_window_s after a seam
    holding_s: float  # total time spent holding
    refused: Dict[str, int]  # refused chunks per reason kind
    limited_ticks: int  # ticks where the limits kept the command off its reference
    max_tracking_error: float = 0.0  # largest |command - reference| (where logged)

    def as_dict(self) -> Dict[str, object]:
        return {
            'max_velocity': float(self.max_velocity.max(initial=0.0)),
            'max_acceleration': float(self.max_acceleration.max(initial=0.0)),
            'max_jerk': float(self.max_jerk.max(initial=0.0)),
            'seam_max_step': self.seam_max_step,
            'seam_max_velocity_change': self.seam_max_velocity_change,
            'seam_max_jerk': self.seam_max_jerk,
            'holding_s': self.holding_s,
            'refused': dict(self.refused),
            'limited_ticks': self.limited_ticks,
            'max_tracking_error': self.max_tracking_error,
        }


def derivatives(times_ns: np.ndarray, positions: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-difference velocity (T-1, J), acceleration (T-2, J), jerk (T-3, J)."""
    dt = np.diff(times_ns).astype(np.float64) * NS
    if (dt <= 0).any():
        raise ValueError('times_ns: expected strictly increasing command times')
    velocity = np.diff(positions, axis=0) / dt[:, None]
    acceleration = np.diff(velocity, axis=0) / (0.5 * (dt[1:] + dt[:-1]))[:, None]
    jerk = np.diff(acceleration, axis=0) / dt[1:-1, None]
    return velocity, acceleration, jerk


def stream_metrics(times_ns: np.ndarray, positions: np.ndarray,
                   seam_times_ns: Sequence[int] = (), statuses: Optional[Sequence[str]] = None,
                   refused: Sequence[str] = (), limited: Sequence[bool] = (),
                   seam_window_s: float = 0.05) -> StreamMetrics:
    """Metrics of a command stream (times (T,), positions (T, J)) with seams at seam_times_ns."""
    times_ns = np.asarray(times_ns, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.float64)
    num = positions.shape[1]
    if times_ns.size < 4:
        raise ValueError(f'times_ns: expected at least 4 commands, got {times_ns.size}')
    velocity, acceleration, jerk = derivatives(times_ns, positions)
    seams = np.asarray(seam_times_ns, dtype=np.int64)
    seams = seams[(seams > times_ns[0]) & (seams < times_ns[-1])]
    step = np.abs(np.diff(positions, axis=0))  # step k: times k -> k+1
    seam_step, seam_dv, seam_jerk = 0.0, 0.0, 0.0
    window_ns = int(seam_window_s / NS)
    for seam in seams:
        k = int(np.searchsorted(times_ns, seam, side='left'))  # first tick at or after the seam
        if 1 <= k < step.shape[0]:
            seam_step = max(seam_step, float(step[k - 1:k + 1].max()))
        if 1 <= k < velocity.shape[0]:
            seam_dv = max(seam_dv, float(np.abs(velocity[k] - velocity[k - 1]).max()))
        in_window = (times_ns[1:-2] >= seam - window_ns) & (times_ns[1:-2] <= seam + window_ns)
        if in_window.any():
            seam_jerk = max(seam_jerk, float(np.abs(jerk[in_window]).max()))
    holding_s = 0.0
    if statuses is not None:
        held = np.array([s == 'holding' for s in statuses[:-1]])
        holding_s = float((np.diff(times_ns) * held).sum() * NS)
    counts: Dict[str, int] = {}
    for reason in refused:
        kind = reason.split(':', 1)[0]
        counts[kind] = counts.get(kind, 0) + 1

    def column_max(values: np.ndarray) -> np.ndarray:
        return np.abs(values).max(axis=0) if values.size else np.zeros(num)

    return StreamMetrics(column_max(velocity), column_max(acceleration), column_max(jerk),
                         seam_step, seam_dv, seam_jerk, holding_s, counts, int(sum(limited)))


def log_metrics(log: CommandLog, seam_window_s: float = 0.05) -> StreamMetrics:
    """stream_metrics over everything a CommandLog recorded."""
    times_ns, positions = log.arrays()
    metrics = stream_metrics(times_ns, positions, log.seam_times_ns(), log.statuses,
                             [r for _, _, r in log.refused()], log.limited, seam_window_s)
    return dataclasses.replace(metrics, max_tracking_error=max(log.tracking_errors, default=0.0))
