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

On a real robot an exception out of a callback ends ``executor.spin()`` and kills the node, so
every subscription of the three nodes gets malformed messages here (empty, mismatched lengths,
non-finite values, wrong sizes), then every timer fires; nothing may raise.
"""

import array
import math

from pi05_ros.policy.demo_assets import make_demo_checkpoint
import pytest
from ros_fakes import stamp

JOINTS = ['joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper']


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return str(make_demo_checkpoint(tmp_path_factory.mktemp('demo_ckpt'), 'demo', seed=0))


def malformed(graph, msg_type):
    """Messages of ``msg_type`` that are valid on the wire but wrong in content."""
    from builtin_interfaces.msg import Duration
    from sensor_msgs.msg import CompressedImage, Image, JointState
    from std_msgs.msg import Bool, Float64MultiArray, String
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    future = stamp(graph.now_ns + 10**12)
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
    raise AssertionError(f'no malformed {msg_type.__name__} messages: add some')


def bombard(graph, node):
    """Every subscription of ``node`` gets every malformed message; then its timers fire."""
    subscriptions = [s for s in graph.subscriptions if s.node is node and not s.destroyed]
    assert subscriptions
    for _ in range(3):
        for sub in subscriptions:
            for msg in malformed(graph, sub.msg_type):
                sub.deliver(msg)
        graph.advance(0.2)
        graph.fire_timers(node)


def test_policy_node_callbacks_never_raise(graph, checkpoint):
    from pi05_ros.nodes.policy_node import PolicyNode
    graph.param_overrides['pi05_policy'] = {
        'profile': 'demo', 'checkpoint_dir': checkpoint, 'warmup_iterations': 0,
        'num_steps': 1, 'torch_threads': 1}
    node = PolicyNode()
    node.trigger_configure()
    node.trigger_activate()
    bombard(graph, node)
    assert not graph.published('/pi05_policy/action_chunk')
    assert node.stats.no_chunk_reasons and node.stats.cycles >= 3


@pytest.mark.parametrize('output_type', ['float64_multi_array', 'joint_state',
                                         'joint_trajectory'])
@pytest.mark.parametrize('limits_source', ['urdf', 'parameters'])
def test_executor_node_callbacks_never_raise(graph, output_type, limits_source):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from sensor_msgs.msg import JointState
    graph.param_overrides['pi05_executor'] = {
        'profile': 'demo', 'output.type': output_type, 'intervention.topic': '/deadman',
        'limits.source': limits_source, 'engage_policy_on_start': True}
    node = ExecutorNode()
    if limits_source == 'parameters':  # a running mode switch gets the garbage too
        good = JointState(name=list(JOINTS), position=[0.0] * len(JOINTS))
        good.header.stamp = stamp(graph.now_ns)
        graph.publish('/joint_states', good)
        assert node.switch is not None
    bombard(graph, node)  # robot_description (String) malformed: no limits, nothing commanded
    assert (node.limits is None) == (limits_source == 'urdf')
    commands = graph.published(node.command_pub.topic_name)
    assert bool(commands) == (limits_source == 'parameters')
    for msg in commands:
        values = getattr(msg, 'data', None) or getattr(msg, 'position', None) or [
            v for point in msg.points for v in point.positions]
        assert all(math.isfinite(v) for v in values)


def test_sim_robot_callbacks_never_raise(graph):
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    for command_type in ('float64_multi_array', 'joint_state', 'joint_trajectory'):
        name = f'robot_{command_type}'
        graph.param_overrides[name] = {'command_type': command_type,
                                       'command_topic': f'/{name}/commands',
                                       'camera_width': 8, 'camera_height': 6}
        bombard(graph, SimRobotNode(name))


@pytest.mark.parametrize('node_name, parameter', [
    ('pi05_executor', 'rate_hz'), ('pi05_executor', 'diagnostics_period'),
    ('sim_robot', 'state_rate_hz'), ('sim_robot', 'camera_rate_hz'),
    ('pi05_policy', 'diagnostics_period')])
def test_a_zero_rate_or_period_is_refused_by_name(graph, node_name, parameter):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from pi05_ros.nodes.policy_node import PolicyNode
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    make = {'pi05_executor': ExecutorNode, 'sim_robot': SimRobotNode,
            'pi05_policy': PolicyNode}[node_name]
    graph.param_overrides[node_name] = {'profile': 'demo', parameter: 0.0}
    if node_name == 'sim_robot':
        del graph.param_overrides[node_name]['profile']
    with pytest.raises(ValueError, match=f'{parameter}: expected a positive number, got 0.0'):
        make()
