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
Host-side cost of the policy pipeline: three 640x480 frames + state + prompt -> model inputs.

Rows (median and p99 wall time in ms, ratio of medians to the baseline measured in the same run,
and the process CPU time per call summed over threads, which a loaded machine inflates less):

* ``baseline: openpi_client serial`` - openpi's client path: ``image_tools.resize_with_pad`` on
  each frame in turn, x/255*2-1, normalization and tokenization with the same tokenizer;
* ``preprocess`` - ``PolicyTransforms.preprocess`` (what ``Policy.infer`` times as preprocess;
  the frames are writeable, so never served from the ``prepare_image`` memo);
* ``preprocess, frames prepared on arrival`` - the same with read-only frames already prepared
  (what the live node's cycle pays with ``prepare_frames_on_arrival``);
* ``infer: <stage>`` - ``Policy.infer`` with the tiny demo network on CPU, per stage.

    PYTHONPATH=. python bench/policy_pipeline.py [--iterations 200] [--infer-iterations 20]
"""

import argparse
import tempfile
import time
from typing import Callable, Dict, List

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.images import to_model_range
from pi05_ros.policy.profiles import state_to_model
from pi05_ros.policy.runtime import Policy
import torch


def measure(fn: Callable[[], object], iterations: int,
            warmup: int = 5) -> Dict[str, float]:
    """Median / p99 wall time of ``fn`` in ms, and its mean process CPU time (all threads)."""
    for _ in range(warmup):
        fn()
    times = []
    cpu_start = time.process_time()
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    cpu_ms = (time.process_time() - cpu_start) * 1e3 / iterations
    return dict(summary(times), cpu=cpu_ms)


def summary(times: List[float]) -> Dict[str, float]:
    return {'median': float(np.median(times)), 'p99': float(np.percentile(times, 99))}


def print_table(rows: Dict[str, Dict[str, float]], baseline: str) -> None:
    base = rows[baseline]['median']
    print(f'{"stage":42s} {"median ms":>10s} {"p99 ms":>10s} {"x baseline":>11s} '
          f'{"cpu ms":>8s}')
    for name, row in rows.items():
        cpu = f'{row["cpu"]:8.3f}' if 'cpu' in row else f'{"-":>8s}'
        print(f'{name:42s} {row["median"]:10.3f} {row["p99"]:10.3f} '
              f'{row["median"] / base:11.2f} {cpu}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iterations', type=int, default=200)
    parser.add_argument('--infer-iterations', type=int, default=20)
    parser.add_argument('--torch-threads', type=int, default=0,
                        help='torch intra-op threads for the infer rows (0: torch default)')
    args = parser.parse_args()
    from openpi_client import image_tools

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(header())
    with tempfile.TemporaryDirectory() as directory:
        make_demo_checkpoint(directory)
        policy = Policy.from_checkpoint(directory, 'demo', seed=0)
        rng = np.random.default_rng(0)
        obs = Observation(
            images={name: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
                    for name in policy.profile.camera_names},
            state=rng.uniform(-0.5, 0.5, len(policy.profile.joint_names)),
            prompt='pick up the red block and put it in the bowl', stamp_ns=0)
        transforms = policy.transforms

        def openpi_client_path():
            images = [to_model_range(image_tools.resize_with_pad(obs.images[name], 224, 224))
                      for name in policy.profile.camera_names]
            state = transforms.normalizer.normalize('state',
                                                    state_to_model(policy.profile, obs.state))
            return images, transforms.tokenizer.tokenize(obs.prompt, state)

        rows = {
            'baseline: openpi_client serial': measure(openpi_client_path, args.iterations),
            'preprocess (3x640x480 + state + prompt)': measure(
                lambda: transforms.preprocess(obs), args.iterations),
        }
        frozen = Observation(images={k: v.copy() for k, v in obs.images.items()},
                             state=obs.state, prompt=obs.prompt, stamp_ns=0)
        for name, image in frozen.images.items():
            image.flags.writeable = False
            transforms.prepare_image(name, image)
        rows['preprocess, frames prepared on arrival'] = measure(
            lambda: transforms.preprocess(frozen), args.iterations)
        stages: Dict[str, List[float]] = {}
        for _ in range(args.infer_iterations):
            chunk = policy.infer(obs)
            for key, value in chunk.timing_ms.items():
                stages.setdefault(key, []).append(value)
        for key in ('preprocess', 'prefix', 'denoise', 'postprocess', 'total'):
            rows[f'infer (demo net, cpu): {key}'] = summary(stages[key])
        policy.close()
    print(f'torch threads: {torch.get_num_threads()}; iterations: {args.iterations} '
          f'(infer: {args.infer_iterations})')
    print_table(rows, 'baseline: openpi_client serial')
    print(footer())


if __name__ == '__main__':
    main()
