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
``sensor_msgs/JointState`` and ``std_msgs/Float64MultiArray`` <-> float64 vectors.

Joints are always selected and ordered by name, in the robot profile's order; a JointState may
carry more joints, in any order.
"""

import array
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

JOINT_STATE_FIELDS = ('position', 'velocity', 'effort')


def float64_sequence(values: Any) -> array.array:
    """
    Return a float64 vector as ``array.array('d')``.

    That is the fast, portable value for a ``float64[]`` field of an rclpy message (Humble's
    setters reject numpy arrays).
    """
    vector = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    result = array.array('d')
    result.frombytes(vector.tobytes())
    return result


def named_values(msg: Any, field: str = 'position') -> Dict[str, float]:
    """``{joint name: value}`` of one JointState field; checks one value per name."""
    if field not in JOINT_STATE_FIELDS:
        raise ValueError(f'field: expected one of {JOINT_STATE_FIELDS}, got {field!r}')
    names = list(msg.name)
    values = np.asarray(getattr(msg, field), dtype=np.float64).reshape(-1)
    if values.size != len(names):
        raise ValueError(
            f'JointState.{field}: expected one value per name ({len(names)}), got {values.size}')
    mapping = dict(zip(names, values.tolist()))
    if len(mapping) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f'JointState.name: duplicate joint names {duplicates}')
    return mapping


def _select(mapping: Dict[str, float], joint_names: Sequence[str], field: str,
            require_finite: bool) -> np.ndarray:
    missing = [name for name in joint_names if name not in mapping]
    if missing:
        raise ValueError(
            f'JointState.name: missing joints {missing} (message has {sorted(mapping)})')
    vector = np.array([mapping[name] for name in joint_names], dtype=np.float64)
    if require_finite and not np.all(np.isfinite(vector)):
        bad = [name for name, v in zip(joint_names, vector) if not np.isfinite(v)]
        raise ValueError(f'JointState.{field}: non-finite values for joints {bad}')
    return vector


def joint_state_to_vector(msg: Any, joint_names: Sequence[str], field: str = 'position',
                          require_finite: bool = True) -> np.ndarray:
    """
    (J,) float64 of ``msg.<field>`` in ``joint_names`` order.

    Raises ValueError naming the missing joints, a length mismatch between ``name`` and the
    field, duplicate names, or (with ``require_finite``) joints whose value is NaN/inf.
    """
    return _select(named_values(msg, field), joint_names, field, require_finite)


@dataclass(frozen=True)
class JointStateArrays:
    """One JointState in profile order; velocity / effort are None when the message has none."""

    position: np.ndarray  # (J,) float64
    velocity: Optional[np.ndarray]  # (J,) float64 or None
    effort: Optional[np.ndarray]  # (J,) float64 or None


def joint_state_to_arrays(msg: Any, joint_names: Sequence[str]) -> JointStateArrays:
    """Position, and velocity / effort where the message fills them, in ``joint_names`` order."""
    position = joint_state_to_vector(msg, joint_names, 'position')
    optional = {}
    for field in ('velocity', 'effort'):
        has_values = len(getattr(msg, field)) > 0
        optional[field] = (joint_state_to_vector(msg, joint_names, field, require_finite=False)
                           if has_values else None)
    return JointStateArrays(position, optional['velocity'], optional['effort'])


def joint_command_to_vector(msg: Any, joint_names: Sequence[str]) -> np.ndarray:
    """
    Convert a JointState used as a position command to (J,) float64 in profile order.

    Like :func:`joint_state_to_vector`, but a command without names is accepted when it has
    exactly one position per profile joint (taken to be in profile order).
    """
    if len(msg.name) == 0:
        position = np.asarray(msg.position, dtype=np.float64).reshape(-1)
        if position.size != len(joint_names):
            raise ValueError(
                f'JointState.position: a command without names needs exactly '
                f'{len(joint_names)} positions (profile order), got {position.size}')
        return position.copy()
    return joint_state_to_vector(msg, joint_names, 'position')


def float64_multi_array_to_vector(msg: Any, size: Optional[int] = None) -> np.ndarray:
    """
    ``std_msgs/Float64MultiArray.data`` -> (N,) float64 (a copy).

    ``layout`` is ignored, as forward_command_controller ignores it. With ``size``, raises
    ValueError unless there are exactly ``size`` values.
    """
    vector = np.array(msg.data, dtype=np.float64).reshape(-1)
    if size is not None and vector.size != size:
        raise ValueError(
            f'Float64MultiArray.data: expected {size} values, got {vector.size}')
    return vector


def joint_state_fields(joint_names: Sequence[str], position: Any,
                       velocity: Any = None) -> Tuple[List[str], array.array, array.array]:
    """``(name, position, velocity)`` field values for publishing a JointState command."""
    position = np.asarray(position, dtype=np.float64).reshape(-1)
    if position.size != len(joint_names):
        raise ValueError(
            f'position: expected {len(joint_names)} values (one per joint), got {position.size}')
    velocities = float64_sequence([] if velocity is None else velocity)
    if velocity is not None and len(velocities) != len(joint_names):
        raise ValueError(
            f'velocity: expected {len(joint_names)} values (one per joint), '
            f'got {len(velocities)}')
    return list(joint_names), float64_sequence(position), velocities
