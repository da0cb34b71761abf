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

"""The simulated robot as its real executable over real DDS: joints, commands, cameras."""

import time

import numpy as np
from pi05_ros.messages.images import image_to_rgb
import pytest
from ros_graph import sensor_qos

JOINTS = ['a', 'b', 'c']
NODE = '/sim_robot'


def start_robot(graph, **params):
    process = graph.start_node('sim_robot_node', name='sim_robot', params={
        'joint_names': JOINTS, 'camera_width': 64, 'camera_height': 48, **params})
    graph.wait_for_node(NODE)
    return process


def positions(msg):
    assert list(msg.name) == JOINTS
    return np.array(list(msg.position))


def test_first_order_step_and_trajectory_sampling():
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.sim_robot_node import first_order_step, sample_trajectory
    target = np.array([1.0, -1.0])
    np.testing.assert_allclose(first_order_step(np.zeros(2), target, 0.1, 0.1),
                               (1 - np.exp(-1)) * target)
    np.testing.assert_array_equal(first_order_step(np.zeros(2), target, 0.1, 0.0), target)
    times = np.array([100_000_000, 200_000_000])
    points = np.array([[1.0], [2.0]])
    assert sample_trajectory(times, points, np.zeros(1), 150_000_000)[0] == pytest.approx(1.5)
    assert sample_trajectory(times, points, np.zeros(1), -5)[0] == 0.0
    assert sample_trajectory(times, points, np.zeros(1), 10**9)[0] == 2.0


def test_frames_at_epoch_time_scroll_from_one_frame_to_the_next():
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.sim_robot_node import synthetic_frame
    epoch_s = 1.8e9  # what a ROS clock reads: float32 arithmetic would freeze the gradients
    first, next_ = (synthetic_frame(64, 48, epoch_s + t, 0) for t in (0.0, 0.05))
    assert len(np.unique(first[..., 0])) > 32  # a gradient, not one colour
    assert (first != next_).mean() > 0.25  # 2 px of scroll in 50 ms


def test_list_get_describe_every_parameter_and_overrides(ros_graph):
    from pi05_ros.nodes.sim_robot_node import SIM_ROBOT_PARAMETERS
    start_robot(ros_graph, initial_positions=[0.1, 0.2, 0.3])
    listed = ros_graph.list_parameters(NODE)
    declared = [spec.name for spec in SIM_ROBOT_PARAMETERS]
    assert set(declared) <= set(listed)
    values = ros_graph.get_parameters(NODE, listed)
    assert set(values) == set(listed)
    assert values['joint_names'] == JOINTS and values['initial_positions'] == [0.1, 0.2, 0.3]
    assert values['camera_width'] == 64 and values['command_topic'] == '~/commands'
    descriptors = ros_graph.describe_parameters(NODE, declared)
    assert {n for n, d in descriptors.items() if not d.read_only} == {
        'time_constant', 'state_rate_hz', 'camera_rate_hz'}


def test_initial_positions_default_to_zero_and_are_shown(ros_graph):
    from sensor_msgs.msg import JointState
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    start_robot(ros_graph)
    assert ros_graph.get_parameters(NODE, ['initial_positions']) == {
        'initial_positions': [0.0, 0.0, 0.0]}
    np.testing.assert_array_equal(positions(states.wait_for(1)[0]), [0.0, 0.0, 0.0])


@pytest.mark.parametrize('override, expected', [
    ({'initial_positions': [0.0]}, 'initial_positions: expected 3 values'),
    ({'camera_width': 'wide'}, 'parameter camera_width: expected integer like 64'),
    ({'command_type': 'effort'}, 'command_type: expected one of'),
])
def test_bad_parameters_are_refused_at_start_with_one_line(ros_graph, override, expected):
    process = ros_graph.start_node('sim_robot_node', name='sim_robot', params={
        'joint_names': JOINTS, 'camera_width': 64, **override})
    result = process.wait_exit(timeout=20.0)
    lines = [line for line in result.log.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1 and expected in lines[0], result.log


def test_joints_follow_a_forward_command_with_first_order_lag(ros_graph):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    robot = start_robot(ros_graph, time_constant=0.1)
    commands = ros_graph.publisher(Float64MultiArray, f'{NODE}/commands')
    ros_graph.wait_for_subscribers(commands)
    states.wait_for(1)
    commands.publish(Float64MultiArray(data=[1.0, -1.0, 0.5, 9.0]))  # wrong length: refused
    robot.wait_for_log(r'\[WARN\].*command refused: .*expected 3 values')
    np.testing.assert_array_equal(positions(states.last), [0.0, 0.0, 0.0])
    states.clear()
    sent = time.monotonic()
    commands.publish(Float64MultiArray(data=[1.0, -1.0, 0.5]))
    target = np.array([1.0, -1.0, 0.5])
    moving = states.wait_for(1, 5.0, lambda m: positions(m)[0] > 0.01)[0]
    assert np.all(np.sign(positions(moving)) == np.sign(target))
    states.wait_for(1, 5.0, lambda m: np.abs(positions(m) - target).max() < 1e-3)
    assert time.monotonic() - sent > 0.5  # ln(1000) time constants: a lag, not a jump


def test_joint_trajectory_is_followed_by_joint_name_from_its_stamp(ros_graph):
    from builtin_interfaces.msg import Duration
    import rclpy.duration
    from sensor_msgs.msg import JointState
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    start_robot(ros_graph, command_type='joint_trajectory', time_constant=0.0,
                command_topic='jtc/joint_trajectory')
    pub = ros_graph.publisher(JointTrajectory, '/jtc/joint_trajectory')
    ros_graph.wait_for_subscribers(pub)
    points = [JointTrajectoryPoint(positions=[0.0, 0.2 * k, 0.4 * k],
                                   time_from_start=Duration(sec=0, nanosec=400_000_000 * k))
              for k in (1, 2)]
    msg = JointTrajectory(joint_names=['c', 'b', 'a'], points=points)
    # starts 0.3 s from now, so a late delivery on a loaded machine still sees the middle
    start = ros_graph.node.get_clock().now() + rclpy.duration.Duration(seconds=0.3)
    msg.header.stamp = start.to_msg()
    pub.publish(msg)
    # on the way (b = a / 2 all along: both start at 0, the points are (0.2 k, 0.4 k))
    middle = states.wait_for(1, 5.0, lambda m: 0.01 < positions(m)[0] < 0.79)[0]
    np.testing.assert_allclose(positions(middle)[1], positions(middle)[0] / 2, atol=1e-9)
    final = states.wait_for(1, 5.0, lambda m: positions(m)[0] == pytest.approx(0.8))[0]
    np.testing.assert_allclose(positions(final), [0.8, 0.4, 0.0])  # a, b, c by name


def test_cameras_publish_moving_rgb8_frames_at_their_rate(ros_graph):
    from sensor_msgs.msg import Image
    frames = {name: ros_graph.collect(Image, f'/{name}/image_raw', sensor_qos())
              for name in ('cam_high', 'cam_left_wrist', 'cam_right_wrist')}
    start_robot(ros_graph, camera_rate_hz=20.0)
    high = frames['cam_high']

    def period_ms(count):
        """Median interval of the frame stamps (robust to a starved moment)."""
        msgs = high.wait_for(count, timeout=10.0)[-count:]
        stamps = [m.header.stamp.sec * 1e3 + m.header.stamp.nanosec * 1e-6 for m in msgs]
        return float(np.median(np.diff(stamps)))

    assert 45.0 < period_ms(10) < 60.0  # 20 Hz
    first, last = image_to_rgb(high.messages[0]), image_to_rgb(high.last)
    assert first.shape == (48, 64, 3) and high.last.encoding == 'rgb8'
    assert not np.array_equal(first, last)
    stamps = [{(m.header.stamp.sec, m.header.stamp.nanosec) for m in c.wait_for(5)}
              for c in frames.values()]
    assert stamps[0] & stamps[1] & stamps[2]  # the three cameras of a cycle share a stamp
    [result] = ros_graph.set_parameters(NODE, {'camera_rate_hz': 5.0})
    assert result.successful, result.reason
    time.sleep(0.1)
    high.clear()
    assert 190.0 < period_ms(4) < 220.0  # 5 Hz
    [result] = ros_graph.set_parameters(NODE, {'camera_width': 32})
    assert not result.successful and 'read-only' in result.reason
