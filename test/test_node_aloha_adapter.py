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

"""aloha_adapter_node as its real executable over real DDS: two Interbotix arms <-> aloha."""

from pathlib import Path
import time

import numpy as np
import pytest
from ros_graph import sensor_qos

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / 'config' / 'adapters' / 'aloha_interbotix.yaml'
ARM = ['waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate']
DRIVER = ARM + ['gripper', 'left_finger', 'right_finger']  # what an Interbotix arm publishes
LEFT = [0.1, -0.9, 1.1, 0.05, -0.3, 0.02]
RIGHT = [-0.1, -0.95, 1.15, -0.05, -0.25, -0.02]
NODE = '/aloha_adapter'
# Interbotix/aloha follower values in config/adapters/aloha_interbotix.yaml
FINGER_OPEN, FINGER_CLOSED = 0.0579, 0.0440
JOINT_OPEN, JOINT_CLOSED = 1.6214, 0.6197


def start_adapter(graph, **params):
    process = graph.start_node('aloha_adapter_node', name='aloha_adapter',
                               params_file=PARAMS, params=params)
    graph.wait_for_node(NODE)
    return process


def driver_state(graph, arm, finger, age_s=0.0):
    """One follower arm's JointState as the xs_sdk publishes it (gripper joint, two fingers)."""
    from sensor_msgs.msg import JointState
    msg = JointState(name=DRIVER, position=[float(v) for v in arm] + [1.0, finger, -finger])
    stamp = graph.now_ns() - int(age_s * 1e9)
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 10**9)
    return msg


def arm_publishers(graph):
    from sensor_msgs.msg import JointState
    pubs = [graph.publisher(JointState, f'/follower_{side}/joint_states', sensor_qos())
            for side in ('left', 'right')]
    for pub in pubs:
        graph.wait_for_subscribers(pub)
    return pubs


def profile_names():
    return [f'{side}_{name}' for side in ('left', 'right') for name in ARM + ['gripper']]


def test_two_arms_become_the_aloha_profiles_joint_state(ros_graph):
    from pi05_ros.policy.profiles import load_profile
    from sensor_msgs.msg import JointState
    merged = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    start_adapter(ros_graph)
    left, right = arm_publishers(ros_graph)
    half_open = (FINGER_OPEN + FINGER_CLOSED) / 2
    left.publish(driver_state(ros_graph, LEFT, half_open))
    time.sleep(0.3)
    assert len(merged) == 0  # one arm only: no 14-joint state
    timer = ros_graph.every(0.05, lambda: (left.publish(driver_state(ros_graph, LEFT, half_open)),
                                           right.publish(driver_state(ros_graph, RIGHT,
                                                                      FINGER_CLOSED))))
    try:
        msg = merged.wait_for(1, 5.0)[0]
    finally:
        timer.cancel()
    assert list(msg.name) == profile_names() == list(load_profile('aloha').joint_names)
    np.testing.assert_allclose(list(msg.position), LEFT + [0.5] + RIGHT + [0.0], atol=1e-12)


def test_arms_too_far_apart_in_time_give_no_state(ros_graph):
    from sensor_msgs.msg import JointState
    merged = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    adapter = start_adapter(ros_graph)
    left, right = arm_publishers(ros_graph)

    def publish():  # the right arm's driver is half a second behind
        left.publish(driver_state(ros_graph, LEFT, FINGER_OPEN))
        right.publish(driver_state(ros_graph, RIGHT, FINGER_OPEN, age_s=0.5))
    timer = ros_graph.every(0.05, publish)
    try:
        adapter.wait_for_log(r"\[WARN\].*the arms' states are 0\.5\d\d s apart")
        time.sleep(0.2)
    finally:
        timer.cancel()
    assert len(merged) == 0


def test_a_driver_state_without_the_finger_is_refused_naming_it(ros_graph):
    from sensor_msgs.msg import JointState
    adapter = start_adapter(ros_graph)
    left, _ = arm_publishers(ros_graph)
    timer = ros_graph.every(0.05, lambda: left.publish(JointState(name=ARM, position=LEFT)))
    try:
        adapter.wait_for_log(r'follower_left/joint_states: joint state refused: .*missing '
                             r"joints \['left_finger'\]")
    finally:
        timer.cancel()
    nan = driver_state(ros_graph, LEFT, float('nan'))
    timer = ros_graph.every(0.05, lambda: left.publish(nan))
    try:
        adapter.wait_for_log(r'follower_left/joint_states: joint state refused: non-finite '
                             r"positions for joints \['left_finger'\]")
    finally:
        timer.cancel()


@pytest.mark.parametrize('command_type', ['float64_multi_array', 'joint_state'])
def test_the_14_joint_command_is_split_per_arm(ros_graph, command_type):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    message = Float64MultiArray if command_type == 'float64_multi_array' else JointState
    out = {side: ros_graph.collect(message, f'/follower_{side}/pi05/commands')
           for side in ('left', 'right')}
    start_adapter(ros_graph, command_type=command_type)
    commands = ros_graph.publisher(JointState, '/aloha/joint_commands')
    ros_graph.wait_for_subscribers(commands)
    names = profile_names()
    values = LEFT + [1.0] + RIGHT + [0.25]  # normalized gripper commands
    order = list(reversed(range(14)))  # by name, any order
    commands.publish(JointState(name=[names[i] for i in order],
                                position=[values[i] for i in order]))
    expected = {'left': LEFT + [JOINT_OPEN],
                'right': RIGHT + [JOINT_CLOSED + 0.25 * (JOINT_OPEN - JOINT_CLOSED)]}
    for side, collector in out.items():
        msg = collector.wait_for(1, 5.0)[0]
        if command_type == 'joint_state':
            assert list(msg.name) == ARM + ['gripper']
            got = list(msg.position)
        else:
            got = list(msg.data)
        np.testing.assert_allclose(got, expected[side], atol=1e-12)


@pytest.mark.parametrize('override, expected', [
    ({'state_topics': ['follower_left/joint_states']}, 'state_topics: expected 2 topics'),
    ({'command_type': 'joint_group'}, 'command_type: expected one of'),
    ({'gripper_joint_open': 0.6197}, 'gripper_joint_closed, gripper_joint_open: expected two '
                                     'different values'),
])
def test_bad_parameters_are_refused_at_start_with_one_line(ros_graph, override, expected):
    process = ros_graph.start_node('aloha_adapter_node', name='aloha_adapter',
                                   params_file=PARAMS, params=override)
    result = process.wait_exit(timeout=20.0)
    lines = [line for line in result.log.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1 and expected in lines[0], result.log


@pytest.mark.parametrize('params_file', ['aloha.yaml', PARAMS], ids=['aloha', 'interbotix'])
def test_the_executor_holds_the_arms_where_they_are_through_the_adapter(
        ros_graph, params_file):
    """config/aloha.yaml or the adapter's file: each arm is commanded its measured pose."""
    from std_msgs.msg import Float64MultiArray
    out = {side: ros_graph.collect(Float64MultiArray, f'/follower_{side}/pi05/commands')
           for side in ('left', 'right')}
    start_adapter(ros_graph)
    ros_graph.start_node('executor_node', name='pi05_executor', params_file=params_file)
    ros_graph.wait_for_node('/pi05_executor')
    left, right = arm_publishers(ros_graph)
    finger = FINGER_CLOSED + 0.3 * (FINGER_OPEN - FINGER_CLOSED)

    def publish():
        left.publish(driver_state(ros_graph, LEFT, finger))
        right.publish(driver_state(ros_graph, RIGHT, finger))
    timer = ros_graph.every(0.02, publish)
    try:
        held = {side: collector.wait_for(5, 30.0)[-1] for side, collector in out.items()}
    finally:
        timer.cancel()
    # the held command is the measured state; the gripper's normalized 0.3 -> the joint's 0.3
    gripper = JOINT_CLOSED + 0.3 * (JOINT_OPEN - JOINT_CLOSED)
    np.testing.assert_allclose(list(held['left'].data), LEFT + [gripper], atol=1e-9)
    np.testing.assert_allclose(list(held['right'].data), RIGHT + [gripper], atol=1e-9)
