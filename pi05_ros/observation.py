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

"""The observation: what the robot saw and felt at one instant, ready for a policy."""

from dataclasses import dataclass, field
from typing import Dict

import numpy as np


@dataclass
class Observation:
    """
    One robot observation in the robot profile's terms.

    ``images`` maps the profile's camera names to RGB uint8 arrays of shape (height, width, 3)
    of any size; a camera that is absent is simply not in the dict. ``state`` is the joint
    positions in the profile's joint order, in robot units (radians / metres).
    """

    images: Dict[str, np.ndarray]
    state: np.ndarray  # (J,) float64
    prompt: str
    stamp_ns: int  # the observation's time (newest source stamp), integer nanoseconds
    source_stamps_ns: Dict[str, int] = field(default_factory=dict)  # per camera / 'joint_states'
