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
The trajectory executor node: action chunks (and teleop) in, a smooth robot command out.

Inputs: ``~/action_chunk`` (JointTrajectory per the chunk convention; remap it to the policy
node's), ``~/action_chunk_rtc`` (how each chunk was sampled under real-time chunking, matched by
stamp: a guided chunk arriving within its frozen rows continues the running one without a
blend; remap it to the policy node's too), ``/joint_states``, a teleop JointState topic, an
optional intervention/deadman Bool.
Every ``1 / rate_hz`` the :class:`~pi05_ros.control.mode_switch.ModeSwitch` (TELEOP / POLICY /
HOLD over a :class:`~pi05_ros.control.executor.TrajectoryExecutor`) produces one command, sent as
``std_msgs/Float64MultiArray`` (forward_command_controller), ``sensor_msgs/JointState``, or
``trajectory_msgs/JointTrajectory`` for joint_trajectory_controller (the spliced reference,
stamped, strictly increasing time_from_start, velocities, ending at rest).

Switching: ``~/engage_policy`` (SetBool), ``~/teleop`` and ``~/hold`` (Trigger). ``~/mode`` and
``~/command_source`` are latched Strings published on change; every request is also published on
``~/mode_request`` so a recorded bag replays the same mode timeline.

All callbacks share one MutuallyExclusiveCallbackGroup: the core is not thread-safe and a tick
takes tens of microseconds, so serialising them costs nothing.
"""

from collections import OrderedDict
import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
from pi05_ros.control.action_chunk import RtcInfo
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor, TrajectoryPoints
from pi05_ros.control.executor_params import (executor_config_from_parameters,
                                              limits_from_parameters,
                                              mode_config_from_parameters, seconds_to_ns)
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import ModeRequest, ModeSwitch, ModeSwitchConfig
from pi05_ros.control.teleop import joint_vector
from pi05_ros.messages.joints import float64_sequence
from pi05_ros.messages.rtc import rtc_status_to_info, RtcStatusError
from pi05_ros.messages.stamps import ns_to_duration, ns_to_stamp, stamp_to_ns
from pi05_ros.messages.trajectory import joint_trajectory_to_chunk
from pi05_ros.nodes.diagnostics import diagnostic_array, ERROR, OK, WARN
from pi05_ros.nodes.params import (above_zero, at_least_zero, declare_parameters,
                                   DOUBLE_ARRAY, fraction, ParamSpec, positive, STRING_ARRAY,
                                   watch_parameters)
from pi05_ros.nodes.spin import spin_node
from rclpy.node import Node
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

NODE_NAME = 'pi05_executor'
RTC_STATUS_KEPT = 8  # ~/action_chunk_rtc messages waiting for their chunk
OUTPUT_TYPES = {
    'float64_multi_array': 'forward_position_controller/commands',
    'joint_state': '~/joint_commands',
    'joint_trajectory': 'joint_trajectory_controller/joint_trajectory',
}


def _profile_joint_names(values) -> List[str]:
    """Return the profile's joint names; none (the 'unset' sentinel) if it needs them given."""
    from pi05_ros.policy.profiles import load_profile
    try:
        return list(load_profile(values['profile']).joint_names)
    except ValueError:
        return []  # the parameter file must set joint_names; _joint_names says so otherwise


EXECUTOR_PARAMETERS = (
    ParamSpec('profile', 'droid',
              'Robot profile (name or YAML path); gives the joint names unless joint_names.'),
    ParamSpec('joint_names', STRING_ARRAY, "Commanded joints, in order (default: the profile's).",
              resolve=_profile_joint_names),
    ParamSpec('rate_hz', 100.0, 'Controller rate: one command per period [Hz].', dynamic=True,
              validate=above_zero),
    ParamSpec('output.type', 'float64_multi_array',
              'float64_multi_array (forward_command_controller) | joint_state | '
              'joint_trajectory (joint_trajectory_controller).'),
    ParamSpec('output.topic', '',
              'Command topic (empty: forward_position_controller/commands, '
              '~/joint_commands or joint_trajectory_controller/joint_trajectory).'),
    ParamSpec('joint_states_topic', 'joint_states', 'Measured joint states.'),
    ParamSpec('engage_policy_on_start', False,
              'Engage the policy as soon as the first joint state arrives (demo).'),
    ParamSpec('limits.source', 'parameters',
              "'parameters' (limits.*) or 'urdf' (robot_description parameter or topic)."),
    ParamSpec('limits.lower', [-3.14], 'Lower position limits: one value or one per joint '
              '(at run time: only raised).', dynamic=True),
    ParamSpec('limits.upper', [3.14], 'Upper position limits: one value or one per joint '
              '(at run time: only lowered).', dynamic=True),
    ParamSpec('limits.max_velocity', [1.0], 'Velocity limits [unit/s]: one or one per joint '
              '(at run time: only lowered).', dynamic=True),
    ParamSpec('limits.max_acceleration', [5.0],
              'Acceleration limits [unit/s^2]: one or one per joint (also used with URDF; at '
              'run time: only lowered).', dynamic=True),
    ParamSpec('limits.max_jerk', DOUBLE_ARRAY,
              'Jerk limits [unit/s^3] of the command: one or one per joint; unset or 0: none '
              '(0 on one joint: none on that joint; also used with URDF; at run time: only '
              'lowered).', dynamic=True),
    ParamSpec('robot_description', '',
              "URDF text for limits.source 'urdf' (empty: wait for robot_description_topic)."),
    ParamSpec('robot_description_topic', '/robot_description',
              'Latched URDF topic (std_msgs/String, transient local).'),
    ParamSpec('executor.interpolation', 'cubic', 'linear | cubic | quintic between chunk rows.'),
    ParamSpec('executor.blend_window', 0.2, 'Shortest splice blend between chunks [s].'),
    ParamSpec('executor.max_blend_window', 1.0, 'Longest splice blend between chunks [s].'),
    ParamSpec('executor.max_chunk_age', 1.0, 'Refuse chunks whose observation is older [s].',
              dynamic=True, validate=above_zero),
    ParamSpec('executor.state_timeout', 0.25,
              'Hold when joint states are older than this [s] (0: never).', dynamic=True,
              validate=at_least_zero),
    ParamSpec('executor.chunk_timeout', 1.5,
              'Hold when no chunk was accepted for this long [s] (0: never).', dynamic=True,
              validate=at_least_zero),
    ParamSpec('executor.max_first_row_deviation', 0.2,
              'Refuse a chunk whose first executed row is further from the command.'),
    ParamSpec('executor.row_velocity_factor', 1.0,
              'Refuse a chunk whose rows step faster than this times the velocity limit.',
              dynamic=True, validate=above_zero),
    ParamSpec('executor.position_limit_margin', 0.02,
              'Refuse a chunk with rows further than this outside the position limits.',
              dynamic=True, validate=at_least_zero),
    ParamSpec('teleop.topic', 'teleop/joint_commands',
              'Teleop targets (sensor_msgs/JointState, positions by name).'),
    ParamSpec('teleop.timeout', 0.2, 'A teleop stream silent this long ends in HOLD [s].',
              dynamic=True, validate=above_zero),
    ParamSpec('teleop.align_threshold', 0.1,
              'Enter TELEOP only when the leader is this close on every joint.'),
    ParamSpec('teleop.tracking_error_limit', 0.5,
              'A leader jumping further than this from the command goes to HOLD.'),
    ParamSpec('teleop.handover_velocity_fraction', 0.5,
              'Share of the velocity limit used to ramp onto the leader.', dynamic=True,
              validate=fraction),
    ParamSpec('teleop.velocity_fraction', 1.0,
              'Share of the velocity limit used while tracking the leader (after the ramp).',
              dynamic=True, validate=fraction),
    ParamSpec('teleop.handover_tolerance', 1e-3,
              'The ramp onto the leader ends (tracking starts) this close on every joint.',
              dynamic=True, validate=above_zero),
    ParamSpec('intervention.topic', '',
              'Intervention/deadman std_msgs/Bool (True: human has priority); empty: none.'),
    ParamSpec('intervention.timeout', 0.0,
              'A monitored intervention stream silent this long ends in HOLD [s] (0: off).',
              dynamic=True, validate=at_least_zero),
    ParamSpec('diagnostics_period', 1.0, 'Period of /diagnostics [s].', dynamic=True,
              validate=above_zero),
)


def latched_qos() -> QoSProfile:
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


class ExecutorNode(Node):
    """Chunks + joint states + teleop -> one safe command per control period."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, EXECUTOR_PARAMETERS)
        self.joint_names = self._joint_names()
        output_type = self.params['output.type']
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f'output.type: expected one of {sorted(OUTPUT_TYPES)}, '
                             f'got {output_type!r}')
        self.output_type = output_type
        self.executor_config = self._executor_config()
        self.mode_config = self._mode_config()
        self.limits: Optional[JointLimits] = None
        self.trajectory_executor: Optional[TrajectoryExecutor] = None
        self.switch: Optional[ModeSwitch] = None
        self.counters = {'ticks': 0, 'chunks_received': 0, 'chunks_accepted': 0,
                         'chunks_refused': 0, 'chunks_continued': 0, 'joint_states_refused': 0,
                         'teleop_refused': 0, 'jtc_trajectories': 0}
        self.last_chunk_result = 'none yet'
        self._error_message: Optional[str] = None
        self._last_mode: Optional[str] = None
        self._last_source: Optional[str] = None
        self._last_status: Optional[str] = None
        self._chunk_accepted_since_tick = False
        self._chunk_rtc: 'OrderedDict[int, RtcInfo]' = OrderedDict()  # chunk stamp -> status
        self._last_diagnostics_ns: Optional[int] = None
        # the latest intervention message (asserted, receive time): applied to every new switch
        self._intervention: Optional[Tuple[bool, int]] = None
        rate_hz = positive(self.params, 'rate_hz')
        positive(self.params, 'diagnostics_period')
        self._period_ns = seconds_to_ns(1.0 / rate_hz)

        # the parameter services share the group: a run-time change never races a tick
        group = self.default_callback_group
        self._create_outputs()
        # created first: when both are waiting, a chunk's RTC status is taken before the chunk
        self.create_subscription(DiagnosticStatus, '~/action_chunk_rtc', self._on_chunk_rtc, 10,
                                 callback_group=group)
        self.create_subscription(JointTrajectory, '~/action_chunk', self._on_chunk, 10,
                                 callback_group=group)
        self.create_subscription(JointState, self.params['joint_states_topic'],
                                 self._on_joint_state, qos_profile_sensor_data,
                                 callback_group=group)
        self.create_subscription(JointState, self.params['teleop.topic'], self._on_teleop,
                                 qos_profile_sensor_data, callback_group=group)
        if self.params['intervention.topic']:
            self.create_subscription(Bool, self.params['intervention.topic'],
                                     self._on_intervention, 10, callback_group=group)
        self.create_service(SetBool, '~/engage_policy', self._on_engage_policy,
                            callback_group=group)
        self.create_service(Trigger, '~/teleop', self._on_teleop_request, callback_group=group)
        self.create_service(Trigger, '~/hold', self._on_hold, callback_group=group)
        self._setup_limits(group)
        self._timer = self.create_timer(1.0 / rate_hz, self._on_tick, callback_group=group)
        watch_parameters(self, EXECUTOR_PARAMETERS, self.params, self._on_parameters_changed)

    # --- configuration ------------------------------------------------------------------------

    def _joint_names(self) -> List[str]:
        if not self.params['joint_names']:
            from pi05_ros.policy.profiles import load_profile
            load_profile(self.params['profile'])  # raises: why the profile gives none
            raise ValueError('joint_names: expected joint names, the profile '
                             f"{self.params['profile']!r} has none")
        return list(self.params['joint_names'])

    def _on_parameters_changed(self, names: List[str]) -> Optional[str]:
        """Apply run-time changes of the dynamic parameters; a reason to refuse, or None."""
        try:
            executor_config, mode_config = self._executor_config(), self._mode_config()
        except ValueError as error:
            return str(error)
        if any(name.startswith('limits.') for name in names):
            reason = self._tighten_limits()
            if reason:
                return reason
        self.executor_config, self.mode_config = executor_config, mode_config
        if self.trajectory_executor is not None:
            self.trajectory_executor.config = executor_config
        if self.switch is not None:
            self.switch.config = mode_config
        if 'rate_hz' in names:
            self._period_ns = seconds_to_ns(1.0 / self.params['rate_hz'])
            self._timer.timer_period_ns = self._period_ns
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{name}={self.params[name]!r}' for name in names))
        return None

    def _tighten_limits(self) -> Optional[str]:
        """Apply changed limits.* (tighter only, the command inside them); a reason if not."""
        if self.params['limits.source'] != 'parameters':
            return 'limits come from the URDF (limits.source: urdf): change them there'
        try:
            limits = self._limits_from_parameters()
            if self.switch is not None:
                self.switch.tighten_limits(limits)
            elif self.trajectory_executor is not None:
                self.trajectory_executor.tighten_limits(limits)
        except ValueError as error:
            return str(error)
        self.limits = limits
        return None

    def _executor_config(self) -> ExecutorConfig:
        return executor_config_from_parameters(self.params)

    def _mode_config(self) -> ModeSwitchConfig:
        return mode_config_from_parameters(self.params)

    def _limits_from_parameters(self) -> JointLimits:
        return self._within_profile(limits_from_parameters(self.params, self.joint_names))

    def _limits_from_urdf(self, urdf: str) -> JointLimits:
        return self._within_profile(
            limits_from_parameters(self.params, self.joint_names, urdf=urdf))

    def _within_profile(self, limits: JointLimits) -> JointLimits:
        """Cap limits by the profile's own ``limits:`` (a ceiling, see doc/robots.md)."""
        from pi05_ros.policy.profiles import cap_limits_by_profile
        return cap_limits_by_profile(limits, self.params['profile'])

    def _setup_limits(self, group) -> None:
        source = self.params['limits.source']
        if source == 'parameters':
            self._set_limits(self._limits_from_parameters())
        elif source == 'urdf':
            if self.params['robot_description']:
                self._set_limits(self._limits_from_urdf(self.params['robot_description']))
            else:
                self.create_subscription(String, self.params['robot_description_topic'],
                                         self._on_robot_description, latched_qos(),
                                         callback_group=group)
        else:
            raise ValueError(f"limits.source: expected 'parameters' or 'urdf', got {source!r}")

    def _set_limits(self, limits: JointLimits) -> None:
        self.limits = limits
        self.trajectory_executor = TrajectoryExecutor(limits, self.executor_config)
        self.switch = None
        self._error_message = None

    def _create_outputs(self) -> None:
        topic = self.params['output.topic'] or OUTPUT_TYPES[self.output_type]
        message = {'float64_multi_array': Float64MultiArray, 'joint_state': JointState,
                   'joint_trajectory': JointTrajectory}[self.output_type]
        self.command_pub = self.create_publisher(message, topic, 10)
        self.mode_pub = self.create_publisher(String, '~/mode', latched_qos())
        self.source_pub = self.create_publisher(String, '~/command_source', latched_qos())
        self.request_pub = self.create_publisher(String, '~/mode_request', 10)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)

    # --- inputs -------------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _stamp_or_now(self, msg) -> int:
        stamp_ns = stamp_to_ns(msg.header.stamp)
        return stamp_ns if stamp_ns > 0 else self._now_ns()

    def _on_robot_description(self, msg) -> None:
        try:
            self._set_limits(self._limits_from_urdf(msg.data))
            self.get_logger().info('limits read from robot_description; holding until the next '
                                   'joint state')
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self._error_message = f'robot_description refused: {error}'
            self.get_logger().error(self._error_message)

    def _on_joint_state(self, msg) -> None:
        if self.limits is None:
            return
        try:
            received_ns = self._now_ns()
            stamp_ns = self._stamp_or_now(msg)
            if self.switch is None:
                self._start_switch(msg, received_ns)
            if not self.switch.joint_state(list(msg.name), list(msg.position), stamp_ns,
                                           received_ns):
                self.counters['joint_states_refused'] += 1
                self.get_logger().warning(
                    f'joint state refused: stamped {(stamp_ns - received_ns) / 1e9:.3f} s after '
                    'it arrived (driver clock ahead?) or older than the last one',
                    throttle_duration_sec=2.0)
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.counters['joint_states_refused'] += 1
            self.get_logger().warning(f'joint state refused: {error}', throttle_duration_sec=2.0)

    def _start_switch(self, msg, stamp_ns: int) -> None:
        initial = joint_vector(list(msg.name), list(msg.position), self.joint_names,
                               'joint_state')
        if not np.isfinite(initial).all():
            raise ValueError('joint_state.position: expected finite values to start from')
        outside = self.limits.position_violations(initial)
        if outside.size:
            # Commanding the nearest in-limit position would jump: command nothing and say so.
            joints = ', '.join(f'{self.joint_names[i]}={initial[i]:.3f}' for i in outside)
            self._error_message = (f'not commanding: measured joints outside their position '
                                   f'limits ({joints}); move them inside or fix the limits')
            raise ValueError(self._error_message)
        if self._error_message and self._error_message.startswith('not commanding'):
            self._error_message = None
        self.switch = ModeSwitch(self.limits, self.trajectory_executor, initial, self.mode_config)
        self.trajectory_executor.reset(initial, stamp_ns)
        if self._intervention is not None:
            # Received before there was a switch (no joint state, or new limits): the lock and
            # the stream's age carry over, with the time the message actually arrived.
            self.switch.intervention(*self._intervention)
        self.get_logger().info('first joint state: holding the measured positions')
        if self.params['engage_policy_on_start']:
            self._request('engage_policy', self._now_ns())

    def _on_chunk_rtc(self, msg) -> None:
        try:
            stamp_ns, info = rtc_status_to_info(msg)
        except RtcStatusError as error:
            self.get_logger().warning(f'~/action_chunk_rtc ignored: {error}',
                                      throttle_duration_sec=2.0)
            return
        self._chunk_rtc[stamp_ns] = info
        while len(self._chunk_rtc) > RTC_STATUS_KEPT:
            self._chunk_rtc.popitem(last=False)

    def _on_chunk(self, msg) -> None:
        self.counters['chunks_received'] += 1
        now_ns = self._now_ns()
        try:
            chunk = joint_trajectory_to_chunk(msg, self.joint_names)
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self._chunk_result(False, f'malformed chunk: {error}')
            return
        rtc = self._chunk_rtc.pop(chunk.stamp_ns, None)
        if rtc is not None:
            chunk = dataclasses.replace(chunk, rtc=rtc)
        if self.switch is None:
            self._chunk_result(False, 'no joint state received yet')
            return
        try:
            result = self.switch.submit_chunk(chunk, now_ns)
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self._chunk_result(False, f'chunk failed: {type(error).__name__}: {error}')
            return
        self._chunk_result(result.success, result.message)
        decision = self.switch.last_chunk_decision
        if result.success and decision is not None and decision.continued:
            self.counters['chunks_continued'] += 1

    def _chunk_result(self, accepted: bool, message: str) -> None:
        self.last_chunk_result = 'accepted' if accepted else message
        if accepted:
            self.counters['chunks_accepted'] += 1
            self._chunk_accepted_since_tick = True
        else:
            self.counters['chunks_refused'] += 1
            self.get_logger().warning(f'chunk refused: {message}', throttle_duration_sec=2.0)

    def _on_teleop(self, msg) -> None:
        if self.switch is None:
            return
        try:
            self.switch.teleop_sample(list(msg.name), list(msg.position),
                                      self._stamp_or_now(msg))
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.counters['teleop_refused'] += 1
            self.get_logger().warning(f'teleop sample refused: {error}',
                                      throttle_duration_sec=2.0)

    def _on_intervention(self, msg) -> None:
        self._intervention = (bool(msg.data), self._now_ns())
        if self.switch is None:
            return  # applied when the switch starts (_start_switch)
        try:
            self.switch.intervention(*self._intervention)
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.get_logger().error(f'intervention failed: {error}', throttle_duration_sec=2.0)

    # --- services -----------------------------------------------------------------------------

    def _request(self, request: str, now_ns: int):
        """Apply an operator request; publish it on ``~/mode_request`` for replay."""
        if self.switch is None:
            return False, 'no joint state received yet: nothing to command'
        if request in ('engage_policy', 'disengage_policy'):
            result = self.switch.engage_policy(request == 'engage_policy', now_ns)
        elif request == 'teleop':
            result = self.switch.request_teleop(now_ns)
        else:
            result = self.switch.request_hold(now_ns)
        self.request_pub.publish(String(data=ModeRequest(now_ns, request).to_text()))
        self.get_logger().info(f'{request}: {result.message}')
        self._publish_mode()
        return result.success, result.message

    def _respond(self, response, outcome):
        response.success, response.message = bool(outcome[0]), str(outcome[1])
        return response

    def _on_engage_policy(self, request, response):
        name = 'engage_policy' if request.data else 'disengage_policy'
        return self._respond(response, self._request(name, self._now_ns()))

    def _on_teleop_request(self, request, response):
        return self._respond(response, self._request('teleop', self._now_ns()))

    def _on_hold(self, request, response):
        return self._respond(response, self._request('hold', self._now_ns()))

    # --- output -------------------------------------------------------------------------------

    def _on_tick(self) -> None:
        now_ns = self._now_ns()
        try:
            if self.switch is not None:
                self.tick(now_ns)
                if self._error_message and self._error_message.startswith('tick failed'):
                    self._error_message = None
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self._error_message = f'tick failed: {type(error).__name__}: {error}'
            self.get_logger().error(self._error_message, throttle_duration_sec=2.0)
        period = seconds_to_ns(self.params['diagnostics_period'])
        if self._last_diagnostics_ns is None or now_ns - self._last_diagnostics_ns >= period:
            self._last_diagnostics_ns = now_ns
            try:
                self.publish_diagnostics()
            except Exception as error:  # noqa: B902 -- never raise out of a callback
                self.get_logger().error(f'diagnostics failed: {error}',
                                        throttle_duration_sec=5.0)

    def tick(self, now_ns: int):
        """One control period: compute the command and publish it; returns the ModeTick."""
        tick = self.switch.tick(now_ns)
        self.counters['ticks'] += 1
        if self.output_type == 'float64_multi_array':
            self.command_pub.publish(Float64MultiArray(data=float64_sequence(tick.positions)))
        elif self.output_type == 'joint_state':
            msg = JointState(name=list(self.joint_names),
                             position=float64_sequence(tick.positions),
                             velocity=float64_sequence(tick.velocities))
            msg.header.stamp.sec, msg.header.stamp.nanosec = ns_to_stamp(now_ns)
            self.command_pub.publish(msg)
        else:
            self._publish_jtc(tick, now_ns)
        self._chunk_accepted_since_tick = False
        self._publish_mode()
        return tick

    def _publish_jtc(self, tick, now_ns: int) -> None:
        """
        Send JTC a new trajectory when what it should follow changed.

        The points are always the executor's commanded state rolled forward
        (``splice_trajectory``): POLICY after each accepted chunk and when the executor switches
        between tracking and holding; TELEOP every period (the command's braking profile, which
        the next period replaces); HOLD once on entering.
        """
        last = self.trajectory_executor.last_command
        status = None if last is None else last.status
        changed = tick.source != self._last_source or status != self._last_status
        self._last_status = status
        points = None
        if (tick.source == 'teleop' or changed
                or (tick.source == 'policy' and self._chunk_accepted_since_tick)):
            points = self.trajectory_executor.splice_trajectory(now_ns)
        if points is not None and len(points.time_from_start_ns):
            self.command_pub.publish(self._trajectory_msg(points))
            self.counters['jtc_trajectories'] += 1

    def _trajectory_msg(self, points: TrajectoryPoints):
        msg = JointTrajectory(joint_names=list(points.joint_names))
        sec, nanosec = ns_to_stamp(points.stamp_ns)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
        for k, t_ns in enumerate(points.time_from_start_ns):
            point = JointTrajectoryPoint(
                positions=float64_sequence(points.positions[k]),
                velocities=float64_sequence(points.velocities[k]),
                accelerations=float64_sequence(points.accelerations[k]))
            point.time_from_start.sec, point.time_from_start.nanosec = ns_to_duration(int(t_ns))
            msg.points.append(point)
        return msg

    def _publish_mode(self) -> None:
        if self.switch is None:
            return
        mode, source = self.switch.mode.value, self.switch.source
        if mode != self._last_mode:
            self._last_mode = mode
            self.mode_pub.publish(String(data=mode))
        if source != self._last_source:
            self._last_source = source
            self.source_pub.publish(String(data=source))

    # --- diagnostics --------------------------------------------------------------------------

    def diagnostics_values(self) -> Dict[str, Any]:
        values: Dict[str, Any] = {
            'output_type': self.output_type, 'command_topic': self.command_pub.topic_name,
            'joints': ' '.join(self.joint_names),
            'limits': 'ready' if self.limits is not None else 'waiting for robot_description',
            'last_chunk_result': self.last_chunk_result, 'error': self._error_message or 'none',
        }
        values.update(self.counters)
        if self.trajectory_executor is not None:
            last = self.trajectory_executor.last_command
            values['executor_status'] = 'none' if last is None else last.status
            values['executor_reason'] = 'none' if last is None else last.reason
            refusals = self.trajectory_executor.refusals
            values.update({f'refused.{k}': v for k, v in refusals.items()})
        if self.switch is not None:
            values.update(self.switch.diagnostics())
        return values

    def publish_diagnostics(self) -> None:
        """Publish one DiagnosticArray: mode, source, executor state, counters."""
        if self._error_message:
            level, message = ERROR, self._error_message
        elif self.switch is None:
            level, message = WARN, ('waiting for robot_description' if self.limits is None
                                    else 'waiting for the first joint state')
        else:
            level, message = OK, f'{self.switch.mode.value}: {self.switch.reason}'
            last = self.trajectory_executor.last_command
            if self.switch.mode.value == 'POLICY' and self.switch.source == 'hold' and last:
                # engaged but holding: no chunk (policy node gone?), stale joint states...
                level = WARN if last.reason != 'reset' else OK
                message += f'; holding: {last.reason}'
        self.diagnostics_pub.publish(diagnostic_array(
            self.get_clock().now().to_msg(), f'{self.get_name()}: executor',
            self.get_fully_qualified_name(), level, message, self.diagnostics_values()))


def main(args=None) -> None:
    spin_node(ExecutorNode, num_threads=1, args=args)  # one callback group: one thread


if __name__ == '__main__':
    main()
