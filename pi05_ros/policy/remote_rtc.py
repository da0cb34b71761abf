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
Real-time chunking over the wire: the frozen prefix as an extra request field.

The robot side knows what its executor will run; only the server knows the checkpoint's norm
stats. So the prefix travels in the robot's own frame, and the server turns it into the model's:

    request[RTC_KEY] = {'prefix_positions': (K, J) float64  absolute targets in the profile's
                                                            joint order, row j at the new
                                                            observation's stamp + (j + 1) dt,
                        'delay': d, 'execution_horizon': s, 'schedule': str,
                        'guidance_weight_max': beta}

On the server (``server.guidance_request``) the rows are held past K up to the model's horizon
H, mapped to model-space actions relative to the request's state with the inverse of the
profile's output transforms (:func:`pi05_ros.policy.rtc.robot_to_actions`), normalized, and
padded with zeros to the model's action dim (openpi pads after normalizing). openpi's server
ignores the field, so a client sending it to openpi gets plain sampling. This module imports
no torch: the robot side of the remote backend runs without it.
"""

import dataclasses
from typing import Dict, Mapping

import numpy as np

RTC_KEY = 'pi05_ros/rtc'


class WireGuidanceError(ValueError):
    """The request's RTC field is malformed (the message names the field)."""


@dataclasses.dataclass(frozen=True)
class WireGuidance:
    """The frozen prefix as the robot side sends it (see the module docstring)."""

    prefix_positions: np.ndarray  # (K, J) float64 absolute targets at the new row times
    delay: int
    execution_horizon: int
    schedule: str = 'exp'
    guidance_weight_max: float = 5.0

    def encode(self) -> Dict[str, object]:
        """Return the request field's value."""
        return {'prefix_positions': np.ascontiguousarray(self.prefix_positions, np.float64),
                'delay': int(self.delay), 'execution_horizon': int(self.execution_horizon),
                'schedule': str(self.schedule),
                'guidance_weight_max': float(self.guidance_weight_max)}


def _integer(field: Mapping, key: str) -> int:
    value = field.get(key)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise WireGuidanceError(f'{RTC_KEY}.{key}: expected an integer, got {value!r}')
    return int(value)


def decode(field: object, joints: int) -> WireGuidance:
    """Parse the request's RTC field for a robot with ``joints`` joints."""
    if not isinstance(field, Mapping):
        raise WireGuidanceError(f'{RTC_KEY}: expected a map, got {type(field).__name__}')
    positions = field.get('prefix_positions')
    if not isinstance(positions, np.ndarray) or positions.dtype.kind not in 'fiu':
        raise WireGuidanceError(f'{RTC_KEY}.prefix_positions: expected a numeric (K, {joints}) '
                                f'array, got {type(positions).__name__}')
    if positions.ndim != 2 or positions.shape[0] < 1 or positions.shape[1] != joints:
        raise WireGuidanceError(f'{RTC_KEY}.prefix_positions: expected shape (K >= 1, '
                                f'{joints}), got {positions.shape}')
    if not np.all(np.isfinite(positions)):
        raise WireGuidanceError(f'{RTC_KEY}.prefix_positions: not all finite')
    schedule = field.get('schedule', 'exp')
    if not isinstance(schedule, str):
        raise WireGuidanceError(f'{RTC_KEY}.schedule: expected a string, got {schedule!r}')
    beta = field.get('guidance_weight_max', 5.0)
    if (isinstance(beta, bool) or not isinstance(beta, (int, float))
            or not np.isfinite(beta) or beta < 0):
        raise WireGuidanceError(f'{RTC_KEY}.guidance_weight_max: expected a finite number '
                                f'>= 0, got {beta!r}')
    return WireGuidance(positions.astype(np.float64), _integer(field, 'delay'),
                        _integer(field, 'execution_horizon'), str(schedule), float(beta))
