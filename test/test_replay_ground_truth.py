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

"""Ground truth from each kind of recorded command topic."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.messages import chunk_to_joint_trajectory, JointTrajectoryTypes
from pi05_ros.replay import ros_types
from pi05_ros.replay.ground_truth import (
    FLOAT64_ARRAY, GroundTruth, JOINT_STATE, JOINT_TRAJECTORY)
import pytest

JOINTS = ('a', 'b', 'c')
TYPES = JointTrajectoryTypes.from_typestore(ros_types.STORE)


def test_float64_array_commands_at_bag_time():
    truth = GroundTruth(FLOAT64_ARRAY, JOINTS)
    truth.add(ros_types.float64_array([1.0, 2.0, 3.0]), 200)
    truth.add(ros_types.float64_array([4.0, 5.0, 6.0]), 100)
    times, values = truth.series()
    np.testing.assert_array_equal(times, [100, 200])
    np.testing.assert_array_equal(values, [[4, 5, 6], [1, 2, 3]])
    with pytest.raises(ValueError, match='Float64MultiArray.data'):
        truth.add(ros_types.float64_array([1.0]), 300)


def test_joint_state_commands_by_name_at_header_stamp():
    truth = GroundTruth(JOINT_STATE, JOINTS)
    truth.add(ros_types.joint_state(('c', 'a', 'b', 'extra'), [3.0, 1.0, 2.0, 9.0], 5_000), 7_000)
    truth.add(ros_types.joint_state(('a', 'b', 'c'), [0.0, 0.0, 0.0], 0), 8_000)  # stamp 0
    times, values = truth.series()
    np.testing.assert_array_equal(times, [5_000, 8_000])
    np.testing.assert_array_equal(values[0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match='c'):
        truth.add(ros_types.joint_state(('a', 'b'), [0.0, 0.0], 1), 1)


def test_a_newer_trajectory_replaces_the_rest_of_the_older_one():
    truth = GroundTruth(JOINT_TRAJECTORY, JOINTS)
    first = ActionChunk(np.arange(12, dtype=float).reshape(4, 3), 10**9, 10**8, JOINTS)
    second = ActionChunk(-np.ones((2, 3)), 10**9 + 2 * 10**8 + 5, 10**8, ('b', 'a', 'c'))
    truth.add(chunk_to_joint_trajectory(first, TYPES), 10**9)
    truth.add(chunk_to_joint_trajectory(second, TYPES), 10**9 + 2 * 10**8 + 5)
    times, values = truth.series()
    # first: rows at +0.1 s and +0.2 s kept (before the second's start), +0.3, +0.4 s replaced
    np.testing.assert_array_equal(times - 10**9, [10**8, 2 * 10**8, 3 * 10**8 + 5,
                                                  4 * 10**8 + 5])
    np.testing.assert_array_equal(values[:2], first.positions[:2])
    np.testing.assert_array_equal(values[2:], -np.ones((2, 3)))


def test_future_joint_states_split_over_messages_are_merged():
    truth = GroundTruth(JOINT_STATE, JOINTS, measured=True)
    truth.add(ros_types.joint_state(('a', 'b'), [1.0, 2.0], 100), 100)  # 'c' not known yet
    truth.add(ros_types.joint_state(('c',), [3.0], 110), 110)  # e.g. the gripper driver
    truth.add(ros_types.joint_state(('b', 'a', 'other'), [5.0, 4.0, 9.0], 120), 120)
    truth.add(ros_types.joint_state(('c',), [6.0], 120), 121)  # same stamp: the same sample
    times, values = truth.series()
    np.testing.assert_array_equal(times, [110, 120])
    np.testing.assert_array_equal(values, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_future_joint_states_need_a_joint_state_topic():
    with pytest.raises(ValueError, match='future joint states'):
        GroundTruth(FLOAT64_ARRAY, JOINTS, measured=True)
    with pytest.raises(ValueError, match='truth topic type'):
        GroundTruth('std_msgs/msg/String', JOINTS)
