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

"""Stamps <-> nanoseconds, JointState / Float64MultiArray -> vectors in profile order."""

import array
from types import SimpleNamespace

from hypothesis import given, strategies as st
import numpy as np
from pi05_ros.messages import (
    duration_to_ns, float64_multi_array_to_vector, float64_sequence, header_stamp_ns,
    joint_command_to_vector, joint_state_fields, joint_state_to_arrays, joint_state_to_vector,
    ns_to_duration, ns_to_stamp, stamp_to_ns)
import pytest
from rosbags.typesys import get_typestore, Stores

STORE = get_typestore(Stores.ROS2_JAZZY)
PROFILE = ('shoulder', 'elbow', 'wrist', 'gripper')


def joint_state(names, position, velocity=(), effort=()):
    return SimpleNamespace(name=list(names), position=position, velocity=velocity, effort=effort)


# --- time --------------------------------------------------------------------------------------


@given(st.integers(min_value=-(2 ** 31) * 10 ** 9, max_value=(2 ** 31 - 1) * 10 ** 9))
def test_ns_round_trips_through_stamp_fields(ns):
    sec, nanosec = ns_to_stamp(ns)
    assert 0 <= nanosec < 10 ** 9
    assert stamp_to_ns(SimpleNamespace(sec=sec, nanosec=nanosec)) == ns
    assert duration_to_ns(SimpleNamespace(sec=sec, nanosec=nanosec)) == ns
    assert ns_to_duration(ns) == (sec, nanosec)


def test_negative_duration_keeps_nanosec_non_negative():
    assert ns_to_duration(-1) == (-1, 999_999_999)
    assert ns_to_duration(-1_500_000_000) == (-2, 500_000_000)


def test_rosbags_header_stamp():
    header = STORE.types['std_msgs/msg/Header'](
        stamp=STORE.types['builtin_interfaces/msg/Time'](sec=12, nanosec=34), frame_id='')
    assert header_stamp_ns(SimpleNamespace(header=header)) == 12_000_000_034


def test_bad_time_inputs_name_the_field():
    with pytest.raises(ValueError, match=r'stamp.nanosec: expected 0 <= nanosec < 1e9'):
        stamp_to_ns(SimpleNamespace(sec=1, nanosec=10 ** 9))
    with pytest.raises(ValueError, match='stamp: expected integer nanoseconds'):
        ns_to_stamp(1.5)
    with pytest.raises(ValueError, match='duration.sec: expected a value that fits int32'):
        ns_to_duration(2 ** 31 * 10 ** 9)
    with pytest.raises(ValueError, match='duration: expected an object with integer fields'):
        duration_to_ns(5)
    with pytest.raises(ValueError, match='header.stamp: expected a message with a header'):
        header_stamp_ns(SimpleNamespace())


# --- JointState ----------------------------------------------------------------------------------


def test_joint_state_selects_and_orders_by_name():
    msg = joint_state(['gripper', 'extra', 'wrist', 'shoulder', 'elbow'],
                      array.array('d', [0.04, 9.0, 3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(joint_state_to_vector(msg, PROFILE), [1.0, 2.0, 3.0, 0.04])


def test_joint_state_missing_joints_are_named():
    msg = joint_state(['shoulder', 'elbow'], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"missing joints \['wrist', 'gripper'\]"):
        joint_state_to_vector(msg, PROFILE)


def test_joint_state_length_mismatch():
    msg = joint_state(PROFILE, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r'JointState.position: expected one value per name'):
        joint_state_to_vector(msg, PROFILE)


def test_joint_state_duplicate_names():
    msg = joint_state(['shoulder', 'shoulder', 'elbow', 'wrist', 'gripper'], [1.0] * 5)
    with pytest.raises(ValueError, match=r"duplicate joint names \['shoulder'\]"):
        joint_state_to_vector(msg, PROFILE)


def test_joint_state_non_finite_position_is_named():
    msg = joint_state(PROFILE, [1.0, float('nan'), 3.0, 4.0])
    with pytest.raises(ValueError, match=r"non-finite values for joints \['elbow'\]"):
        joint_state_to_vector(msg, PROFILE)


def test_joint_state_arrays_with_and_without_velocity_effort():
    names = ['elbow', 'shoulder', 'gripper', 'wrist']
    full = joint_state(names, [2.0, 1.0, 4.0, 3.0], velocity=[0.2, 0.1, 0.4, 0.3],
                       effort=[20.0, 10.0, 40.0, 30.0])
    arrays = joint_state_to_arrays(full, PROFILE)
    np.testing.assert_array_equal(arrays.position, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(arrays.velocity, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(arrays.effort, [10.0, 20.0, 30.0, 40.0])
    bare = joint_state_to_arrays(joint_state(names, [2.0, 1.0, 4.0, 3.0]), PROFILE)
    assert bare.velocity is None and bare.effort is None


def test_rosbags_joint_state():
    header = STORE.types['std_msgs/msg/Header'](
        stamp=STORE.types['builtin_interfaces/msg/Time'](sec=0, nanosec=0), frame_id='')
    msg_type = STORE.types['sensor_msgs/msg/JointState']
    msg = msg_type(header=header, name=['wrist', 'gripper', 'elbow', 'shoulder'],
                   position=np.array([3.0, 4.0, 2.0, 1.0]), velocity=np.zeros(0),
                   effort=np.zeros(0))
    decoded = STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg_type.__msgtype__),
                                    msg_type.__msgtype__)
    np.testing.assert_array_equal(joint_state_to_vector(decoded, PROFILE), [1.0, 2.0, 3.0, 4.0])


def test_joint_command_without_names_is_in_profile_order():
    np.testing.assert_array_equal(joint_command_to_vector(joint_state([], [1.0, 2.0, 3.0, 4.0]),
                                                          PROFILE), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match='without names needs exactly 4 positions'):
        joint_command_to_vector(joint_state([], [1.0, 2.0]), PROFILE)
    named = joint_state(['gripper', 'wrist', 'elbow', 'shoulder'], [4.0, 3.0, 2.0, 1.0])
    np.testing.assert_array_equal(joint_command_to_vector(named, PROFILE), [1.0, 2.0, 3.0, 4.0])


def test_joint_state_fields_for_publishing():
    names, position, velocity = joint_state_fields(PROFILE, np.array([1.0, 2.0, 3.0, 4.0]))
    assert names == list(PROFILE)
    assert isinstance(position, array.array) and position.typecode == 'd'
    assert list(position) == [1.0, 2.0, 3.0, 4.0] and len(velocity) == 0
    with pytest.raises(ValueError, match='position: expected 4 values'):
        joint_state_fields(PROFILE, [1.0])


# --- Float64MultiArray ---------------------------------------------------------------------------


def test_float64_multi_array():
    msg = SimpleNamespace(layout=None, data=array.array('d', [0.5, -1.0, 2.0]))
    np.testing.assert_array_equal(float64_multi_array_to_vector(msg, size=3), [0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match='Float64MultiArray.data: expected 4 values, got 3'):
        float64_multi_array_to_vector(msg, size=4)


def test_float64_sequence_is_an_array_of_doubles():
    result = float64_sequence(np.arange(3, dtype=np.float32))
    assert result.typecode == 'd' and list(result) == [0.0, 1.0, 2.0]
