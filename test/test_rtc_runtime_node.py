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
The policy node with real-time chunking on real rclpy (sim robot, tiny demo model).

``policy_node --params-file config/demo.yaml -p rtc.enabled:=true``: chunks go out at the
configured rate, the first ones sampled plainly (activation, delay warm-up) with the reason in
/diagnostics, the later ones guided with d from the measured delay; a remote backend with
rtc.enabled fails to configure with the parameter named; in the closed demo loop (sim robot,
policy, executor) the executor accepts the guided chunks.
"""

import time

from pi05_ros.launch_arguments import EXECUTOR_REMAPS
import pytest

NODE = '/pi05_policy'
LARGE_FRAMES = {'FASTRTPS_DEFAULT_PROFILES_FILE': 'config/fastdds_large_frames.xml'}


def policy_status(diagnostics, suffix=': policy'):
    """Key/values of the last status whose name ends with ``suffix``, or {}."""
    for msg in reversed(diagnostics.messages):
        for status in msg.status:
            if status.name.endswith(suffix):
                return {kv.key: kv.value for kv in status.values}
    return {}


def wait_for_status(diagnostics, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        values = policy_status(diagnostics)
        if values and condition(values):
            return values
        time.sleep(0.1)
    raise AssertionError(f'no such policy status within {timeout} s; last: '
                         f'{policy_status(diagnostics)}')


def first_policy_status(diagnostics, condition, timeout):
    """Return the earliest policy status received that meets ``condition`` (wait for one)."""

    def statuses():
        for msg in list(diagnostics.messages):
            for status in msg.status:
                if status.name.endswith(': policy'):
                    values = {kv.key: kv.value for kv in status.values}
                    if condition(values):
                        yield values
    wait_for_status(diagnostics, lambda _: next(statuses(), None) is not None, timeout)
    return next(statuses())


def executor_status(diagnostics):
    for msg in reversed(diagnostics.messages):
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if 'chunks_accepted' in values:
                return values
    return {}


def test_policy_node_with_rtc_publishes_guided_chunks_and_reports_them(ros_graph,
                                                                       demo_checkpoint):
    from diagnostic_msgs.msg import DiagnosticArray
    from trajectory_msgs.msg import JointTrajectory
    sim = ros_graph.start_node('sim_robot_node', params_file='demo.yaml', env=LARGE_FRAMES)
    from diagnostic_msgs.msg import DiagnosticStatus
    from pi05_ros.messages.rtc import rtc_status_to_info
    chunks = ros_graph.collect(JointTrajectory, f'{NODE}/action_chunk')
    statuses = ros_graph.collect(DiagnosticStatus, f'{NODE}/action_chunk_rtc')
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    policy = ros_graph.start_node(
        'policy_node', params_file='demo.yaml', env=LARGE_FRAMES,
        params={'checkpoint_dir': demo_checkpoint, 'rtc.enabled': True,
                'rtc.warmup_cycles': 1})
    policy.wait_for_log(r'guided \(RTC\) warm-up inference', timeout=30.0)  # configure
    policy.wait_for_log('real-time chunking: s=15', timeout=30.0)
    first = first_policy_status(diagnostics, lambda v: int(v.get('chunks_published', 0)) >= 1,
                                30.0)
    assert first['rtc.enabled'] == 'True'
    assert first['rtc.last_guided'] == 'False'
    assert first['rtc.last_reason'] == 'after a hold (activated)'
    values = wait_for_status(diagnostics, lambda v: int(v['rtc.guided_chunks']) >= 2, 30.0)
    # from the first chunk on (before it, the first frames may not have arrived yet)
    assert values['cycles_without_chunk'] == first['cycles_without_chunk'], values
    assert values['rtc.last_guided'] == 'True' and values['rtc.last_reason'] == 'guided'
    assert 1 <= int(values['rtc.delay_rows']) <= 15
    # the estimate (updated after this chunk went out) is a measured delay, not a default
    assert 0.0 < float(values['rtc.delay_estimate_ms']) < 1000.0
    assert int(values['rtc.plain_chunks']) >= 2  # activation, warm-up
    assert int(values['chunks_published']) == (int(values['rtc.guided_chunks'])
                                               + int(values['rtc.plain_chunks']))
    last = chunks.last
    assert len(last.points) == 50
    # every chunk's RTC status went out on ~/action_chunk_rtc, stamped like the chunk
    infos = dict(rtc_status_to_info(msg) for msg in statuses.messages)
    stamp = last.header.stamp.sec * 10**9 + last.header.stamp.nanosec
    assert stamp in infos, (stamp, sorted(infos))
    assert sum(info.guided for info in infos.values()) >= 2
    assert all(info.delay_rows >= 1 for info in infos.values() if info.guided)
    result = policy.stop()
    assert result.code == 0 and not result.errors, result.log[-3000:]
    sim.stop()


def test_rtc_on_the_remote_backend_guides_on_pi05_serve_and_the_executor_continues(
        ros_graph, tmp_path):
    """The frozen prefix travels to pi05-serve; the guided chunks run without a blend."""
    pytest.importorskip('websockets')
    from diagnostic_msgs.msg import DiagnosticArray
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from test_policy_remote import ServeProcess
    ckpt = make_demo_checkpoint(tmp_path / 'demo', 'demo', seed=0)
    server = ServeProcess(['--checkpoint', str(ckpt), '--profile', 'demo'])
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    try:
        processes = [
            ros_graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                                 params={'camera_width': 160, 'camera_height': 120}),
            ros_graph.start_node(
                'policy_node', name='pi05_policy', params_file='demo.yaml',
                params={'backend': 'remote', 'remote.uri': server.uri, 'remote.timeout': 5.0,
                        'rtc.enabled': True, 'rtc.warmup_cycles': 1,
                        'default_prompt': 'pick up the cube'}),
            ros_graph.start_node('executor_node', name='pi05_executor', params_file='demo.yaml',
                                 remaps=EXECUTOR_REMAPS),
        ]
        values = wait_for_status(diagnostics, lambda v: int(v['rtc.guided_chunks']) >= 3, 90.0)
        assert values['model.backend'] == 'remote'
        assert 1 <= int(values['rtc.delay_rows']) <= 15
        ros_graph.wait_until(
            lambda: int(executor_status(diagnostics).get('chunks_continued', 0)) >= 2, 30.0,
            lambda: f'executor status: {executor_status(diagnostics)}')
        assert not [k for k in executor_status(diagnostics) if k.startswith('refused.first_row')]
        for process in processes:
            result = process.stop()
            assert result.code == 0 and not result.errors, result.log[-3000:]
    finally:
        server.stop()


def test_closed_demo_loop_with_rtc_executes_the_guided_chunks(ros_graph, demo_checkpoint):
    from diagnostic_msgs.msg import DiagnosticArray
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    robot = ros_graph.start_node('sim_robot_node', name='sim_robot', params_file='demo.yaml',
                                 params={'camera_width': 160, 'camera_height': 120})
    policy = ros_graph.start_node(
        'policy_node', name='pi05_policy', params_file='demo.yaml',
        params={'checkpoint_dir': demo_checkpoint, 'rtc.enabled': True,
                'rtc.warmup_cycles': 1, 'default_prompt': 'pick up the cube'})
    executor = ros_graph.start_node('executor_node', name='pi05_executor',
                                    params_file='demo.yaml',
                                    remaps=EXECUTOR_REMAPS)
    values = wait_for_status(diagnostics, lambda v: int(v['rtc.guided_chunks']) >= 4, 60.0)
    assert values['rtc.last_reason'] == 'guided', values
    # the executor's diagnostics come once a second: wait for its count, not a snapshot
    ros_graph.wait_until(
        lambda: int(executor_status(diagnostics).get('chunks_accepted', 0)) >= 3, 10.0,
        lambda: f'executor status: {executor_status(diagnostics)}')
    # the executor node took the guided chunks without a blend (matched by stamp)
    ros_graph.wait_until(
        lambda: int(executor_status(diagnostics).get('chunks_continued', 0)) >= 2, 30.0,
        lambda: f'executor status: {executor_status(diagnostics)}')
    accepted = executor_status(diagnostics)
    print({k: v for k, v in accepted.items() if 'chunk' in k or 'refused' in k},
          {k: v for k, v in values.items() if k.startswith('rtc.')})
    assert not [k for k in accepted if k.startswith('refused.first_row')], accepted
    for process in (policy, executor, robot):
        result = process.stop()
        assert result.code == 0 and not result.errors, result.log[-3000:]
