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
Latency and peak memory of the PI0.5 network: prefix, one denoising step, full sample.

Real-time chunking rows: one RTC-guided step (expert forward + the VJP through the action
tokens) next to the plain step, and a full guided sample next to the plain one (delay 5,
execution horizon 10, exp schedule, guidance_weight_max 10).

Architectures: the golden `geom` case (real attention geometry, small widths, golden weights)
and the released full-size architecture with random weights (`--full-depth` layers per tower;
the released model has 18 Gemma / 27 SigLIP layers, which on a 2-core CPU takes minutes per
call). Batch 1, 3 cameras, a prompt of `--prompt-len` tokens, 10 Euler steps. Each row gives
the median and p99 wall time over `--iters` calls and the ratio to the baseline measured in
the same run: sampling without the prefix KV cache (one joint prefix + action pass per Euler
step, which is what a cache-less implementation does). CUDA rows (float32 and bfloat16) are
added when a GPU is present.

    PYTHONPATH=. python bench/model_latency.py [--iters 5] [--full-depth 2] [--skip-full]
"""

import argparse
import dataclasses
import json
from pathlib import Path
import resource
import time
from typing import Callable, Dict, List

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np
from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import init_random_weights, load_pi05_weights
from pi05_ros.model.pi05 import euler_times, PI05Model
import torch

GOLDEN = Path(__file__).resolve().parents[2] / 'shared' / 'golden'
RTC_D, RTC_S = 5, 10  # delay and execution horizon of the guided rows


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, iters: int, warmup: int = 1
          ) -> List[float]:
    """Wall times in ms of `iters` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def make_inputs(config: PI05Config, prompt_len: int, device: torch.device) -> Dict[str, object]:
    g = torch.Generator().manual_seed(0)
    size = config.vision.image_size
    images = {k: (torch.rand(1, size, size, 3, generator=g) * 2 - 1).to(device)
              for k in config.image_keys}
    masks = {k: torch.ones(1, dtype=torch.bool, device=device) for k in config.image_keys}
    length = min(prompt_len, config.max_token_len)
    tokens = torch.randint(3, config.vocab_size, (1, length), generator=g).to(device)
    return {'images': images, 'image_masks': masks, 'tokens': tokens,
            'token_mask': torch.ones(1, length, dtype=torch.bool, device=device)}


def no_cache_sample(model: PI05Model, inputs, noise: torch.Tensor) -> torch.Tensor:
    """Baseline: a full joint pass over prefix and action tokens at every Euler step."""
    dt, times = euler_times(model.config.num_steps)
    dt = dt.to(noise.device)
    x = noise
    for t in times:
        x = x + dt * model.training_velocity(**inputs, x_t=x, time=t.to(noise.device).expand(1))
    return x


def peak_memory_mb(device: torch.device) -> float:
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS


@torch.no_grad()
def bench_model(label: str, model: PI05Model, device: torch.device, args) -> List[Dict]:
    inputs = make_inputs(model.config, args.prompt_len, device)
    noise = torch.randn(1, model.config.action_horizon, model.config.action_dim,
                        generator=torch.Generator().manual_seed(1)).to(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)

    def prefix():
        return model.fill_prefix_cache(*model.embed_prefix(**inputs))

    cache = prefix()
    step = next(model.denoise_trajectory(cache, noise, 1))
    modulation = model.expert.modulations(model.adarms_condition(step.time.expand(1)))
    rope, mask = model.suffix_attention(cache, noise.shape[1])
    rtc = {'prefix_actions': noise[:, RTC_S:], 'delay': RTC_D, 'execution_horizon': RTC_S}
    guidance = model.prefix_guidance(**rtc, schedule='exp', guidance_weight_max=10.0, batch=1)

    def guided_step():
        return guidance.velocity(
            lambda x: model.expert_velocity(x, cache.detached(), modulation, rope, mask),
            noise, step.time)

    rows = []
    baseline = timed(lambda: no_cache_sample(model, inputs, noise), device, args.baseline_iters)
    for name, fn in (
            ('prefix (SigLIP + VLM into KV cache)', prefix),
            ('one denoising step (expert)',
             lambda: model.expert_velocity(noise, cache, modulation, rope, mask)),
            ('one RTC-guided step (expert + VJP)', guided_step),
            ('full sample (prefix + 10 steps)',
             lambda: model.sample_actions(**inputs, noise=noise)),
            ('full RTC-guided sample (prefix + 10 steps)',
             lambda: model.sample_actions(**inputs, noise=noise, **rtc))):
        times = timed(fn, device, args.iters)
        rows.append({'model': label, 'device': device.type, 'part': name,
                     'median_ms': float(np.median(times)),
                     'p99_ms': float(np.percentile(times, 99))})
    rows.append({'model': label, 'device': device.type,
                 'part': 'baseline: no KV cache (joint pass per step)',
                 'median_ms': float(np.median(baseline)),
                 'p99_ms': float(np.percentile(baseline, 99))})
    base = rows[-1]['median_ms']
    peak = peak_memory_mb(device)
    for row in rows:
        row['ratio'] = row['median_ms'] / base
        row['peak_mb'] = peak
    return rows


def geom_model() -> PI05Model:
    config = PI05Config.from_dict(json.loads((GOLDEN / 'geom' / 'config.json').read_text()))
    model = PI05Model(config).eval()
    return load_pi05_weights(model, GOLDEN / 'geom' / 'model.safetensors')


def full_model(depth: int) -> PI05Model:
    config = PI05Config.pi05()
    if depth < config.vlm.depth:
        config = dataclasses.replace(
            config, vlm=dataclasses.replace(config.vlm, depth=depth),
            action_expert=dataclasses.replace(config.action_expert, depth=depth),
            vision=dataclasses.replace(config.vision, num_hidden_layers=depth))
    return init_random_weights(PI05Model(config).eval(), seed=0)


def print_table(rows: List[Dict]) -> None:
    header = (f'{"model":28s} {"device":6s} {"dtype":8s} {"part":44s} {"median ms":>10s} '
              f'{"p99 ms":>10s} {"ratio":>7s} {"peak MB":>9s}')
    print(header)
    print('-' * len(header))
    for r in rows:
        print(f'{r["model"]:28s} {r["device"]:6s} {r["dtype"]:8s} {r["part"]:44s} '
              f'{r["median_ms"]:10.1f} {r["p99_ms"]:10.1f} {r["ratio"]:7.2f} '
              f'{r["peak_mb"]:9.0f}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--baseline-iters', type=int, default=2)
    parser.add_argument('--prompt-len', type=int, default=48)
    parser.add_argument('--full-depth', type=int, default=2,
                        help='layers per tower of the full-width model (18 = released)')
    parser.add_argument('--skip-full', action='store_true')
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision('highest')
    print(header())
    builders = [('geom (golden weights)', geom_model)]
    if not args.skip_full:
        label = ('full pi05' if args.full_depth >= 18
                 else f'full width, depth {args.full_depth}')
        builders.append((label, lambda: full_model(args.full_depth)))
    devices = [torch.device('cpu')]
    if torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    rows = []
    for label, build in builders:
        for device in devices:
            dtypes = [torch.float32] if device.type == 'cpu' else [torch.float32, torch.bfloat16]
            for dtype in dtypes:
                model = build().to(device).to_precision(dtype)
                for row in bench_model(label, model, device, args):
                    rows.append(dict(row, dtype=str(dtype).replace('torch.', '')))
                del model
                if device.type == 'cuda':
                    torch.cuda.empty_cache()
    print(f'batch 1, 3 cameras, prompt {args.prompt_len} tokens, 10 steps, '
          f'torch {torch.__version__}, {torch.get_num_threads()} CPU threads')
    print_table(rows)
    print(footer())


if __name__ == '__main__':
    main()
