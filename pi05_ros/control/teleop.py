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
The teleop stream: joint targets by name from a leader arm, spacemouse or gamepad.

A teleop sample is ``(names, positions, stamp_ns)`` (what a ``sensor_msgs/JointState`` carries).
:class:`TeleopStream` maps it into the limits' joint order, rejects and counts samples that must
never reach the robot (non-finite values, stamps older than the newest accepted one) and keeps
the newest valid target, clipped into the position limits. Freshness is judged from the sample
stamp against the caller's ``now_ns``.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from pi05_ros.control.limits import JointLimits


def joint_vector(names: Sequence[str], positions: Sequence[float],
                 joint_order: Sequence[str], field: str = 'teleop') -> np.ndarray:
    """
    Positions given by name, as a (J,) float64 vector in ``joint_order``.

    Names that are not in ``joint_order`` are ignored (a leader may publish extra joints);
    a joint of ``joint_order`` that is missing from ``names`` is a ValueError naming it.
    """
    names = [str(n) for n in names]
    values = np.asarray(positions, dtype=np.float64).reshape(-1)
    if values.shape[0] != len(names):
        raise ValueError(
            f'{field}.positions: expected one value per name ({len(names)}), '
            f'got {values.shape[0]}')
    index = {name: i for i, name in enumerate(names)}
    missing = [n for n in joint_order if n not in index]
    if missing:
        raise ValueError(f'{field}.names: missing joints {missing} (expected {list(joint_order)})')
    return values[[index[n] for n in joint_order]]


class TeleopStream:
    """The newest valid teleop target, with counts of the samples that were ignored."""

    def __init__(self, limits: JointLimits):
        self.limits = limits
        self._target: Optional[np.ndarray] = None  # (J,) clipped into the position limits
        self._stamp_ns: Optional[int] = None
        self.accepted = 0
        self.rejected: Dict[str, int] = {'non_finite': 0, 'out_of_order': 0}
        self.last_rejection = ''

    @property
    def target(self) -> Optional[np.ndarray]:
        """(J,) newest valid target in the limits' joint order, or None before the first."""
        return None if self._target is None else self._target.copy()

    @property
    def stamp_ns(self) -> Optional[int]:
        return self._stamp_ns

    def offer(self, names: Sequence[str], positions: Sequence[float], stamp_ns: int) -> bool:
        """
        Take a sample; return whether it became the current target.

        A sample with a missing joint raises ValueError. A non-finite sample, or one stamped
        before the current target, is ignored and counted in ``rejected``.
        """
        vector = joint_vector(names, positions, self.limits.joint_names)
        stamp_ns = int(stamp_ns)
        if not np.isfinite(vector).all():
            bad = [self.limits.joint_names[i] for i in np.flatnonzero(~np.isfinite(vector))]
            return self._reject('non_finite', f'non-finite teleop positions for joints {bad}')
        if self._stamp_ns is not None and stamp_ns < self._stamp_ns:
            return self._reject(
                'out_of_order',
                f'teleop sample stamped {stamp_ns} before the current one ({self._stamp_ns})')
        self._target = self.limits.clamp_positions(vector)
        self._stamp_ns = stamp_ns
        self.accepted += 1
        return True

    def freshness(self, now_ns: int, timeout_ns: int) -> Tuple[bool, str]:
        """(fresh, why not): a target exists and its stamp is within ``timeout_ns`` of now."""
        if self._stamp_ns is None:
            return False, 'no teleop sample received'
        age_ns = int(now_ns) - self._stamp_ns
        if age_ns > timeout_ns:
            return False, (f'last teleop sample {age_ns / 1e6:.1f} ms old, '
                           f'timeout {timeout_ns / 1e6:.1f} ms')
        if age_ns < -timeout_ns:
            return False, f'teleop sample stamped {-age_ns / 1e6:.1f} ms in the future'
        return True, ''

    def _reject(self, kind: str, message: str) -> bool:
        self.rejected[kind] += 1
        self.last_rejection = message
        return False
