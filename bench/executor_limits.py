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
Limits of the command stream on the issue-5 simulation, new executor vs baseline.

The simulation of test/test_executor_simulation.py: 7 joints follow a moving target; a policy
observes it every 0.2-0.5 s and answers after a jittered 100-300 ms delay with a 50-row, 50 Hz
chunk that is a little off (per-chunk offset and drift, row noise); 500 Hz ticks; limits v_max
2 rad/s, a_max 8 rad/s^2 and, for the new executor, j_max 4000 rad/s^3. The same chunk stream
(drawn once, independent of the executors' decisions) drives the new executor (this tree) and
the baseline (pi05_ros/control of git ``--baseline-rev``, loaded at run time by
bench/executor_tick.py's ``load_baseline``).

Per executor and interpolation: max tracking error against the spliced reference (new:
``Command.tracking_error``; baseline: ``|command - reference|`` with the reference read from the
executor's private ``_reference`` after each tick), max |v|, |a|, |j| as finite differences of
the commanded positions over the tick times (for the new executor also from the command's own
velocity and acceleration fields, jerk as the difference of those accelerations), the largest
|j| within 50 ms of a seam (an accepted chunk), the largest position step (rad per tick) and
velocity change (rad/s) across a seam tick (``metrics.stream_metrics`` of the positions), the
ticks above each limit (1e-9 relative) and the ticks the limits kept off the reference.

    PYTHONPATH=. python bench/executor_limits.py [--seconds 20] [--seed 7] [--baseline-rev REV]
"""

import argparse
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from executor_tick import (  # bench/ is sys.path[0]
    baseline_or_none, DEFAULT_BASELINE_REV)
from machine import header
import numpy as np
from pi05_ros.control import action_chunk as new_action_chunk
from pi05_ros.control import executor as new_executor
from pi05_ros.control import limits as new_limits
from pi05_ros.control.metrics import derivatives, stream_metrics

MS = 1_000_000
TICK_NS = 2 * MS
ROW_NS = 20 * MS
HORIZON = 50
NUM_JOINTS = 7
MAX_VELOCITY, MAX_ACCELERATION, MAX_JERK = 2.0, 8.0, 4000.0
SEAM_WINDOW_NS = 50 * MS
RELATIVE = 1.0 + 1e-9
NAMES = tuple(f'joint{i}' for i in range(NUM_JOINTS))
COLUMNS = ('track err', 'max |v|', 'max |a|', 'max |j|', 'seam |j|', 'seam step', 'seam dv',
           'v>max', 'a>max', 'j>max', 'limited')


def target_motion(rng: np.random.Generator):
    """Return the moving target of the simulation (slow sines) as a function of seconds."""
    frequency = rng.uniform(0.2, 0.5, NUM_JOINTS)
    amplitude = rng.uniform(0.1, 0.3, NUM_JOINTS)
    phase = rng.uniform(0.0, 2 * np.pi, NUM_JOINTS)

    def target(t_s):
        return amplitude * np.sin(2 * np.pi * frequency * np.asarray(t_s)[..., None] + phase)

    return target


def chunk_stream(seed: int, duration_s: float):
    """(target, [(arrival_ns, stamp_ns, rows (HORIZON, J))]) as in the issue-5 simulation."""
    rng = np.random.default_rng(seed)
    target = target_motion(rng)
    requests, stamp = [], 0
    while stamp < duration_s * 1e9:
        requests.append((stamp + int(rng.uniform(100, 300) * MS), stamp))
        stamp += int(rng.uniform(200, 500) * MS)
    stream = []
    for arrival, stamp in requests:
        row_times_s = (stamp + ROW_NS * np.arange(1, HORIZON + 1)) * 1e-9
        drift = np.linspace(0.0, 1.0, HORIZON)[:, None] * rng.normal(0, 0.02, NUM_JOINTS)
        rows = (target(row_times_s) + rng.normal(0, 0.02, NUM_JOINTS) + drift
                + rng.normal(0, 0.0002, (HORIZON, NUM_JOINTS)))
        stream.append((arrival, stamp, rows))
    return target, stream


def simulate(modules: Dict[str, ModuleType], interpolation: str, seed: int, duration_s: float,
             jerk: Optional[float]) -> Dict[str, np.ndarray]:
    """Run one executor over the stream; its commands, tracking errors and seam times."""
    target, stream = chunk_stream(seed, duration_s)
    limits = modules['limits'].JointLimits(NAMES, -2.5, 2.5, MAX_VELOCITY, MAX_ACCELERATION,
                                           jerk)
    executor_module = modules['executor']
    executor = executor_module.TrajectoryExecutor(
        limits, executor_module.ExecutorConfig(interpolation=interpolation))
    chunk_type = modules['action_chunk'].ActionChunk
    new = executor_module is new_executor
    executor.update_joint_state(target(0.0), 0)
    times, positions, velocities, accelerations, errors, limited, seams = ([] for _ in range(7))
    pending = 0
    for now in range(TICK_NS, int(duration_s * 1e9), TICK_NS):
        executor.update_joint_state(target(now * 1e-9), now)
        while pending < len(stream) and stream[pending][0] <= now:
            _, stamp, rows = stream[pending]
            pending += 1
            if executor.submit(chunk_type(rows, stamp, ROW_NS, NAMES), now).accepted:
                seams.append(now)
        command = executor.tick(now)
        times.append(now)
        positions.append(command.positions)
        velocities.append(command.velocities)
        limited.append(bool(command.limited))
        if new:
            accelerations.append(command.accelerations)
            errors.append(command.tracking_error if command.status == 'tracking' else 0.0)
        elif command.status == 'tracking':  # the guard's input: the spliced reference now
            reference, _ = executor._reference.evaluate(now)
            errors.append(float(np.abs(command.positions - reference).max()))
        else:
            errors.append(0.0)
    result = {'times': np.array(times, dtype=np.int64), 'positions': np.array(positions),
              'velocities': np.array(velocities), 'errors': np.array(errors),
              'limited': np.array(limited), 'seams': np.array(seams, dtype=np.int64)}
    if new:
        result['accelerations'] = np.array(accelerations)
    return result


def seam_jerk(times: np.ndarray, jerk: np.ndarray, seams: np.ndarray) -> float:
    """Largest |jerk| (T-3, J) within SEAM_WINDOW_NS of a seam (jerk k sits at times[k + 1])."""
    at = times[1:-2]
    worst = 0.0
    for seam in seams:
        window = (at >= seam - SEAM_WINDOW_NS) & (at <= seam + SEAM_WINDOW_NS)
        if window.any():
            worst = max(worst, float(np.abs(jerk[window]).max()))
    return worst


def row(error: float, velocity: np.ndarray, acceleration: np.ndarray, jerk: np.ndarray,
        seam: float, seam_step: Tuple[float, float], limited: int) -> List[float]:
    """Return the table's columns from per-tick (K, J) velocity, acceleration and jerk."""
    v, a, j = (np.abs(x).max(axis=1) for x in (velocity, acceleration, jerk))
    return [error, v.max(), a.max(), j.max(), seam, *seam_step,
            int((v > MAX_VELOCITY * RELATIVE).sum()),
            int((a > MAX_ACCELERATION * RELATIVE).sum()), int((j > MAX_JERK * RELATIVE).sum()),
            limited]


def measure(result: Dict[str, np.ndarray]) -> List[Tuple[str, List[float]]]:
    """[(source, columns)]: finite differences of positions; for the new one, the fields too."""
    times = result['times']
    velocity, acceleration, jerk = derivatives(times, result['positions'])
    error = float(result['errors'].max())
    limited = int(result['limited'].sum())
    seams = stream_metrics(times, result['positions'], result['seams'])  # of the positions
    step = (seams.seam_max_step, seams.seam_max_velocity_change)
    rows = [('positions (FD)', row(error, velocity, acceleration, jerk,
                                   seam_jerk(times, jerk, result['seams']), step, limited))]
    if 'accelerations' in result:
        fields_a = result['accelerations']
        dt = np.diff(times)[:, None] * 1e-9
        fields_j = np.diff(fields_a, axis=0) / dt  # jerk k sits at times[k + 1]
        at = times[1:]
        worst = 0.0
        for seam in result['seams']:
            window = (at >= seam - SEAM_WINDOW_NS) & (at <= seam + SEAM_WINDOW_NS)
            if window.any():
                worst = max(worst, float(np.abs(fields_j[window]).max()))
        rows.append(('command fields', row(error, result['velocities'], fields_a, fields_j,
                                           worst, step, limited)))
    return rows


def new_modules() -> Dict[str, ModuleType]:
    return {'executor': new_executor, 'limits': new_limits, 'action_chunk': new_action_chunk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='simulated stream length')
    parser.add_argument('--seed', type=int, default=7, help='seed of the chunk stream')
    parser.add_argument('--baseline-rev', default=DEFAULT_BASELINE_REV,
                        help='git revision whose pi05_ros/control is the baseline executor')
    parser.add_argument('--interpolations', nargs='+', default=['cubic', 'quintic'],
                        help='interpolations to run')
    args = parser.parse_args()
    baseline, description = baseline_or_none(args.baseline_rev)
    print(header())
    print(description)
    _, stream = chunk_stream(args.seed, args.seconds)
    print(f'{NUM_JOINTS} joints, 500 Hz ticks, {len(stream)} chunks over {args.seconds:g} s '
          f'(seed {args.seed}), limits v {MAX_VELOCITY:g} rad/s, a {MAX_ACCELERATION:g} rad/s^2,'
          f' j {MAX_JERK:g} rad/s^3 (baseline: no jerk limit); counts are ticks above a limit')
    print(f'{"interp":<8}{"executor":<10}{"from":<16}'
          + ''.join(f'{c:>11}' for c in COLUMNS))
    runs = [('new', new_modules(), MAX_JERK)]
    if baseline is not None:
        runs.insert(0, ('baseline', baseline, None))
    for interpolation in args.interpolations:
        for label, modules, jerk in runs:
            result = simulate(modules, interpolation, args.seed, args.seconds, jerk)
            for source, values in measure(result):
                cells = [f'{values[0]:>11.5f}'] + [f'{x:>11.3f}' for x in values[1:3]]
                cells += [f'{x:>11.0f}' for x in values[3:5]] + [f'{values[5]:>11.5f}',
                                                                 f'{values[6]:>11.4f}']
                cells += [f'{x:>11d}' for x in values[7:]]
                print(f'{interpolation:<8}{label:<10}{source:<16}' + ''.join(cells))


if __name__ == '__main__':
    main()
