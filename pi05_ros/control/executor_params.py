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
The executor node's parameters as plain values, without ROS.

Shared by :mod:`pi05_ros.nodes.executor_node` and ``pi05-replay`` so that a replay executes with
the limits and settings the live node gets from the same parameter file. Parameters are the
flattened ``ros__parameters`` names (``limits.max_velocity``, ``executor.blend_window``, ...);
any name left out takes the node's default (:data:`EXECUTOR_DEFAULTS`).
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
from pi05_ros.control.executor import ExecutorConfig
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import ModeSwitchConfig
import yaml

NODE_NAME = 'pi05_executor'
# The executor node's declared defaults (test_node_config checks them against the node's).
EXECUTOR_DEFAULTS: Dict[str, Any] = {
    'rate_hz': 100.0,
    'limits.source': 'parameters',
    'limits.lower': [-3.14],
    'limits.upper': [3.14],
    'limits.max_velocity': [1.0],
    'limits.max_acceleration': [5.0],
    'limits.max_jerk': None,
    'robot_description': '',
    'executor.interpolation': 'cubic',
    'executor.blend_window': 0.2,
    'executor.max_blend_window': 1.0,
    'executor.max_chunk_age': 1.0,
    'executor.state_timeout': 0.25,
    'executor.chunk_timeout': 1.5,
    'executor.max_first_row_deviation': 0.2,
    'executor.row_velocity_factor': 1.0,
    'executor.position_limit_margin': 0.02,
    'teleop.timeout': 0.2,
    'teleop.align_threshold': 0.1,
    'teleop.tracking_error_limit': 0.5,
    'teleop.handover_velocity_fraction': 0.5,
    'teleop.velocity_fraction': 1.0,
    'teleop.handover_tolerance': 1e-3,
    'intervention.timeout': 0.0,
}


@dataclass(frozen=True)
class ExecutorSettings:
    """Everything the executor node builds from its parameters, in the limits' joint order."""

    limits: JointLimits
    config: ExecutorConfig
    mode_config: ModeSwitchConfig
    rate_hz: float


def seconds_to_ns(seconds: float) -> int:
    return int(round(float(seconds) * 1e9))


def per_joint(name: str, values: Union[float, Sequence[float]], num_joints: int) -> np.ndarray:
    """One value for every joint, or exactly one per joint; ValueError naming the parameter."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 1:
        return np.full(num_joints, array[0])
    if array.size != num_joints:
        raise ValueError(f'{name}: expected 1 or {num_joints} values (one per joint), '
                         f'got {array.size}')
    return array


def max_jerk_from_parameters(values, num_joints: int) -> Optional[np.ndarray]:
    """``limits.max_jerk`` per joint (0: no limit there, inf); None when unset or all 0."""
    if values is None or (not np.isscalar(values) and len(values) == 0):
        return None
    jerk = per_joint('limits.max_jerk', values, num_joints)
    if np.isnan(jerk).any() or (jerk < 0).any():
        raise ValueError(f'limits.max_jerk: expected values >= 0 (0: no limit), got {values}')
    if not jerk.any():
        return None
    return np.where(jerk == 0.0, np.inf, jerk)


def _with_defaults(params: Mapping[str, Any]) -> Dict[str, Any]:
    return {**EXECUTOR_DEFAULTS, **{k: v for k, v in params.items() if v is not None}}


def limits_from_parameters(params: Mapping[str, Any], joint_names: Sequence[str],
                           urdf: Optional[str] = None) -> JointLimits:
    """``limits.*`` -> JointLimits; with ``urdf`` text, positions and velocities come from it."""
    p = _with_defaults(params)
    num = len(joint_names)
    acceleration = per_joint('limits.max_acceleration', p['limits.max_acceleration'], num)
    jerk = max_jerk_from_parameters(p['limits.max_jerk'], num)
    if urdf is not None:
        limits = JointLimits.from_urdf(urdf, joint_names, default_max_acceleration=acceleration)
        return replace(limits, max_jerk=jerk)
    return JointLimits(
        tuple(joint_names), per_joint('limits.lower', p['limits.lower'], num),
        per_joint('limits.upper', p['limits.upper'], num),
        per_joint('limits.max_velocity', p['limits.max_velocity'], num), acceleration, jerk)


def executor_config_from_parameters(params: Mapping[str, Any]) -> ExecutorConfig:
    """``executor.*`` -> ExecutorConfig (a timeout of 0 disables it)."""
    p = _with_defaults(params)
    return ExecutorConfig(
        interpolation=p['executor.interpolation'],
        blend_window_s=p['executor.blend_window'],
        max_blend_window_s=p['executor.max_blend_window'],
        max_chunk_age_s=p['executor.max_chunk_age'],
        state_timeout_s=p['executor.state_timeout'] or None,
        chunk_timeout_s=p['executor.chunk_timeout'] or None,
        max_first_row_deviation=p['executor.max_first_row_deviation'],
        row_velocity_factor=p['executor.row_velocity_factor'],
        position_limit_margin=p['executor.position_limit_margin'])


def mode_config_from_parameters(params: Mapping[str, Any]) -> ModeSwitchConfig:
    """``teleop.*`` and ``intervention.timeout`` -> ModeSwitchConfig."""
    p = _with_defaults(params)
    return ModeSwitchConfig(
        teleop_timeout_ns=seconds_to_ns(p['teleop.timeout']),
        intervention_timeout_ns=seconds_to_ns(p['intervention.timeout']),
        align_threshold=p['teleop.align_threshold'],
        tracking_error_limit=p['teleop.tracking_error_limit'],
        handover_velocity_fraction=p['teleop.handover_velocity_fraction'],
        teleop_velocity_fraction=p['teleop.velocity_fraction'],
        handover_tolerance=p['teleop.handover_tolerance'])


def executor_settings(params: Mapping[str, Any], joint_names: Sequence[str],
                      urdf: Optional[str] = None) -> ExecutorSettings:
    """All of the above, plus ``rate_hz``; ValueError naming the offending parameter."""
    p = _with_defaults(params)
    rate_hz = float(p['rate_hz'])
    if not rate_hz > 0:
        raise ValueError(f'rate_hz: expected a positive number, got {p["rate_hz"]}')
    return ExecutorSettings(limits_from_parameters(p, joint_names, urdf),
                            executor_config_from_parameters(p), mode_config_from_parameters(p),
                            rate_hz)


def flatten(tree: Mapping[str, Any], prefix: str = '') -> Dict[str, Any]:
    """Nested ``ros__parameters`` -> ``{'a.b.c': value}``, as rclpy names them."""
    out: Dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def read_node_parameters(path: Union[str, Path], node_name: str = NODE_NAME
                         ) -> Optional[Dict[str, Any]]:
    """
    Return the flattened ``ros__parameters`` of ``node_name`` in a ROS 2 parameter file.

    Matches a section key ``node_name``, ``/**/node_name`` or ``/namespace/node_name``; returns
    None when the file has none. ValueError naming the file when it is not a parameter file.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f'parameter file {path}: invalid YAML ({err})') from None
    if not isinstance(data, dict):
        raise ValueError(f'parameter file {path}: expected a mapping of node names')
    for key, section in data.items():
        if str(key).rstrip('/').rsplit('/', 1)[-1] != node_name:
            continue
        params = (section or {}).get('ros__parameters') if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise ValueError(f'parameter file {path}: {key}: expected a ros__parameters mapping')
        return flatten(params)
    return None
