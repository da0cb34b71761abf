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
A simulated robot for the demo: joints that follow commands, and three synthetic cameras.

The joints follow the last command with a first-order lag (time constant ``time_constant``) and
are published on ``joint_states``. Commands arrive as ``std_msgs/Float64MultiArray``
(forward_command_controller style), ``sensor_msgs/JointState`` or
``trajectory_msgs/JointTrajectory`` (sampled like a joint_trajectory_controller with linear
interpolation). Each camera publishes an rgb8 ``sensor_msgs/Image`` with a moving pattern.
"""

import array
import math
from typing import List, Optional, Sequence

import numpy as np
from pi05_ros.messages.joints import float64_multi_array_to_vector, joint_command_to_vector
from pi05_ros.messages.stamps import duration_to_ns, stamp_to_ns
from pi05_ros.nodes.params import (above_zero, at_least_zero, declare_parameters,
                                   DOUBLE_ARRAY, ParamSpec, positive, watch_parameters)
from pi05_ros.nodes.spin import spin_node
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

COMMAND_TYPES = ('float64_multi_array', 'joint_state', 'joint_trajectory')

SIM_ROBOT_PARAMETERS = (
    ParamSpec('joint_names', ['joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5',
                              'joint_6', 'gripper'],
              'Simulated joints, in command order (default: the demo profile).'),
    ParamSpec('initial_positions', DOUBLE_ARRAY,
              'Start positions, one per joint (default: all zero).',
              resolve=lambda values: [0.0] * len(values['joint_names'])),
    ParamSpec('time_constant', 0.05, 'First-order lag of the joints behind the command [s].',
              dynamic=True, validate=at_least_zero),
    ParamSpec('state_rate_hz', 100.0, 'Rate of joint_states and of the joint simulation [Hz].',
              dynamic=True, validate=above_zero),
    ParamSpec('command_type', 'float64_multi_array',
              'Command input: float64_multi_array | joint_state | joint_trajectory.'),
    ParamSpec('command_topic', '~/commands', 'Topic the commands arrive on.'),
    ParamSpec('joint_states_topic', 'joint_states', 'Where joint states are published.'),
    ParamSpec('camera_names', ['cam_high', 'cam_left_wrist', 'cam_right_wrist'],
              'Synthetic cameras; each publishes <camera_topic_prefix><name>/image_raw.'),
    ParamSpec('camera_topic_prefix', '', 'Prefix of the camera topics (relative: the namespace).'),
    ParamSpec('camera_rate_hz', 15.0, 'Frame rate of every synthetic camera [Hz].',
              dynamic=True, validate=above_zero),
    ParamSpec('camera_width', 640, 'Synthetic image width [px].'),
    ParamSpec('camera_height', 480, 'Synthetic image height [px].'),
)


def first_order_step(position: np.ndarray, target: np.ndarray, dt_s: float,
                     time_constant_s: float) -> np.ndarray:
    """Advance a first-order lag ``tau * x' = target - x`` by ``dt_s`` (exact discretisation)."""
    if time_constant_s <= 0.0:
        return target.copy()
    alpha = 1.0 - math.exp(-max(dt_s, 0.0) / time_constant_s)
    return position + alpha * (target - position)


def sample_trajectory(times_ns: np.ndarray, positions: np.ndarray, start: np.ndarray,
                      t_ns: int) -> np.ndarray:
    """
    Interpolate linearly through ``(0, start)`` and the points ``(times_ns[k], positions[k])``.

    Before 0 the start is held; after the last point, the last point is held.
    """
    knots_t = np.concatenate([[0], times_ns]).astype(np.float64)  # (P+1,)
    knots = np.vstack([start[None, :], positions])  # (P+1, J)
    t = float(min(max(t_ns, 0), knots_t[-1]))
    index = int(np.searchsorted(knots_t, t, side='right')) - 1
    if index >= len(knots_t) - 1:
        return knots[-1].copy()
    span = knots_t[index + 1] - knots_t[index]
    weight = (t - knots_t[index]) / span if span > 0 else 1.0
    return knots[index] + weight * (knots[index + 1] - knots[index])


def synthetic_frame(width: int, height: int, t_s: float, camera_index: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB: colour gradients that scroll, and a bright moving square."""
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    # 40 px/s; reduced in float64 first (t_s is epoch time: float32 would freeze the scroll)
    shift_x, shift_y = (40.0 * t_s) % width, (20.0 * t_s) % height
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = (((x + shift_x) * 255.0 / width) % 255).astype(np.uint8)
    frame[..., 1] = (((y + shift_y) * 255.0 / height) % 255).astype(np.uint8)
    frame[..., 2] = np.uint8((60 * camera_index) % 255)
    size = max(4, min(width, height) // 8)
    cx = int((0.5 + 0.4 * math.sin(t_s + camera_index)) * (width - size))
    cy = int((0.5 + 0.4 * math.cos(0.7 * t_s)) * (height - size))
    frame[cy:cy + size, cx:cx + size] = 255
    return frame


def rgb8_image_fields(frame: np.ndarray) -> dict:
    """``sensor_msgs/Image`` fields of an (H, W, 3) uint8 frame (``data``: array('B'), Humble)."""
    height, width = frame.shape[:2]
    return {'height': height, 'width': width, 'encoding': 'rgb8', 'step': width * 3,
            'data': array.array('B', frame.tobytes())}


class SimRobotNode(Node):
    """Joint states that follow commands, plus synthetic cameras."""

    def __init__(self, node_name: str = 'sim_robot', **kwargs):
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, SIM_ROBOT_PARAMETERS)
        self.joint_names: List[str] = list(self.params['joint_names'])
        if self.params['command_type'] not in COMMAND_TYPES:
            raise ValueError(f'command_type: expected one of {COMMAND_TYPES}, '
                             f'got {self.params["command_type"]!r}')
        self.position = self._initial_positions(self.params['initial_positions'])
        self.target = self.position.copy()
        self._trajectory = None  # (start_ns, times_ns, positions, start_position)
        self._last_step_ns: Optional[int] = None
        # callbacks share the joint state; parameter changes are serialised with them
        group = self.default_callback_group
        command_msg = {'float64_multi_array': Float64MultiArray, 'joint_state': JointState,
                       'joint_trajectory': JointTrajectory}[self.params['command_type']]
        self.create_subscription(command_msg, self.params['command_topic'], self._on_command,
                                 10, callback_group=group)
        self.joint_state_pub = self.create_publisher(
            JointState, self.params['joint_states_topic'], 10)
        self.camera_pubs = [
            self.create_publisher(
                Image, f'{self.params["camera_topic_prefix"]}{name}/image_raw',
                qos_profile_sensor_data)
            for name in self.params['camera_names']]
        self._rate_timers = {
            'state_rate_hz': self.create_timer(1.0 / positive(self.params, 'state_rate_hz'),
                                               self.step, callback_group=group),
            'camera_rate_hz': self.create_timer(1.0 / positive(self.params, 'camera_rate_hz'),
                                                self.publish_frames, callback_group=group)}
        watch_parameters(self, SIM_ROBOT_PARAMETERS, self.params, self._on_parameters_changed)

    def _on_parameters_changed(self, names) -> None:
        for name in names:
            if name in self._rate_timers:
                self._rate_timers[name].timer_period_ns = int(round(1e9 / self.params[name]))
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{name}={self.params[name]!r}' for name in names))

    def _initial_positions(self, initial: Optional[Sequence[float]]) -> np.ndarray:
        if not initial:
            return np.zeros(len(self.joint_names))
        if len(initial) != len(self.joint_names):
            raise ValueError(f'initial_positions: expected {len(self.joint_names)} values '
                             f'(one per joint), got {len(initial)}')
        return np.asarray(initial, dtype=np.float64)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_command(self, msg) -> None:
        try:
            if isinstance(msg, Float64MultiArray):
                target = float64_multi_array_to_vector(msg, len(self.joint_names))
            elif isinstance(msg, JointState):
                target = joint_command_to_vector(msg, self.joint_names)
            else:
                self._trajectory = self._trajectory_from(msg)
                return
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.get_logger().warning(f'command refused: {error}', throttle_duration_sec=1.0)
            return
        if not np.all(np.isfinite(target)):
            self.get_logger().warning('command refused: non-finite values',
                                      throttle_duration_sec=1.0)
            return
        self._trajectory = None
        self.target = target

    def _trajectory_from(self, msg) -> tuple:
        order = [list(msg.joint_names).index(name) for name in self.joint_names]
        times = np.array([duration_to_ns(p.time_from_start) for p in msg.points], np.int64)
        positions = np.array([[p.positions[i] for i in order] for p in msg.points])
        if not positions.size or not np.all(np.isfinite(positions)):
            raise ValueError('points: expected finite positions for every joint')
        start_ns = stamp_to_ns(msg.header.stamp) or self._now_ns()
        return start_ns, times, positions, self.target.copy()

    def step(self) -> None:
        """Advance the simulated joints to now and publish the joint states."""
        now = self._now_ns()
        if self._trajectory is not None:
            start_ns, times, positions, start = self._trajectory
            self.target = sample_trajectory(times, positions, start, now - start_ns)
        dt_s = 0.0 if self._last_step_ns is None else (now - self._last_step_ns) * 1e-9
        self._last_step_ns = now
        self.position = first_order_step(self.position, self.target, dt_s,
                                         self.params['time_constant'])
        msg = JointState(name=list(self.joint_names),
                         position=array.array('d', self.position.tolist()))
        msg.header.stamp = self.get_clock().now().to_msg()
        self.joint_state_pub.publish(msg)

    def publish_frames(self) -> None:
        """Publish one synthetic rgb8 frame per camera, stamped now."""
        now = self.get_clock().now()
        width, height = self.params['camera_width'], self.params['camera_height']
        for index, pub in enumerate(self.camera_pubs):
            frame = synthetic_frame(width, height, now.nanoseconds * 1e-9, index)
            msg = Image(**rgb8_image_fields(frame))
            msg.header.stamp = now.to_msg()
            msg.header.frame_id = f'{self.params["camera_names"][index]}_camera'
            pub.publish(msg)


def main(args=None) -> None:
    spin_node(SimRobotNode, num_threads=1, args=args,  # one callback group: one thread
              large_frames=True)


if __name__ == '__main__':
    main()
