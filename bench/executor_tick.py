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
Cost of the executor core at 7 and 14 joints: tick, submit, splice_trajectory, new vs baseline.

The new executor (Ruckig-limited commanded state, this tree) and the baseline (the executor of
git revision ``--baseline-rev``, loaded at run time from ``git archive`` under the package name
``baseline_control``; nothing old is committed) receive the same chunk streams and are ticked
one after the other in one 500 Hz loop, so they share the machine's state:

- ``steady``: a 50-row, 50 Hz chunk every 0.2-0.5 s, 100-300 ms inference delay (the stream of
  issue 5); the command mostly tracks one chunk, a share of ticks fall inside splice blends.
- ``fast``: a chunk every 50-100 ms, 50-100 ms delay, so splice blends overlap.

Both use cubic interpolation, limits v_max 2 rad/s, a_max 10 rad/s^2 and (new executor only)
j_max 4000 rad/s^3. ``splice_trajectory`` (the JTC points) is called after every accepted chunk,
as the executor node does with JTC output. Every call is timed with perf_counter; the table gives
median and p99 in microseconds and the ratio new / baseline of each.

    PYTHONPATH=. python bench/executor_tick.py [--seconds 20] [--baseline-rev 72b19e4]
"""

import argparse
import atexit
import importlib
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.control import action_chunk as new_action_chunk
from pi05_ros.control import executor as new_executor
from pi05_ros.control import limits as new_limits

MS = 1_000_000
PERIOD_NS = 2 * MS  # 500 Hz ticks
ROW_NS = 20 * MS  # 50 Hz rows
HORIZON = 50
MAX_VELOCITY, MAX_ACCELERATION, MAX_JERK = 2.0, 10.0, 4000.0
NUM_JOINTS = 14  # default of chunk_stream / NAMES (bench/mode_switch_tick.py)
NAMES = tuple(f'joint{i}' for i in range(NUM_JOINTS))
DEFAULT_BASELINE_REV = '72b19e4'
BASELINE_PACKAGE = 'baseline_control'
REPO = Path(__file__).resolve().parents[1]
SCENARIOS = {'steady': ((200, 500), (100, 300)), 'fast': ((50, 100), (50, 100))}


class BaselineUnavailable(RuntimeError):
    """The baseline revision cannot be loaded (no git, unknown revision, import error)."""


def load_baseline(rev: str) -> Dict[str, ModuleType]:
    """
    Import pi05_ros/control of git revision ``rev`` as the package ``baseline_control``.

    The tree is extracted with ``git archive`` into a temporary folder (removed at exit), its
    ``pi05_ros.control`` imports rewritten to ``baseline_control``. Returns the modules
    ``action_chunk``, ``executor``, ``limits``, ``metrics`` and ``mode_switch`` by name; raises
    BaselineUnavailable with a one-line reason.
    """
    try:
        archive = subprocess.run(['git', '-C', str(REPO), 'archive', '--format=tar', rev,
                                  'pi05_ros/control'], capture_output=True, check=False)
    except OSError as error:
        raise BaselineUnavailable(f'git not available ({error})') from error
    if archive.returncode != 0:
        message = archive.stderr.decode(errors='replace').strip().splitlines()
        raise BaselineUnavailable(f'git archive {rev} failed: {message[-1] if message else "?"}')
    folder = tempfile.mkdtemp(prefix='pi05_baseline_')
    atexit.register(shutil.rmtree, folder, True)
    archive_path = os.path.join(folder, 'control.tar')
    with open(archive_path, 'wb') as stream:
        stream.write(archive.stdout)
    with tarfile.open(archive_path) as tar:
        if hasattr(tarfile, 'data_filter'):  # python >= 3.11.4 / 3.10.12
            tar.extractall(folder, filter='data')
        else:
            tar.extractall(folder)
    package = os.path.join(folder, BASELINE_PACKAGE)
    os.rename(os.path.join(folder, 'pi05_ros', 'control'), package)
    for name in os.listdir(package):
        if name.endswith('.py'):
            path = os.path.join(package, name)
            with open(path, encoding='utf-8') as source:
                text = source.read()
            with open(path, 'w', encoding='utf-8') as source:
                source.write(text.replace('pi05_ros.control', BASELINE_PACKAGE))
    sys.path.insert(0, folder)
    modules = {}
    try:
        for name in ('action_chunk', 'executor', 'limits', 'metrics', 'mode_switch'):
            modules[name] = importlib.import_module(f'{BASELINE_PACKAGE}.{name}')
    except Exception as error:  # an old tree that does not import here: say so, run without
        raise BaselineUnavailable(
            f'{rev}: {BASELINE_PACKAGE}.{name} does not import ({error})') from error
    return modules


def baseline_or_none(rev: str) -> Tuple[Optional[Dict[str, ModuleType]], str]:
    """(modules, one-line description); modules None (and the reason) when unavailable."""
    try:
        modules = load_baseline(rev)
    except BaselineUnavailable as error:
        return None, f'baseline unavailable: {error}; only the new executor rows follow'
    commit = subprocess.run(['git', '-C', str(REPO), 'log', '-1', '--format=%h %s', rev],
                            capture_output=True, text=True, check=False)
    return modules, f'baseline = pi05_ros/control of git {commit.stdout.strip()[:80] or rev}'


def chunk_rows(seconds: float, num_joints: int = NUM_JOINTS, seed: int = 0,
               period_ms=(200, 500), delay_ms=(100, 300)) -> List[Tuple[int, int, np.ndarray]]:
    """[(arrival_ns, stamp_ns, rows (HORIZON, J))] of a slowly moving target, a little off."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.2, 0.5, num_joints)
    amplitude = rng.uniform(0.1, 0.3, num_joints)
    stream, stamp = [], 0
    while stamp < seconds * 1e9:
        times_s = (stamp + ROW_NS * np.arange(1, HORIZON + 1)) * 1e-9
        rows = amplitude * np.sin(2 * np.pi * frequency * times_s[:, None])
        rows += rng.normal(0.0, 0.01, num_joints)
        stream.append((stamp + int(rng.uniform(*delay_ms) * MS), stamp, rows))
        stamp += int(rng.uniform(*period_ms) * MS)
    return stream


def chunk_stream(seconds: float, seed: int = 0, period_ms=(200, 500), delay_ms=(100, 300),
                 num_joints: int = NUM_JOINTS, chunk_type=new_action_chunk.ActionChunk):
    """[(arrival_ns, chunk)] of chunk_rows as ``chunk_type`` chunks."""
    names = tuple(f'joint{i}' for i in range(num_joints))
    return [(arrival, chunk_type(rows, stamp, ROW_NS, names))
            for arrival, stamp, rows in chunk_rows(seconds, num_joints, seed, period_ms,
                                                   delay_ms)]


def make_limits(module: ModuleType, num_joints: int, jerk: Optional[float]):
    names = tuple(f'joint{i}' for i in range(num_joints))
    return module.JointLimits(names, -3.0, 3.0, MAX_VELOCITY, MAX_ACCELERATION, jerk)


def run(num_joints: int, scenario: str, seconds: float,
        baseline: Optional[Dict[str, ModuleType]]) -> Dict[Tuple[str, str], List[float]]:
    """{(executor, call): [seconds]} for the new executor and the baseline, ticked together."""
    period_ms, delay_ms = SCENARIOS[scenario]
    rows = chunk_rows(seconds, num_joints, 0, period_ms, delay_ms)
    names = tuple(f'joint{i}' for i in range(num_joints))
    executors = [('new', new_executor, new_action_chunk,
                  make_limits(new_limits, num_joints, MAX_JERK))]
    if baseline is not None:
        executors.append(('baseline', baseline['executor'], baseline['action_chunk'],
                          make_limits(baseline['limits'], num_joints, None)))
    runs = []
    for label, module, chunks, limits in executors:
        executor = module.TrajectoryExecutor(limits, module.ExecutorConfig(interpolation='cubic'))
        executor.update_joint_state(np.zeros(num_joints), 0)
        stream = [(arrival, chunks.ActionChunk(r, stamp, ROW_NS, names))
                  for arrival, stamp, r in rows]
        runs.append((label, executor, stream))
    timings: Dict[Tuple[str, str], List[float]] = {}
    for label, _, _ in runs:
        for call in ('tick', 'tick (blending)', 'submit', 'splice_trajectory'):
            timings[(label, call)] = []
    clock, pending, zeros = time.perf_counter, 0, np.zeros(num_joints)
    for now in range(PERIOD_NS, int(seconds * 1e9), PERIOD_NS):
        arrived = []
        while pending < len(rows) and rows[pending][0] <= now:
            arrived.append(pending)
            pending += 1
        for label, executor, stream in runs:
            executor.update_joint_state(zeros, now)
            for index in arrived:
                start = clock()
                decision = executor.submit(stream[index][1], now)
                timings[(label, 'submit')].append(clock() - start)
                if decision.accepted:
                    start = clock()
                    executor.splice_trajectory(now)
                    timings[(label, 'splice_trajectory')].append(clock() - start)
            start = clock()
            command = executor.tick(now)
            elapsed = clock() - start
            timings[(label, 'tick')].append(elapsed)
            if command.reason == 'blending':
                timings[(label, 'tick (blending)')].append(elapsed)
    return timings


def stats(values: List[float]) -> Tuple[int, float, float]:
    """(n, median us, p99 us); NaN for an empty list."""
    if not values:
        return 0, float('nan'), float('nan')
    micro = np.array(values) * 1e6
    return micro.size, float(np.median(micro)), float(np.percentile(micro, 99))


def cell(value: float, width: int = 10) -> str:
    """Format one table cell: one decimal, '-' where there is no figure (no baseline)."""
    return f'{value:>{width}.1f}' if np.isfinite(value) else f'{"-":>{width}}'


def table(results: Dict[Tuple[int, str], Dict[Tuple[str, str], List[float]]]) -> List[str]:
    """Rows: joints, stream, call, new median/p99, baseline median/p99, ratios."""
    lines = [f'{"joints":>6} {"stream":<7}{"call":<19}{"n":>6}{"new med":>10}{"new p99":>10}'
             f'{"base med":>10}{"base p99":>10}{"x med":>8}{"x p99":>8}']
    for (joints, scenario), timings in results.items():
        for call in ('tick', 'tick (blending)', 'submit', 'splice_trajectory'):
            n, median, p99 = stats(timings[('new', call)])
            _, base_median, base_p99 = stats(timings.get(('baseline', call), []))
            lines.append(f'{joints:>6} {scenario:<7}{call:<19}{n:>6}{cell(median)}{cell(p99)}'
                         f'{cell(base_median)}{cell(base_p99)}{cell(median / base_median, 8)}'
                         f'{cell(p99 / base_p99, 8)}')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='simulated stream length')
    parser.add_argument('--baseline-rev', default=DEFAULT_BASELINE_REV,
                        help='git revision whose pi05_ros/control is the baseline executor')
    parser.add_argument('--joints', type=int, nargs='+', default=[7, 14],
                        help='joint counts to measure')
    args = parser.parse_args()
    baseline, description = baseline_or_none(args.baseline_rev)
    print(header())
    print(description)
    print(f'500 Hz ticks over {args.seconds:g} s, cubic; times in us; new: v 2, a 10, j 4000; '
          f'baseline: v 2, a 10; x = new / baseline')
    results = {}
    for joints in args.joints:
        for scenario in SCENARIOS:
            results[(joints, scenario)] = run(joints, scenario, args.seconds, baseline)
    print('\n'.join(table(results)))
    print(footer())


if __name__ == '__main__':
    main()
