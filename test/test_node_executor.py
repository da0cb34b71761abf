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
The executor node as its real executable over real DDS, with the simulated robot.

Started like demo.launch.py starts them (config/demo.yaml, the remapping of ``~/action_chunk``);
the test node plays the policy (chunks on ``/pi05_policy/action_chunk``), the teleop leader and
the operator (services). Outputs of each type close the loop through sim_robot_node.
"""

import time

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.launch_arguments import EXECUTOR_REMAPS
from pi05_ros.messages.trajectory import chunk_to_joint_trajectory, JointTrajectoryTypes
import pytest
from ros_graph import latched_qos, sensor_qos

NODE = '/pi05_executor'
JOINTS = ['joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper']
MAX_VELOCITY = 2.0  # config/demo.yaml limits.max_velocity
CHUNK_TOPIC = '/pi05_policy/action_chunk'
REMAP = EXECUTOR_REMAPS  # as policy.launch.py
SMALL_CAMERAS = {'camera_width': 32, 'camera_height': 24}  # speed only
OUTPUT_TOPICS = {'float64_multi_array': '/sim_robot/commands',
                 'joint_state': '/sim_robot/commands',
                 'joint_trajectory': '/sim_robot/commands'}


def start_loop(graph, output='float64_multi_array', robot=True, **executor_params):
    """Sim robot + executor as demo.launch.py starts them; wait until the executor is up."""
    if robot:
        graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                         params={'command_type': output, **SMALL_CAMERAS})
    # a loaded 2-core machine can starve a process for longer than the 0.25 s state watchdog
    params = {'output.type': output, 'executor.state_timeout': 3.0, **executor_params}
    executor = graph.start_node('executor_node', name='pi05_executor', params_file='demo.yaml',
                                params=params, remaps=REMAP)
    graph.wait_for_services(NODE, ['engage_policy', 'teleop', 'hold'])
    return executor


def chunk_message(start, delta, stamp_ns, rows=50, dt_ns=20_000_000):
    """Make a chunk from ``start`` to ``start + delta`` in ``rows`` rows, stamped ``stamp_ns``."""
    from builtin_interfaces.msg import Duration, Time
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    types = JointTrajectoryTypes(JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)
    ramp = np.linspace(0.0, 1.0, rows)[:, None] * np.asarray(delta, np.float64)[None, :]
    chunk = ActionChunk(np.asarray(start, np.float64)[None, :] + ramp, stamp_ns, dt_ns,
                        tuple(JOINTS))
    return chunk_to_joint_trajectory(chunk, types)


def latest_positions(states):
    msg = states.wait_for(1, timeout=10.0)[-1]
    return np.array([dict(zip(msg.name, msg.position))[j] for j in JOINTS])


def rate_hz(collector):
    """Messages per second over the collection (at least 20 messages)."""
    collector.wait_for(20, timeout=5.0)
    return (len(collector.times) - 1) / (collector.times[-1] - collector.times[0])


def strings(collector):
    return [m.data for m in collector.messages]


def diagnostic_values(graph, predicate, timeout=10.0):
    from diagnostic_msgs.msg import DiagnosticArray
    arrays = graph.collect(DiagnosticArray, '/diagnostics')

    def matches(array):
        return any(s.name == 'pi05_executor: executor'
                   and predicate(s, {kv.key: kv.value for kv in s.values}) for s in array.status)
    array = arrays.wait_for(1, timeout, matches)[-1]
    status = [s for s in array.status if s.name == 'pi05_executor: executor'][-1]
    return status, {kv.key: kv.value for kv in status.values}


# --- parameters -------------------------------------------------------------------------------

def test_list_get_describe_return_every_declared_parameter(ros_graph):
    from pi05_ros.nodes.executor_node import EXECUTOR_PARAMETERS
    start_loop(ros_graph, robot=False, rate_hz=50.0, **{'teleop.timeout': 0.3})
    declared = [spec.name for spec in EXECUTOR_PARAMETERS]
    listed = ros_graph.list_parameters(NODE)
    assert set(declared) <= set(listed)
    values = ros_graph.get_parameters(NODE, listed)  # [] if any one were uninitialized
    assert set(values) == set(listed)
    assert values['joint_names'] == JOINTS  # resolved from the demo profile
    assert values['rate_hz'] == 50.0 and values['teleop.timeout'] == 0.3  # -p overrides
    assert values['output.topic'] == 'sim_robot/commands'  # config/demo.yaml (relative)
    assert values['limits.max_velocity'] == [MAX_VELOCITY]
    assert values['diagnostics_period'] == 1.0  # the declared default
    descriptors = ros_graph.describe_parameters(NODE, declared)
    for spec in EXECUTOR_PARAMETERS:
        assert descriptors[spec.name].description == spec.description
        assert descriptors[spec.name].read_only == (not spec.dynamic), spec.name


def test_dynamic_parameters_are_validated_and_take_effect(ros_graph):
    from sensor_msgs.msg import JointState
    start_loop(ros_graph, 'joint_state')
    commands = ros_graph.collect(JointState, '/sim_robot/commands')

    def tick_period_ms(count=20):
        """Median interval between the commands' tick stamps (robust to a starved moment)."""
        commands.clear()
        msgs = commands.wait_for(count, timeout=10.0)
        stamps = [m.header.stamp.sec * 1e3 + m.header.stamp.nanosec * 1e-6 for m in msgs]
        return float(np.median(np.diff(stamps)))

    before = tick_period_ms()
    [result] = ros_graph.set_parameters(NODE, {'rate_hz': 25.0})
    assert result.successful, result.reason
    tick_period_ms(2)  # the commands of the old period still on their way
    after = tick_period_ms()
    assert 9.0 < before < 15.0 and 38.0 < after < 50.0, (before, after)  # 100 Hz, 25 Hz
    refused = {
        'rate_hz': (-1.0, 'above 0'),
        'teleop.velocity_fraction': (1.5, '(0, 1]'),
        'profile': ('droid', 'read-only'),
        'limits.max_velocity': ([9.0], 'looser than the running limits'),
        'executor.chunk_timeout': ('long', 'type'),
    }
    for name, (value, reason) in refused.items():
        [result] = ros_graph.set_parameters(NODE, {name: value})
        assert not result.successful and reason in result.reason, (name, result.reason)
    values = ros_graph.get_parameters(NODE, ['rate_hz', 'teleop.velocity_fraction', 'profile'])
    assert values == {'rate_hz': 25.0, 'teleop.velocity_fraction': 1.0, 'profile': 'demo'}
    [result] = ros_graph.set_parameters(NODE, {'limits.max_velocity': [1.5]})  # tighter: taken
    assert result.successful, result.reason
    assert ros_graph.get_parameters(NODE, ['limits.max_velocity']) == {
        'limits.max_velocity': [1.5]}


@pytest.mark.parametrize('override, expected', [
    ({'rate_hz': 'fast'}, 'parameter rate_hz: expected double like 100.0, got string fast'),
    ({'rate_hz': 100}, 'parameter rate_hz: expected double like 100.0, got integer 100'),
    ({'joint_names': 3.0}, 'parameter joint_names: expected string[]'),
    ({'output.type': 'effort'}, 'output.type: expected one of'),
    ({'limits.max_velocity': [1.0, 2.0, 3.0]}, 'limits.max_velocity'),
    ({'rate_hz': 0.0}, 'parameter rate_hz: expected a value above 0, got 0.0'),
], ids=['string-for-double', 'integer-for-double', 'double-for-string-array', 'bad-output',
        'limits-length', 'zero-rate'])
def test_wrong_parameters_are_refused_at_start_with_one_line(ros_graph, override, expected):
    process = ros_graph.start_node('executor_node', name='pi05_executor',
                                   params_file='demo.yaml', params=override)
    result = process.wait_exit(timeout=20.0)
    lines = [line for line in result.log.splitlines() if line.strip()]
    assert result.code == 2, result.log
    assert len(lines) == 1 and expected in lines[0], result.log
    assert lines[0].startswith('executor_node: cannot start: ')


# --- outputs, closed through the simulated robot ---------------------------------------------

@pytest.mark.parametrize('output', ['float64_multi_array', 'joint_state', 'joint_trajectory'])
def test_each_output_type_drives_the_simulated_robot(ros_graph, output):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray, String
    from trajectory_msgs.msg import JointTrajectory
    message = {'float64_multi_array': Float64MultiArray, 'joint_state': JointState,
               'joint_trajectory': JointTrajectory}[output]
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    sources = ros_graph.collect(String, f'{NODE}/command_source', latched_qos())
    commands = ros_graph.collect(message, OUTPUT_TOPICS[output])
    start_loop(ros_graph, output)  # demo.yaml: engage_policy_on_start
    sources.wait_for(1, 10.0, lambda m: m.data == 'hold')
    chunks = ros_graph.publisher(JointTrajectory, CHUNK_TOPIC)
    ros_graph.wait_for_subscribers(chunks)
    start = latest_positions(states)
    delta = np.array([0.3, -0.3, 0.2, 0.0, 0.0, 0.0, 0.1])
    chunks.publish(chunk_message(start, delta, ros_graph.now_ns()))
    sources.wait_for(1, 5.0, lambda m: m.data == 'policy')
    ros_graph.wait_until(lambda: np.abs(latest_positions(states) - (start + delta)).max() < 0.02,
                         timeout=10.0, message=lambda: f'the simulated joints did not reach '
                         f'{start + delta}: {latest_positions(states)}')
    if output == 'joint_trajectory':
        # one spliced reference per accepted chunk (and per hold), not one per tick
        assert 1 <= len(commands) < 10
        msg = [m for m in commands.messages if len(m.points) > 1][0]
        assert list(msg.joint_names) == JOINTS
        times = [p.time_from_start.sec * 10**9 + p.time_from_start.nanosec for p in msg.points]
        assert times[0] > 0 and np.all(np.diff(times) > 0)
        np.testing.assert_array_equal(msg.points[-1].velocities, np.zeros(len(JOINTS)))
        # ends at rest near the last row (stopping from the chunk's final velocity)
        np.testing.assert_allclose(msg.points[-1].positions, start + delta, atol=0.01)
    elif output == 'joint_state':
        assert rate_hz(commands) > 60  # demo.yaml rate_hz: 100
        msgs = commands.messages
        assert all(list(m.name) == JOINTS and len(m.velocity) == len(JOINTS) for m in msgs)
        stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in msgs])
        positions = np.array([list(m.position) for m in msgs])
        speeds = np.abs(np.diff(positions, axis=0)) / np.diff(stamps)[:, None]
        assert speeds.max() <= MAX_VELOCITY * 1.001  # stamped with the tick time
    else:
        assert rate_hz(commands) > 60
        assert all(len(m.data) == len(JOINTS) for m in commands.messages)
    assert strings(sources)[:2] == ['hold', 'policy']


# --- services and latched topics -------------------------------------------------------------

def test_services_and_latched_mode_topics(ros_graph):
    from std_msgs.msg import String
    from std_srvs.srv import SetBool
    start_loop(ros_graph, engage_policy_on_start=False)
    for topic in (f'{NODE}/mode', f'{NODE}/command_source'):
        ros_graph.wait_for_publishers(topic)
        [qos] = ros_graph.publisher_qos(topic)
        assert (qos.durability.name, qos.reliability.name) == ('TRANSIENT_LOCAL', 'RELIABLE')
    requests = ros_graph.collect(String, f'{NODE}/mode_request')
    mode = ros_graph.collect(String, f'{NODE}/mode', latched_qos())
    mode.wait_for(1, 10.0, lambda m: m.data == 'HOLD')
    time.sleep(0.3)  # nothing changes without a request: published once
    late = ros_graph.collect(String, f'{NODE}/command_source', latched_qos())
    late.wait_for(1, 5.0)
    assert strings(late) == ['hold'] and strings(mode) == ['HOLD']
    teleop = ros_graph.trigger(f'{NODE}/teleop')
    assert not teleop.success and 'teleop' in teleop.message  # no leader stream
    engage = ros_graph.call(SetBool, f'{NODE}/engage_policy', SetBool.Request(data=True))
    assert engage.success, engage.message
    mode.wait_for(1, 5.0, lambda m: m.data == 'POLICY')
    assert ros_graph.trigger(f'{NODE}/hold').success
    mode.wait_for(2, 5.0, lambda m: m.data == 'HOLD')
    requests.wait_for(3, 5.0)
    assert [m.data.split()[0] for m in requests.messages] == ['teleop', 'engage_policy', 'hold']
    assert strings(mode) == ['HOLD', 'POLICY', 'HOLD']


def test_teleop_handover_and_back_to_the_policy(ros_graph):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    mode = ros_graph.collect(String, f'{NODE}/mode', latched_qos())
    commands = ros_graph.collect(JointState, '/sim_robot/commands')
    start_loop(ros_graph, 'joint_state', engage_policy_on_start=False,
               **{'teleop.timeout': 1.0})  # the test's leader may be starved on a loaded CPU
    mode.wait_for(1, 10.0)
    leader = latest_positions(states) + np.array([0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    pub = ros_graph.publisher(JointState, '/teleop/joint_commands', sensor_qos())
    ros_graph.wait_for_subscribers(pub)

    def send_leader():
        msg = JointState(name=JOINTS, position=[float(v) for v in leader])
        msg.header.stamp = ros_graph.node.get_clock().now().to_msg()
        pub.publish(msg)
    timer = ros_graph.every(0.01, send_leader)
    try:
        time.sleep(0.2)
        response = ros_graph.trigger(f'{NODE}/teleop')
        assert response.success, response.message
        mode.wait_for(1, 5.0, lambda m: m.data == 'TELEOP')
        ros_graph.wait_until(lambda: np.abs(latest_positions(states) - leader).max() < 0.01,
                             timeout=5.0, message='the robot did not follow the leader')
        leader = leader + np.array([0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # the leader moves
        ros_graph.wait_until(lambda: np.abs(latest_positions(states) - leader).max() < 0.01,
                             timeout=5.0, message='the robot did not track the leader')
        assert ros_graph.set_bool(f'{NODE}/engage_policy', True).success
        mode.wait_for(1, 5.0, lambda m: m.data == 'POLICY')
    finally:
        timer.cancel()
    msgs = commands.messages
    stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in msgs])
    positions = np.array([list(m.position) for m in msgs])
    speeds = np.abs(np.diff(positions, axis=0)) / np.diff(stamps)[:, None]
    assert speeds.max() <= MAX_VELOCITY * 1.001  # handover and tracking within the limits
    assert strings(mode) == ['HOLD', 'TELEOP', 'POLICY']


# --- diagnostics, refusals ---------------------------------------------------------------------

def test_diagnostics_say_what_the_executor_waits_for_and_counts_refusals(ros_graph):
    from trajectory_msgs.msg import JointTrajectory
    start_loop(ros_graph, robot=False, diagnostics_period=0.2)
    status, values = diagnostic_values(ros_graph, lambda s, v: True)
    assert status.level == b'\x01' and status.message == 'waiting for the first joint state'
    assert values['output_type'] == 'float64_multi_array'
    assert values['command_topic'] == '/sim_robot/commands' and values['limits'] == 'ready'
    ros_graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                         params=SMALL_CAMERAS)
    status, values = diagnostic_values(ros_graph, lambda s, v: v.get('mode') == 'POLICY')
    assert status.level == b'\x00'
    chunks = ros_graph.publisher(JointTrajectory, CHUNK_TOPIC)
    ros_graph.wait_for_subscribers(chunks)
    chunks.publish(JointTrajectory(joint_names=['joint_1', 'nope']))  # malformed
    stale = chunk_message(np.zeros(len(JOINTS)), np.zeros(len(JOINTS)),
                          ros_graph.now_ns() - 20 * 10**9)  # demo max_chunk_age: 5 s
    chunks.publish(stale)
    status, values = diagnostic_values(ros_graph, lambda s, v: v['chunks_refused'] == '2')
    assert values['chunks_accepted'] == '0' and values['chunks_received'] == '2'
    assert values['last_chunk_result'] != 'accepted'


# --- shutdown ----------------------------------------------------------------------------------

@pytest.mark.parametrize('signal_name', ['SIGINT', 'SIGTERM'])
def test_nodes_shut_down_cleanly_while_commanding(ros_graph, signal_name):
    import signal
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String
    from trajectory_msgs.msg import JointTrajectory
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    sources = ros_graph.collect(String, f'{NODE}/command_source', latched_qos())
    executor = start_loop(ros_graph)
    robot = ros_graph.processes[0]
    sources.wait_for(1, 10.0, lambda m: m.data == 'hold')  # engaged: chunks from now on count
    chunks = ros_graph.publisher(JointTrajectory, CHUNK_TOPIC)
    ros_graph.wait_for_subscribers(chunks)
    chunks.publish(chunk_message(latest_positions(states), np.full(len(JOINTS), 0.5),
                                 ros_graph.now_ns()))
    sources.wait_for(1, 5.0, lambda m: m.data == 'policy')
    time.sleep(0.2)  # mid-chunk: ticks, joint states and frames flowing
    results = ros_graph.stop_all(sig=getattr(signal, signal_name), processes=(executor, robot))
    for label, result in results.items():
        assert result.code == 0, result.log
        assert result.seconds < 2.0, (label, result.seconds)
        assert not result.errors, result.log


# --- in this process: real rclpy, callbacks called directly (limits, intervention, wiring) ---

URDF = """<robot name="r">
  <joint name="a" type="revolute"><limit lower="-1" upper="1" velocity="0.3"/></joint>
  <joint name="b" type="continuous"><limit velocity="0.4"/></joint>
</robot>"""


def executor_here(ros_context, **params):
    """Make an ExecutorNode for joints a, b in this process, ``-p`` overrides as given."""
    from pi05_ros.nodes.executor_node import ExecutorNode
    from ros_graph import node_in_process
    params = {'joint_names': ['a', 'b'], 'limits.lower': [-2.0], 'limits.upper': [2.0],
              'limits.max_velocity': [0.5], **params}
    return node_in_process(ros_context, ExecutorNode, params)


def joint_state_msg(node, positions, names=('a', 'b')):
    from sensor_msgs.msg import JointState
    msg = JointState(name=list(names), position=[float(p) for p in positions])
    msg.header.stamp = node.get_clock().now().to_msg()
    return msg


def test_limits_from_a_latched_robot_description(ros_context):
    from std_msgs.msg import String
    node = executor_here(ros_context, **{'limits.source': 'urdf'})
    assert node.limits is None and node.diagnostics_values()['limits'] != 'ready'
    node._on_joint_state(joint_state_msg(node, [0.0, 0.0]))
    assert node.switch is None  # no limits: nothing commanded
    [sub] = [s for s in node.subscriptions if s.topic_name == '/robot_description']
    assert sub.qos_profile.durability.name == 'TRANSIENT_LOCAL'
    sub.callback(String(data=URDF))
    np.testing.assert_allclose(node.limits.max_velocity, [0.3, 0.4])
    assert node.limits.upper[0] == 1.0 and np.isinf(node.limits.upper[1])
    sub.callback(String(data='<robot'))  # refused, named, the limits kept
    assert 'robot_description refused' in node.diagnostics_values()['error']
    np.testing.assert_allclose(node.limits.max_velocity, [0.3, 0.4])


def test_max_jerk_and_teleop_parameters_reach_the_core(ros_context):
    node = executor_here(ros_context)
    assert node.limits.max_jerk is None  # the 'unset' sentinel: no jerk limit
    node = executor_here(ros_context, **{
        'limits.max_jerk': [0.0, 20.0], 'teleop.velocity_fraction': 0.25,
        'teleop.handover_tolerance': 0.01, 'teleop.timeout': 0.3})
    np.testing.assert_array_equal(node.limits.max_jerk, [np.inf, 20.0])  # 0: none on 'a'
    config = node.mode_config
    assert config.teleop_velocity_fraction == 0.25 and config.handover_tolerance == 0.01
    assert config.teleop_timeout_ns == 300_000_000


def test_a_robot_outside_its_limits_is_not_commanded_until_back_inside(ros_context):
    node = executor_here(ros_context, engage_policy_on_start=True)
    node._on_joint_state(joint_state_msg(node, [2.3, 0.0]))  # 'a' beyond its 2.0 upper limit
    assert node.switch is None  # clamping to 2.0 would be a 0.3 rad jump
    error = node.diagnostics_values()['error']
    assert 'outside their position limits' in error and 'a=2.300' in error
    node._on_joint_state(joint_state_msg(node, [1.9, 0.0]))
    assert node.switch is not None and node.diagnostics_values()['error'] == 'none'
    np.testing.assert_allclose(node.switch.command, [1.9, 0.0])


def test_an_intervention_before_the_first_joint_state_is_not_lost(ros_context):
    from std_msgs.msg import Bool
    node = executor_here(ros_context, engage_policy_on_start=True,
                         **{'intervention.topic': 'deadman', 'intervention.timeout': 0.5})
    node._on_intervention(Bool(data=True))
    node._on_intervention(Bool(data=False))  # the latest value is the one that counts
    node._on_joint_state(joint_state_msg(node, [0.0, 0.0]))
    assert node.switch.diagnostics()['intervention'] == 'False'
    assert node.switch.mode.value == 'POLICY'  # engage_policy_on_start was accepted


def test_a_silent_deadman_stream_ends_in_hold(ros_graph):
    from std_msgs.msg import Bool, String
    mode = ros_graph.collect(String, f'{NODE}/mode', latched_qos())
    start_loop(ros_graph, engage_policy_on_start=False,
               **{'intervention.topic': 'deadman', 'intervention.timeout': 1.0})
    deadman = ros_graph.publisher(Bool, '/deadman')
    ros_graph.wait_for_subscribers(deadman)
    timer = ros_graph.every(0.05, lambda: deadman.publish(Bool(data=False)))
    try:
        mode.wait_for(1, 10.0, lambda m: m.data == 'HOLD')
        time.sleep(0.2)  # the monitored stream is alive
        response = ros_graph.set_bool(f'{NODE}/engage_policy', True)
        assert response.success, response.message
        mode.wait_for(1, 5.0, lambda m: m.data == 'POLICY')
    finally:
        timer.cancel()  # the stream goes silent
    mode.wait_for(2, 3.0, lambda m: m.data == 'HOLD')
    assert strings(mode) == ['HOLD', 'POLICY', 'HOLD']


def test_run_time_changes_reach_the_running_core(ros_context):
    from rclpy.parameter import Parameter
    node = executor_here(ros_context)
    node._on_joint_state(joint_state_msg(node, [0.0, 0.0]))
    results = node.set_parameters([Parameter('executor.chunk_timeout', value=2.5),
                                   Parameter('teleop.velocity_fraction', value=0.4),
                                   Parameter('teleop.timeout', value=0.0)])
    assert [r.successful for r in results] == [True, True, False]
    assert 'above 0' in results[2].reason
    assert node.trajectory_executor.config.chunk_timeout_s == 2.5
    assert node.switch.config.teleop_velocity_fraction == 0.4
    assert node.switch.config.teleop_timeout_ns == 200_000_000  # refused: unchanged
    [refused] = node.set_parameters([Parameter('limits.max_velocity', value=[0.9])])
    assert not refused.successful and 'looser than the running limits' in refused.reason
    np.testing.assert_allclose(node.limits.max_velocity, [0.5, 0.5])
    [tighter] = node.set_parameters([Parameter('limits.max_velocity', value=[0.1])])
    assert tighter.successful, tighter.reason  # the command is at rest: inside them
    for core in (node.limits, node.trajectory_executor.limits, node.switch.limits):
        np.testing.assert_allclose(core.max_velocity, [0.1, 0.1])
