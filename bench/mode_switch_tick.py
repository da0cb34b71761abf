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
Cost of ``ModeSwitch.tick`` at 7 and 14 joints, 500 Hz, in POLICY and TELEOP, new vs baseline.

The POLICY switch receives the steady chunk stream of ``bench/executor_tick.py`` (a 50-row,
50 Hz chunk every 0.2-0.5 s, 100-300 ms inference delay). The TELEOP switch follows a 500 Hz
leader stream (slow sines on every joint, 0.1-0.3 rad), starting with the handover ramp. Each
runs for the new executor and mode switch (this tree; limits v 2, a 10, j 4000) and for the
baseline (pi05_ros/control of git ``--baseline-rev``, loaded at run time; v 2, a 10), together
with ``TrajectoryExecutor.tick`` alone on the same chunk stream. All are ticked in one loop,
one after the other every period, so they share the machine's state; every call is timed with
perf_counter. The table gives median and p99 in microseconds and the ratio new / baseline.

    PYTHONPATH=. python bench/mode_switch_tick.py [--seconds 20] [--baseline-rev 72b19e4]
"""

import argparse
import time
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from executor_tick import (  # bench/ is sys.path[0]
    baseline_or_none, cell, chunk_rows, DEFAULT_BASELINE_REV, make_limits, MAX_JERK,
    MS, ROW_NS, stats)
from machine import footer, header
import numpy as np
from pi05_ros.control import action_chunk as new_action_chunk
from pi05_ros.control import executor as new_executor
from pi05_ros.control import limits as new_limits
from pi05_ros.control import mode_switch as new_mode_switch

PERIOD_NS = 2 * MS  # 500 Hz
CALLS = (('TrajectoryExecutor.tick', 'executor'), ('ModeSwitch.tick POLICY', 'policy'),
         ('ModeSwitch.tick TELEOP', 'teleop'))


def leader(now_ns: int, frequency: np.ndarray, amplitude: np.ndarray) -> List[float]:
    seconds = now_ns * 1e-9
    return list(amplitude * np.sin(2 * np.pi * frequency * seconds))


def switches(modules: Dict[str, ModuleType], num_joints: int, jerk: Optional[float],
             frequency: np.ndarray, amplitude: np.ndarray):
    """(executor alone, POLICY switch, TELEOP switch) of one implementation, started."""
    limits = make_limits(modules['limits'], num_joints, jerk)
    names = limits.joint_names
    executor_module, mode_switch = modules['executor'], modules['mode_switch']
    config = executor_module.ExecutorConfig(interpolation='cubic')
    zeros = np.zeros(num_joints)
    alone = executor_module.TrajectoryExecutor(limits, config)
    alone.update_joint_state(zeros, 0)
    policy = mode_switch.ModeSwitch(limits, executor_module.TrajectoryExecutor(limits, config),
                                    zeros)
    policy.joint_state(names, zeros, 0)
    assert policy.engage_policy(True, 0).success
    teleop = mode_switch.ModeSwitch(limits, executor_module.TrajectoryExecutor(limits, config),
                                    zeros)
    teleop.joint_state(names, zeros, 0)
    teleop.teleop_sample(names, leader(0, frequency, amplitude), 0)
    assert teleop.request_teleop(0).success
    return alone, policy, teleop


def run(num_joints: int, seconds: float, baseline: Optional[Dict[str, ModuleType]]
        ) -> Tuple[Dict[Tuple[str, str], List[float]], Dict[Tuple[str, str], Dict[str, int]]]:
    """Return timings {(impl, call): [s]} and tick sources {(impl, mode): counts}."""
    rng = np.random.default_rng(1)
    frequency = rng.uniform(0.2, 0.5, num_joints)
    amplitude = rng.uniform(0.1, 0.3, num_joints)
    implementations = [('new', {'limits': new_limits, 'executor': new_executor,
                                'mode_switch': new_mode_switch,
                                'action_chunk': new_action_chunk}, MAX_JERK)]
    if baseline is not None:
        implementations.append(('baseline', baseline, None))
    rows = chunk_rows(seconds, num_joints)
    names = tuple(f'joint{i}' for i in range(num_joints))
    runs = []
    for label, modules, jerk in implementations:
        chunk_type = modules['action_chunk'].ActionChunk
        chunks = [chunk_type(r, stamp, ROW_NS, names) for _, stamp, r in rows]
        runs.append((label, chunks) + switches(modules, num_joints, jerk, frequency, amplitude))
    timings = {(label, name): [] for label, *_ in runs for _, name in CALLS}
    sources = {(label, name): {} for label, *_ in runs for name in ('policy', 'teleop')}
    clock, pending, zeros = time.perf_counter, 0, np.zeros(num_joints)
    for now in range(PERIOD_NS, int(seconds * 1e9), PERIOD_NS):
        arrived = []
        while pending < len(rows) and rows[pending][0] <= now:
            arrived.append(pending)
            pending += 1
        for label, chunks, alone, policy, teleop in runs:
            alone.update_joint_state(zeros, now)
            policy.joint_state(names, zeros, now)
            teleop.joint_state(names, zeros, now)
            teleop.teleop_sample(names, leader(now, frequency, amplitude), now)
            for index in arrived:
                alone.submit(chunks[index], now)
                policy.submit_chunk(chunks[index], now)
            for name, tick in (('executor', alone.tick), ('policy', policy.tick),
                               ('teleop', teleop.tick)):
                start = clock()
                result = tick(now)
                timings[(label, name)].append(clock() - start)
                if name != 'executor':
                    counts = sources[(label, name)]
                    counts[result.source] = counts.get(result.source, 0) + 1
    return timings, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='simulated stream length')
    parser.add_argument('--baseline-rev', default=DEFAULT_BASELINE_REV,
                        help='git revision whose pi05_ros/control is the baseline')
    parser.add_argument('--joints', type=int, nargs='+', default=[7, 14],
                        help='joint counts to measure')
    args = parser.parse_args()
    baseline, description = baseline_or_none(args.baseline_rev)
    print(header())
    print(description)
    print(f'500 Hz ticks over {args.seconds:g} s, cubic; times in us; x = new / baseline')
    print(f'{"joints":>6} {"call":<25}{"n":>7}{"new med":>10}{"new p99":>10}{"base med":>10}'
          f'{"base p99":>10}{"x med":>8}{"x p99":>8}')
    notes = []
    for joints in args.joints:
        timings, sources = run(joints, args.seconds, baseline)
        for label, name in CALLS:
            n, median, p99 = stats(timings[('new', name)])
            _, base_median, base_p99 = stats(timings.get(('baseline', name), []))
            print(f'{joints:>6} {label:<25}{n:>7}{cell(median)}{cell(p99)}{cell(base_median)}'
                  f'{cell(base_p99)}{cell(median / base_median, 8)}{cell(p99 / base_p99, 8)}')
        for (implementation, mode), counts in sorted(sources.items()):
            share = ', '.join(f'{k} {v}' for k, v in sorted(counts.items()))
            notes.append(f'  {joints} joints, {implementation} {mode.upper()} ticks by source: '
                         f'{share}')
    print('\n'.join(notes))
    print(footer())


if __name__ == '__main__':
    main()
