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
Bag reading for replay: three 640x480 camera streams at 30 fps, read + converted to RGB.

For each storage (mcap, sqlite3) and encoding (rgb8 and bgr8 Images; JPEG CompressedImages as
image_transport records them) it times, over the same bag:

* ``raw read``: CDR bytes out of the bag (the baseline: what the storage costs),
* ``read + deserialize``: rosbags message objects,
* ``read + deserialize + to RGB``: every frame converted (``pi05_ros.messages.message_to_rgb``),
* ``replay``: what replay does: every message read and deserialized, but a camera's frame
  converted only when a 5 Hz inference uses it (the observation cache converts lazily).

It prints per-message median and p99 (ms), messages per second, the real-time factor (messages
per second / 90, three cameras at 30 fps; the target is >= 10x) and the ratio to the baseline.

    PYTHONPATH=. python bench/bag_reading.py [--seconds 3] [--repeats 3]
"""

import argparse
from pathlib import Path
import tempfile
import time
from typing import Dict, List

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.messages import message_to_rgb
from pi05_ros.replay.bag_io import BagReader
from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag

FPS = 30.0
CAMERAS = {'cam_high': '/cam_high/image_raw', 'cam_left_wrist': '/cam_left_wrist/image_raw',
           'cam_right_wrist': '/cam_right_wrist/image_raw'}
REAL_TIME_RATE = FPS * len(CAMERAS)  # messages per second of recording
INFERENCE_PERIOD_NS = 200_000_000  # replay converts a camera's frame per 5 Hz inference only


def time_pass(bag: Path, mode: str) -> Dict[str, object]:
    """Read every camera message once; per-message times (s) and the total wall time."""
    per_message: List[float] = []
    pixels = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    with BagReader(bag) as reader:
        topics = list(CAMERAS.values())
        if mode == 'raw':
            last = time.perf_counter()
            for _, _, _, raw in reader.raw_messages(topics):
                pixels += len(raw)
                now = time.perf_counter()
                per_message.append(now - last)
                last = now
        else:
            last = time.perf_counter()
            converted_ns: Dict[str, int] = {}
            for message in reader.messages(topics):
                due = message.time_ns - converted_ns.get(message.topic, -INFERENCE_PERIOD_NS)
                if mode == 'rgb' or (mode == 'replay' and due >= INFERENCE_PERIOD_NS):
                    rgb = message_to_rgb(message.msg)
                    pixels += rgb.size
                    converted_ns[message.topic] = message.time_ns
                else:
                    pixels += len(message.msg.data)
                now = time.perf_counter()
                per_message.append(now - last)
                last = now
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {'per_message': np.array(per_message), 'total': total, 'cpu': cpu,
            'count': len(per_message), 'bytes': pixels}


def run(seconds: float, repeats: int, root: Path) -> None:
    frames = int(round(seconds * FPS))
    print(f'# bag reading: 3 x 640x480 cameras, {frames} frames each ({seconds:.1f} s at '
          f'{FPS:.0f} fps), best-of-{repeats} by total time')
    print('(msg/s by wall clock, and by CPU time of this process: the machine may be shared)')
    print(f'{"storage":8} {"enc":5} {"pass":28} {"median ms":>9} {"p99 ms":>7} {"msg/s":>7} '
          f'{"x RT":>6} {"CPU msg/s":>9} {"x RT":>6} {"vs raw":>7}')
    for storage in ('mcap', 'sqlite3'):
        for encoding in ('rgb8', 'bgr8', 'jpeg'):
            spec = DemoBagSpec(joint_names=('j1', 'j2'), camera_topics=CAMERAS,
                               camera_frames=frames, camera_fps=FPS,
                               encodings=dict.fromkeys(CAMERAS, encoding))
            bag = write_demo_bag(root / f'{storage}_{encoding}', spec, storage=storage)
            baseline_rate = None
            for mode, label in (('raw', 'raw read (baseline)'),
                                ('deserialize', 'read + deserialize'),
                                ('rgb', 'read + deserialize + to RGB'),
                                ('replay', 'replay: all read, 5 Hz to RGB')):
                results = [time_pass(bag, mode) for _ in range(repeats)]
                best = min(results, key=lambda r: r['total'])
                rate = best['count'] / best['total']
                cpu_rate = best['count'] / max(best['cpu'], 1e-9)
                baseline_rate = baseline_rate or rate
                ms = best['per_message'] * 1e3
                print(f'{storage:8} {encoding:5} {label:28} {np.median(ms):9.3f} '
                      f'{np.percentile(ms, 99):7.3f} {rate:7.0f} {rate / REAL_TIME_RATE:5.1f}x '
                      f'{cpu_rate:9.0f} {cpu_rate / REAL_TIME_RATE:5.1f}x '
                      f'{baseline_rate / rate:6.2f}x')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=3.0,
                        help='recording length per bag (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dir', help='where to write the temporary bags (default: $TMPDIR)')
    args = parser.parse_args()
    print(header())
    with tempfile.TemporaryDirectory(dir=args.dir) as root:
        run(args.seconds, args.repeats, Path(root))
    print(footer())


if __name__ == '__main__':
    main()
