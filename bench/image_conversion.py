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
Image conversion throughput: three 640x480 camera streams, from ROS 2 CDR bytes to RGB.

Prints three tables:

1. per message, deserialize (rosbags) + convert, ours against a minimal OpenCV baseline that
   ignores row padding (``np.frombuffer(...).reshape(h, w, c)`` + ``cv2.cvtColor`` /
   ``cv2.imdecode``, what ``rosbags-image`` does);
2. end to end from an mcap bag on disk (read + deserialize + convert), as replay does it, with
   the real-time factor for three 30 fps streams (target: >= 10x);
3. ObservationCache: ``put_image`` and ``assemble`` for three cameras (target: the node adds
   <= 5 ms beyond model time).

Run: ``PYTHONPATH=. python bench/image_conversion.py [--frames 30] [--repeat 5]``.
"""

import argparse
from pathlib import Path
import statistics
import tempfile
import time
from types import SimpleNamespace
from typing import Callable, Dict, List, Sequence

import cv2
from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.messages import message_to_rgb, rgb_to_compressed_fields, rgb_to_image_fields
from pi05_ros.observation_cache import ObservationCache
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores

STORE = get_typestore(Stores.ROS2_HUMBLE)
IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
HEIGHT, WIDTH, FPS, STREAMS = 480, 640, 30, 3
ENCODINGS = ('rgb8', 'bgr8', 'yuv422', 'jpeg')
INFERENCE_HZ = 15.0  # a typical policy rate; replay assembles only at this rate


def synthetic_rgb(seed: int) -> np.ndarray:
    """Make a camera-like frame: smooth gradients plus noise (JPEG sizes stay realistic)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 255 // WIDTH, y * 255 // HEIGHT, (x + y + 40 * seed) % 256], axis=-1)
    noise = np.random.default_rng(seed).integers(-8, 9, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def rgb_to_uyvy(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 2) UYVY bytes via OpenCV's YUV (BT.601)."""
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)  # (H, W, 3)
    out = np.empty((HEIGHT, WIDTH // 2, 4), np.uint8)
    out[..., 0] = yuv[:, 0::2, 1]
    out[..., 1] = yuv[:, 0::2, 0]
    out[..., 2] = yuv[:, 0::2, 2]
    out[..., 3] = yuv[:, 1::2, 0]
    return out.reshape(HEIGHT, WIDTH, 2)


def make_message(encoding: str, rgb: np.ndarray, stamp_ns: int):
    header = STORE.types['std_msgs/msg/Header'](
        stamp=STORE.types['builtin_interfaces/msg/Time'](sec=stamp_ns // 10 ** 9,
                                                         nanosec=stamp_ns % 10 ** 9),
        frame_id='camera')
    if encoding == 'jpeg':
        return STORE.types[COMPRESSED](header=header, **rgb_to_compressed_fields(rgb, 'jpeg'))
    if encoding == 'yuv422':
        packed = rgb_to_uyvy(rgb)
        return STORE.types[IMAGE](header=header, height=HEIGHT, width=WIDTH, encoding='yuv422',
                                  is_bigendian=0, step=WIDTH * 2, data=packed.reshape(-1))
    return STORE.types[IMAGE](header=header, **rgb_to_image_fields(rgb, encoding))


def msgtype_of(encoding: str) -> str:
    return COMPRESSED if encoding == 'jpeg' else IMAGE


_CV_CODES = {'rgb8': None, 'bgr8': cv2.COLOR_BGR2RGB, 'yuv422': cv2.COLOR_YUV2RGB_UYVY}
_CHANNELS = {'rgb8': 3, 'bgr8': 3, 'yuv422': 2}


def baseline_to_rgb(msg, encoding: str) -> np.ndarray:
    """Minimal OpenCV conversion: ignores step and validation (rosbags-image style)."""
    if encoding == 'jpeg':
        return cv2.cvtColor(cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR),
                            cv2.COLOR_BGR2RGB)
    pixels = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width,
                                                       _CHANNELS[encoding])
    code = _CV_CODES[encoding]
    return pixels.copy() if code is None else cv2.cvtColor(pixels, code)


def time_each(function: Callable[[int], object], count: int) -> List[float]:
    """Seconds per call of ``function(i)`` for i in range(count)."""
    samples = []
    for i in range(count):
        start = time.perf_counter()
        function(i)
        samples.append(time.perf_counter() - start)
    return samples


def p99(samples: Sequence[float]) -> float:
    return float(np.percentile(samples, 99))


def row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return ' | '.join(c.ljust(w) for c, w in zip(cells, widths))


def print_table(title: str, header: Sequence[str], rows: List[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print(f'\n{title}')
    print(row(header, widths))
    print('-+-'.join('-' * w for w in widths))
    for r in rows:
        print(row(r, widths))


def bench_per_message(serialized: Dict[str, List[bytes]], repeat: int) -> None:
    rows = []
    for encoding, raws in serialized.items():
        msgtype = msgtype_of(encoding)

        def ours(i, raws=raws, msgtype=msgtype):
            message_to_rgb(STORE.deserialize_cdr(raws[i % len(raws)], msgtype))

        def baseline(i, raws=raws, msgtype=msgtype, encoding=encoding):
            baseline_to_rgb(STORE.deserialize_cdr(raws[i % len(raws)], msgtype), encoding)

        base_samples, our_samples = [], []
        for _ in range(repeat):  # interleaved, so load changes hit both alike
            base_samples += time_each(baseline, len(raws))
            our_samples += time_each(ours, len(raws))
        base_median = statistics.median(base_samples)
        for name, samples in (('baseline (cv2, no checks)', base_samples),
                              ('pi05_ros.messages', our_samples)):
            median = statistics.median(samples)
            rows.append((encoding, name, f'{median * 1e3:.2f}', f'{p99(samples) * 1e3:.2f}',
                         f'{1 / median:.0f}', f'{median / base_median:.2f}'))
    print_table('Per message: deserialize CDR + convert to RGB (640x480)',
                ('encoding', 'method', 'median ms', 'p99 ms', 'msg/s', 'x baseline'), rows)


def write_bag(path: Path, encoding: str, frames: Sequence[np.ndarray], count: int) -> None:
    writer = Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)
    with writer:
        connections = [writer.add_connection(f'/cam{s}/image', msgtype_of(encoding),
                                             typestore=STORE) for s in range(STREAMS)]
        for k in range(count):
            stamp_ns = 10 ** 9 + k * 10 ** 9 // FPS
            for s, connection in enumerate(connections):
                msg = make_message(encoding, frames[(k + s) % len(frames)], stamp_ns)
                writer.write(connection, stamp_ns,
                             STORE.serialize_cdr(msg, msgtype_of(encoding)))


def replay_bag(path: Path, convert: Callable) -> float:
    """Seconds to read, deserialize and convert every message of the bag."""
    start = time.perf_counter()
    with Reader(path) as reader:
        for connection, _, raw in reader.messages():
            convert(STORE.deserialize_cdr(raw, connection.msgtype))
    return time.perf_counter() - start


def replay_bag_through_cache(path: Path, inference_hz: float) -> float:
    """
    Time feeding the bag to an ObservationCache that assembles at ``inference_hz``.

    This is what replay does: frames that no inference uses are never converted.
    """
    cameras = [f'/cam{s}/image' for s in range(STREAMS)]
    cache = ObservationCache(cameras, ['j'], max_age_ns=10 ** 9, default_prompt='task')
    cache.put_joint_state(SimpleNamespace(name=['j'], position=[0.0]), 0)
    period_ns = int(10 ** 9 / inference_hz)
    next_ns = None
    start = time.perf_counter()
    with Reader(path) as reader:
        for connection, time_ns, raw in reader.messages():
            if next_ns is None:
                next_ns = time_ns + period_ns
            while time_ns >= next_ns:
                cache.assemble(next_ns)
                next_ns += period_ns
            cache.put_image(connection.topic, STORE.deserialize_cdr(raw, connection.msgtype),
                            time_ns)
            cache.put_joint_state(SimpleNamespace(name=['j'], position=[0.0]), time_ns)
    return time.perf_counter() - start


def bench_bag(frames: Sequence[np.ndarray], count: int, repeat: int) -> None:
    rows = []
    stream_rate = STREAMS * FPS
    with tempfile.TemporaryDirectory() as tmp:
        for encoding in ENCODINGS:
            path = Path(tmp) / encoding
            write_bag(path, encoding, frames, count)
            messages = STREAMS * count
            methods = {
                'read + deserialize only': lambda: replay_bag(path, lambda msg: None),
                'baseline (cv2, no checks)': lambda e=encoding: replay_bag(
                    path, lambda msg: baseline_to_rgb(msg, e)),
                'pi05_ros.messages, every frame': lambda: replay_bag(path, message_to_rgb),
                f'ObservationCache, {INFERENCE_HZ:g} Hz inference': lambda: (
                    replay_bag_through_cache(path, INFERENCE_HZ)),
            }
            samples = {name: [] for name in methods}
            for _ in range(repeat):  # interleaved, so load changes hit every method alike
                for name, method in methods.items():
                    samples[name].append(method())
            base_median = statistics.median(samples['baseline (cv2, no checks)'])
            for name, runs in samples.items():
                median = statistics.median(runs)
                rate = messages / median
                rows.append((encoding, name, f'{median * 1e3:.0f}', f'{max(runs) * 1e3:.0f}',
                             f'{rate:.0f}', f'{rate / stream_rate:.1f}x',
                             f'{median / base_median:.2f}'))
            for child in path.iterdir():
                child.unlink()
            path.rmdir()
    print_table(f'mcap bag, {STREAMS} streams x {count} frames (median / max of {repeat} runs); '
                f'real time = {stream_rate} msg/s',
                ('encoding', 'method', 'median ms', 'max ms', 'msg/s', 'x real time',
                 'x baseline'), rows)


def bench_cache(frames: Sequence[np.ndarray], count: int) -> None:
    cameras = ('base', 'left_wrist', 'right_wrist')
    joints = tuple(f'joint_{i}' for i in range(7)) + ('gripper',)
    joint_state = STORE.types['sensor_msgs/msg/JointState'](
        header=make_message('rgb8', frames[0], 0).header, name=list(joints),
        position=np.zeros(len(joints)), velocity=np.zeros(0), effort=np.zeros(0))
    rows = []
    for encoding in ('rgb8', 'jpeg'):
        msgs = [STORE.deserialize_cdr(STORE.serialize_cdr(make_message(encoding, f, 0),
                                                          msgtype_of(encoding)),
                                      msgtype_of(encoding)) for f in frames]
        cache = ObservationCache(cameras, joints, max_age_ns=10 ** 9, max_skew_ns=10 ** 8,
                                 default_prompt='pick up the cup')

        def put_all(i, cache=cache, msgs=msgs):
            for c, camera in enumerate(cameras):
                cache.put_image(camera, msgs[(i + c) % len(msgs)], i * 1000)
            cache.put_joint_state(joint_state, i * 1000)

        put = time_each(put_all, count)
        fresh, baseline = [], []
        for _ in range(count // 10):  # interleaved, so load changes hit both alike
            fresh += time_each(lambda i: (put_all(i), cache.assemble(i * 1000)), 10)
            baseline += time_each(lambda i, msgs=msgs, e=encoding: [
                baseline_to_rgb(msgs[(i + c) % len(msgs)], e) for c in range(len(cameras))], 10)
        cached = time_each(lambda i: cache.assemble(10 * 1000), count)
        base_median = statistics.median(baseline)
        for name, samples in (('3x baseline conversion (reference)', baseline),
                              ('put_image x3 + put_joint_state', put),
                              ('put + assemble (3 new frames)', fresh),
                              ('assemble (frames already converted)', cached)):
            median = statistics.median(samples)
            rows.append((encoding, name, f'{median * 1e3:.3f}', f'{p99(samples) * 1e3:.3f}',
                         f'{median / base_median:.2f}'))
    print_table('ObservationCache, 3 cameras 640x480 + 8 joints',
                ('encoding', 'operation', 'median ms', 'p99 ms', 'x baseline'), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=30, help='frames per stream in the bag')
    parser.add_argument('--repeat', type=int, default=5, help='repetitions per measurement')
    args = parser.parse_args()
    cv2.setNumThreads(1)  # what one replay worker / inference thread gets; comparable runs
    print(header())
    frames = [synthetic_rgb(seed) for seed in range(6)]
    serialized = {e: [STORE.serialize_cdr(make_message(e, f, 0), msgtype_of(e)) for f in frames]
                  for e in ENCODINGS}
    jpeg_kb = statistics.mean(len(r) for r in serialized['jpeg']) / 1024
    print(f'numpy {np.__version__}, OpenCV {cv2.__version__} (1 thread); '
          f'JPEG frames ~{jpeg_kb:.0f} KiB at quality 90')
    bench_per_message(serialized, args.repeat * 5)
    bench_bag(frames, args.frames, args.repeat)
    bench_cache(frames, 50 * args.repeat)
    print(footer())


if __name__ == '__main__':
    main()
