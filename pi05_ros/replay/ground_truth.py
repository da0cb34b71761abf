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
Ground truth for replay: what the robot was commanded to do, or what it did, over time.

Sources (chosen by the message type of the truth topic):

* ``std_msgs/Float64MultiArray`` commands (forward_command_controller): values in profile joint
  order, at the bag time of each message.
* ``sensor_msgs/JointState`` commands or measured joint states: positions by name, at the header
  stamp (bag time when the stamp is zero). Measured joint states may come split over several
  messages (arm and gripper drivers); a sample is taken at each message once every joint is
  known, with the latest value of each (messages with the same stamp make one sample).
* ``trajectory_msgs/JointTrajectory`` commands: every point at header stamp (bag time when zero)
  + time_from_start; a newer trajectory replaces the points of older ones from its start time
  on, as joint_trajectory_controller does.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np

from pi05_ros.messages import (
    float64_multi_array_to_vector, header_stamp_ns, joint_command_to_vector,
    joint_trajectory_to_arrays, named_values)

FLOAT64_ARRAY = 'std_msgs/msg/Float64MultiArray'
JOINT_STATE = 'sensor_msgs/msg/JointState'
JOINT_TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory'
TRUTH_TYPES = (FLOAT64_ARRAY, JOINT_STATE, JOINT_TRAJECTORY)


class JointStateMerger:
    """
    The latest position of every profile joint, from JointState messages with some joints.

    An arm driver and a gripper driver often both publish ``/joint_states``, each its own joints.
    """

    def __init__(self, joint_names: Sequence[str]):
        self._index = {name: i for i, name in enumerate(joint_names)}
        self._latest = np.full(len(self._index), np.nan)

    def add(self, msg) -> Optional[np.ndarray]:
        """
        Take one message; return the (J,) positions once every joint has a finite value.

        Raises ValueError for a malformed message (names and positions of different lengths).
        """
        for name, value in named_values(msg, 'position').items():
            i = self._index.get(name)
            if i is not None:
                self._latest[i] = value
        return self._latest.copy() if np.isfinite(self._latest).all() else None


class GroundTruth:
    """A growing (time, joint vector) series from messages of one truth topic."""

    def __init__(self, msgtype: str, joint_names: Sequence[str], measured: bool = False):
        if msgtype not in TRUTH_TYPES:
            raise ValueError(f'truth topic type: expected one of {", ".join(TRUTH_TYPES)}, '
                             f'got {msgtype}')
        if measured and msgtype != JOINT_STATE:
            raise ValueError(f'truth topic type: future joint states need {JOINT_STATE}, '
                             f'got {msgtype}')
        self.msgtype = msgtype
        self.joint_names = tuple(joint_names)
        self.measured = measured
        self._times: List[int] = []
        self._values: List[np.ndarray] = []
        self._merger = JointStateMerger(self.joint_names) if measured else None

    def __len__(self) -> int:
        return len(self._times)

    def add(self, msg, bag_time_ns: int) -> None:
        """Add one message received at ``bag_time_ns``; ValueError names the bad field."""
        if self.msgtype == FLOAT64_ARRAY:
            self._append(bag_time_ns, float64_multi_array_to_vector(msg, len(self.joint_names)))
        elif self._merger is not None:  # measured: a sample once every joint is known
            vector = self._merger.add(msg)
            time_ns = _stamp_or(msg, bag_time_ns)
            if vector is not None and self._times and self._times[-1] == time_ns:
                self._values[-1] = vector  # the rest of the same sample (e.g. the gripper)
            elif vector is not None:
                self._append(time_ns, vector)
        elif self.msgtype == JOINT_STATE:
            vector = joint_command_to_vector(msg, self.joint_names)
            self._append(_stamp_or(msg, bag_time_ns), vector)
        else:
            self._add_trajectory(msg, bag_time_ns)

    def _append(self, time_ns: int, vector: np.ndarray) -> None:
        self._times.append(int(time_ns))
        self._values.append(np.asarray(vector, dtype=np.float64))

    def _add_trajectory(self, msg, bag_time_ns: int) -> None:
        arrays = joint_trajectory_to_arrays(msg, self.joint_names)
        start_ns = arrays.stamp_ns if arrays.stamp_ns > 0 else int(bag_time_ns)
        # the new trajectory replaces everything planned from its start time on
        while self._times and self._times[-1] >= start_ns:
            self._times.pop()
            self._values.pop()
        for offset_ns, row in zip(arrays.time_from_start_ns, arrays.positions):
            self._append(start_ns + int(offset_ns), row)

    def series(self) -> Tuple[np.ndarray, np.ndarray]:
        """(N,) int64 times sorted ascending and (N, J) float64 values."""
        if not self._times:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(self.joint_names)))
        times = np.asarray(self._times, dtype=np.int64)
        order = np.argsort(times, kind='stable')
        return times[order], np.stack(self._values)[order]


def _stamp_or(msg, bag_time_ns: int) -> int:
    stamp = header_stamp_ns(msg)
    return stamp if stamp > 0 else int(bag_time_ns)
