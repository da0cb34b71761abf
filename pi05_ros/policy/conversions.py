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
Named unit conversions a robot profile can apply to one state or action dimension.

ALOHA's grippers (openpi ``aloha_policy.py``, ``adapt_to_pi=True``): the robot reports a
normalized *linear* gripper position, the PI0 base model was trained on a normalized *angular*
one, and its gripper actions come back in a third range. Both maps are elementwise on numpy arrays.
"""

from typing import Callable, Dict

import numpy as np

# ALOHA constants (Interbotix / ALOHA runtime values quoted by openpi).
PUPPET_GRIPPER_POSITION_OPEN = 0.01844
PUPPET_GRIPPER_POSITION_CLOSE = 0.05800
GRIPPER_ARM_LENGTH = 0.036
GRIPPER_HORN_RADIUS = 0.022
PI_GRIPPER_ANGLE_MIN = 0.5476  # encoder counts 2405 of 4096 around zero 2048, in radians
PI_GRIPPER_ANGLE_MAX = 1.6296
PUPPET_GRIPPER_JOINT_OPEN = -0.6213
PUPPET_GRIPPER_JOINT_CLOSE = 1.4910


def aloha_gripper_to_pi(value: np.ndarray) -> np.ndarray:
    """ALOHA normalized linear gripper position -> PI's normalized angular gripper value."""
    span = PUPPET_GRIPPER_POSITION_CLOSE - PUPPET_GRIPPER_POSITION_OPEN
    linear = np.asarray(value, dtype=np.float64) * span + PUPPET_GRIPPER_POSITION_OPEN
    # Inverse of the Interbotix horn/arm linkage: linear finger position -> horn angle.
    cos_law = (GRIPPER_HORN_RADIUS ** 2 + linear ** 2 - GRIPPER_ARM_LENGTH ** 2) / (
        2.0 * GRIPPER_HORN_RADIUS * linear)
    angle = np.arcsin(np.clip(cos_law, -1.0, 1.0))
    return (angle - PI_GRIPPER_ANGLE_MIN) / (PI_GRIPPER_ANGLE_MAX - PI_GRIPPER_ANGLE_MIN)


def aloha_gripper_from_pi(value: np.ndarray) -> np.ndarray:
    """PI gripper action -> ALOHA normalized gripper joint command (gripper_from_angular)."""
    angle = np.asarray(value, dtype=np.float64) + PI_GRIPPER_ANGLE_MIN
    return (angle - PUPPET_GRIPPER_JOINT_OPEN) / (
        PUPPET_GRIPPER_JOINT_CLOSE - PUPPET_GRIPPER_JOINT_OPEN)


CONVERSIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'aloha_gripper_to_pi': aloha_gripper_to_pi,
    'aloha_gripper_from_pi': aloha_gripper_from_pi,
}
