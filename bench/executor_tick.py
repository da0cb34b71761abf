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
Cost of the executor core for 14 joints: tick, submit, splice_trajectory.

A 14-joint stream at 500 Hz ticks receives a 50-row, 50 Hz chunk every 0.2-0.5 s with 100-300 ms
inference delay (so a large share of ticks fall inside splice blends); a second, "fast" stream
sends a chunk every 50-100 ms with 50-100 ms delay, so blends overlap (the executor then keeps at
most MAX_BLEND_DEPTH of them per tick). Every call is timed with
perf_counter; the table gives median and p99 in microseconds and the ratio to the naive baseline
(snap to the newest chunk, linear interpolation, no checks) measured in the same run.

    PYTHONPATH=. python bench/executor_tick.py [--seconds 20]
"""

import argparse
import time
from typing import Dict, List

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.baseline import SnapFollower
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits

MS = 1_000_000
NUM_JOINTS = 14
NAMES = tuple(f'joint{i}' for i in range(NUM_JOINTS))


def chunk_stream(seconds: float, seed: int = 0, period_ms=(200, 500), delay_ms=(100, 300)):
    """[(arrival_ns, chunk)] of a slowly moving 14-joint target."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.2, 0.5, NUM_JOINTS)
    amplitude = rng.uniform(0.1, 0.3, NUM_JOINTS)
    stream, stamp = [], 0
    while stamp < seconds * 1e9:
        times_s = (stamp + 20 * MS * np.arange(1, 51)) * 1e-9
        rows = amplitude * np.sin(2 * np.pi * frequency * times_s[:, None])
        rows += rng.normal(0.0, 0.01, NUM_JOINTS)
        stream.append((stamp + int(rng.uniform(*delay_ms) * MS),
                       ActionChunk(rows, stamp, 20 * MS, NAMES)))
        stamp += int(rng.uniform(*period_ms) * MS)
    return stream


def run_executor(interpolation: str, stream, seconds: float) -> Dict[str, List[float]]:
    limits = JointLimits(NAMES, -3.0, 3.0, 2.0, 10.0)
    executor = TrajectoryExecutor(limits, ExecutorConfig(interpolation=interpolation))
    executor.update_joint_state(np.zeros(NUM_JOINTS), 0)
    timings: Dict[str, List[float]] = {'tick': [], 'tick (blending)': [], 'submit': [],
                                       'splice_trajectory': []}
    clock = time.perf_counter
    pending = 0
    for now in range(2 * MS, int(seconds * 1e9), 2 * MS):
        executor.update_joint_state(np.zeros(NUM_JOINTS), now)
        while pending < len(stream) and stream[pending][0] <= now:
            start = clock()
            executor.submit(stream[pending][1], now)
            timings['submit'].append(clock() - start)
            start = clock()
            executor.splice_trajectory(now)
            timings['splice_trajectory'].append(clock() - start)
            pending += 1
        start = clock()
        command = executor.tick(now)
        elapsed = clock() - start
        timings['tick'].append(elapsed)
        if command.reason == 'blending':
            timings['tick (blending)'].append(elapsed)
    return timings


def run_baseline(stream, seconds: float) -> List[float]:
    snap = SnapFollower(np.zeros(NUM_JOINTS))
    timings, pending, clock = [], 0, time.perf_counter
    for now in range(2 * MS, int(seconds * 1e9), 2 * MS):
        while pending < len(stream) and stream[pending][0] <= now:
            snap.submit(stream[pending][1], now)
            pending += 1
        start = clock()
        snap.tick(now)
        timings.append(clock() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='simulated stream length')
    args = parser.parse_args()
    stream = chunk_stream(args.seconds)
    baseline = np.median(run_baseline(stream, args.seconds)) * 1e6
    print(f'{NUM_JOINTS} joints, 500 Hz ticks, {len(stream)} chunks over {args.seconds:.0f} s; '
          f'baseline = naive snap tick, median {baseline:.2f} us')
    print(f'{"interpolation":<14}{"call":<25}{"n":>7}{"median us":>11}{"p99 us":>10}'
          f'{"x baseline":>12}')
    print(f'{"linear":<14}{"naive snap tick":<25}{len(run_baseline(stream, 1.0)):>7}'
          f'{baseline:>11.2f}{"":>10}{1.0:>12.2f}')
    fast = chunk_stream(args.seconds, period_ms=(50, 100), delay_ms=(50, 100))
    runs = [(interpolation, '', stream) for interpolation in ('linear', 'cubic', 'quintic')]
    runs.append(('cubic', 'fast ', fast))
    for interpolation, prefix, chunks in runs:
        for name, values in run_executor(interpolation, chunks, args.seconds).items():
            micro = np.array(values) * 1e6
            median = float(np.median(micro))
            print(f'{interpolation:<14}{prefix + name:<25}{micro.size:>7}{median:>11.2f}'
                  f'{np.percentile(micro, 99):>10.2f}{median / baseline:>12.2f}')


if __name__ == '__main__':
    main()
