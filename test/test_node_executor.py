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

"""The executor node through the rclpy fakes: outputs, limits, teleop switching, diagnostics."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.messages.trajectory import chunk_to_joint_trajectory, JointTrajectoryTypes
import pytest
from ros_fakes import from_cdr, stamp, to_cdr

JOINTS = ['a', 'b']
NODE = '/pi05_executor'
MAX_VELOCITY = 0.5
PERIOD = 0.01
URDF = """<robot name="r">
  <joint name="a" type="revolute"><limit lower="-1" upper="1" velocity="0.3"/></joint>
  <joint name="b" type="continuous"><limit velocity="0.4"/></joint>
</robot>"""


def make_executor(graph, **params):
    from pi05_ros.nodes.executor_node import ExecutorNode
    graph.param_overrides['pi05_executor'] = {
        'joint_names': JOINTS, 'rate_hz': 1.0 / PERIOD, 'limits.lower': [-2.0],
        'limits.upper': [2.0], 'limits.max_velocity': [MAX_VELOCITY],
        'limits.max_acceleration': [4.0], **params}
    return ExecutorNode()


def joint_state(graph, positions, names=JOINTS, topic='/joint_states'):
    from sensor_msgs.msg import JointState
    msg = JointState(name=list(names), position=[float(p) for p in positions])
    msg.header.stamp = stamp(graph.now_ns)
    graph.publish(topic, msg)


def chunk_message(graph, target, rows=50, dt_ns=20_000_000, stamp_ns=None):
    from builtin_interfaces.msg import Duration, Time
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    types = JointTrajectoryTypes(JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)
    positions = np.linspace(0.0, 1.0, rows)[:, None] * np.asarray(target)[None, :]
    chunk = ActionChunk(positions, graph.now_ns if stamp_ns is None else stamp_ns, dt_ns,
                        tuple(JOINTS))
    return chunk_to_joint_trajectory(chunk, types)


def run(graph, node, seconds, robot=True):
    """Tick for ``seconds``, feeding the command back as the measured joint state."""
    for _ in range(int(round(seconds / PERIOD))):
        graph.advance(PERIOD)
        if robot and node.switch is not None:
            joint_state(graph, node.switch.command)
        graph.fire_timers(node)


def commands(graph, topic='/forward_position_controller/commands'):
    return np.array([list(m.data) for m in graph.published(topic)])


def call(graph, name, **request):
    from std_srvs.srv import SetBool, Trigger
    srv = graph.service(f'{NODE}/{name}')
    kind = SetBool if srv.srv_type is SetBool else Trigger
    return srv.call(kind.Request(**request))


def diagnostics(graph):
    status = graph.published('/diagnostics')[-1].status[0]
    return status, {kv.key: kv.value for kv in status.values}


def test_policy_chunk_becomes_a_limited_forward_command_stream(graph):
    node = make_executor(graph, engage_policy_on_start=True)
    joint_state(graph, [0.0, 0.0])
    graph.publish(f'{NODE}/action_chunk', chunk_message(graph, [0.4, -0.4]))
    run(graph, node, 1.2)
    out = commands(graph)
    assert out.shape[1] == 2 and len(out) > 100
    steps = np.abs(np.diff(out, axis=0))
    assert steps.max() <= MAX_VELOCITY * PERIOD + 1e-9
    assert out[-1, 0] > 0.25 and out[-1, 1] < -0.25  # moved toward the chunk
    wire = from_cdr(to_cdr(graph.published('/forward_position_controller/commands')[-1]),
                    'std_msgs/msg/Float64MultiArray')
    np.testing.assert_allclose(wire.data, out[-1])
    # held until engaged, the policy, then held again once the chunk ran out
    sources = [m.data for m in graph.published(f'{NODE}/command_source')]
    assert sources == ['hold', 'policy', 'hold']
    assert graph.published(f'{NODE}/mode')[-1].data == 'POLICY'


def test_joint_state_output_has_names_positions_velocities(graph):
    node = make_executor(graph, **{'output.type': 'joint_state', 'engage_policy_on_start': True})
    joint_state(graph, [0.1, 0.2])
    run(graph, node, 0.05)
    msg = graph.published(f'{NODE}/joint_commands')[-1]
    assert list(msg.name) == JOINTS
    np.testing.assert_allclose(msg.position, [0.1, 0.2])
    assert len(msg.velocity) == 2
    from_cdr(to_cdr(msg), 'sensor_msgs/msg/JointState')


def test_joint_trajectory_output_is_a_valid_jtc_goal(graph):
    topic = '/arm_controller/joint_trajectory'
    node = make_executor(graph, **{'output.type': 'joint_trajectory', 'output.topic': topic,
                                   'engage_policy_on_start': True})
    joint_state(graph, [0.0, 0.0])
    run(graph, node, 0.05)
    before = len(graph.published(topic))
    graph.publish(f'{NODE}/action_chunk', chunk_message(graph, [0.3, 0.3]))
    run(graph, node, PERIOD)
    sent = graph.published(topic)
    assert len(sent) == before + 1
    msg = from_cdr(to_cdr(sent[-1]), 'trajectory_msgs/msg/JointTrajectory')
    assert list(msg.joint_names) == JOINTS
    assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == graph.now_ns
    times = [p.time_from_start.sec * 10**9 + p.time_from_start.nanosec for p in msg.points]
    assert times[0] > 0 and np.all(np.diff(times) > 0)
    assert all(len(p.velocities) == 2 for p in msg.points)
    np.testing.assert_array_equal(msg.points[-1].velocities, [0.0, 0.0])
    positions = np.array([p.positions for p in msg.points])
    assert np.abs(positions).max() <= 2.0
    run(graph, node, 0.2)
    assert len(graph.published(topic)) == before + 1  # nothing new to follow: no re-send


def test_malformed_and_stale_chunks_are_refused_with_reasons(graph):
    from trajectory_msgs.msg import JointTrajectory
    node = make_executor(graph, engage_policy_on_start=True)
    joint_state(graph, [0.0, 0.0])
    graph.publish(f'{NODE}/action_chunk', JointTrajectory(joint_names=['a', 'x']))
    assert 'malformed chunk' in node.last_chunk_result
    graph.publish(f'{NODE}/action_chunk',
                  chunk_message(graph, [0.1, 0.1], stamp_ns=graph.now_ns - 5 * 10**9))
    assert node.last_chunk_result != 'accepted'
    run(graph, node, 1.0)
    status, values = diagnostics(graph)
    assert values['chunks_refused'] == '2' and values['chunks_accepted'] == '0'
    assert values['mode'] == 'POLICY'
    np.testing.assert_allclose(commands(graph)[-1], [0.0, 0.0])  # held


def test_teleop_services_mode_topic_and_command_source(graph):
    node = make_executor(graph)
    joint_state(graph, [0.0, 0.0])
    run(graph, node, 0.05)
    assert graph.published(f'{NODE}/mode')[-1].data == 'HOLD'
    response = call(graph, 'teleop')
    assert not response.success and 'teleop' in response.message  # no teleop stream yet
    for _ in range(30):
        joint_state(graph, [0.05, 0.0], topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    assert call(graph, 'teleop').success
    for _ in range(30):
        joint_state(graph, [0.05, 0.0], topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    assert graph.published(f'{NODE}/mode')[-1].data == 'TELEOP'
    np.testing.assert_allclose(commands(graph)[-1], [0.05, 0.0], atol=1e-6)
    assert call(graph, 'engage_policy', data=True).success
    run(graph, node, PERIOD)
    assert graph.published(f'{NODE}/mode')[-1].data == 'POLICY'
    assert call(graph, 'hold').success
    run(graph, node, PERIOD)
    assert graph.published(f'{NODE}/mode')[-1].data == 'HOLD'
    requests = [m.data.split()[0] for m in graph.published(f'{NODE}/mode_request')]
    assert requests == ['teleop', 'teleop', 'engage_policy', 'hold']
    sources = [m.data for m in graph.published(f'{NODE}/command_source')]
    assert 'teleop' in sources and sources[-1] == 'hold'
    steps = np.abs(np.diff(commands(graph), axis=0))
    assert steps.max() <= MAX_VELOCITY * PERIOD + 1e-9


def test_mode_topic_is_latched_for_late_subscribers(graph):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String
    node = make_executor(graph)
    joint_state(graph, [0.0, 0.0])
    run(graph, node, 0.02)
    heard = []
    late = type(node).__mro__[1]('late_listener')
    late.create_subscription(String, f'{NODE}/mode', heard.append, QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    assert [m.data for m in heard] == ['HOLD']


def test_deadman_timeout_ends_in_hold(graph):
    from std_msgs.msg import Bool
    node = make_executor(graph, **{'intervention.topic': '/deadman',
                                   'intervention.timeout': 0.1})
    joint_state(graph, [0.0, 0.0])
    graph.publish('/deadman', Bool(data=False))
    assert call(graph, 'engage_policy', data=True).success
    for _ in range(5):
        graph.publish('/deadman', Bool(data=False))
        run(graph, node, PERIOD)
    assert node.switch.mode.value == 'POLICY'
    run(graph, node, 0.3)  # deadman stream goes silent
    assert node.switch.mode.value == 'HOLD'
    assert graph.published(f'{NODE}/mode')[-1].data == 'HOLD'


def test_limits_from_latched_robot_description_topic(graph):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String
    node = make_executor(graph, **{'limits.source': 'urdf'})
    run(graph, node, 0.02)
    status, _ = diagnostics(graph)
    assert 'robot_description' in status.message
    graph.publish('/robot_description', String(data=URDF), qos=QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    np.testing.assert_allclose(node.limits.max_velocity, [0.3, 0.4])
    assert node.limits.upper[0] == 1.0 and np.isinf(node.limits.upper[1])


def test_bad_parameters_name_themselves(graph):
    with pytest.raises(ValueError, match='output.type'):
        make_executor(graph, **{'output.type': 'effort'})
    with pytest.raises(ValueError, match='limits.max_velocity'):
        make_executor(graph, **{'limits.max_velocity': [1.0, 2.0, 3.0]})


def test_integer_yaml_value_for_a_float_parameter_is_refused(graph):
    from rclpy.exceptions import InvalidParameterTypeException
    with pytest.raises(InvalidParameterTypeException):
        make_executor(graph, rate_hz=100)


def test_main_tears_down_cleanly(graph):
    import rclpy
    from pi05_ros.nodes import executor_node
    rclpy.try_shutdown()
    graph.param_overrides['pi05_executor'] = {'joint_names': JOINTS}
    executor_node.main(args=[])
    assert not rclpy.ok()
    assert all(p.destroyed for p in graph.publishers)


def test_robot_outside_its_limits_is_not_commanded_until_it_is_back_inside(graph):
    node = make_executor(graph, engage_policy_on_start=True)
    joint_state(graph, [2.3, 0.0])  # joint a beyond its 2.0 upper limit
    run(graph, node, 0.05, robot=False)
    assert commands(graph).size == 0  # clamping to 2.0 would be a 0.3 rad jump
    graph.advance(1.0)
    graph.fire_timers(node)
    status, values = diagnostics(graph)
    assert 'outside their position limits' in values['error'] and 'a=2.300' in values['error']
    joint_state(graph, [1.9, 0.0])
    run(graph, node, 0.05, robot=False)
    out = commands(graph)
    assert len(out) > 0
    np.testing.assert_allclose(out[0], [1.9, 0.0])
    graph.advance(1.0)
    graph.fire_timers(node)
    assert diagnostics(graph)[1]['error'] == 'none'


def test_joint_state_command_is_stamped_with_the_tick_time(graph):
    node = make_executor(graph, **{'output.type': 'joint_state'})
    joint_state(graph, [0.1, 0.2])
    run(graph, node, 0.05)
    msg = graph.published(f'{NODE}/joint_commands')[-1]
    assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == graph.now_ns


def still_chunk(graph, value, rows=150, dt_ns=20_000_000):
    """Make a chunk that stays at ``value`` on every joint, stamped now."""
    from builtin_interfaces.msg import Duration, Time
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    types = JointTrajectoryTypes(JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)
    chunk = ActionChunk(np.full((rows, len(JOINTS)), float(value)), graph.now_ns, dt_ns,
                        tuple(JOINTS))
    return chunk_to_joint_trajectory(chunk, types)


def test_max_jerk_parameter_reaches_the_limits(graph):
    assert make_executor(graph).limits.max_jerk is None  # unset: none
    assert make_executor(graph, **{'limits.max_jerk': [0.0]}).limits.max_jerk is None
    node = make_executor(graph, **{'limits.max_jerk': [0.0, 20.0]})
    np.testing.assert_array_equal(node.limits.max_jerk, [np.inf, 20.0])  # 0: none on 'a'
    with pytest.raises(ValueError, match='limits.max_jerk'):
        make_executor(graph, **{'limits.max_jerk': [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match='limits.max_jerk'):
        make_executor(graph, **{'limits.max_jerk': [-1.0]})
    urdf = make_executor(graph, **{'limits.source': 'urdf', 'robot_description': URDF,
                                   'limits.max_jerk': [7.0]})
    np.testing.assert_array_equal(urdf.limits.max_jerk, [7.0, 7.0])


@pytest.mark.parametrize('max_jerk', [None, 2.0])
def test_max_jerk_parameter_bounds_the_splice_jerk(graph, max_jerk):
    """Still chunks 0.1 apart: the blend's jerk step 60 D / T^3 stays within headroom * j_max."""
    params = {'engage_policy_on_start': True, 'executor.max_blend_window': 3.0,
              'executor.chunk_timeout': 5.0}
    if max_jerk is not None:
        params['limits.max_jerk'] = [max_jerk]
    node = make_executor(graph, **params)
    joint_state(graph, [0.0, 0.0])
    run(graph, node, 0.05)
    graph.publish(f'{NODE}/action_chunk', still_chunk(graph, 0.0))
    run(graph, node, 0.5)
    assert node.last_chunk_result == 'accepted'
    start = len(commands(graph))
    graph.publish(f'{NODE}/action_chunk', still_chunk(graph, 0.1))
    assert node.last_chunk_result == 'accepted'
    run(graph, node, 2.5)
    out = commands(graph)[start - 3:]
    np.testing.assert_allclose(out[-1], [0.1, 0.1], atol=1e-6)
    jerk = np.abs(np.diff(out, n=3, axis=0)).max() / PERIOD ** 3
    headroom = node.executor_config.blend_headroom
    if max_jerk is None:
        assert jerk > 5.0  # the shortest blend the velocity/acceleration limits allow
    else:
        assert jerk <= 1.2 * headroom * max_jerk


@pytest.mark.parametrize('fraction', [0.2, 1.0])
def test_teleop_velocity_fraction_caps_tracking_speed(graph, fraction):
    node = make_executor(graph, **{'teleop.velocity_fraction': fraction})
    joint_state(graph, [0.0, 0.0])
    leader = [0.05, 0.0]
    for _ in range(10):
        joint_state(graph, leader, topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    assert call(graph, 'teleop').success
    for _ in range(100):  # handover ramp onto the leader, then tracking
        joint_state(graph, leader, topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    np.testing.assert_allclose(commands(graph)[-1], leader, atol=1e-6)
    start = len(commands(graph))
    leader = [0.35, 0.0]  # within tracking_error_limit: followed, not a jump to HOLD
    for _ in range(int(0.3 / (fraction * MAX_VELOCITY) / PERIOD) + 50):
        joint_state(graph, leader, topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    assert node.switch.mode.value == 'TELEOP'
    out = commands(graph)[start - 1:]
    np.testing.assert_allclose(out[-1], leader, atol=1e-6)
    top_speed = np.abs(np.diff(out[:, 0])).max() / PERIOD
    assert top_speed == pytest.approx(fraction * MAX_VELOCITY, rel=1e-6)


@pytest.mark.parametrize('tolerance', [1e-3, 0.09])
def test_teleop_handover_tolerance_ends_the_slow_ramp(graph, tolerance):
    """An aligned leader 0.08 away: reached at the handover speed, unless already within."""
    node = make_executor(graph, **{'teleop.handover_tolerance': tolerance,
                                   'teleop.handover_velocity_fraction': 0.5})
    joint_state(graph, [0.0, 0.0])
    leader = [0.08, 0.0]
    for _ in range(10):
        joint_state(graph, leader, topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    start = len(commands(graph))
    assert call(graph, 'teleop').success
    for _ in range(100):
        joint_state(graph, leader, topic='/teleop/joint_commands')
        run(graph, node, PERIOD)
    out = commands(graph)[start - 1:]
    np.testing.assert_allclose(out[-1], leader, atol=1e-6)
    top_speed = np.abs(np.diff(out[:, 0])).max() / PERIOD
    # within the tolerance at once: tracking at the full teleop speed, not the handover ramp's
    expected = MAX_VELOCITY if tolerance > 0.08 else 0.5 * MAX_VELOCITY
    assert top_speed == pytest.approx(expected, rel=1e-6)


def test_intervention_before_the_first_joint_state_is_not_lost(graph):
    from std_msgs.msg import Bool
    node = make_executor(graph, **{'intervention.topic': '/deadman',
                                   'intervention.timeout': 0.5,
                                   'engage_policy_on_start': True})
    graph.publish('/deadman', Bool(data=True))  # no joint state yet: no switch
    graph.advance(0.1)
    graph.publish('/deadman', Bool(data=False))  # the latest value is the one that counts
    assert node.switch is None
    joint_state(graph, [0.0, 0.0])
    assert node.switch.diagnostics()['intervention'] == 'False'
    # the monitored stream is not silent, so engage_policy_on_start was accepted
    assert node.switch.mode.value == 'POLICY'
    requests = [m.data.split()[0] for m in graph.published(f'{NODE}/mode_request')]
    assert requests == ['engage_policy']


def test_intervention_held_across_a_new_robot_description(graph):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Bool, String
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node = make_executor(graph, **{'limits.source': 'urdf', 'intervention.topic': '/deadman'})
    graph.publish('/deadman', Bool(data=True))  # before limits and joint states
    graph.publish('/robot_description', String(data=URDF), qos=qos)
    joint_state(graph, [0.0, 0.0])
    assert node.switch.diagnostics()['intervention'] == 'True'
    graph.publish('/robot_description', String(data=URDF), qos=qos)  # a new switch starts
    joint_state(graph, [0.0, 0.0])
    assert node.switch.diagnostics()['intervention'] == 'True'
