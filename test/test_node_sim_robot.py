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

"""The demo's simulated robot, driven through the rclpy fakes."""

import numpy as np
from pi05_ros.messages.images import image_to_rgb
import pytest
from ros_fakes import from_cdr, stamp, to_cdr

JOINTS = ['a', 'b', 'c']


def make_robot(graph, **params):
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    graph.param_overrides['sim_robot'] = {
        'joint_names': JOINTS, 'camera_width': 64, 'camera_height': 48, **params}
    return SimRobotNode()


def last_positions(graph):
    msg = graph.published('/joint_states')[-1]
    assert list(msg.name) == JOINTS
    return np.array(msg.position)


def test_joints_follow_a_forward_command_with_first_order_lag(graph):
    from std_msgs.msg import Float64MultiArray
    robot = make_robot(graph, time_constant=0.1)
    robot.step()
    graph.publish('/sim_robot/commands', Float64MultiArray(data=[1.0, -1.0, 0.5]))
    for _ in range(10):  # 0.1 s = one time constant
        graph.advance(0.01)
        robot.step()
    np.testing.assert_allclose(last_positions(graph), (1 - np.exp(-1)) * np.array([1, -1, .5]))
    for _ in range(100):
        graph.advance(0.01)
        robot.step()
    np.testing.assert_allclose(last_positions(graph), [1.0, -1.0, 0.5], atol=1e-4)
    wire = from_cdr(to_cdr(graph.published('/joint_states')[-1]), 'sensor_msgs/msg/JointState')
    assert list(wire.name) == JOINTS


def test_wrong_length_command_is_refused_and_logged(graph):
    from std_msgs.msg import Float64MultiArray
    robot = make_robot(graph, time_constant=0.0)
    graph.publish('/sim_robot/commands', Float64MultiArray(data=[1.0]))
    graph.advance(0.01)
    robot.step()
    np.testing.assert_array_equal(last_positions(graph), [0.0, 0.0, 0.0])
    assert 'expected 3 values' in robot.get_logger().text('WARN')


def test_joint_trajectory_is_sampled_from_its_stamp(graph):
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    robot = make_robot(graph, command_type='joint_trajectory', time_constant=0.0,
                       command_topic='/jtc/joint_trajectory')
    points = [JointTrajectoryPoint(positions=[0.0, float(k), 2.0 * k],
                                   time_from_start=Duration(sec=0, nanosec=100_000_000 * k))
              for k in (1, 2)]
    msg = JointTrajectory(joint_names=['c', 'b', 'a'], points=points)
    msg.header.stamp = stamp(graph.now_ns)
    graph.publish('/jtc/joint_trajectory', msg)
    graph.advance(0.15)
    robot.step()
    np.testing.assert_allclose(last_positions(graph), [3.0, 1.5, 0.0])  # a, b, c


def test_cameras_publish_moving_rgb8_frames(graph):
    robot = make_robot(graph)
    robot.publish_frames()
    graph.advance(0.5)
    robot.publish_frames()
    frames = graph.published('/cam_high/image_raw')
    assert len(frames) == 2 and len(graph.published('/cam_right_wrist/image_raw')) == 2
    first, second = (image_to_rgb(from_cdr(to_cdr(f), 'sensor_msgs/msg/Image')) for f in frames)
    assert first.shape == (48, 64, 3)
    assert not np.array_equal(first, second)


def test_bad_initial_positions_name_the_parameter(graph):
    with pytest.raises(ValueError, match='initial_positions'):
        make_robot(graph, initial_positions=[0.0])


def test_main_tears_down_cleanly(graph):
    from pi05_ros.nodes import sim_robot_node
    import rclpy
    rclpy.try_shutdown()
    sim_robot_node.main(args=[])
    assert not rclpy.ok()
    assert all(p.destroyed for p in graph.publishers)
