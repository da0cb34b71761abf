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
What the policy node adds beyond model time, from the newest camera frame to its chunk.

Three 640x480 rgb8 frames and a joint state go through the node's subscription callbacks (the
rclpy fakes of test/ros_fakes.py, so no ROS is needed), then one inference cycle runs and
publishes the chunk. Per stage: median and p99 over the cycles. The node's overhead is the
whole path minus the network's own time (``model``). The baseline is the same work done
directly on the ROS-free core (cache -> policy.infer -> JointTrajectory), as replay does it;
the ratio shows what the node wrapper itself costs.

Part 1 (breakdown) has every frame arrive at once just before the cycle, with
``prepare_frames_on_arrival`` off, so every stage runs inside the cycle. Part 2 is the realistic
case: unsynchronised cameras whose frames arrive spread over one frame period, the inference
cycle running right after the newest frame; it reports "newest frame -> chunk published minus
model time" with ``prepare_frames_on_arrival`` off (baseline: the older frames are converted and
resized in the cycle) and on (they were prepared in their callbacks), cycles interleaved.

Not included: the wait for the inference timer (up to one period of ``inference_rate_hz``)
and DDS transport. The fake publisher serializes every message to CDR with rosbags, which
stands in for rmw's serialization.

    PYTHONPATH=. python bench/node_overhead.py [--cycles 30] [--num-steps 1] [--fps 30]
"""

import argparse
import array
from pathlib import Path
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test'))

from ros_fakes import install_fake_ros, stamp  # noqa: E402, I100

CAMERAS = ('cam_high', 'cam_left_wrist', 'cam_right_wrist')
JOINTS = ('joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6', 'gripper')
HEIGHT, WIDTH = 480, 640


class _Patch:
    """The two monkeypatch methods install_fake_ros needs, without pytest."""

    def setitem(self, mapping, key, value):
        mapping[key] = value

    def delitem(self, mapping, key):
        del mapping[key]

    def delattr(self, obj, name, raising=True):  # noqa: A003 -- monkeypatch's name
        if hasattr(obj, name):
            delattr(obj, name)


def frames(graph, rng) -> list:
    from sensor_msgs.msg import Image
    out = []
    for _ in CAMERAS:
        pixels = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        msg = Image(height=HEIGHT, width=WIDTH, encoding='rgb8', step=WIDTH * 3,
                    data=array.array('B', pixels.tobytes()))
        msg.header.stamp = stamp(graph.now_ns)
        out.append(msg)
    return out


def joint_state(graph):
    from sensor_msgs.msg import JointState
    msg = JointState(name=list(JOINTS), position=[0.0] * len(JOINTS))
    msg.header.stamp = stamp(graph.now_ns)
    return msg


def node_cycle(graph, node, images, state) -> Dict[str, float]:
    """One frame-to-chunk path through the node; stage times in ms."""
    start = time.perf_counter()
    graph.publish('/joint_states', state)
    for name, msg in zip(CAMERAS, images):  # the newest frame is the last one
        graph.publish(f'/{name}/image_raw', msg)
    callbacks = (time.perf_counter() - start) * 1e3
    published = len(graph.published('/pi05_policy/action_chunk'))
    fired = time.perf_counter()
    graph.fire_timers(node)
    timer_ms = (time.perf_counter() - fired) * 1e3
    if len(graph.published('/pi05_policy/action_chunk')) != published + 1:
        raise RuntimeError(f'no chunk: {node.stats.no_chunk_reasons}')
    timing = node.stats.timing_ms
    total = callbacks + timing['cycle_ms']  # the chunk is out at the end of cycle_ms
    stages = {
        'subscription callbacks (3 frames + joints)': callbacks,
        'assemble: staleness checks + 3 image conversions': timing['node_assemble_ms'],
        'policy preprocess (resize, tokenize, normalize)': timing['policy.preprocess'],
        'policy postprocess (unnormalize, to robot)': timing['policy.postprocess'],
        'chunk -> JointTrajectory': timing['node_to_msg_ms'],
        'publish (incl. CDR serialization)': timing['node_publish_ms'],
        'model (network, excluded)': timing['policy.model'],
        'total frame -> chunk published': total,
        'after publish: /diagnostics (not in total)': timer_ms - timing['cycle_ms'],
    }
    stages['node overhead = total - model'] = total - timing['policy.model']
    stages["node's own stages (callbacks, assemble, msg, publish)"] = (
        callbacks + timing['node_assemble_ms'] + timing['node_to_msg_ms']
        + timing['node_publish_ms'])
    return stages


def direct_cycle(cache, policy, types, images, state, now_ns) -> Dict[str, float]:
    """Do the same work on the ROS-free core, without the node (baseline)."""
    from pi05_ros.messages.trajectory import chunk_to_joint_trajectory
    start = time.perf_counter()
    cache.put_joint_state(state, now_ns)
    for name, msg in zip(CAMERAS, images):
        cache.put_image(name, msg, now_ns)
    observation = cache.assemble(now_ns)
    chunk = policy.infer(observation)
    chunk_to_joint_trajectory(chunk, types)
    total = (time.perf_counter() - start) * 1e3
    return {'total': total, 'overhead': total - chunk.timing_ms['model']}


def arrival_cycle(graph, node, images, state, frame_period_s: float,
                  prepare_on_arrival: bool) -> Dict[str, float]:
    """Cameras one after the other over a frame period; the cycle right after the newest frame."""
    from ros_fakes import stamp as to_stamp
    node.params['prepare_frames_on_arrival'] = prepare_on_arrival
    transforms = node._policy.transforms
    state.header.stamp = to_stamp(graph.now_ns)
    graph.publish('/joint_states', state)
    for name, msg in zip(CAMERAS[:-1], images[:-1]):  # older frames (prepared on arrival if on)
        msg.header.stamp = to_stamp(graph.now_ns)
        graph.publish(f'/{name}/image_raw', msg)
        graph.advance(frame_period_s / len(CAMERAS))
    newest = images[-1]
    newest.header.stamp = to_stamp(graph.now_ns)
    published = len(graph.published('/pi05_policy/action_chunk'))
    start = time.perf_counter()
    graph.publish(f'/{CAMERAS[-1]}/image_raw', newest)
    callback = (time.perf_counter() - start) * 1e3
    resizes = transforms.images_prepared
    graph.fire_timers(node)
    resizes = transforms.images_prepared - resizes
    if len(graph.published('/pi05_policy/action_chunk')) != published + 1:
        raise RuntimeError(f'no chunk: {node.stats.no_chunk_reasons}')
    timing = node.stats.timing_ms
    return {
        'newest frame callback (put + prepare if on)': callback,
        'assemble (conversions not done yet)': timing['node_assemble_ms'],
        'policy preprocess (resizes not done yet)': timing['policy.preprocess'],
        'postprocess + JointTrajectory + publish': (
            timing['policy.postprocess'] + timing['node_to_msg_ms'] + timing['node_publish_ms']),
        'resizes run in the cycle (count)': float(resizes),
        'model (network, excluded)': timing['policy.model'],
        'newest frame -> chunk published - model': (
            callback + timing['cycle_ms'] - timing['policy.model']),
    }


def summarize(samples: List[Dict[str, float]]) -> Dict[str, tuple]:
    return {key: (float(np.median([s[key] for s in samples])),
                  float(np.percentile([s[key] for s in samples], 99)))
            for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cycles', type=int, default=30)
    parser.add_argument('--num-steps', type=int, default=1,
                        help='flow steps of the tiny demo model (model time is excluded)')
    parser.add_argument('--torch-threads', type=int, default=1)
    parser.add_argument('--fps', type=float, default=30.0,
                        help='camera rate of part 2: frames arrive spread over 1 / fps')
    args = parser.parse_args()

    graph = install_fake_ros(_Patch())
    import rclpy
    from builtin_interfaces.msg import Duration, Time
    from pi05_ros.messages.trajectory import JointTrajectoryTypes
    from pi05_ros.nodes.policy_node import PolicyNode
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    rclpy.init()

    checkpoint = make_demo_checkpoint(tempfile.mkdtemp(prefix='pi05_bench_'), 'demo')
    graph.param_overrides['pi05_policy'] = {
        'profile': 'demo', 'checkpoint_dir': str(checkpoint), 'warmup_iterations': 2,
        'num_steps': args.num_steps, 'torch_threads': args.torch_threads}
    node = PolicyNode()
    node.trigger_configure()
    node.trigger_activate()
    cache, policy = node._cache, node._policy  # the node's own core objects, for the baseline
    types = JointTrajectoryTypes(JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)

    rng = np.random.default_rng(0)
    node_samples, direct_samples = [], []
    node.params['prepare_frames_on_arrival'] = False  # part 1: everything inside the cycle
    for _ in range(args.cycles):
        graph.advance(0.1)
        images, state = frames(graph, rng), joint_state(graph)
        node_samples.append(node_cycle(graph, node, images, state))
        graph.advance(0.1)
        images, state = frames(graph, rng), joint_state(graph)
        direct_samples.append(direct_cycle(cache, policy, types, images, state, graph.now_ns))

    node_stats, direct_stats = summarize(node_samples), summarize(direct_samples)
    print(f'policy node, 3 x {WIDTH}x{HEIGHT} rgb8, demo model, {args.cycles} cycles '
          f'(ms; baseline = ROS-free core doing the same work)')
    print(f'{"stage":56s} {"median":>9s} {"p99":>9s}')
    for key, (median, p99) in node_stats.items():
        print(f'{key:56s} {median:9.3f} {p99:9.3f}')
    base_median, base_p99 = direct_stats['overhead']
    node_median, node_p99 = node_stats['node overhead = total - model']
    print(f'{"baseline: core overhead (total - model)":56s} {base_median:9.3f} {base_p99:9.3f}')
    print(f'{"ratio node overhead / baseline":56s} {node_median / base_median:9.2f} '
          f'{node_p99 / base_p99:9.2f}')
    print(f'{"node wrapper cost (node - baseline overhead)":56s} '
          f'{node_median - base_median:9.3f} {node_p99 - base_p99:9.3f}')

    arrival: Dict[bool, List[Dict[str, float]]] = {False: [], True: []}
    for i in range(2 * args.cycles):  # interleaved, so machine load hits both alike
        graph.advance(0.2)
        arrival[i % 2 == 1].append(arrival_cycle(graph, node, frames(graph, rng),
                                                 joint_state(graph), 1.0 / args.fps,
                                                 prepare_on_arrival=i % 2 == 1))
    off, on = summarize(arrival[False]), summarize(arrival[True])
    print()
    print(f'realistic: 3 unsynchronised cameras at {args.fps:g} fps (frames '
          f'{1e3 / args.fps / len(CAMERAS):.1f} ms apart), cycle right after the newest frame; '
          f'{args.cycles} cycles each, interleaved (ms)')
    print(f'{"prepare_frames_on_arrival":44s} {"off median":>10s} {"off p99":>8s} '
          f'{"on median":>10s} {"on p99":>8s} {"on/off":>7s}')
    for key in off:
        ratio = on[key][0] / off[key][0] if off[key][0] else float('nan')
        print(f'{key:44s} {off[key][0]:10.3f} {off[key][1]:8.3f} {on[key][0]:10.3f} '
              f'{on[key][1]:8.3f} {ratio:7.2f}')
    node.trigger_deactivate()
    node.trigger_cleanup()
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
