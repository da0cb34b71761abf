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
Franka (franka_ros2) <-> the ``droid`` profile: one ``gripper`` joint, split commands.

franka_ros2 publishes the arm on ``franka/joint_states`` (``fr3_joint1..7``) and the Franka
Hand on ``franka_gripper/joint_states`` as two finger joints (``fr3_finger_joint1/2``, each half
the opening width); the hand is commanded through the franka_msgs ``move`` / ``grasp`` action
servers. The droid profile wants one JointState with the arm joints and ``gripper`` = 0 (open)
.. 1 (closed), and the executor sends one command for all eight joints. This node:

- merges the arm and finger states into ``joint_states_topic``: the arm joints as they are,
  plus ``gripper = 1 - (finger1 + finger2) / max_width``, clipped to [0, 1], stamped with the
  arm state; nothing is published while the hand's newest state is older than
  ``max_gripper_age`` (so the executor sees stale joint states and holds);
- splits the executor's JointState command (``output.type: joint_state``): the arm joints to
  ``arm_command_topic`` (Float64MultiArray in ``arm_joint_names`` order, or a JointState), the
  gripper to ``gripper_command_topic`` as a Float64MultiArray: the opening width [m]
  (``width``), the two finger positions (``fingers``, a position controller on the fingers, e.g.
  in simulation) or the 0..1 closure (``closure``). It is sent when it moved by more than
  ``gripper_deadband`` (so a bridge to the ``move`` action is not flooded), optionally
  binarized at ``gripper_threshold`` as openpi's DROID client does.
"""

from typing import Dict, List, Optional, Tuple

import numpy as np
from pi05_ros.messages.joints import float64_sequence, joint_command_to_vector, named_values
from pi05_ros.messages.stamps import ns_to_stamp, stamp_to_ns
from pi05_ros.nodes.params import (above_zero, at_least_zero, declare_parameters, ParamSpec,
                                   watch_parameters)
from pi05_ros.nodes.spin import spin_node
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

ARM_COMMAND_TYPES = ('float64_multi_array', 'joint_state')
GRIPPER_COMMAND_TYPES = ('width', 'fingers', 'closure')

FRANKA_ADAPTER_PARAMETERS = (
    ParamSpec('arm_joint_names', [f'fr3_joint{i}' for i in range(1, 8)],
              "Arm joints, in the arm controller's command order."),
    ParamSpec('finger_joint_names', ['fr3_finger_joint1', 'fr3_finger_joint2'],
              'Franka Hand finger joints; the opening width is the sum of their positions [m].'),
    ParamSpec('gripper_joint', 'gripper',
              "Name of the combined 0 (open) .. 1 (closed) joint (the droid profile's)."),
    ParamSpec('max_width', 0.08, 'Opening width of the open hand [m] (gripper 0).',
              validate=above_zero),
    ParamSpec('state_topics', ['franka/joint_states', 'franka_gripper/joint_states'],
              'JointState topics with the arm and finger joints (any split, by name).'),
    ParamSpec('joint_states_topic', 'pi05/joint_states',
              'Where the merged arm + gripper JointState is published (the policy and '
              'executor joint_states_topic).'),
    ParamSpec('max_gripper_age', 0.5,
              'Publish no merged state while the newest finger state is older than this, '
              'relative to the arm state [s].', dynamic=True, validate=above_zero),
    ParamSpec('command_topic', '~/commands',
              "The executor's JointState command (output.type joint_state)."),
    ParamSpec('arm_command_type', 'float64_multi_array',
              'float64_multi_array (a forward_command_controller) | joint_state.'),
    ParamSpec('arm_command_topic', 'forward_position_controller/commands',
              'Where the arm part of each command goes.'),
    ParamSpec('gripper_command_type', 'width',
              'width ([m]) | fingers ([m, m], one per finger) | closure (0 open .. 1 closed), '
              'as std_msgs/Float64MultiArray.'),
    ParamSpec('gripper_command_topic', 'franka_gripper/width_command',
              'Where the gripper command goes (bridge it to the move/grasp action).'),
    ParamSpec('gripper_deadband', 0.002,
              'Send the gripper command only when its width moved by more than this [m] '
              '(0: every command).', dynamic=True, validate=at_least_zero),
    ParamSpec('gripper_threshold', 0.0,
              'Binarize the commanded closure at this value (openpi DROID client: 0.5); 0: '
              'continuous.', dynamic=True,
              validate=lambda value, values: None if 0.0 <= value < 1.0
              else f'expected a value in [0, 1) (0: continuous), got {value!r}'),
)


def gripper_closure(width: float, max_width: float) -> float:
    """Finger opening width [m] -> DROID gripper position, 0 (open) .. 1 (closed)."""
    return float(np.clip(1.0 - width / max_width, 0.0, 1.0))


def gripper_width(closure: float, max_width: float, threshold: float = 0.0) -> float:
    """DROID gripper command 0 (open) .. 1 (closed) -> opening width [m] (binarized if > 0)."""
    if threshold > 0.0:
        closure = 1.0 if closure >= threshold else 0.0
    return float((1.0 - np.clip(closure, 0.0, 1.0)) * max_width)


def gripper_command_values(kind: str, width: float, max_width: float) -> List[float]:
    """Return the Float64MultiArray data of one gripper command of ``gripper_command_type``."""
    if kind == 'width':
        return [width]
    if kind == 'fingers':
        return [width / 2.0, width / 2.0]
    return [gripper_closure(width, max_width)]


class FrankaAdapterNode(Node):
    """franka_ros2 arm + Franka Hand <-> the droid profile's joints and commands."""

    def __init__(self, node_name: str = 'franka_adapter', **kwargs):
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, FRANKA_ADAPTER_PARAMETERS)
        for name, choices in (('arm_command_type', ARM_COMMAND_TYPES),
                              ('gripper_command_type', GRIPPER_COMMAND_TYPES)):
            if self.params[name] not in choices:
                raise ValueError(f'{name}: expected one of {list(choices)}, got '
                                 f'{self.params[name]!r}')
        self.arm = list(self.params['arm_joint_names'])
        self.fingers = list(self.params['finger_joint_names'])
        if self.params['gripper_joint'] in self.arm:
            raise ValueError(f"gripper_joint: {self.params['gripper_joint']!r} is also an arm "
                             'joint; give it its own name')
        self._positions: Dict[str, Tuple[float, int]] = {}  # joint -> (position, stamp_ns)
        self._sent_width: Optional[float] = None
        group = self.default_callback_group
        for topic in dict.fromkeys(self.params['state_topics']):
            self.create_subscription(JointState, topic, self._on_state,
                                     qos_profile_sensor_data, callback_group=group)
        self.create_subscription(JointState, self.params['command_topic'], self._on_command,
                                 10, callback_group=group)
        self.state_pub = self.create_publisher(JointState, self.params['joint_states_topic'],
                                               qos_profile_sensor_data)
        arm_type = (Float64MultiArray if self.params['arm_command_type'] == 'float64_multi_array'
                    else JointState)
        self.arm_pub = self.create_publisher(arm_type, self.params['arm_command_topic'], 10)
        self.gripper_pub = self.create_publisher(
            Float64MultiArray, self.params['gripper_command_topic'], 10)
        watch_parameters(self, FRANKA_ADAPTER_PARAMETERS, self.params)

    def _on_state(self, msg: JointState) -> None:
        try:
            values = named_values(msg)
            bad = [n for n in self.arm + self.fingers
                   if n in values and not np.isfinite(values[n])]
            if bad:
                raise ValueError(f'non-finite positions for joints {bad}')
        except ValueError as error:
            self.get_logger().warning(f'joint state refused: {error}', throttle_duration_sec=1.0)
            return
        stamp = stamp_to_ns(msg.header.stamp)
        for name, value in values.items():
            if name in self.arm or name in self.fingers:
                self._positions[name] = (value, stamp)
        if any(name in values for name in self.arm):
            self._publish_state(stamp)

    def _publish_state(self, stamp_ns: int) -> None:
        missing = [n for n in self.arm + self.fingers if n not in self._positions]
        if missing:
            self.get_logger().warning(f'no merged joint state yet: waiting for {missing}',
                                      throttle_duration_sec=2.0)
            return
        finger_stamp = min(self._positions[n][1] for n in self.fingers)
        age_s = (stamp_ns - finger_stamp) * 1e-9
        if age_s > self.params['max_gripper_age']:
            self.get_logger().warning(
                f'no merged joint state: finger states are {age_s:.2f} s older than the arm '
                f"state (max_gripper_age {self.params['max_gripper_age']} s)",
                throttle_duration_sec=1.0)
            return
        width = sum(self._positions[n][0] for n in self.fingers)
        positions = [self._positions[n][0] for n in self.arm]
        positions.append(gripper_closure(width, self.params['max_width']))
        msg = JointState(name=self.arm + [self.params['gripper_joint']],
                         position=float64_sequence(positions))
        msg.header.stamp.sec, msg.header.stamp.nanosec = ns_to_stamp(stamp_ns)
        self.state_pub.publish(msg)

    def _on_command(self, msg: JointState) -> None:
        names = self.arm + [self.params['gripper_joint']]
        try:
            command = joint_command_to_vector(msg, names)
            if not np.all(np.isfinite(command)):
                raise ValueError('non-finite positions')
        except ValueError as error:
            self.get_logger().warning(f'command refused: {error}', throttle_duration_sec=1.0)
            return
        if self.params['arm_command_type'] == 'float64_multi_array':
            self.arm_pub.publish(Float64MultiArray(data=float64_sequence(command[:-1])))
        else:
            arm = JointState(name=list(self.arm), position=float64_sequence(command[:-1]))
            arm.header.stamp = msg.header.stamp
            self.arm_pub.publish(arm)
        max_width = self.params['max_width']
        width = gripper_width(command[-1], max_width, self.params['gripper_threshold'])
        if self._sent_width is not None and (
                abs(width - self._sent_width) <= self.params['gripper_deadband']):
            return
        self._sent_width = width
        self.gripper_pub.publish(Float64MultiArray(data=float64_sequence(
            gripper_command_values(self.params['gripper_command_type'], width, max_width))))


def main(args=None) -> None:
    # spin_node: rclpy.init, spin, and in its finally the node destroyed and rclpy shut down
    spin_node(FrankaAdapterNode, num_threads=1, args=args)


if __name__ == '__main__':
    main()
