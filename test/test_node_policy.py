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
The policy node on real rclpy: its own process, real DDS, the tiny demo model.

Started as ``policy_node --ros-args --params-file config/demo.yaml -p checkpoint_dir:=...``
(what the launch files pass), in a fresh ROS_DOMAIN_ID per test (test/ros_graph.py). Covers
every parameter through list/get/describe and run-time changes, the lifecycle through its
services including transitions that are invalid in the current state (answered
success=false, the node stays up), chunks at the configured rate from three raw 640x480 15 Hz
cameras (sim_robot_node) and from three compressed streams, a latched prompt, diagnostics, a
silent camera and its recovery, and a clean SIGINT. The first tests need no ROS: the
transition check and the inference thread.
"""

import threading
import time

from pi05_ros.nodes.inference_worker import CycleWorker
from pi05_ros.nodes.lifecycle import requested_transition
import pytest

NODE = '/pi05_policy'
CAMERAS = ('cam_high', 'cam_left_wrist', 'cam_right_wrist')
JOINTS = ('joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper')
DEMO_RATE_HZ = 2.0  # inference_rate_hz in config/demo.yaml
LARGE_FRAMES = {'FASTRTPS_DEFAULT_PROFILES_FILE': 'config/fastdds_large_frames.xml'}
# rclpy's available_transitions for an active node: (id, label, start, start, goal, goal)
ACTIVE = [(4, 'deactivate', 3, 'active', 2, 'inactive'),
          (7, 'shutdown', 3, 'active', 4, 'finalized')]


# --- no ROS needed ------------------------------------------------------------------------------

def test_a_transition_is_valid_only_from_its_start_state():
    assert requested_transition(ACTIVE, 4, '') == 4
    assert requested_transition(ACTIVE, 1, '') is None  # configure while active
    assert requested_transition(ACTIVE, 3, '') is None  # activate while active
    assert requested_transition(ACTIVE, 0, 'shutdown') == 7  # the label picks this state's id
    assert requested_transition(ACTIVE, 4, 'configure') is None  # a label wins over the id


def test_worker_runs_one_cycle_per_tick_and_queues_at_most_one():
    release, started = threading.Event(), threading.Event()
    calls = []

    def cycle():
        calls.append(time.monotonic())
        started.set()
        release.wait(5.0)

    worker = CycleWorker(cycle)
    assert not worker.tick()  # not started: nothing runs
    worker.start()
    assert worker.tick()
    assert started.wait(5.0)
    assert worker.tick()  # a cycle runs: the next one starts right after it
    assert not worker.tick()  # and one already waits: this period is skipped
    release.set()
    deadline = time.monotonic() + 5.0
    while worker.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2 and worker.cycles_run == 2
    assert worker.tick()
    while worker.cycles_run < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.stop(5.0) and not worker.alive
    assert len(calls) == 3
    assert not worker.tick()  # stopped


def test_worker_stop_waits_for_the_running_cycle_and_survives_a_failing_one():
    errors, finished = [], []

    def cycle():
        if not errors:
            raise RuntimeError('boom')
        time.sleep(0.2)
        finished.append(True)

    worker = CycleWorker(cycle, on_error=errors.append)
    worker.start()
    worker.tick()
    deadline = time.monotonic() + 5.0
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [str(e) for e in errors] == ['boom']
    while worker.busy:
        time.sleep(0.01)
    assert worker.tick()
    time.sleep(0.05)
    assert worker.stop(5.0)  # returns once the 0.2 s cycle is done
    assert finished == [True]


# --- helpers for the live graph --------------------------------------------------------------

def start_policy(ros_graph, checkpoint, env=None, **params):
    node = ros_graph.start_node('policy_node', params_file='demo.yaml',
                                params={'checkpoint_dir': checkpoint, **params}, env=env)
    ros_graph.wait_for_services(NODE, ['change_state', 'get_state'], timeout=30.0)
    return node


def change_state(ros_graph, transition_id=0, label=''):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    request = ChangeState.Request(transition=Transition(id=transition_id, label=label))
    return ros_graph.call(ChangeState, f'{NODE}/change_state', request, timeout=30.0).success


def lifecycle_state(ros_graph):
    from lifecycle_msgs.srv import GetState
    return ros_graph.call(GetState, f'{NODE}/get_state').current_state.label


def policy_status(diagnostics):
    """Key/values of the last policy status, or {}."""
    for msg in reversed(diagnostics.messages):
        for status in msg.status:
            if status.name.endswith(': policy'):
                return {kv.key: kv.value for kv in status.values}
    return {}


def publish_prompt(ros_graph, text):
    from ros_graph import latched_qos
    from std_msgs.msg import String
    publisher = ros_graph.publisher(String, f'{NODE}/prompt', latched_qos())
    publisher.publish(String(data=text))
    return publisher


def steady_rate(chunks, skip=2):
    """
    Chunks per second between the first and last, after the first ``skip``.

    From the chunks' header stamps (their observation times, at the start of each cycle), so
    a slow last inference or a late delivery to this process does not count; a skipped cycle
    does.
    """
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in chunks[skip:]]
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def assert_clean_exit(process):
    result = process.stop()
    assert result.code == 0, result.log[-3000:]
    # up to EXIT_STOP_TIMEOUT (1 s) for a running inference cycle, then the teardown
    assert result.seconds < 3.0, result.seconds
    assert not result.errors, result.errors


# --- live graph ---------------------------------------------------------------------------------

def test_parameters_list_get_describe_and_run_time_changes(ros_graph, demo_checkpoint):
    from pi05_ros.nodes.policy_node import POLICY_PARAMETERS
    from rcl_interfaces.msg import ParameterType
    policy = start_policy(ros_graph, demo_checkpoint)
    policy.wait_for_log('active: publishing action chunks', timeout=30.0)
    names = ros_graph.list_parameters(NODE)
    declared = [spec.name for spec in POLICY_PARAMETERS]
    cameras = [f'cameras.{c}.{k}' for c in CAMERAS for k in ('topic', 'transport', 'optional')]
    assert set(declared + cameras) <= set(names)
    values = ros_graph.get_parameters(NODE, names)
    assert set(values) == set(names)  # every one has a value (no uninitialized array)
    assert values['inference_rate_hz'] == DEMO_RATE_HZ and values['profile'] == 'demo'
    assert values['cameras.cam_high.topic'].endswith('cam_high/image_raw')
    descriptors = ros_graph.describe_parameters(NODE, declared + cameras)
    assert set(descriptors) == set(declared + cameras)
    dynamic = {spec.name for spec in POLICY_PARAMETERS if spec.dynamic}
    assert dynamic == {'inference_rate_hz', 'diagnostics_period', 'default_prompt',
                       'observation.max_image_age', 'observation.max_joint_state_age',
                       'observation.max_camera_skew'}
    for name, descriptor in descriptors.items():
        assert descriptor.description, name
        assert descriptor.read_only == (name not in dynamic), name
    assert descriptors['joint_names'].type == ParameterType.PARAMETER_STRING_ARRAY

    results = ros_graph.set_parameters(NODE, {'inference_rate_hz': 4.0})
    assert results[0].successful, results[0].reason
    refused = ros_graph.set_parameters(NODE, {'inference_rate_hz': -1.0})[0]
    assert not refused.successful and 'inference_rate_hz' in refused.reason
    refused = ros_graph.set_parameters(NODE, {'observation.max_camera_skew': -0.1})[0]
    assert not refused.successful
    read_only = ros_graph.set_parameters(NODE, {'profile': 'droid'})[0]
    assert not read_only.successful
    assert ros_graph.set_parameters(NODE, {'default_prompt': 'stack the cups'})[0].successful
    values = ros_graph.get_parameters(NODE, ['inference_rate_hz', 'profile', 'default_prompt'])
    assert values == {'inference_rate_hz': 4.0, 'profile': 'demo',
                      'default_prompt': 'stack the cups'}
    assert_clean_exit(policy)


def test_lifecycle_services_answer_invalid_transitions_and_stay_up(ros_graph, demo_checkpoint):
    from lifecycle_msgs.msg import Transition as T
    from diagnostic_msgs.msg import DiagnosticArray
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    policy = start_policy(ros_graph, demo_checkpoint, autostart=False)
    assert lifecycle_state(ros_graph) == 'unconfigured'
    assert not change_state(ros_graph, T.TRANSITION_ACTIVATE)  # not configured yet
    assert not change_state(ros_graph, label='deactivate')
    assert change_state(ros_graph, T.TRANSITION_CONFIGURE)
    assert lifecycle_state(ros_graph) == 'inactive'
    assert not change_state(ros_graph, T.TRANSITION_CONFIGURE)  # twice
    assert change_state(ros_graph, T.TRANSITION_ACTIVATE)
    assert not change_state(ros_graph, T.TRANSITION_ACTIVATE)  # twice
    assert not change_state(ros_graph, T.TRANSITION_CLEANUP)  # not from active
    assert lifecycle_state(ros_graph) == 'active' and policy.alive()
    assert change_state(ros_graph, T.TRANSITION_DEACTIVATE)
    assert change_state(ros_graph, T.TRANSITION_CLEANUP)
    assert lifecycle_state(ros_graph) == 'unconfigured'
    assert change_state(ros_graph, label='shutdown')
    assert lifecycle_state(ros_graph) == 'finalized'
    assert not change_state(ros_graph, T.TRANSITION_CONFIGURE)
    ros_graph.wait_until(lambda: policy_status(diagnostics).get('lifecycle_state')
                         == 'finalized', timeout=10.0, message='no finalized diagnostics')
    assert policy.alive()
    assert 'is not available from state' in policy.log_text()
    assert_clean_exit(policy)


def test_raw_cameras_give_chunks_at_the_configured_rate(ros_graph, demo_checkpoint):
    """Three raw 640x480 rgb8 cameras at 15 Hz (sim_robot_node) on the 2-core machine."""
    from diagnostic_msgs.msg import DiagnosticArray
    from lifecycle_msgs.msg import Transition as T
    from trajectory_msgs.msg import JointTrajectory
    sim = ros_graph.start_node('sim_robot_node', params_file='demo.yaml', env=LARGE_FRAMES)
    chunks = ros_graph.collect(JointTrajectory, f'{NODE}/action_chunk')
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    prompt = publish_prompt(ros_graph, 'wipe the table')
    policy = start_policy(ros_graph, demo_checkpoint, env=LARGE_FRAMES)
    policy.wait_for_log("prompt: 'wipe the table'", timeout=30.0)  # latched: sent before
    chunks.wait_for(1, timeout=30.0)
    before = policy_status(diagnostics)  # counted from the first chunk: frames may come later
    counts_before = {k: int(before.get(k, 0))
                     for k in ('cycles', 'cycles_without_chunk', 'skipped_cycles')}
    time.sleep(10.0)
    assert steady_rate(list(chunks.messages)) >= 0.95 * DEMO_RATE_HZ, chunks.times
    values = policy_status(diagnostics)
    counts = {k: int(values[k]) - v for k, v in counts_before.items()}
    assert counts['cycles'] >= 18
    assert counts['cycles_without_chunk'] == 0, values['no_chunk_reason']
    assert counts['skipped_cycles'] == 0
    for camera in CAMERAS:  # taken at the observation time: never negative
        assert 0.0 <= float(values[f'age_ms.{camera}']) < 200.0, values
        assert float(values[f'frame_rate_hz.{camera}']) > 11.0, values  # none lost
    assert float(values['age_ms.joint_states']) >= 0.0
    assert float(values['latency_ms.newest_frame_to_publish_ms']) > 0.0
    last = chunks.last
    assert tuple(last.joint_names) == JOINTS and len(last.points) == 50
    assert not change_state(ros_graph, T.TRANSITION_CONFIGURE)  # autostarted: active already
    count = len(chunks)
    chunks.wait_for(count + 2, timeout=5.0)  # still alive and publishing
    assert_clean_exit(policy)
    assert_clean_exit(sim)
    del prompt


def jpeg_stream(ros_graph, stop, skip):
    """Publish three 640x480 JPEG streams at 15 Hz and joint states at 50 Hz until ``stop``."""
    import cv2
    from ros_graph import sensor_qos
    from sensor_msgs.msg import CompressedImage, JointState
    publishers = {c: ros_graph.publisher(CompressedImage, f'/{c}/image_raw/compressed',
                                         sensor_qos()) for c in CAMERAS}
    states = ros_graph.publisher(JointState, '/joint_states', sensor_qos())
    from pi05_ros.nodes.sim_robot_node import synthetic_frame
    jpegs = {c: cv2.imencode('.jpg', synthetic_frame(640, 480, 1.0, i)[..., ::-1])[1].tobytes()
             for i, c in enumerate(CAMERAS)}  # about 30 kB each, like a camera's JPEG
    tick = 0
    while not stop.is_set():
        stamp = ros_graph.node.get_clock().now().to_msg()
        state = JointState(name=list(JOINTS), position=[0.0] * len(JOINTS))
        state.header.stamp = stamp
        states.publish(state)
        if tick % 3 == 0:
            for camera, data in jpegs.items():
                if camera in skip:
                    continue
                msg = CompressedImage(format='rgb8; jpeg compressed bgr8', data=data)
                msg.header.stamp = stamp
                publishers[camera].publish(msg)
        tick += 1
        time.sleep(0.02)


def test_compressed_cameras_silent_camera_and_recovery(ros_graph, demo_checkpoint):
    from diagnostic_msgs.msg import DiagnosticArray
    from trajectory_msgs.msg import JointTrajectory
    chunks = ros_graph.collect(JointTrajectory, f'{NODE}/action_chunk')
    diagnostics = ros_graph.collect(DiagnosticArray, '/diagnostics')
    stop, skip = threading.Event(), set()
    feeder = threading.Thread(target=jpeg_stream, args=(ros_graph, stop, skip), daemon=True)
    feeder.start()
    try:
        policy = start_policy(ros_graph, demo_checkpoint, **{
            f'cameras.{c}.transport': 'compressed' for c in CAMERAS})
        chunks.wait_for(1, timeout=30.0)
        time.sleep(5.0)
        assert steady_rate(list(chunks.messages)) >= 0.95 * DEMO_RATE_HZ, (
            chunks.times, policy_status(diagnostics), policy.log_text()[-2000:])
        assert policy_status(diagnostics)['cycles_without_chunk'] == '0'
        skip.add('cam_left_wrist')  # 1.0 s max_image_age in demo.yaml
        ros_graph.wait_until(
            lambda: "camera 'cam_left_wrist' silent" in policy_status(diagnostics).get(
                'no_chunk_reason', ''), timeout=5.0, message='silent camera not reported')
        count = len(chunks)
        time.sleep(1.0)
        assert len(chunks) <= count + 1  # at most a cycle that was already running
        skip.clear()
        chunks.wait_for(len(chunks) + 2, timeout=5.0)  # recovered by itself
        assert policy_status(diagnostics)['no_chunk_reason'] == 'none'
        result = ros_graph.set_parameters(NODE, {'inference_rate_hz': 4.0})[0]
        assert result.successful, result.reason
        time.sleep(0.6)  # the period in progress ends on the old timer
        chunks.clear()
        time.sleep(3.0)
        assert steady_rate(list(chunks.messages), skip=0) >= 0.95 * 4.0, chunks.times  # at once
    finally:
        stop.set()
        feeder.join(2.0)
    assert_clean_exit(policy)


def test_a_device_this_torch_cannot_use_fails_configure_with_one_line(ros_graph,
                                                                      demo_checkpoint):
    import torch
    device = f'cuda:{torch.cuda.device_count()}' if torch.cuda.is_available() else 'cuda'
    policy = start_policy(ros_graph, demo_checkpoint, device=device)
    policy.wait_for_log(rf'configure failed: DeviceError: device {device}: ', timeout=30.0)
    assert lifecycle_state(ros_graph) == 'unconfigured' and policy.alive()
    if torch.version.cuda is None:
        assert 'use device cpu; or install a CUDA build' in policy.log_text()
    result = policy.stop()
    assert result.code == 0 and result.seconds < 3.0, result.log
    assert len(result.errors) == 1 and 'configure failed' in result.errors[0], result.errors


@pytest.mark.parametrize('bad', [{'inference_rate_hz': 0.0}])
def test_a_zero_rate_is_refused_at_start(ros_graph, demo_checkpoint, bad):
    policy = ros_graph.start_node('policy_node', params_file='demo.yaml',
                                  params={'checkpoint_dir': demo_checkpoint, **bad})
    result = policy.wait_exit(30.0)
    assert result.code != 0
    assert 'inference_rate_hz' in result.log
