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
Whole-chunk safety checks: a chunk is accepted entirely or refused with a reason.

Nothing here executes part of a chunk. Each check returns a short reason string naming what is
wrong (and for which joints), or None when the chunk passes.
"""

from typing import Optional, Sequence

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.limits import JointLimits

NS = 1e-9


def _names(limits: JointLimits, index: np.ndarray) -> str:
    return ','.join(limits.joint_names[i] for i in index)


def joint_order(chunk_names: Sequence[str], joint_names: Sequence[str]) -> Optional[np.ndarray]:
    """Column order putting a chunk's joints in ``joint_names`` order; None if not the same set."""
    if len(chunk_names) != len(joint_names) or set(chunk_names) != set(joint_names):
        return None
    position = {name: i for i, name in enumerate(chunk_names)}
    return np.array([position[name] for name in joint_names])


def non_finite_reason(chunk: ActionChunk) -> Optional[str]:
    """Refuse a chunk with any NaN or inf in its positions or velocities."""
    if not np.isfinite(chunk.positions).all():
        rows = np.flatnonzero(~np.isfinite(chunk.positions).all(axis=1))
        return f'non_finite: positions rows {rows[:5].tolist()} contain NaN/inf'
    if chunk.velocities is not None and not np.isfinite(chunk.velocities).all():
        return 'non_finite: velocities contain NaN/inf'
    return None


def position_limit_reason(positions: np.ndarray, limits: JointLimits,
                          margin: float) -> Optional[str]:
    """Refuse rows more than ``margin`` outside the position limits."""
    bad = limits.position_violations(positions, margin)
    if bad.size:
        return f'position_limits: joints {_names(limits, bad)} outside limits by > {margin}'
    return None


def row_velocity_reason(positions: np.ndarray, dt_ns: int, limits: JointLimits,
                        factor: float) -> Optional[str]:
    """Refuse step-to-step jumps faster than factor * max_velocity."""
    bad = limits.velocity_violations(positions, dt_ns * NS, factor)
    if bad.size:
        return f'velocity_limits: row-to-row steps of joints {_names(limits, bad)} too fast'
    return None


def row_acceleration_reason(positions: np.ndarray, dt_ns: int, limits: JointLimits,
                            factor: float) -> Optional[str]:
    """Refuse second differences above factor * max_acceleration."""
    if positions.shape[0] < 3:
        return None
    dt_s = dt_ns * NS
    accelerations = np.abs(np.diff(positions, n=2, axis=0)) / dt_s ** 2
    bad = np.flatnonzero((accelerations > factor * limits.max_acceleration).any(axis=0))
    if bad.size:
        return f'acceleration_limits: rows of joints {_names(limits, bad)} accelerate too hard'
    return None


def first_row_reason(first_row: np.ndarray, command: np.ndarray, limits: JointLimits,
                     max_deviation: np.ndarray) -> Optional[str]:
    """Refuse a chunk whose first executed row is too far from the current command."""
    bad = np.flatnonzero(np.abs(first_row - command) > max_deviation)
    if bad.size:
        worst = float(np.abs(first_row - command).max())
        return (f'first_row_deviation: joints {_names(limits, bad)} start {worst:.3f} from the '
                f'current command (max {np.max(max_deviation):.3f})')
    return None
