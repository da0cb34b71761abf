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
What demo.launch.py starts, as three real processes over real DDS: sim robot, policy, executor.

The same parameter file (config/demo.yaml), overrides and remapping as the launch files, the
tiny random-weight demo checkpoint. The loop closes; every node shuts down cleanly on SIGINT; a
policy node that dies leaves the executor holding, and saying so.
"""

import time

import numpy as np
from pi05_ros.launch_arguments import EXECUTOR_REMAPS
from ros_graph import latched_qos, sensor_qos

EXECUTOR = '/pi05_executor'
POLICY = '/pi05_policy'
CAMERAS = {'camera_width': 160, 'camera_height': 120}  # speed only (640x480: bench)


def start_demo(graph, checkpoint, **executor_params):
    """Start the three nodes as demo.launch.py does; return (robot, policy, executor)."""
    robot = graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                             params=CAMERAS)
    policy = graph.start_node('policy_node', name='pi05_policy', params_file='demo.yaml',
                              params={'checkpoint_dir': checkpoint, 'autostart': True,
                                      'default_prompt': 'pick up the cube',
                                      'use_sim_time': False})
    executor = graph.start_node('executor_node', name='pi05_executor', params_file='demo.yaml',
                                params={'use_sim_time': False, **executor_params},
                                remaps=EXECUTOR_REMAPS)
    return robot, policy, executor


def joint_positions(msg):
    return np.array(list(msg.position))


def test_demo_loop_closes_and_every_node_stops_cleanly(ros_graph, demo_checkpoint):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String
    from trajectory_msgs.msg import JointTrajectory
    chunks = ros_graph.collect(JointTrajectory, f'{POLICY}/action_chunk')
    sources = ros_graph.collect(String, f'{EXECUTOR}/command_source', latched_qos())
    states = ros_graph.collect(JointState, '/joint_states', sensor_qos())
    processes = start_demo(ros_graph, demo_checkpoint)
    sources.wait_for(1, 60.0, lambda m: m.data == 'policy')
    first = len(chunks)
    start = time.monotonic()
    chunks.wait_for(first + 4, timeout=20.0)
    chunk_rate = (len(chunks) - first) / (time.monotonic() - start)
    assert chunk_rate > 1.0, chunk_rate  # demo.yaml inference_rate_hz: 2

    def moved():
        return np.abs(joint_positions(states.last) - joint_positions(states.messages[0])).max()
    # the random policy's small deltas reach the simulated joints
    ros_graph.wait_until(lambda: moved() > 1e-3, 10.0, lambda: f'moved {moved()}')
    msg = chunks.last
    assert len(msg.points) == 50 and len(msg.joint_names) == 7
    results = ros_graph.stop_all(processes=processes)
    for label, result in results.items():
        assert result.code == 0, result.log
        assert result.seconds < 2.0, (label, result.seconds)
        assert not result.errors, result.log
    print(f'chunk rate {chunk_rate:.2f}/s; shutdown ' + ', '.join(
        f'{label} {result.seconds:.2f} s' for label, result in results.items()))


def test_executor_holds_and_says_so_when_the_policy_node_dies(ros_graph, demo_checkpoint):
    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import String
    sources = ros_graph.collect(String, f'{EXECUTOR}/command_source', latched_qos())
    modes = ros_graph.collect(String, f'{EXECUTOR}/mode', latched_qos())
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    robot, policy, executor = start_demo(ros_graph, demo_checkpoint,
                                         **{'executor.chunk_timeout': 1.0})
    sources.wait_for(1, 60.0, lambda m: m.data == 'policy')
    # the latched first 'hold' may be replaced by 'policy' before discovery: count from here
    sources.clear()
    killed = policy.kill()
    assert killed.code == -9
    died = time.monotonic()
    sources.wait_for(1, 8.0, lambda m: m.data == 'hold')
    held_after = sources.times[-1] - died
    # chunk_timeout 1 s after the last accepted chunk, then the executor brakes to a stop
    assert held_after < 1.0 + 5.0, held_after
    print(f'policy killed: executor holding after {held_after:.2f} s')
    assert sources.last.data == 'hold' and modes.last.data == 'POLICY'

    def says_why(array):
        for status in array.status:
            if status.name == 'pi05_executor: executor':
                values = {kv.key: kv.value for kv in status.values}
                # the first arrays, before the first joint state, have no 'source' yet
                return (values.get('source') == 'hold' and status.level == b'\x01'
                        and values.get('executor_reason') in ('chunk_timeout', 'chunk_exhausted')
                        and 'holding: chunk_' in status.message)
        return False
    diagnostics.wait_for(1, 5.0, says_why)
    for process in (robot, executor):
        result = process.stop()
        assert result.code == 0 and not result.errors, result.log
