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

"""franka_adapter_node as its real executable over real DDS: franka_ros2 topics in, droid out."""

from pathlib import Path
import subprocess
import sys
import time

import numpy as np
import pytest
from ros_graph import sensor_qos

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / 'config' / 'adapters' / 'droid_fr3.yaml'
ARM = [f'fr3_joint{i}' for i in range(1, 8)]
FINGERS = ['fr3_finger_joint1', 'fr3_finger_joint2']
Q = [0.1, -0.5, 0.2, -2.0, 0.05, 1.6, 0.7]
NODE = '/franka_adapter'


def start_adapter(graph, **params):
    process = graph.start_node('franka_adapter_node', name='franka_adapter',
                               params_file=PARAMS, params=params)
    graph.wait_for_node(NODE)
    return process


def joint_state(graph, names, positions, age_s=0.0):
    from sensor_msgs.msg import JointState
    msg = JointState(name=list(names), position=[float(p) for p in positions])
    stamp = graph.now_ns() - int(age_s * 1e9)
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 10**9)
    return msg


def state_publishers(graph):
    from sensor_msgs.msg import JointState
    arm = graph.publisher(JointState, '/franka/joint_states', sensor_qos())
    hand = graph.publisher(JointState, '/franka_gripper/joint_states', sensor_qos())
    graph.wait_for_subscribers(arm)
    graph.wait_for_subscribers(hand)
    return arm, hand


def test_gripper_width_and_closure_maps():
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.franka_adapter_node import (gripper_closure, gripper_command_values,
                                                    gripper_width)
    assert gripper_closure(0.08, 0.08) == 0.0 and gripper_closure(0.0, 0.08) == 1.0
    assert gripper_closure(0.02, 0.08) == pytest.approx(0.75)
    assert gripper_closure(0.081, 0.08) == 0.0  # clipped
    assert gripper_width(0.25, 0.08) == pytest.approx(0.06)
    assert gripper_width(0.6, 0.08, threshold=0.5) == 0.0  # binarized: closed
    assert gripper_width(0.4, 0.08, threshold=0.5) == pytest.approx(0.08)
    assert gripper_command_values('fingers', 0.06, 0.08) == pytest.approx([0.03, 0.03])
    assert gripper_command_values('closure', 0.06, 0.08) == pytest.approx([0.25])


def test_arm_and_finger_states_become_one_droid_joint_state(ros_graph):
    from sensor_msgs.msg import JointState
    merged = ros_graph.collect(JointState, '/pi05/joint_states', sensor_qos())
    adapter = start_adapter(ros_graph)
    arm, hand = state_publishers(ros_graph)
    sent = []

    def publish_arm():  # best effort, as a driver publishes: keep sending
        sent.append(joint_state(ros_graph, ARM, Q))
        arm.publish(sent[-1])
    timer = ros_graph.every(0.05, publish_arm)
    try:  # no finger state yet: nothing merged
        adapter.wait_for_log(r'waiting for \[.fr3_finger_joint1., .fr3_finger_joint2.\]')
        assert len(merged) == 0
        hand.publish(joint_state(ros_graph, FINGERS, [0.01, 0.01]))  # 20 mm open of 80
        msg = merged.wait_for(1, 5.0)[0]
    finally:
        timer.cancel()
    assert list(msg.name) == ARM + ['gripper']
    np.testing.assert_allclose(list(msg.position), Q + [0.75])
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in sent]
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in stamps  # the arm state's


def test_stale_finger_states_stop_the_merged_state(ros_graph):
    from sensor_msgs.msg import JointState
    merged = ros_graph.collect(JointState, '/pi05/joint_states', sensor_qos())
    adapter = start_adapter(ros_graph, max_gripper_age=0.2)
    arm, hand = state_publishers(ros_graph)

    def publish_states():  # the hand's newest state is always a second old
        hand.publish(joint_state(ros_graph, FINGERS, [0.04, 0.04], age_s=1.0))
        arm.publish(joint_state(ros_graph, ARM, Q))
    timer = ros_graph.every(0.05, publish_states)
    try:
        adapter.wait_for_log(r'\[WARN\].*finger states are 1\.\d\d s older than the arm state')
        time.sleep(0.3)
    finally:
        timer.cancel()
    assert len(merged) == 0  # the executor's state_timeout holds the robot


def test_non_finite_finger_states_are_refused_naming_the_joint(ros_graph):
    from sensor_msgs.msg import JointState
    merged = ros_graph.collect(JointState, '/pi05/joint_states', sensor_qos())
    adapter = start_adapter(ros_graph)
    arm, hand = state_publishers(ros_graph)

    def publish_states():
        hand.publish(joint_state(ros_graph, FINGERS, [float('nan'), 0.01]))
        arm.publish(joint_state(ros_graph, ARM, Q))
    timer = ros_graph.every(0.05, publish_states)
    try:
        adapter.wait_for_log(r'\[WARN\].*joint state refused: non-finite positions for joints '
                             r"\['fr3_finger_joint1'\]")
        time.sleep(0.2)
    finally:
        timer.cancel()
    assert len(merged) == 0


def test_commands_are_split_into_arm_and_gripper_width(ros_graph):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    arm_commands = ros_graph.collect(Float64MultiArray, '/forward_position_controller/commands')
    gripper = ros_graph.collect(Float64MultiArray, '/franka_gripper/width_command')
    adapter = start_adapter(ros_graph)
    commands = ros_graph.publisher(JointState, '/franka_adapter/commands')
    ros_graph.wait_for_subscribers(commands)
    names = ['gripper'] + list(reversed(ARM))  # by name, any order
    commands.publish(JointState(name=names, position=[0.25] + list(reversed(Q))))
    np.testing.assert_allclose(list(arm_commands.wait_for(1, 5.0)[0].data), Q)
    np.testing.assert_allclose(list(gripper.wait_for(1, 5.0)[0].data), [0.06])
    # within the 2 mm deadband: the arm moves on, the gripper command is not resent
    commands.publish(JointState(name=names, position=[0.26] + list(reversed(Q))))
    arm_commands.wait_for(2, 5.0)
    commands.publish(JointState(name=names, position=[1.0] + list(reversed(Q))))
    arm_commands.wait_for(3, 5.0)
    messages = gripper.wait_for(2, 5.0)
    assert [list(m.data) for m in messages] == [pytest.approx([0.06]), pytest.approx([0.0])]
    # a command without the gripper is refused whole
    commands.publish(JointState(name=list(ARM), position=list(Q)))
    adapter.wait_for_log(r"\[WARN\].*command refused: .*missing joints \['gripper'\]")
    time.sleep(0.2)
    assert len(arm_commands) == 3


def test_binarized_finger_commands_for_a_finger_position_controller(ros_graph):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    gripper = ros_graph.collect(Float64MultiArray, '/hand_controller/commands')
    start_adapter(ros_graph, gripper_command_type='fingers', gripper_threshold=0.5,
                  gripper_command_topic='hand_controller/commands')
    commands = ros_graph.publisher(JointState, '/franka_adapter/commands')
    ros_graph.wait_for_subscribers(commands)
    for closure in (0.3, 0.7):
        commands.publish(JointState(name=ARM + ['gripper'], position=Q + [closure]))
        time.sleep(0.1)
    messages = gripper.wait_for(2, 5.0)
    assert [list(m.data) for m in messages] == [pytest.approx([0.04, 0.04]), [0.0, 0.0]]


@pytest.mark.parametrize('override, expected', [
    ({'gripper_command_type': 'grasp_action'}, 'gripper_command_type: expected one of'),
    ({'gripper_threshold': 1.5}, 'gripper_threshold'),
    ({'gripper_joint': 'fr3_joint7'}, "gripper_joint: 'fr3_joint7' is also an arm joint"),
    ({'max_width': 0.0}, 'max_width'),
])
def test_bad_parameters_are_refused_at_start_with_one_line(ros_graph, override, expected):
    process = ros_graph.start_node('franka_adapter_node', name='franka_adapter',
                                   params_file=PARAMS, params=override)
    result = process.wait_exit(timeout=20.0)
    lines = [line for line in result.log.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1 and expected in lines[0], result.log


def test_the_executor_holding_reaches_the_arm_and_hand_through_the_adapter(ros_graph):
    """config/adapters/droid_fr3.yaml end to end: the held start command is the measured one."""
    from std_msgs.msg import Float64MultiArray
    arm_commands = ros_graph.collect(Float64MultiArray, '/forward_position_controller/commands')
    gripper = ros_graph.collect(Float64MultiArray, '/franka_gripper/width_command')
    start_adapter(ros_graph)
    ros_graph.start_node('executor_node', name='pi05_executor', params_file=PARAMS)
    ros_graph.wait_for_node('/pi05_executor')
    arm, hand = state_publishers(ros_graph)

    def publish_states():
        hand.publish(joint_state(ros_graph, FINGERS, [0.03, 0.03]))
        arm.publish(joint_state(ros_graph, ARM, Q))
    timer = ros_graph.every(0.02, publish_states)
    try:
        held = arm_commands.wait_for(5, 30.0)[-1]
        np.testing.assert_allclose(list(held.data), Q, atol=1e-9)
        np.testing.assert_allclose(list(gripper.wait_for(1, 30.0)[0].data), [0.06], atol=1e-9)
    finally:
        timer.cancel()


@pytest.mark.parametrize('script', ['franka_adapter_node', 'aloha_adapter_node'])
def test_adapter_without_rclpy_prints_one_line_saying_how_to_get_ros(script, tmp_path):
    from test_ros_entry_points import HIDE_RCLPY
    (tmp_path / 'sitecustomize.py').write_text(HIDE_RCLPY)
    code = (f'import sys\nfrom pi05_ros.ros_entry_points import {script}\n'
            f'sys.exit({script}())\n')
    env = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(tmp_path), 'HOME': str(tmp_path)}
    result = subprocess.run([sys.executable, '-c', code, '--ros-args'], capture_output=True,
                            text=True, timeout=120, env=env, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f'{script}: ROS 2 is not importable here (rclpy: ')


@pytest.mark.parametrize('path', sorted((REPO / 'config' / 'adapters').glob('*.yaml')),
                         ids=lambda p: p.stem)
def test_adapter_parameter_files_declare_every_parameter_with_its_type(ros_context, path):
    import yaml
    from pi05_ros.control.executor_params import flatten
    from pi05_ros.nodes.aloha_adapter_node import ALOHA_ADAPTER_PARAMETERS, AlohaAdapterNode
    from pi05_ros.nodes.executor_node import EXECUTOR_PARAMETERS, ExecutorNode
    from pi05_ros.nodes.franka_adapter_node import (FRANKA_ADAPTER_PARAMETERS,
                                                    FrankaAdapterNode)
    from pi05_ros.nodes.params import DOUBLE_ARRAY, STRING_ARRAY
    from pi05_ros.nodes.policy_node import camera_parameters, POLICY_PARAMETERS, PolicyNode
    from pi05_ros.policy.profiles import load_profile
    nodes = {'pi05_policy': (POLICY_PARAMETERS, PolicyNode),
             'pi05_executor': (EXECUTOR_PARAMETERS, ExecutorNode),
             'franka_adapter': (FRANKA_ADAPTER_PARAMETERS, FrankaAdapterNode),
             'aloha_adapter': (ALOHA_ADAPTER_PARAMETERS, AlohaAdapterNode)}
    for key, section in yaml.safe_load(path.read_text()).items():
        name = key.rsplit('/', 1)[-1]
        specs, node_class = nodes[name]
        specs = {spec.name: spec for spec in specs}
        values = flatten(section['ros__parameters'])
        if name == 'pi05_policy':
            profile = load_profile(values['profile'], joint_names=values.get('joint_names'))
            for camera in profile.cameras:
                specs.update({s.name: s for s in camera_parameters(camera.name, camera.topic)})
        assert sorted(set(values) - set(specs)) == [], f'{path.name} {name}'
        for parameter, value in values.items():
            default = specs[parameter].default
            if default in (STRING_ARRAY, DOUBLE_ARRAY):
                kind = str if default == STRING_ARRAY else float
                assert all(type(v) is kind for v in value), parameter
            elif isinstance(default, list):
                assert all(type(v) is type(default[0]) for v in value), parameter
            else:
                assert type(value) is type(default), f'{path.name} {name}.{parameter}'
        context = ros_context(['--ros-args', '--params-file', str(path)])
        node = node_class(context=context)  # rcl parses the file as a node process would
        ros_context.made_nodes.append(node)
        for parameter, value in values.items():
            if not parameter.startswith('cameras.'):  # the policy node declares them later
                assert node.get_parameter(parameter).value == value, parameter
