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

"""Building ROS 2 messages as ``rosbags`` dataclasses, for bags written without ROS."""

from typing import Optional, Sequence

import numpy as np

from pi05_ros.replay.bag_io import default_typestore

STORE = default_typestore()
Time = STORE.types['builtin_interfaces/msg/Time']
Duration = STORE.types['builtin_interfaces/msg/Duration']
Header = STORE.types['std_msgs/msg/Header']
String = STORE.types['std_msgs/msg/String']
Bool = STORE.types['std_msgs/msg/Bool']
Float64MultiArray = STORE.types['std_msgs/msg/Float64MultiArray']
MultiArrayLayout = STORE.types['std_msgs/msg/MultiArrayLayout']
MultiArrayDimension = STORE.types['std_msgs/msg/MultiArrayDimension']
Image = STORE.types['sensor_msgs/msg/Image']
CompressedImage = STORE.types['sensor_msgs/msg/CompressedImage']
JointState = STORE.types['sensor_msgs/msg/JointState']
JointTrajectory = STORE.types['trajectory_msgs/msg/JointTrajectory']
JointTrajectoryPoint = STORE.types['trajectory_msgs/msg/JointTrajectoryPoint']

_EMPTY = np.zeros(0, dtype=np.float64)


def stamp(time_ns: int) -> 'Time':
    """builtin_interfaces/Time from integer nanoseconds."""
    sec, nanosec = divmod(int(time_ns), 10**9)
    return Time(sec=sec, nanosec=nanosec)


def duration(time_ns: int) -> 'Duration':
    """builtin_interfaces/Duration from integer nanoseconds."""
    sec, nanosec = divmod(int(time_ns), 10**9)
    return Duration(sec=sec, nanosec=nanosec)


def header(time_ns: int, frame_id: str = '') -> 'Header':
    return Header(stamp=stamp(time_ns), frame_id=frame_id)


def image(rgb: np.ndarray, time_ns: int, encoding: str = 'rgb8', frame_id: str = '') -> 'Image':
    """sensor_msgs/Image from an (H, W, C) uint8 array already in ``encoding``'s channel order."""
    height, width = rgb.shape[:2]
    channels = 1 if rgb.ndim == 2 else rgb.shape[2]
    return Image(header=header(time_ns, frame_id), height=height, width=width,
                 encoding=encoding, is_bigendian=0, step=width * channels * rgb.itemsize,
                 data=np.ascontiguousarray(rgb).reshape(-1).view(np.uint8))


def compressed_image(data: bytes, time_ns: int, fmt: str = 'jpeg',
                     frame_id: str = '') -> 'CompressedImage':
    return CompressedImage(header=header(time_ns, frame_id), format=fmt,
                           data=np.frombuffer(data, dtype=np.uint8))


def joint_state(names: Sequence[str], positions: np.ndarray, time_ns: int,
                velocities: Optional[np.ndarray] = None) -> 'JointState':
    velocity = _EMPTY if velocities is None else np.asarray(velocities, dtype=np.float64)
    return JointState(header=header(time_ns), name=list(names),
                      position=np.asarray(positions, dtype=np.float64), velocity=velocity,
                      effort=_EMPTY)


def float64_array(values: np.ndarray) -> 'Float64MultiArray':
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    layout = MultiArrayLayout(dim=[], data_offset=0)
    return Float64MultiArray(layout=layout, data=values)


def string(text: str) -> 'String':
    return String(data=text)
