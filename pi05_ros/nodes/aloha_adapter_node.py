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
ALOHA (Interbotix / Trossen, two follower arms) <-> the ``aloha`` profile's 14 joints.

An Interbotix X-Series stack publishes one JointState per arm under the arm's robot name
(``follower_left/joint_states``, ``follower_right/joint_states``) with ``waist, shoulder, elbow,
forearm_roll, wrist_angle, wrist_rotate, gripper, left_finger, right_finger``. The aloha profile
wants one JointState with ``left_*`` and ``right_*`` joints whose grippers are ALOHA's
normalized *linear* finger position (0 closed .. 1 open), and the executor sends one 14-joint
JointState (``aloha/joint_commands`` in config/aloha.yaml). This node:

- merges both arms into ``joint_states_topic``: ``<prefix><joint>`` for the six arm joints and
  ``<prefix>gripper = (finger - gripper_position_closed) / (gripper_position_open -
  gripper_position_closed)`` from ``gripper_state_joint``; published when both arms have
  reported and their newest stamps are at most ``max_arm_skew`` apart, stamped with the older;
- splits each command into one per arm on ``command_topics``: the six arm joints and the
  gripper joint position ``gripper_joint_closed + g * (gripper_joint_open -
  gripper_joint_closed)`` of the normalized gripper command g, as a Float64MultiArray (seven
  values) or a JointState (``command_type``). Interbotix's xs_sdk takes
  ``interbotix_xs_msgs/JointGroupCommand`` instead (no wheels of it here): relay this topic to
  ``<robot>/commands/joint_group`` / ``joint_single`` in a workspace that has the messages,
  or run interbotix_xs_ros_control with a forward_command_controller (doc/robots.md).
"""

from typing import Dict, List, Tuple

import numpy as np
from pi05_ros.messages.joints import float64_sequence, joint_command_to_vector, named_values
from pi05_ros.messages.stamps import ns_to_stamp, stamp_to_ns
from pi05_ros.nodes.params import above_zero, declare_parameters, ParamSpec, watch_parameters
from pi05_ros.nodes.spin import spin_node
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

COMMAND_TYPES = ('float64_multi_array', 'joint_state')
# Interbotix/aloha (ROS 2) follower constants: finger position [m] and gripper joint [rad]
FOLLOWER_GRIPPER_POSITION = {'open': 0.0579, 'closed': 0.0440}
FOLLOWER_GRIPPER_JOINT = {'open': 1.6214, 'closed': 0.6197}

ALOHA_ADAPTER_PARAMETERS = (
    ParamSpec('arm_prefixes', ['left_', 'right_'],
              "Joint-name prefix of each arm in the profile (the aloha profile's)."),
    ParamSpec('state_topics', ['follower_left/joint_states', 'follower_right/joint_states'],
              'JointState topic of each arm, in arm_prefixes order.'),
    ParamSpec('command_topics', ['follower_left/pi05/commands', 'follower_right/pi05/commands'],
              'Command topic of each arm, in arm_prefixes order.'),
    ParamSpec('arm_joint_names', ['waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle',
                                  'wrist_rotate'],
              "One arm's joints as its driver names them, in command order."),
    ParamSpec('gripper_state_joint', 'left_finger',
              'Joint whose linear position [m] gives the gripper state.'),
    ParamSpec('gripper_command_joint', 'gripper', 'Joint the gripper command drives [rad].'),
    ParamSpec('gripper_position_open', FOLLOWER_GRIPPER_POSITION['open'],
              'gripper_state_joint position of the open gripper [m] (normalized 1).'),
    ParamSpec('gripper_position_closed', FOLLOWER_GRIPPER_POSITION['closed'],
              'gripper_state_joint position of the closed gripper [m] (normalized 0).'),
    ParamSpec('gripper_joint_open', FOLLOWER_GRIPPER_JOINT['open'],
              'gripper_command_joint position commanded for normalized 1 (open) [rad].'),
    ParamSpec('gripper_joint_closed', FOLLOWER_GRIPPER_JOINT['closed'],
              'gripper_command_joint position commanded for normalized 0 (closed) [rad].'),
    ParamSpec('joint_states_topic', 'joint_states',
              'Where the merged JointState is published (config/aloha.yaml reads joint_states).'),
    ParamSpec('max_arm_skew', 0.1,
              "Publish no merged state while the arms' newest stamps are further apart [s].",
              dynamic=True, validate=above_zero),
    ParamSpec('command_topic', 'aloha/joint_commands',
              "The executor's 14-joint JointState command (config/aloha.yaml's output)."),
    ParamSpec('command_type', 'float64_multi_array',
              'Per-arm command: float64_multi_array (6 arm joints + gripper joint) | '
              'joint_state.'),
)


def normalized(value: float, zero: float, one: float) -> float:
    """Map ``zero`` -> 0 and ``one`` -> 1 linearly (no clipping: the driver's range)."""
    return (value - zero) / (one - zero)


def unnormalized(value: float, zero: float, one: float) -> float:
    """Map 0 -> ``zero`` and 1 -> ``one`` linearly."""
    return zero + value * (one - zero)


class AlohaAdapterNode(Node):
    """Two Interbotix follower arms <-> one 14-joint ALOHA JointState and command."""

    def __init__(self, node_name: str = 'aloha_adapter', **kwargs):
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, ALOHA_ADAPTER_PARAMETERS)
        if self.params['command_type'] not in COMMAND_TYPES:
            raise ValueError(f'command_type: expected one of {list(COMMAND_TYPES)}, got '
                             f"{self.params['command_type']!r}")
        self.prefixes = list(self.params['arm_prefixes'])
        for name in ('state_topics', 'command_topics'):
            if len(self.params[name]) != len(self.prefixes):
                raise ValueError(f'{name}: expected {len(self.prefixes)} topics (one per '
                                 f'arm_prefixes entry), got {len(self.params[name])}')
        for zero, one in (('gripper_position_closed', 'gripper_position_open'),
                          ('gripper_joint_closed', 'gripper_joint_open')):
            if self.params[zero] == self.params[one]:
                raise ValueError(f'{zero}, {one}: expected two different values, got '
                                 f'{self.params[zero]} twice')
        self.arm_joints = list(self.params['arm_joint_names'])
        # one arm's driver joints read per message: the arm joints and the finger
        self._read = self.arm_joints + [self.params['gripper_state_joint']]
        self.joint_names = [prefix + name for prefix in self.prefixes
                            for name in self.arm_joints + ['gripper']]
        self._latest: Dict[int, Tuple[List[float], int]] = {}  # arm -> (7 values, stamp_ns)
        group = self.default_callback_group
        for arm, topic in enumerate(self.params['state_topics']):
            self.create_subscription(JointState, topic,
                                     lambda msg, arm=arm: self._on_arm_state(arm, msg),
                                     qos_profile_sensor_data, callback_group=group)
        self.create_subscription(JointState, self.params['command_topic'], self._on_command,
                                 10, callback_group=group)
        self.state_pub = self.create_publisher(JointState, self.params['joint_states_topic'],
                                               qos_profile_sensor_data)
        message = (Float64MultiArray if self.params['command_type'] == 'float64_multi_array'
                   else JointState)
        self.command_pubs = [self.create_publisher(message, topic, 10)
                             for topic in self.params['command_topics']]
        watch_parameters(self, ALOHA_ADAPTER_PARAMETERS, self.params)

    def _on_arm_state(self, arm: int, msg: JointState) -> None:
        try:
            values = named_values(msg)
            missing = [name for name in self._read if name not in values]
            if missing:
                raise ValueError(f'JointState.name: missing joints {missing}')
            bad = [name for name in self._read if not np.isfinite(values[name])]
            if bad:
                raise ValueError(f'non-finite positions for joints {bad}')
        except ValueError as error:
            self.get_logger().warning(f'{self.params["state_topics"][arm]}: joint state '
                                      f'refused: {error}', throttle_duration_sec=1.0)
            return
        gripper = normalized(values[self.params['gripper_state_joint']],
                             self.params['gripper_position_closed'],
                             self.params['gripper_position_open'])
        self._latest[arm] = ([values[name] for name in self.arm_joints] + [gripper],
                             stamp_to_ns(msg.header.stamp))
        self._publish_state()

    def _publish_state(self) -> None:
        if len(self._latest) < len(self.prefixes):
            return
        stamps = [self._latest[arm][1] for arm in range(len(self.prefixes))]
        skew_s = (max(stamps) - min(stamps)) * 1e-9
        if skew_s > self.params['max_arm_skew']:
            self.get_logger().warning(
                f"no merged joint state: the arms' states are {skew_s:.3f} s apart "
                f"(max_arm_skew {self.params['max_arm_skew']} s)", throttle_duration_sec=1.0)
            return
        positions = [v for arm in range(len(self.prefixes)) for v in self._latest[arm][0]]
        msg = JointState(name=list(self.joint_names), position=float64_sequence(positions))
        msg.header.stamp.sec, msg.header.stamp.nanosec = ns_to_stamp(min(stamps))
        self.state_pub.publish(msg)

    def _on_command(self, msg: JointState) -> None:
        try:
            command = joint_command_to_vector(msg, self.joint_names)
            if not np.all(np.isfinite(command)):
                raise ValueError('non-finite positions')
        except ValueError as error:
            self.get_logger().warning(f'command refused: {error}', throttle_duration_sec=1.0)
            return
        per_arm = len(self.arm_joints) + 1
        for arm, pub in enumerate(self.command_pubs):
            values = command[arm * per_arm:(arm + 1) * per_arm].copy()
            values[-1] = unnormalized(values[-1], self.params['gripper_joint_closed'],
                                      self.params['gripper_joint_open'])
            pub.publish(self._arm_message(values, msg))

    def _arm_message(self, values: np.ndarray, command: JointState):
        if self.params['command_type'] == 'float64_multi_array':
            return Float64MultiArray(data=float64_sequence(values))
        names = self.arm_joints + [self.params['gripper_command_joint']]
        out = JointState(name=names, position=float64_sequence(values))
        out.header.stamp = command.header.stamp
        return out


def main(args=None) -> None:
    # spin_node: rclpy.init, spin, and in its finally the node destroyed and rclpy shut down
    spin_node(AlohaAdapterNode, num_threads=1, args=args)


if __name__ == '__main__':
    main()
