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
The policy node through the rclpy fakes, with the real tiny demo model.

Covers the full loop (cameras + joint states -> chunk on the wire -> executor command), every
failure input of issue 6 (silent camera, stale joint states, malformed image, unknown encoding,
empty prompt: no chunk, the reason in diagnostics, recovery by itself), lifecycle transitions and
a failed configure.
"""

import array

import numpy as np
from pi05_ros.policy.demo_assets import make_demo_checkpoint
import pytest
from ros_fakes import from_cdr, lifecycle_state, stamp, to_cdr

NODE = '/pi05_policy'
CAMERAS = ['cam_high', 'cam_left_wrist', 'cam_right_wrist']
JOINTS = ['joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper']
PERIOD = 0.2


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return str(make_demo_checkpoint(tmp_path_factory.mktemp('demo_ckpt'), 'demo', seed=0))


def make_policy_node(graph, checkpoint, **params):
    from pi05_ros.nodes.policy_node import PolicyNode
    graph.param_overrides['pi05_policy'] = {
        'profile': 'demo', 'checkpoint_dir': checkpoint, 'warmup_iterations': 0,
        'inference_rate_hz': 1.0 / PERIOD, 'num_steps': 2, 'torch_threads': 1, **params}
    return PolicyNode()


def image(graph, width=64, height=48, encoding='rgb8', step=None, size=None, stamp_ns=None):
    from sensor_msgs.msg import Image
    channels = {'rgb8': 3, 'mono8': 1}.get(encoding, 3)
    step = width * channels if step is None else step
    data = np.full(step * height if size is None else size, 90, np.uint8)
    msg = Image(height=height, width=width, encoding=encoding, step=step,
                data=array.array('B', data.tobytes()))
    msg.header.stamp = stamp(graph.now_ns if stamp_ns is None else stamp_ns)
    return msg


def joint_state(graph, positions=None, stamp_ns=None):
    from sensor_msgs.msg import JointState
    positions = np.zeros(len(JOINTS)) if positions is None else positions
    msg = JointState(name=list(JOINTS), position=[float(p) for p in positions])
    msg.header.stamp = stamp(graph.now_ns if stamp_ns is None else stamp_ns)
    return msg


def feed(graph, skip=(), cameras=None):
    """Publish a fresh frame per camera and a fresh joint state, except the sources in skip."""
    cameras = cameras or {}
    for name in CAMERAS:
        if name not in skip:
            graph.publish(f'/{name}/image_raw', cameras.get(name) or image(graph))
    if 'joint_states' not in skip:
        graph.publish('/joint_states', joint_state(graph))


def publish_prompt(graph, text):
    """Publish on ~/prompt latched, as the node's subscription requires."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String
    graph.publish(f'{NODE}/prompt', String(data=text), qos=QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))


def chunks(graph):
    return graph.published(f'{NODE}/action_chunk')


def diagnostics(graph):
    status = graph.published('/diagnostics')[-1].status[0]
    return status, {kv.key: kv.value for kv in status.values}


def active_node(graph, checkpoint, **params):
    from rclpy.lifecycle import TransitionCallbackReturn
    node = make_policy_node(graph, checkpoint, **params)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    return node


def test_full_loop_publishes_a_wire_valid_chunk_that_the_executor_follows(graph, checkpoint):
    from pi05_ros.nodes.executor_node import ExecutorNode
    node = active_node(graph, checkpoint)
    graph.param_overrides['pi05_executor'] = {'profile': 'demo', 'engage_policy_on_start': True}
    graph.remaps['pi05_executor'] = {'~/action_chunk': f'{NODE}/action_chunk'}
    executor = ExecutorNode()
    graph.publish('/joint_states', joint_state(graph))
    graph.advance(PERIOD)
    feed(graph)
    observation_ns = graph.now_ns
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1
    from pi05_ros.policy.profiles import load_profile
    profile = load_profile('demo')
    wire = from_cdr(to_cdr(chunks(graph)[0]), 'trajectory_msgs/msg/JointTrajectory')
    assert list(wire.joint_names) == JOINTS and len(wire.points) == profile.chunk_rows
    assert wire.header.stamp.sec * 10**9 + wire.header.stamp.nanosec == observation_ns
    times = [p.time_from_start.sec * 10**9 + p.time_from_start.nanosec for p in wire.points]
    assert times == [(k + 1) * profile.control_dt_ns for k in range(profile.chunk_rows)]
    assert np.isfinite(np.array([p.positions for p in wire.points])).all()
    status, values = diagnostics(graph)
    assert status.level == status.OK
    assert values['chunks_published'] == '1' and values['no_chunk_reason'] == 'none'
    assert values['model.profile'] == 'demo' and len(values['model.weights_sha256']) == 64
    for key in ('node_assemble_ms', 'policy_infer_ms', 'node_to_msg_ms', 'policy.model'):
        assert float(values[f'latency_ms.{key}']) >= 0.0
    assert executor.counters['chunks_received'] == 1
    assert executor.last_chunk_result == 'accepted', executor.last_chunk_result
    graph.advance(0.01)
    graph.fire_timers(executor)
    assert graph.published('/forward_position_controller/commands')


def noisy_frames(graph, seed):
    """Make a 640x480 rgb8 frame of random pixels per camera (the resize has work to do)."""
    from sensor_msgs.msg import Image
    rng = np.random.default_rng(seed)
    out = {}
    for name in CAMERAS:
        pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
        msg = Image(height=480, width=640, encoding='rgb8', step=640 * 3,
                    data=array.array('B', pixels.tobytes()))
        msg.header.stamp = stamp(graph.now_ns)
        out[name] = msg
    return out


def test_frames_are_prepared_on_arrival_and_not_resized_again_in_the_cycle(graph, checkpoint):
    node = active_node(graph, checkpoint)
    assert node.params['prepare_frames_on_arrival'] is True
    transforms, cache = node._policy.transforms, node._cache
    graph.advance(PERIOD)
    feed(graph, cameras=noisy_frames(graph, 0))
    for name in CAMERAS:  # converted and resized in the camera callback
        assert transforms.is_prepared(name, cache.image(name))
    conversions, resizes = cache.conversions, transforms.images_prepared
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1
    assert cache.conversions == conversions and transforms.images_prepared == resizes


def test_frames_are_not_prepared_while_inactive_or_when_disabled(graph, checkpoint):
    node = make_policy_node(graph, checkpoint, prepare_frames_on_arrival=False)
    node.trigger_configure()
    feed(graph)
    node.trigger_activate()
    graph.advance(PERIOD)
    feed(graph)
    assert node._policy.transforms.images_prepared == 0 and node._cache.conversions == 0
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1 and node._policy.transforms.images_prepared == 3


def test_malformed_frame_on_arrival_is_reported_by_the_cycle(graph, checkpoint):
    node = active_node(graph, checkpoint)
    graph.advance(PERIOD)
    feed(graph, cameras={'cam_high': image(graph, size=10)})  # data too short: swallowed
    graph.fire_timers(node)
    assert not chunks(graph)
    assert "camera 'cam_high': malformed image" in diagnostics(graph)[1]['no_chunk_reason']


def test_chunks_are_identical_with_and_without_preparing_on_arrival(graph, checkpoint):
    node = active_node(graph, checkpoint)
    positions = {}
    for prepare in (True, False, True):
        node.params['prepare_frames_on_arrival'] = prepare
        graph.advance(PERIOD)
        feed(graph, cameras=noisy_frames(graph, 7))  # same pixels, new messages
        node._policy._generator.manual_seed(3)  # same noise
        resizes = node._policy.transforms.images_prepared
        graph.fire_timers(node)
        assert node._policy.transforms.images_prepared - resizes == (0 if prepare else 3)
        positions.setdefault(prepare, []).append(
            np.array([p.positions for p in chunks(graph)[-1].points]))
    np.testing.assert_array_equal(positions[True][0], positions[False][0])
    np.testing.assert_array_equal(positions[True][1], positions[False][0])


def test_compressed_cameras_read_the_image_transport_topic(graph, checkpoint):
    import cv2
    from sensor_msgs.msg import CompressedImage
    node = active_node(graph, checkpoint, **{
        'cameras.cam_high.transport': 'compressed',  # profile topic: + /compressed
        'cameras.cam_left_wrist.transport': 'compressed',
        'cameras.cam_left_wrist.topic': '/left/jpeg'})  # an explicit topic is kept as is
    assert node.camera_topic('cam_high') == 'cam_high/image_raw/compressed'  # relative
    assert node.camera_topic('cam_left_wrist') == '/left/jpeg'
    assert node.camera_topic('cam_right_wrist') == 'cam_right_wrist/image_raw'
    ok, jpeg = cv2.imencode('.jpg', np.full((48, 64, 3), 90, np.uint8))
    assert ok
    graph.advance(PERIOD)
    for topic in ('/cam_high/image_raw/compressed', '/left/jpeg'):
        msg = CompressedImage(format='rgb8; jpeg compressed bgr8',
                              data=array.array('B', jpeg.tobytes()))
        msg.header.stamp = stamp(graph.now_ns)
        graph.publish(topic, msg)
    graph.publish('/cam_right_wrist/image_raw', image(graph))
    graph.publish('/joint_states', joint_state(graph))
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1, node.stats.no_chunk_reasons


def test_failure_inputs_give_reasons_and_recover_by_themselves(graph, checkpoint):
    node = active_node(graph, checkpoint, **{'observation.max_image_age': 0.15,
                                             'observation.max_joint_state_age': 0.15})
    cases = [  # name, what is fed during the failure, expected reason
        ('camera silent', {'skip': ['cam_left_wrist']}, "'cam_left_wrist'"),
        ('joint states stale', {'skip': ['joint_states']}, 'joint states stale'),
        ('wrong size for encoding', {'cameras': {'cam_high': {'size': 100}}},
         'malformed image'),
        ('unknown encoding', {'cameras': {'cam_right_wrist': {'encoding': 'bayer_foo8'}}},
         'unsupported encoding'),
        ('empty prompt', {'prompt': '   '}, 'empty prompt'),
    ]
    feed(graph)
    for name, inputs, reason in cases:
        published = len(chunks(graph))
        if 'prompt' in inputs:
            publish_prompt(graph, inputs['prompt'])
        for _ in range(2):  # one period is enough for a skipped source to go stale
            graph.advance(PERIOD)
            cameras = {k: image(graph, **v) for k, v in inputs.get('cameras', {}).items()}
            feed(graph, skip=inputs.get('skip', ()), cameras=cameras)
            graph.fire_timers(node)
        assert len(chunks(graph)) == published, name
        status, values = diagnostics(graph)
        assert status.level == status.WARN, name
        assert reason in values['no_chunk_reason'], (name, values['no_chunk_reason'])
        if 'prompt' in inputs:
            publish_prompt(graph, 'wipe the table')  # the operator fixes it
        graph.advance(PERIOD)
        feed(graph)
        graph.fire_timers(node)
        assert len(chunks(graph)) == published + 1, f'{name}: did not recover'
        assert diagnostics(graph)[1]['no_chunk_reason'] == 'none'
    assert int(diagnostics(graph)[1]['cycles_without_chunk']) == 2 * len(cases)


def test_inference_error_is_reported_not_raised(graph, checkpoint):
    node = active_node(graph, checkpoint)
    publish_prompt(graph, ' '.join(['word'] * 400))  # more tokens than the model takes
    feed(graph)
    graph.fire_timers(node)
    assert not chunks(graph)
    status, values = diagnostics(graph)
    assert 'inference failed' in values['no_chunk_reason']
    assert node.get_logger().text('ERROR')


def test_lifecycle_gates_publishing(graph, checkpoint):
    node = make_policy_node(graph, checkpoint)
    assert not graph.subscriptions_on('/joint_states')  # nothing before configure
    node.trigger_configure()
    assert graph.subscriptions_on('/joint_states')
    feed(graph)
    graph.fire_timers(node)
    assert not chunks(graph)  # inactive: no inference
    assert diagnostics(graph)[1]['lifecycle_state'] == 'inactive'
    node.trigger_activate()
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1
    node.trigger_deactivate()
    feed(graph)
    graph.fire_timers(node)
    assert len(chunks(graph)) == 1
    node.trigger_cleanup()
    assert not graph.subscriptions_on('/joint_states')
    assert not graph.publishers_on(f'{NODE}/action_chunk')
    node.trigger_shutdown()
    assert lifecycle_state(node) == 'finalized'


def test_failed_configure_is_reported_and_can_be_retried(graph, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn
    node = make_policy_node(graph, str(tmp_path / 'missing'))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert lifecycle_state(node) == 'unconfigured'
    status, values = diagnostics(graph)
    assert status.level == status.ERROR and 'configure failed' in status.message
    assert 'missing' in status.message
    assert not graph.subscriptions_on('/joint_states')
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE  # no crash loop


def test_slow_cycles_are_counted_as_skipped(graph, checkpoint):
    node = active_node(graph, checkpoint)
    graph.fire_timers(node)
    graph.advance(3 * PERIOD)  # the timer could not fire for two periods
    graph.fire_timers(node)
    graph.advance(PERIOD)
    graph.fire_timers(node)
    assert diagnostics(graph)[1]['skipped_cycles'] == '2'


def test_main_autostarts_and_tears_down(graph, checkpoint):
    import rclpy
    from pi05_ros.nodes import policy_node
    rclpy.try_shutdown()
    graph.param_overrides['pi05_policy'] = {
        'profile': 'demo', 'checkpoint_dir': checkpoint, 'warmup_iterations': 1,
        'autostart': True}
    policy_node.main(args=[])
    node = graph.nodes[-1]
    assert lifecycle_state(node) == 'active'
    assert not rclpy.ok()
    assert all(p.destroyed for p in graph.publishers)
