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
The policy node's remote backend on real rclpy, against pi05-serve in a subprocess.

The node (``backend: remote``, DROID profile) gets two raw 224x224 cameras and joint states from
the test; chunks flow; the server killed mid-run gives no chunk and the reason on /diagnostics;
the server restarted on the same port gives chunks again.
"""

import threading
import time

import numpy as np
from pi05_ros.launch_arguments import EXECUTOR_REMAPS
from pi05_ros.policy.demo_assets import make_demo_checkpoint
import pytest
from test_policy_remote import ServeProcess

NODE = '/pi05_policy'
DROID_JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['gripper']
CAMERAS = {'exterior_image_1_left': 'test_cam/exterior', 'wrist_image_left': 'test_cam/wrist'}


def _feed(ros_graph, stop):
    """Publish the two cameras at 15 Hz and joint states at 50 Hz until ``stop``."""
    from ros_graph import sensor_qos
    from sensor_msgs.msg import Image, JointState
    cams = {c: ros_graph.publisher(Image, f'/{t}', sensor_qos()) for c, t in CAMERAS.items()}
    states = ros_graph.publisher(JointState, '/joint_states', sensor_qos())
    frame = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    tick = 0
    while not stop.is_set():
        stamp = ros_graph.node.get_clock().now().to_msg()
        state = JointState(name=DROID_JOINTS, position=[0.1] * 8)
        state.header.stamp = stamp
        states.publish(state)
        if tick % 3 == 0:
            for publisher in cams.values():
                msg = Image(height=224, width=224, encoding='rgb8', step=224 * 3,
                            data=frame.tobytes())
                msg.header.stamp = stamp
                publisher.publish(msg)
        tick += 1
        time.sleep(0.02)


def _status(diagnostics):
    for msg in reversed(diagnostics.messages):
        for status in msg.status:
            if status.name.endswith(': policy'):
                return {kv.key: kv.value for kv in status.values}
    return {}


def test_remote_backend_chunks_server_loss_and_recovery(ros_graph, tmp_path):
    pytest.importorskip('websockets')
    from diagnostic_msgs.msg import DiagnosticArray
    from trajectory_msgs.msg import JointTrajectory
    ckpt = make_demo_checkpoint(tmp_path / 'droid', 'droid', seed=0)
    args = ['--checkpoint', str(ckpt), '--profile', 'droid', '--api-key', 'robot-42']
    server = ServeProcess(args)
    chunks = ros_graph.collect(JointTrajectory, f'{NODE}/action_chunk')
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(ros_graph, stop), daemon=True)
    feeder.start()
    restarted = None
    try:
        params = {'profile': 'droid', 'backend': 'remote', 'remote.uri': server.uri,
                  'remote.timeout': 2.0, 'remote.api_key': 'robot-42', 'inference_rate_hz': 4.0,
                  'default_prompt': 'pick up the cube'}
        params.update({f'cameras.{c}.topic': f'/{t}' for c, t in CAMERAS.items()})
        policy = ros_graph.start_node('policy_node', params_file='demo.yaml', params=params)
        policy.wait_for_log(f'remote policy server {server.uri}: pi05_ros droid', timeout=60.0)
        chunks.wait_for(3, timeout=30.0)
        last = chunks.last
        assert list(last.joint_names) == DROID_JOINTS and len(last.points) == 15
        ros_graph.wait_until(lambda: _status(diagnostics).get('model.backend') == 'remote',
                             timeout=10.0, message='no remote backend in diagnostics')
        assert _status(diagnostics)['model.uri'] == server.uri

        server.stop(kill=True)  # the GPU box goes away mid-run
        ros_graph.wait_until(
            lambda: 'RemotePolicyError' in _status(diagnostics).get('no_chunk_reason', ''),
            timeout=15.0, message='no remote failure on /diagnostics')
        time.sleep(0.5)
        count = len(chunks)
        time.sleep(1.5)
        assert len(chunks) == count  # no chunk while the server is gone: the executor holds
        reason = _status(diagnostics)['no_chunk_reason']
        assert server.uri in reason, reason
        assert int(_status(diagnostics)['cycles_without_chunk']) >= 2

        restarted = ServeProcess(args, port=server.port)
        chunks.wait_for(count + 3, timeout=30.0)  # reconnected with backoff
        ros_graph.wait_until(lambda: _status(diagnostics).get('no_chunk_reason') == 'none',
                             timeout=10.0, message='diagnostics did not recover')
        result = policy.stop()
        assert result.code == 0, result.log[-3000:]
        unexpected = [line for line in result.errors if 'inference failed' not in line]
        assert not unexpected, unexpected
    finally:
        stop.set()
        feeder.join(5.0)
        for process in (server, restarted):
            if process is not None:
                process.stop()


def test_demo_loop_on_the_remote_backend_holds_while_the_server_is_gone(ros_graph, tmp_path):
    """Run sim robot + policy node (remote) + executor: server gone -> hold; back -> policy."""
    from ros_graph import latched_qos
    from std_msgs.msg import String
    ckpt = make_demo_checkpoint(tmp_path / 'demo', 'demo', seed=0)
    args = ['--checkpoint', str(ckpt), '--profile', 'demo']
    server = ServeProcess(args)  # the demo profile travels in the pi05_ros layout
    sources = ros_graph.collect(String, '/pi05_executor/command_source', latched_qos())
    restarted = None
    try:
        processes = [
            ros_graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                                 params={'camera_width': 160, 'camera_height': 120}),
            ros_graph.start_node('policy_node', name='pi05_policy', params_file='demo.yaml',
                                 params={'backend': 'remote', 'remote.uri': server.uri,
                                         'remote.timeout': 2.0, 'use_sim_time': False,
                                         'default_prompt': 'pick up the cube'}),
            ros_graph.start_node('executor_node', name='pi05_executor', params_file='demo.yaml',
                                 params={'use_sim_time': False, 'executor.chunk_timeout': 1.0},
                                 remaps=EXECUTOR_REMAPS),
        ]

        def is_policy(msg):
            return msg.data == 'policy'

        def is_hold(msg):
            return msg.data == 'hold'
        policy_count = len(sources.wait_for(1, 60.0, is_policy))
        hold_count = len([m for m in sources.messages if is_hold(m)])
        server.stop(kill=True)
        gone = time.monotonic()
        sources.wait_for(hold_count + 1, 15.0, is_hold)
        held_after = sources.times[-1] - gone
        assert sources.last.data == 'hold'
        restarted = ServeProcess(args, port=server.port)
        back = time.monotonic()
        sources.wait_for(policy_count + 1, 30.0, is_policy)
        print(f'server killed: executor holding after {held_after:.2f} s; restarted: policy '
              f'again after {sources.times[-1] - back:.2f} s')
        for process in processes:
            result = process.stop()
            assert result.code == 0, result.log[-3000:]
    finally:
        for process in (server, restarted):
            if process is not None:
                process.stop()
