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
Host-side cost of real-time chunking per inference cycle (no network), per profile.

Rows (median and p99 wall time in ms, ratio of medians to the baseline of the same profile in
the same run):

* ``baseline: postprocess`` - ``PolicyTransforms.postprocess``'s transforms on one chunk
  (unnormalize + actions_to_robot), what every cycle pays without RTC;
* ``RtcRuntime.plan`` - the frozen prefix (resample at the new row times, inverse transforms
  from the new state, normalize) and the delay estimate;
* ``RtcRuntime.remember`` - keeping the chunk for the next cycle (its absolute rows over H).

    PYTHONPATH=. python bench/rtc_runtime.py [--iterations 500]
"""

import argparse
import time
from typing import Callable, Dict, List

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.policy.normalize import Normalizer, NormStats
from pi05_ros.policy.profiles import actions_to_robot, load_profile, state_to_model
from pi05_ros.policy.rtc import RtcRuntime, RtcSettings

ACTION_DIM = 32


def measure(fn: Callable[[], object], iterations: int) -> Dict[str, float]:
    """Median / p99 wall time of ``fn`` in ms."""
    for _ in range(10):
        fn()
    times: List[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return {'median': float(np.median(times)), 'p99': float(np.percentile(times, 99))}


def normalizer(profile) -> Normalizer:
    def stats(n):
        return NormStats(mean=np.zeros(n), std=np.ones(n), q01=np.full(n, -0.5),
                         q99=np.full(n, 0.5))
    return Normalizer({'state': stats(len(profile.state_dims)),
                       'actions': stats(len(profile.action_dims))})


def rows(name: str, iterations: int) -> List[tuple]:
    profile = load_profile(name)
    horizon = max(profile.chunk_rows, 10)
    norm = normalizer(profile)
    rng = np.random.default_rng(0)
    raw = np.cumsum(rng.normal(0, 0.02, (horizon, ACTION_DIM)), axis=0).astype(np.float32)
    state = rng.uniform(-0.3, 0.3, len(profile.state_names))
    dt = profile.control_dt_ns

    def postprocess():
        actions = norm.unnormalize('actions', raw[:profile.chunk_rows].astype(np.float64))
        return actions_to_robot(profile, actions, state, state_to_model(profile, state))

    s = min(8, horizon - 2)
    runtime = RtcRuntime(RtcSettings(enabled=True, execution_horizon=s, warmup_cycles=0),
                         profile, norm, horizon, ACTION_DIM)
    chunk = ActionChunk(postprocess(), 0, dt, profile.joint_names, model_actions=raw)
    runtime.remember(chunk, state, runtime.plan(0, state))
    runtime.record_delay(0, 2 * dt)
    new_state = state.copy()
    if profile.state_names == profile.joint_names:
        new_state = chunk.positions[2]
    assert runtime.plan(3 * dt, new_state).request is not None
    base = measure(postprocess, iterations)
    plan = measure(lambda: runtime.plan(3 * dt, new_state), iterations)
    keep = measure(lambda: runtime.remember(chunk, state, runtime.last_plan), iterations)
    label = f'{name} (H={horizon}, J={len(profile.joint_names)})'
    return [(label, 'baseline: postprocess', base, base),
            (label, 'RtcRuntime.plan', plan, base),
            (label, 'RtcRuntime.remember', keep, base)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--iterations', type=int, default=500)
    args = parser.parse_args()
    print(header())
    print('| profile | row | median ms | p99 ms | x baseline |')
    print('|---|---|---|---|---|')
    for name in ('demo', 'aloha', 'droid', 'libero'):
        for label, row, value, base in rows(name, args.iterations):
            print(f"| {label} | {row} | {value['median']:.3f} | {value['p99']:.3f} | "
                  f"{value['median'] / base['median']:.2f} |")
    print(footer())


if __name__ == '__main__':
    main()
