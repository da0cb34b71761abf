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
Duck-typed conversions between ROS message shapes and numpy (no rclpy import).

Every function takes any object with the ROS message's field names: rclpy messages, rosbags
dataclasses or ``SimpleNamespace``. See doc/messages.md.
"""

from pi05_ros.messages.images import (
    compressed_image_to_rgb, image_to_rgb, ImageConversionError, is_compressed_image,
    message_to_rgb, rgb_to_compressed_fields, rgb_to_image_fields, SUPPORTED_ENCODINGS)
from pi05_ros.messages.joints import (
    float64_multi_array_to_vector, float64_sequence, joint_command_to_vector,
    joint_state_fields, joint_state_to_arrays, joint_state_to_vector, JointStateArrays,
    named_values)
from pi05_ros.messages.stamps import (
    duration_to_ns, header_stamp_ns, ns_to_duration, ns_to_stamp, stamp_to_ns)
from pi05_ros.messages.trajectory import (
    chunk_to_joint_trajectory, joint_trajectory_to_arrays, joint_trajectory_to_chunk,
    JointTrajectoryTypes, TrajectoryArrays)

__all__ = [
    'ImageConversionError', 'JointStateArrays', 'JointTrajectoryTypes', 'SUPPORTED_ENCODINGS',
    'TrajectoryArrays', 'chunk_to_joint_trajectory', 'compressed_image_to_rgb',
    'duration_to_ns', 'float64_multi_array_to_vector', 'float64_sequence', 'header_stamp_ns',
    'image_to_rgb', 'is_compressed_image', 'joint_command_to_vector', 'joint_state_fields',
    'joint_state_to_arrays', 'joint_state_to_vector', 'joint_trajectory_to_arrays',
    'joint_trajectory_to_chunk', 'message_to_rgb', 'named_values', 'ns_to_duration',
    'ns_to_stamp', 'rgb_to_compressed_fields', 'rgb_to_image_fields', 'stamp_to_ns',
]
