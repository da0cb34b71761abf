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
Cost of ``ModeSwitch.tick`` for 14 joints at 500 Hz in POLICY and TELEOP mode.

The POLICY switch receives the chunk stream of ``bench/executor_tick.py`` (a 50-row, 50 Hz chunk
every 0.2-0.5 s, 100-300 ms inference delay). The TELEOP switch follows a 500 Hz leader stream
(slow sines on every joint, 0.1-0.3 rad), starting with the handover ramp. The baseline is
``TrajectoryExecutor.tick`` alone on the same chunk stream. All three are ticked in one loop, one
after the other every period, so they share the machine's state; every call is timed with
perf_counter. The table gives median and p99 in microseconds and the ratio of the medians to the
baseline's.

    PYTHONPATH=. python bench/mode_switch_tick.py [--seconds 20]
"""

import argparse
import time
from typing import Dict, List, Tuple

from executor_tick import chunk_stream, MS, NAMES, NUM_JOINTS  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import Mode, ModeSwitch

PERIOD_NS = 2 * MS  # 500 Hz


def leader(now_ns: int, frequency: np.ndarray, amplitude: np.ndarray) -> List[float]:
    seconds = now_ns * 1e-9
    return list(amplitude * np.sin(2 * np.pi * frequency * seconds))


def run(seconds: float) -> Tuple[Dict[str, List[float]], Dict[str, Dict[str, int]]]:
    limits = JointLimits(NAMES, -3.0, 3.0, 2.0, 10.0)
    config = ExecutorConfig(interpolation='cubic')
    zeros = np.zeros(NUM_JOINTS)
    baseline = TrajectoryExecutor(limits, config)
    baseline.update_joint_state(zeros, 0)
    policy = ModeSwitch(limits, TrajectoryExecutor(limits, config), zeros)
    policy.joint_state(NAMES, zeros, 0)
    assert policy.engage_policy(True, 0).success
    teleop = ModeSwitch(limits, TrajectoryExecutor(limits, config), zeros)
    rng = np.random.default_rng(1)
    frequency, amplitude = rng.uniform(0.2, 0.5, NUM_JOINTS), rng.uniform(0.1, 0.3, NUM_JOINTS)
    teleop.teleop_sample(NAMES, leader(0, frequency, amplitude), 0)
    assert teleop.request_teleop(0).success
    stream = chunk_stream(seconds)
    timings: Dict[str, List[float]] = {'executor': [], 'policy': [], 'teleop': []}
    sources: Dict[str, Dict[str, int]] = {'policy': {}, 'teleop': {}}
    clock, pending = time.perf_counter, 0
    for now in range(PERIOD_NS, int(seconds * 1e9), PERIOD_NS):
        baseline.update_joint_state(zeros, now)
        policy.joint_state(NAMES, zeros, now)
        teleop.teleop_sample(NAMES, leader(now, frequency, amplitude), now)
        while pending < len(stream) and stream[pending][0] <= now:
            baseline.submit(stream[pending][1], now)
            policy.submit_chunk(stream[pending][1], now)
            pending += 1
        for name, tick in (('executor', baseline.tick), ('policy', policy.tick),
                           ('teleop', teleop.tick)):
            start = clock()
            result = tick(now)
            timings[name].append(clock() - start)
            if name in sources:
                sources[name][result.source] = sources[name].get(result.source, 0) + 1
    assert policy.mode == Mode.POLICY and teleop.mode == Mode.TELEOP
    return timings, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='simulated stream length')
    args = parser.parse_args()
    timings, sources = run(args.seconds)
    micro = {name: np.array(values) * 1e6 for name, values in timings.items()}
    baseline = float(np.median(micro['executor']))
    print(f'{NUM_JOINTS} joints, 500 Hz ticks over {args.seconds:.0f} s; baseline = '
          f'TrajectoryExecutor.tick alone, median {baseline:.2f} us')
    for mode in ('policy', 'teleop'):
        share = ', '.join(f'{k} {v}' for k, v in sorted(sources[mode].items()))
        print(f'  {mode.upper()} switch ticks by source: {share}')
    print(f'{"call":<32}{"n":>7}{"median us":>11}{"p99 us":>10}{"x baseline":>12}')
    rows = (('TrajectoryExecutor.tick', 'executor'), ('ModeSwitch.tick POLICY', 'policy'),
            ('ModeSwitch.tick TELEOP', 'teleop'))
    for label, name in rows:
        median = float(np.median(micro[name]))
        print(f'{label:<32}{micro[name].size:>7}{median:>11.2f}'
              f'{np.percentile(micro[name], 99):>10.2f}{median / baseline:>12.2f}')


if __name__ == '__main__':
    main()
