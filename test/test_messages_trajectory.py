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

"""ActionChunk <-> JointTrajectory, checked through real ROS 2 CDR bytes (rosbags)."""

import array
from types import SimpleNamespace

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.messages import (
    chunk_to_joint_trajectory, joint_trajectory_to_arrays, joint_trajectory_to_chunk,
    JointTrajectoryTypes)
import pytest
from rosbags.typesys import get_typestore, Stores

JOINTS = ('j1', 'j2', 'j3')
MSGTYPE = 'trajectory_msgs/msg/JointTrajectory'
MS = 1_000_000


def make_chunk(horizon=50, dt_ns=20_000_000, stamp_ns=1_700_000_000_123_456_789,
               velocities=True) -> ActionChunk:
    rng = np.random.default_rng(3)
    positions = rng.normal(size=(horizon, len(JOINTS)))
    return ActionChunk(positions=positions, stamp_ns=stamp_ns, dt_ns=dt_ns, joint_names=JOINTS,
                       velocities=rng.normal(size=positions.shape) if velocities else None)


@pytest.mark.parametrize('store_name', [Stores.ROS2_HUMBLE, Stores.ROS2_JAZZY])
def test_chunk_survives_cdr_round_trip(store_name):
    store = get_typestore(store_name)
    chunk = make_chunk()
    msg = chunk_to_joint_trajectory(chunk, JointTrajectoryTypes.from_typestore(store),
                                    frame_id='base')
    decoded = store.deserialize_cdr(store.serialize_cdr(msg, MSGTYPE), MSGTYPE)
    assert (decoded.header.stamp.sec, decoded.header.stamp.nanosec) == (1_700_000_000, 123_456_789)
    assert decoded.points[49].time_from_start.sec == 1  # 50 * 20 ms = 1.0 s
    assert decoded.points[0].time_from_start.nanosec == 20_000_000
    back = joint_trajectory_to_chunk(decoded)
    assert (back.stamp_ns, back.dt_ns, back.joint_names) == (chunk.stamp_ns, 20_000_000, JOINTS)
    np.testing.assert_array_equal(back.positions, chunk.positions)
    np.testing.assert_array_equal(back.velocities, chunk.velocities)
    np.testing.assert_array_equal(back.row_times_ns(), chunk.row_times_ns())


def test_velocities_left_out_on_request_or_when_unknown():
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = JointTrajectoryTypes.from_typestore(store)
    for chunk, include in [(make_chunk(), False), (make_chunk(velocities=False), True)]:
        msg = chunk_to_joint_trajectory(chunk, types, include_velocities=include)
        assert all(len(p.velocities) == 0 for p in msg.points)
        assert joint_trajectory_to_chunk(msg).velocities is None


def test_default_float_array_is_array_of_doubles_for_rclpy():
    types = JointTrajectoryTypes(joint_trajectory=SimpleNamespace,
                                 joint_trajectory_point=SimpleNamespace,
                                 header=SimpleNamespace, time=SimpleNamespace,
                                 duration=SimpleNamespace)
    msg = chunk_to_joint_trajectory(make_chunk(horizon=2), types)
    assert isinstance(msg.points[0].positions, array.array)
    assert msg.points[0].positions.typecode == 'd'
    assert isinstance(msg.joint_names, list)
    np.testing.assert_array_equal(joint_trajectory_to_chunk(msg).positions,
                                  make_chunk(horizon=2).positions)


def trajectory(times_ns, positions, names=JOINTS, velocities=None, stamp_ns=5):
    points = []
    for k, t in enumerate(times_ns):
        points.append(SimpleNamespace(
            positions=positions[k], velocities=[] if velocities is None else velocities[k],
            time_from_start=SimpleNamespace(sec=t // 10 ** 9, nanosec=t % 10 ** 9)))
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=0, nanosec=stamp_ns)),
                           joint_names=list(names), points=points)


def test_reorders_columns_to_profile_order():
    msg = trajectory([10, 20], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], names=('j3', 'j1', 'j2'))
    chunk = joint_trajectory_to_chunk(msg, joint_names=JOINTS)
    np.testing.assert_array_equal(chunk.positions, [[2.0, 3.0, 1.0], [5.0, 6.0, 4.0]])
    assert chunk.joint_names == JOINTS and chunk.dt_ns == 10


def test_dt_that_is_not_whole_nanoseconds_is_accepted_within_tolerance():
    dt = 10 ** 9 / 15  # 15 Hz
    times = [int(round((k + 1) * dt)) for k in range(50)]
    chunk = joint_trajectory_to_chunk(trajectory(times, np.zeros((50, 3))))
    assert chunk.dt_ns == 66_666_667


@pytest.mark.parametrize('times,match', [
    ([10, 20, 20], r'points\[2\].time_from_start: expected strictly increasing'),
    ([10, 30, 20], r'points\[2\].time_from_start: expected strictly increasing'),
    ([0, 10 * MS, 20 * MS], r'points\[0\].time_from_start: expected \(k \+ 1\) \* dt = 6666667'),
    ([10 * MS, 20 * MS, 40 * MS], r'points\[0\].time_from_start: .* 13333333 ns .*got 10000000'),
    ([10 * MS, 20 * MS, 30 * MS + 2000], r'points\[1\].time_from_start: .*dt = 10000667 ns'),
])
def test_timing_that_breaks_the_chunk_convention_is_named(times, match):
    with pytest.raises(ValueError, match=match):
        joint_trajectory_to_chunk(trajectory(times, np.zeros((3, 3))))


def test_lenient_arrays_accept_any_increasing_timing():
    arrays = joint_trajectory_to_arrays(trajectory([0, 10, 40], np.eye(3)), ('j2', 'j1', 'j3'))
    np.testing.assert_array_equal(arrays.time_from_start_ns, [0, 10, 40])
    np.testing.assert_array_equal(arrays.positions[:, 0], [0.0, 1.0, 0.0])
    assert arrays.stamp_ns == 5 and arrays.velocities is None


@pytest.mark.parametrize('msg,match', [
    (trajectory([10], [[1.0, 2.0]]), r'points\[0\].positions: expected 3 values'),
    (trajectory([10, 20], np.zeros((2, 3)), velocities=[[0.0] * 3, []]),
     r'points\[1\].velocities: expected 3 values'),
    (trajectory([], []), 'JointTrajectory.points: expected at least one point'),
    (trajectory([10], [[]], names=()), 'JointTrajectory.joint_names: expected at least one'),
    (trajectory([10], [[1.0, 2.0]], names=('a', 'a')), 'duplicate names'),
])
def test_malformed_trajectories_name_the_field(msg, match):
    with pytest.raises(ValueError, match=match):
        joint_trajectory_to_chunk(msg)


def test_missing_profile_joint_is_named():
    with pytest.raises(ValueError, match=r"missing joints \['j4'\]"):
        joint_trajectory_to_chunk(trajectory([10], [[1.0, 2.0, 3.0]]),
                                  joint_names=JOINTS + ('j4',))
