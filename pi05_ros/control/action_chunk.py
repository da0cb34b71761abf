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
The action chunk: what the policy produces and the executor consumes.

Row ``k`` of a chunk is the absolute joint target for time ``stamp_ns + (k + 1) * dt_ns``, where
``stamp_ns`` is the stamp of the observation the chunk was computed from.

A chunk sampled by real-time chunking (:mod:`pi05_ros.policy.rtc`) carries :class:`RtcInfo`:
its first ``delay_rows`` rows continue the chunk that was running when it was sampled, so the
executor takes it without a blend when it arrives within them.
"""

from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class RtcInfo:
    """How a chunk was sampled under real-time chunking."""

    delay_rows: int  # d: rows frozen to the previous chunk (they execute before it arrives)
    guided: bool  # sampled with guidance toward the previous chunk
    reason: str = ''  # why it was sampled plainly ('' when guided)


@dataclass(frozen=True)
class ActionChunk:
    """H rows of absolute joint targets in the profile's joint order."""

    positions: np.ndarray  # (H, J) float64, radians / metres
    stamp_ns: int  # observation stamp, integer nanoseconds
    dt_ns: int  # time between rows, integer nanoseconds
    joint_names: Tuple[str, ...]
    velocities: Optional[np.ndarray] = None  # (H, J) float64 where known
    timing_ms: Mapping[str, float] = field(default_factory=dict)  # per-stage latency
    # the network's raw output (action_horizon, action_dim) float32, in its normalized action
    # frame (what real-time chunking continues); None where unknown (remote, wire)
    model_actions: Optional[np.ndarray] = None
    rtc: Optional[RtcInfo] = None  # None: not sampled under real-time chunking

    def __post_init__(self):
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.ndim != 2:
            raise ValueError(
                f'ActionChunk.positions: expected shape (H, J), got {positions.shape}')
        if positions.shape[1] != len(self.joint_names):
            raise ValueError(
                f'ActionChunk.positions: expected {len(self.joint_names)} columns (one per joint '
                f'name), got {positions.shape[1]}')
        if int(self.dt_ns) <= 0:
            raise ValueError(f'ActionChunk.dt_ns: expected a positive integer, got {self.dt_ns}')
        object.__setattr__(self, 'positions', positions)
        object.__setattr__(self, 'stamp_ns', int(self.stamp_ns))
        object.__setattr__(self, 'dt_ns', int(self.dt_ns))
        object.__setattr__(self, 'joint_names', tuple(self.joint_names))
        if self.velocities is not None:
            velocities = np.asarray(self.velocities, dtype=np.float64)
            if velocities.shape != positions.shape:
                raise ValueError(
                    f'ActionChunk.velocities: expected shape {positions.shape}, '
                    f'got {velocities.shape}')
            object.__setattr__(self, 'velocities', velocities)

    @property
    def horizon(self) -> int:
        return self.positions.shape[0]

    @property
    def num_joints(self) -> int:
        return self.positions.shape[1]

    def row_times_ns(self) -> np.ndarray:
        """(H,) int64: the time each row is the target for."""
        return self.stamp_ns + self.dt_ns * np.arange(1, self.horizon + 1, dtype=np.int64)
