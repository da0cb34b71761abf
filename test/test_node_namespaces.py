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
Two robots in one ROS graph: the demo nodes in namespaces /robot1 and /robot2, real processes.

Each robot is started as ``demo.launch.py namespace:=robotN`` starts it (``-r __ns:=/robotN``,
config/demo.yaml, the executor's chunk remapping). The profiles and parameter files name robot
topics relative, so every joint state, camera, teleop and command topic lands in the robot's
namespace, and each executor drives only its own robot.
"""

import time

from pi05_ros.launch_arguments import EXECUTOR_REMAPS
from ros_graph import latched_qos, sensor_qos

ROBOTS = ('/robot1', '/robot2')
JOINTS = ('joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper')
SMALL_CAMERAS = {'camera_width': 32, 'camera_height': 24}  # speed only
REMAP = EXECUTOR_REMAPS  # as policy.launch.py
ROBOT_TOPICS = ('joint_states', 'cam_high/image_raw', 'cam_left_wrist/image_raw',
                'cam_right_wrist/image_raw', 'sim_robot/commands', 'teleop/joint_commands',
                'pi05_policy/action_chunk', 'pi05_executor/mode')


def start_robot(graph, namespace, checkpoint=None):
    """Start one robot's nodes in ``namespace`` as demo.launch.py does; return them."""
    nodes = [graph.start_node('sim_robot_node', name='sim_robot', namespace=namespace,
                              params_file='demo.yaml', params=SMALL_CAMERAS)]
    if checkpoint:
        nodes.append(graph.start_node(
            'policy_node', name='pi05_policy', namespace=namespace, params_file='demo.yaml',
            params={'checkpoint_dir': checkpoint, 'autostart': True, 'torch_threads': 1}))
    nodes.append(graph.start_node('executor_node', name='pi05_executor', namespace=namespace,
                                  params_file='demo.yaml', remaps=REMAP))
    graph.wait_for_services(f'{namespace}/pi05_executor', ['engage_policy', 'teleop', 'hold'],
                            timeout=30.0)
    return nodes


def chunk_from(state, target, stamp_ns, rows=50, dt_ns=20_000_000):
    """Return a JointTrajectory from the measured ``state`` to ``target`` (half-way), holding."""
    import numpy as np
    from builtin_interfaces.msg import Duration, Time
    from pi05_ros.control.action_chunk import ActionChunk
    from pi05_ros.messages import chunk_to_joint_trajectory, JointTrajectoryTypes
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    delta = np.asarray(target) - np.asarray(state)
    ramp = np.clip(np.linspace(0.0, 2.0, rows), 0.0, 1.0)[:, None] * delta[None, :]
    chunk = ActionChunk(np.asarray(state)[None, :] + ramp, stamp_ns, dt_ns, JOINTS)
    types = JointTrajectoryTypes(JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)
    return chunk_to_joint_trajectory(chunk, types)


def positions(states):
    """Return the joint positions of the newest JointState in ``states`` (by joint name)."""
    msg = states.wait_for(1, timeout=10.0)[-1]
    by_name = dict(zip(msg.name, msg.position))
    return [by_name[joint] for joint in JOINTS]


def spread(commands):
    """Return the largest range of one joint over Float64MultiArray ``commands``."""
    rows = [list(msg.data) for msg in commands]
    return max(max(column) - min(column) for column in zip(*rows))


def assert_topics_are_per_robot(graph):
    """Every robot topic exists in both namespaces and none is left in the root namespace."""
    expected = {f'{namespace}/{topic}' for namespace in ROBOTS for topic in ROBOT_TOPICS}
    graph.wait_until(lambda: expected <= set(graph.topic_types()), timeout=15.0,
                     message=f'not every robot topic was discovered: {sorted(expected)}')
    topics = graph.topic_types()
    assert [t for t in ROBOT_TOPICS if f'/{t}' in topics] == [], sorted(topics)
    for namespace in ROBOTS:  # one executor commands each robot, one robot listens
        commands = f'{namespace}/sim_robot/commands'
        assert graph.node.count_publishers(commands) == 1
        assert graph.node.count_subscribers(commands) == 1


def test_two_namespaced_robots_each_executor_drives_only_its_own(ros_graph):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String
    from trajectory_msgs.msg import JointTrajectory
    states = {ns: ros_graph.collect(JointState, f'{ns}/joint_states', sensor_qos())
              for ns in ROBOTS}
    modes = {ns: ros_graph.collect(String, f'{ns}/pi05_executor/mode', latched_qos())
             for ns in ROBOTS}
    for namespace in ROBOTS:
        start_robot(ros_graph, namespace)
    for namespace in ROBOTS:
        modes[namespace].wait_for(1, 20.0, lambda m: m.data == 'POLICY')
    assert_topics_are_per_robot(ros_graph)
    before = {ns: positions(states[ns]) for ns in ROBOTS}
    # play robot1's policy only: chunks moving joint_1 by +0.3 rad
    chunks = ros_graph.publisher(JointTrajectory, '/robot1/pi05_policy/action_chunk')
    ros_graph.wait_for_subscribers(chunks)
    target = [before['/robot1'][0] + 0.3] + before['/robot1'][1:]
    # from the measured state to one target, every 0.5 s (as a policy does): a first message
    # sent while discovery still settles, or computed before the engage, does not decide it
    timer = ros_graph.every(0.5, lambda: chunks.publish(
        chunk_from(positions(states['/robot1']), target, ros_graph.now_ns())))
    try:
        ros_graph.wait_until(
            lambda: positions(states['/robot1'])[0] > before['/robot1'][0] + 0.25,
            timeout=10.0, message='robot1 did not follow its chunks')
    finally:
        timer.cancel()
    time.sleep(0.5)  # robot2 had every chance to move
    moved = [abs(a - b) for a, b in zip(positions(states['/robot2']), before['/robot2'])]
    assert max(moved) < 1e-6, moved
    for process in ros_graph.processes:
        result = process.stop()
        assert result.code == 0 and not result.errors, result.log


def test_two_namespaced_demo_graphs_with_their_policies(ros_graph, demo_checkpoint):
    from std_msgs.msg import Float64MultiArray, String
    from trajectory_msgs.msg import JointTrajectory
    chunks = {ns: ros_graph.collect(JointTrajectory, f'{ns}/pi05_policy/action_chunk')
              for ns in ROBOTS}
    sources = {ns: ros_graph.collect(String, f'{ns}/pi05_executor/command_source',
                                     latched_qos()) for ns in ROBOTS}
    for namespace in ROBOTS:
        start_robot(ros_graph, namespace, demo_checkpoint)
    for namespace in ROBOTS:  # each executor runs on its own policy's chunks
        sources[namespace].wait_for(1, 90.0, lambda m: m.data == 'policy')
        chunks[namespace].wait_for(2, 30.0)
    assert_topics_are_per_robot(ros_graph)
    assert ros_graph.node.count_publishers('/pi05_policy/action_chunk') == 0
    # robot2's executor holds: its commands settle, robot1's policy keeps driving robot1
    sources['/robot2'].clear()  # its latched start value is a 'hold' too
    assert ros_graph.trigger('/robot2/pi05_executor/hold').success
    sources['/robot2'].wait_for(1, 5.0, lambda m: m.data == 'hold')
    time.sleep(1.0)  # braking to a stop
    commands = {ns: ros_graph.collect(Float64MultiArray, f'{ns}/sim_robot/commands')
                for ns in ROBOTS}
    policy_chunks = len(chunks['/robot1'])
    chunks['/robot1'].wait_for(policy_chunks + 2, 20.0)
    # six processes on two cores: a late chunk can hold robot1 for a moment; it resumes
    ros_graph.wait_until(lambda: sources['/robot1'].last.data == 'policy', 10.0,
                         'robot1 is not on the policy')
    for collector in commands.values():
        collector.clear()
    moved = {ns: spread(commands[ns].wait_for(20, 5.0)) for ns in ROBOTS}
    print(f'command range over 20 ticks: {moved}')
    assert moved['/robot2'] < 1e-9 < moved['/robot1'], moved
    assert sources['/robot1'].last.data == 'policy' and sources['/robot2'].last.data == 'hold'
    for process in ros_graph.processes:
        result = process.stop()
        assert result.code == 0 and not result.errors, result.log
