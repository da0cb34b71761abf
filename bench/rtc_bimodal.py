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
What real-time chunking buys on a policy whose chunks really disagree: splice only vs RTC.

The task, the policy and the closed loop are test/rtc_bimodal_task.py: a point robot reaches
around an obstacle, over or under it (chosen at random per demonstration); a tiny PI0.5
trained by flow matching on those demonstrations is bimodal where the path is still straight.
Closed loop at 20 Hz rows (H = 16), a new observation every s = 8 rows, the chunk reaching the
executor (TrajectoryExecutor, Ruckig-limited, 500 Hz ticks) d rows later, d = 2, 4, 6 (100, 200,
300 ms). Splice only: plain sampling, the executor blends each chunk in. RTC, no blend: the
runtime (pi05_ros.policy.rtc.RtcRuntime) guides each chunk toward the previous one's rows (d
frozen, exp schedule, beta 10) and the executor takes it without a blend (what the nodes do).
RTC + splice: the same guided chunks, blended in like plain ones. Same episodes, same noise
draws in every mode.

Per setting, over the episodes: inter-chunk disagreement (mean distance of a chunk's rows to
the previous chunk at the same times, per pair of consecutive chunks; median and p99 over all
pairs), chunk flips (consecutive chunks of an episode that pass the obstacle on opposite
sides; mean per episode), episodes whose executed path changes side, seam gap (distance of a
chunk to the previous one at its first row due after it arrived: what the executor must
absorb; median over the seams), seam jerk (largest |jerk|
of the command in the 50 ms after each accepted chunk; median and p99 over the seams), collisions
and completion (at the goal after 6 s without touching the obstacle), refused chunks.

    PYTHONPATH=. python bench/rtc_bimodal.py [--episodes 40] [--steps 6000] [--fixture PATH]

The policy is the test fixture (test/data/rtc_bimodal_policy.pt) unless --train-steps is
given; --write-fixture trains and writes it.
"""

import argparse
from pathlib import Path
import sys
import time
from typing import Dict, List

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'test'))
import rtc_bimodal_task as task  # noqa: E402, I100  (test/ holds it, shared with its test)

DELAYS_MS = (100, 200, 300)
METHODS = (('splice only', False, False), ('RTC, no blend', True, False),
           ('RTC + splice', True, True))  # (label, rtc, blend the guided chunks too)
COLUMNS = ('disagree med', 'disagree p99', 'flips/ep', 'side chg', 'seam gap med', 'seam |j| med',
           'seam |j| p99', 'collided', 'completed', 'refused')


def summary(episodes: List[task.Episode]) -> Dict[str, float]:
    """Return the table row of one setting."""
    pairs = np.concatenate([e.disagreement for e in episodes])
    jerk = np.concatenate([e.seam_jerks for e in episodes])
    gaps = np.concatenate([e.seam_gaps for e in episodes])
    return {
        'disagree med': float(np.median(pairs)),
        'disagree p99': float(np.percentile(pairs, 99)),
        'flips/ep': float(np.mean([e.chunk_flips for e in episodes])),
        'side chg': float(np.mean([e.side_changes > 0 for e in episodes])),
        'seam gap med': float(np.median(gaps)),
        'seam |j| med': float(np.median(jerk)),
        'seam |j| p99': float(np.percentile(jerk, 99)),
        'collided': float(np.mean([e.collided for e in episodes])),
        'completed': float(np.mean([e.completed for e in episodes])),
        'refused': float(sum(e.refused for e in episodes)),
    }


def cell(name: str, value: float) -> str:
    if name in ('side chg', 'collided', 'completed'):
        return f'{100 * value:.0f} %'
    if name == 'refused':
        return f'{value:.0f}'
    if name.startswith('seam |j|'):
        return f'{value:.0f}'
    return f'{value:.3f}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--episodes', type=int, default=40)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--fixture', type=Path, default=task.FIXTURE)
    parser.add_argument('--train-steps', type=int, default=0,
                        help='train a policy with this many steps instead of the fixture')
    parser.add_argument('--write-fixture', action='store_true',
                        help='train (--train-steps, default the fixture recipe) and write it')
    parser.add_argument('--tick-ms', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(header())
    if args.write_fixture or args.train_steps:
        recipe = {**task.FIXTURE_RECIPE, 'steps': args.train_steps or
                  task.FIXTURE_RECIPE['steps']}
        started = time.perf_counter()
        model, losses = task.train_policy(**recipe)
        print(f'# trained {recipe} in {time.perf_counter() - started:.0f} s: loss '
              f'{np.mean(losses[:50]):.3f} (first 50 steps) -> {np.mean(losses[-200:]):.4f} '
              '(last 200)')
        if args.write_fixture:
            task.save_policy(model, args.fixture, recipe, losses)
            print(f'# wrote {args.fixture}')
    else:
        model, metadata = task.load_policy(args.fixture)
        print(f'# policy: {args.fixture.relative_to(REPO)}, trained with {metadata["recipe"]} '
              f'(torch {metadata["torch"]}), final loss {metadata["final_loss"]:.4f}')
    print(f'# flow-matching loss on fresh demonstrations: {task.flow_loss(model):.4f}')
    for x in (-1.0, -0.8):
        sides = task.sample_sides(model, (x, 0.0), 200)
        print(f'# 200 chunks sampled from ({x}, 0): {int((sides > 0).sum())} over, '
              f'{int((sides < 0).sum())} under, {int((sides == 0).sum())} neither')
    print(f'# {args.episodes} episodes per row, seed {args.seed}, s = '
          f'{task.EXECUTION_HORIZON} rows, ticks every {args.tick_ms} ms; disagreement in m, '
          'jerk in m/s^3')
    head = f'{"delay":>6s} {"method":14s} ' + ' '.join(f'{c:>12s}' for c in COLUMNS)
    print(head)
    print('-' * len(head))
    for delay_ms in DELAYS_MS:
        for label, rtc, blend in METHODS:
            started = time.perf_counter()
            episodes = task.simulate(model, args.episodes, delay_ms * task.MS // task.ROW_NS,
                                     rtc, seed=args.seed, tick_ns=args.tick_ms * task.MS,
                                     blend_rtc=blend)
            row = summary(episodes)
            print(f'{delay_ms:>4d}ms {label:14s} '
                  + ' '.join(f'{cell(c, row[c]):>12s}' for c in COLUMNS)
                  + f'   ({time.perf_counter() - started:.0f} s)', flush=True)
    print(footer())


if __name__ == '__main__':
    main()
