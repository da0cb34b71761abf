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
Joint limits: position range, velocity, acceleration (and optional jerk) per joint.

Limits come from parameters or from a URDF (``robot_description``). Continuous joints have an
unbounded position range (``-inf``, ``+inf``); every joint must have a positive finite velocity
limit and a positive acceleration limit.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union
import xml.etree.ElementTree as ET

import numpy as np

ArrayLike = Union[float, Sequence[float], np.ndarray]


def _per_joint(name: str, value: ArrayLike, num_joints: int) -> np.ndarray:
    """Broadcast a scalar or a (J,) sequence to a (J,) float64 array, naming the field on error."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(num_joints, float(array))
    if array.shape != (num_joints,):
        raise ValueError(
            f'JointLimits.{name}: expected a scalar or shape ({num_joints},), got {array.shape}')
    return array.copy()


@dataclass(frozen=True)
class JointLimits:
    """Per-joint limits in the profile's joint order (radians / metres, per second)."""

    joint_names: Tuple[str, ...]
    lower: np.ndarray  # (J,) -inf for continuous joints
    upper: np.ndarray  # (J,) +inf for continuous joints
    max_velocity: np.ndarray  # (J,) > 0, finite
    max_acceleration: np.ndarray  # (J,) > 0 (inf allowed: no acceleration limit)
    max_jerk: Optional[np.ndarray] = None  # (J,) > 0 where known

    def __post_init__(self):
        names = tuple(str(n) for n in self.joint_names)
        if not names:
            raise ValueError('JointLimits.joint_names: expected at least one joint name')
        if len(set(names)) != len(names):
            raise ValueError(f'JointLimits.joint_names: expected unique names, got {names}')
        num = len(names)
        lower = _per_joint('lower', self.lower, num)
        upper = _per_joint('upper', self.upper, num)
        velocity = _per_joint('max_velocity', self.max_velocity, num)
        acceleration = _per_joint('max_acceleration', self.max_acceleration, num)
        if np.isnan(lower).any() or np.isnan(upper).any():
            raise ValueError('JointLimits.lower/upper: expected numbers or +-inf, got NaN')
        bad = np.flatnonzero(~(lower < upper))
        if bad.size:
            raise ValueError(
                f'JointLimits.lower/upper: expected lower < upper, violated for joints '
                f'{[names[i] for i in bad]}')
        if not (np.isfinite(velocity).all() and (velocity > 0).all()):
            raise ValueError(
                f'JointLimits.max_velocity: expected positive finite values, got {velocity}')
        if np.isnan(acceleration).any() or not (acceleration > 0).all():
            raise ValueError(
                f'JointLimits.max_acceleration: expected positive values, got {acceleration}')
        jerk = None
        if self.max_jerk is not None:
            jerk = _per_joint('max_jerk', self.max_jerk, num)
            if np.isnan(jerk).any() or not (jerk > 0).all():
                raise ValueError(f'JointLimits.max_jerk: expected positive values, got {jerk}')
        object.__setattr__(self, 'joint_names', names)
        object.__setattr__(self, 'lower', lower)
        object.__setattr__(self, 'upper', upper)
        object.__setattr__(self, 'max_velocity', velocity)
        object.__setattr__(self, 'max_acceleration', acceleration)
        object.__setattr__(self, 'max_jerk', jerk)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @classmethod
    def from_urdf(cls, urdf_xml: str, joint_names: Sequence[str],
                  default_max_acceleration: ArrayLike = 5.0,
                  default_max_velocity: Optional[float] = None,
                  use_safety_controller: bool = False) -> 'JointLimits':
        """
        Read ``<limit lower upper velocity>`` of the named joints from URDF text.

        Continuous joints get an unbounded position range. A revolute or prismatic joint without
        a ``<limit>`` is an error. A missing or zero ``velocity`` attribute takes
        ``default_max_velocity`` (an error when that is None). URDF has no acceleration limits,
        so ``default_max_acceleration`` (scalar or per joint) supplies them. With
        ``use_safety_controller`` the tighter ``soft_lower_limit``/``soft_upper_limit`` of a
        ``<safety_controller>`` element are used where present.
        """
        try:
            root = ET.fromstring(urdf_xml)
        except ET.ParseError as error:
            raise ValueError(f'robot_description: not valid URDF XML ({error})') from error
        joints = {j.get('name'): j for j in root.iter('joint')}
        lower, upper, velocity = [], [], []
        for name in joint_names:
            joint = joints.get(name)
            if joint is None:
                raise ValueError(f'robot_description: no joint named {name!r} in the URDF')
            kind = joint.get('type')
            if kind not in ('revolute', 'prismatic', 'continuous'):
                raise ValueError(
                    f'robot_description: joint {name!r} has type {kind!r}, expected revolute, '
                    f'prismatic or continuous')
            limit = joint.find('limit')
            if limit is None and kind != 'continuous':
                raise ValueError(f'robot_description: joint {name!r} ({kind}) has no <limit>')
            if kind == 'continuous':
                low, high = -np.inf, np.inf
            else:
                low = float(limit.get('lower', 0.0))
                high = float(limit.get('upper', 0.0))
                safety = joint.find('safety_controller')
                if use_safety_controller and safety is not None:
                    low = max(low, float(safety.get('soft_lower_limit', low)))
                    high = min(high, float(safety.get('soft_upper_limit', high)))
            vel = float(limit.get('velocity', 0.0)) if limit is not None else 0.0
            if vel <= 0.0:
                if default_max_velocity is None:
                    raise ValueError(
                        f'robot_description: joint {name!r} has no positive <limit velocity>; '
                        f'pass default_max_velocity')
                vel = float(default_max_velocity)
            lower.append(low)
            upper.append(high)
            velocity.append(vel)
        return cls(tuple(joint_names), np.array(lower), np.array(upper), np.array(velocity),
                   default_max_acceleration)

    def reordered(self, joint_names: Sequence[str]) -> 'JointLimits':
        """Return these limits in the order of joint_names (ValueError on a missing joint)."""
        missing = [n for n in joint_names if n not in self.joint_names]
        if missing:
            raise ValueError(f'JointLimits.joint_names: no limits for joints {missing}')
        index = [self.joint_names.index(n) for n in joint_names]
        jerk = None if self.max_jerk is None else self.max_jerk[index]
        return JointLimits(tuple(joint_names), self.lower[index], self.upper[index],
                           self.max_velocity[index], self.max_acceleration[index], jerk)

    def looser_than(self, other: 'JointLimits') -> Optional[str]:
        """
        Say where these limits allow more than ``other`` (None: they only tighten it).

        No jerk limit (None or inf) is looser than any finite one.
        """
        if self.joint_names != other.joint_names:
            return f'joint_names: expected {list(other.joint_names)}, got {list(self.joint_names)}'
        inf = np.full(self.num_joints, np.inf)
        jerk = inf if self.max_jerk is None else self.max_jerk
        other_jerk = inf if other.max_jerk is None else other.max_jerk
        for name, mine, theirs in (('lower', -self.lower, -other.lower),
                                   ('upper', self.upper, other.upper),
                                   ('max_velocity', self.max_velocity, other.max_velocity),
                                   ('max_acceleration', self.max_acceleration,
                                    other.max_acceleration),
                                   ('max_jerk', jerk, other_jerk)):
            looser = np.flatnonzero(mine > theirs)
            if looser.size:
                joints = [self.joint_names[i] for i in looser]
                return f'limits.{name}: looser than the running limits for joints {joints}'
        return None

    def clamp_positions(self, positions: np.ndarray) -> np.ndarray:
        """Positions (..., J) clipped into [lower, upper]."""
        return np.minimum(np.maximum(positions, self.lower), self.upper)

    def clamp_step(self, previous: np.ndarray, target: np.ndarray,
                   dt_s: float) -> np.ndarray:
        """``target`` moved towards ``previous`` so that no joint moves faster than its limit."""
        max_step = self.max_velocity * dt_s
        return previous + np.clip(target - previous, -max_step, max_step)

    def position_violations(self, positions: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Return joint indices whose positions (..., J) leave [lower - margin, upper + margin]."""
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, self.num_joints)
        outside = (positions < self.lower - margin) | (positions > self.upper + margin)
        return np.flatnonzero(outside.any(axis=0))

    def velocity_violations(self, positions: np.ndarray, dt_s: float,
                            factor: float = 1.0) -> np.ndarray:
        """Return joint indices whose row-to-row position (N, J) steps exceed factor*v_max*dt."""
        steps = np.abs(np.diff(np.asarray(positions, dtype=np.float64), axis=0))
        too_fast = steps > factor * self.max_velocity * dt_s * (1.0 + 1e-9)
        return np.flatnonzero(too_fast.any(axis=0))

    def check_positions(self, positions: np.ndarray, margin: float = 0.0) -> None:
        """Raise ValueError naming the joints whose positions are outside the limits."""
        bad = self.position_violations(positions, margin)
        if bad.size:
            raise ValueError(
                f'positions: joints {[self.joint_names[i] for i in bad]} outside their limits')
