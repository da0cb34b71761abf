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
No exception leaves a callback of any node, whatever a message holds; bad rates are named.

An exception out of a callback is a bug (spin_node logs it and keeps spinning, but the message
is lost), so every subscription of the three real nodes (real rclpy, in this process) gets
malformed messages here (empty, mismatched lengths, non-finite values, wrong sizes), then every
timer fires; nothing may raise.
"""

import array
import math
import time

import pytest

JOINTS = ['joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper']


def stamp(ns):
    from builtin_interfaces.msg import Time
    return Time(sec=ns // 10**9, nanosec=ns % 10**9)


def make(ros_context, node_class, *args, params=None):
    """Create a real node in this process with ``-p`` overrides (as on the command line)."""
    ros_args = ['--ros-args']
    for name, value in (params or {}).items():
        text = repr(value) if not isinstance(value, bool) else str(value).lower()
        ros_args += ['-p', f'{name}:={text}']
    node = node_class(*args, context=ros_context(ros_args))
    ros_context.made_nodes.append(node)
    return node


def malformed(now_ns, msg_type):
    """Messages of ``msg_type`` that are valid on the wire but wrong in content."""
    from builtin_interfaces.msg import Duration
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
    from sensor_msgs.msg import CompressedImage, Image, JointState
    from std_msgs.msg import Bool, Float64MultiArray, String
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    future = stamp(now_ns + 10**12)
    if msg_type is Image:
        return [Image(),
                Image(height=480, width=640, encoding='rgb8', step=640 * 3,
                      data=array.array('B', bytes(10))),
                Image(height=2, width=2, encoding='rgb8', step=1,
                      data=array.array('B', bytes(12))),
                Image(height=2, width=2, encoding='bayer_foo8', step=6,
                      data=array.array('B', bytes(12))),
                Image(height=2, width=2, encoding='16UC1', step=4, is_bigendian=1,
                      data=array.array('B', bytes(8)))]
    if msg_type is CompressedImage:
        return [CompressedImage(), CompressedImage(format='jpeg',
                                                   data=array.array('B', b'not a jpeg'))]
    if msg_type is JointState:
        msgs = [JointState(), JointState(name=['joint_1'], position=[1.0, 2.0]),
                JointState(name=list(JOINTS), position=[math.nan] * len(JOINTS)),
                JointState(name=list(JOINTS), position=[1e9] * len(JOINTS)),
                JointState(name=list(JOINTS) * 2, position=[0.0] * 2 * len(JOINTS))]
        msgs[1].header.stamp = future
        return msgs
    if msg_type is JointTrajectory:
        short = JointTrajectoryPoint(positions=[0.0], time_from_start=Duration(sec=1))
        nan = JointTrajectoryPoint(positions=[math.nan] * len(JOINTS),
                                   time_from_start=Duration(sec=1))
        return [JointTrajectory(),
                JointTrajectory(joint_names=list(JOINTS), points=[short]),
                JointTrajectory(joint_names=list(JOINTS), points=[nan, nan]),
                JointTrajectory(joint_names=['x'], points=[short])]
    if msg_type is Float64MultiArray:
        return [Float64MultiArray(), Float64MultiArray(data=[math.inf] * len(JOINTS))]
    if msg_type is String:
        return [String(), String(data='\x00' * 5), String(data='word ' * 2000)]
    if msg_type is Bool:
        return [Bool(data=True), Bool()]
    if msg_type is DiagnosticStatus:  # ~/action_chunk_rtc
        return [DiagnosticStatus(), DiagnosticStatus(name='rtc'),
                DiagnosticStatus(name='rtc', values=[KeyValue(key='chunk_stamp_ns', value='x'),
                                                     KeyValue(key='delay_rows', value='-3'),
                                                     KeyValue(key='guided', value='maybe')]),
                DiagnosticStatus(name='rtc', values=[KeyValue(key='chunk_stamp_ns', value='1'),
                                                     KeyValue(key='delay_rows', value='9' * 40),
                                                     KeyValue(key='guided', value='true')])]
    raise AssertionError(f'no malformed {msg_type.__name__} messages: add some')


def bombard(node, rounds=3):
    """Every subscription of ``node`` gets every malformed message; then its timers fire."""
    subscriptions = list(node.subscriptions)
    assert subscriptions
    for _ in range(rounds):
        now_ns = node.get_clock().now().nanoseconds
        for sub in subscriptions:
            for msg in malformed(now_ns, sub.msg_type):
                sub.callback(msg)
        time.sleep(0.05)
        for timer in list(node.timers):
            if not timer.is_canceled():
                timer.callback()


def test_policy_node_callbacks_never_raise(ros_context, demo_checkpoint):
    from pi05_ros.nodes.policy_node import PolicyNode
    node = make(ros_context, PolicyNode, params={
        'profile': 'demo', 'checkpoint_dir': demo_checkpoint, 'warmup_iterations': 0,
        'num_steps': 1, 'torch_threads': 1})
    try:
        node.trigger_configure()
        node.trigger_activate()
        deadline = time.monotonic() + 20.0
        while node.stats.cycles < 3 and time.monotonic() < deadline:
            bombard(node, rounds=1)
        assert node.stats.cycles >= 3
        assert node.stats.chunks_published == 0 and node.stats.no_chunk_reasons
    finally:
        if hasattr(node, 'on_process_exit'):
            node.on_process_exit()


@pytest.mark.parametrize('output_type', ['float64_multi_array', 'joint_state',
                                         'joint_trajectory'])
@pytest.mark.parametrize('limits_source', ['urdf', 'parameters'])
def test_executor_node_callbacks_never_raise(ros_context, output_type, limits_source):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from sensor_msgs.msg import JointState
    node = make(ros_context, ExecutorNode, params={
        'profile': 'demo', 'output.type': output_type, 'intervention.topic': 'deadman',
        'limits.source': limits_source, 'engage_policy_on_start': True})
    if limits_source == 'parameters':  # a running mode switch gets the garbage too
        good = JointState(name=list(JOINTS), position=[0.0] * len(JOINTS))
        good.header.stamp = node.get_clock().now().to_msg()
        node._on_joint_state(good)
        assert node.switch is not None
    bombard(node)  # robot_description (String) malformed: no limits, nothing commanded
    assert (node.limits is None) == (limits_source == 'urdf')
    assert (node.counters['ticks'] > 0) == (limits_source == 'parameters')
    if node.switch is not None:
        assert all(math.isfinite(v) for v in node.switch.command)


def test_sim_robot_callbacks_never_raise(ros_context):
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    for command_type in ('float64_multi_array', 'joint_state', 'joint_trajectory'):
        robot = make(ros_context, SimRobotNode, f'robot_{command_type}', params={
            'command_type': command_type, 'camera_width': 8, 'camera_height': 6})
        bombard(robot)
        assert all(math.isfinite(v) for v in robot.position)


@pytest.mark.parametrize('node_name, parameter', [
    ('pi05_executor', 'rate_hz'), ('pi05_executor', 'diagnostics_period'),
    ('sim_robot', 'state_rate_hz'), ('sim_robot', 'camera_rate_hz'),
    ('pi05_policy', 'diagnostics_period')])
def test_a_zero_rate_or_period_is_refused_by_name(ros_context, node_name, parameter):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from pi05_ros.nodes.policy_node import PolicyNode
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    node_class = {'pi05_executor': ExecutorNode, 'sim_robot': SimRobotNode,
                  'pi05_policy': PolicyNode}[node_name]
    params = {parameter: 0.0}
    if node_name != 'sim_robot':
        params['profile'] = 'demo'
    with pytest.raises(ValueError, match=f'parameter {parameter}: expected a value above 0, '
                       'got 0.0'):
        make(ros_context, node_class, params=params)
