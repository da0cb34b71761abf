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

"""Real-time chunking in the network: guided sampling toward the previous chunk."""

import dataclasses
import math
from pathlib import Path

from pi05_ros.model import check_golden, rtc
from pi05_ros.model.pi05 import InputError, PI05Model
import pytest
import torch

DELAY, HORIZON_S = 5, 10  # d rows frozen, s rows executed per chunk (H = 50 in every case)


def _case_dirs(golden_dir: Path):
    return sorted(p.name for p in golden_dir.iterdir()
                  if (p / 'io.safetensors').is_file() or (p / 'jax_io.safetensors').is_file())


def _setup(golden_dir: Path, name: str, dtype=torch.float32):
    case = check_golden.load_case(golden_dir / name)
    numerics = 'pytorch' if case.jax_io is None else 'jax'
    model = check_golden.build_model(case, dtype=dtype, numerics=numerics)
    return case, model, check_golden.model_inputs(case), case.io['in.noise']


def _previous_chunk(model, inputs, noise):
    """Sample the chunk before: same policy, another noise draw; rows s.. remain."""
    other = torch.randn(noise.shape, generator=torch.Generator().manual_seed(7))
    return model.sample_actions(**inputs, noise=other)[:, HORIZON_S:]


def _bits(x: torch.Tensor) -> torch.Tensor:
    return x.view(torch.int32)


def test_every_golden_case_is_bitwise_plain_without_guidance(golden_dir):
    cases = _case_dirs(golden_dir)
    assert {'tiny', 'tiny_sq', 'geom', 'geom_d1', 'jax_tiny', 'jax_tiny_sq'} <= set(cases)
    for name in cases:
        case, model, inputs, noise = _setup(golden_dir, name)
        with torch.no_grad():
            cache = model.fill_prefix_cache(*model.embed_prefix(**inputs))
            plain = list(model.denoise_trajectory(cache, noise))[-1].x_next
        if case.jax_io is None:  # plain sampling is openpi's
            assert (plain - case.io['out.actions']).abs().max() <= check_golden.ACTIONS_ABS_TOL
        prefix = _previous_chunk(model, inputs, noise)
        runs = {
            'no prefix': model.sample_actions(**inputs, noise=noise),
            'weight 0': model.sample_actions(**inputs, noise=noise, prefix_actions=prefix,
                                             delay=DELAY, execution_horizon=HORIZON_S,
                                             guidance_weight_max=0.0),
            # the guided path itself (autograd + VJP every step) with an all-zero mask
            'zero mask': model.sample_actions(**inputs, noise=noise, prefix_actions=prefix,
                                              delay=0, execution_horizon=HORIZON_S,
                                              schedule='zeros')}
        for label, actions in runs.items():
            assert torch.equal(_bits(actions), _bits(plain)), f'{name}: {label}'
        guided = model.sample_actions(**inputs, noise=noise, prefix_actions=prefix,
                                      delay=DELAY, execution_horizon=HORIZON_S)
        assert (guided - plain).abs().max() > 0.1, name  # the guidance does act


@pytest.mark.parametrize('name, dtype', [('tiny', torch.float32), ('geom', torch.bfloat16)])
def test_full_mask_reproduces_the_frozen_prefix(golden_dir, name, dtype):
    _, model, inputs, noise = _setup(golden_dir, name, dtype)
    prefix = _previous_chunk(model, inputs, noise)  # [B, H - s, A]
    plain = model.sample_actions(**inputs, noise=noise)
    guided = model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, delay=DELAY,
                                  execution_horizon=HORIZON_S, schedule='ones',
                                  guidance_weight_max=20.0)
    assert guided.dtype == torch.float32 and torch.isfinite(guided).all()
    gap = (plain[:, :DELAY] - prefix[:, :DELAY]).abs().max().item()
    error = (guided[:, :DELAY] - prefix[:, :DELAY]).abs().max().item()
    # measured (10 steps, beta 20): 0.072 on tiny, 0.070 on geom (float32 and bfloat16), where
    # plain sampling is 6.8 / 5.4 away from the prefix
    assert gap > 4.0
    assert error < 0.1 and error < 0.02 * gap
    # rows past H - s (weight 0) are free: they still move, through attention
    assert (guided[:, -HORIZON_S:] - plain[:, -HORIZON_S:]).abs().max() > 1e-3


def test_soft_mask_pulls_rows_by_their_weight(golden_dir):
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    prefix = _previous_chunk(model, inputs, noise)
    plain = model.sample_actions(**inputs, noise=noise)
    guided = model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, delay=DELAY,
                                  execution_horizon=HORIZON_S, schedule='exp')
    end = prefix.shape[1]
    before = (plain[:, :end] - prefix).abs().mean(dim=(0, 2))  # [H - s]
    after = (guided[:, :end] - prefix).abs().mean(dim=(0, 2))
    assert (after[:DELAY] < 0.1 * before[:DELAY]).all()      # weight 1: pulled in
    assert (after[-5:] > 0.5 * before[-5:]).all()            # weight ~0: left alone


@pytest.mark.parametrize('t', (1.0, 0.6, 0.1))
def test_vjp_guidance_matches_finite_differences(golden_dir, t):
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    b, horizon, _ = noise.shape
    target = torch.randn(b, horizon - HORIZON_S, noise.shape[2],
                         generator=torch.Generator().manual_seed(3))
    guidance = model.prefix_guidance(target, DELAY, HORIZON_S, 'exp', 10.0, b)
    time = torch.tensor(t)
    with torch.no_grad():
        cache = model.fill_prefix_cache(*model.embed_prefix(**inputs))
        rope, mask = model.suffix_attention(cache, horizon)
        modulation = model.expert.modulations(model.adarms_condition(time.expand(b)))

    def denoise(x):
        return model.expert_velocity(x, cache.detached(), modulation, rope, mask)

    data = torch.randn(noise.shape, generator=torch.Generator().manual_seed(4))
    x_t = t * noise + (1 - t) * data
    _, g = guidance.correction(denoise, x_t, time)
    gen = torch.Generator().manual_seed(9)
    with torch.no_grad():
        error = (guidance.target - (x_t - time * denoise(x_t))) * guidance.weights[:, None]
        for _ in range(4):
            u = torch.randn(noise.shape, generator=gen)
            u = u / u.norm()
            eps = 0.1
            plus, minus = x_t + eps * u, x_t - eps * u
            jvp = ((plus - time * denoise(plus)) - (minus - time * denoise(minus))) / (2 * eps)
            # <e, J u> = <J^T e, u>, to float32 finite-difference accuracy (scale |e| |J u|)
            scale = (error.norm() * jvp.norm()).item()
            difference = abs((error * jvp).sum().item() - (g * u).sum().item())
            print(f'relative to |e| |J u|: {difference / scale:.2e}')
            assert difference <= 1e-4 * scale


def test_batch_rows_are_guided_independently(golden_dir):
    _, model, inputs, noise = _setup(golden_dir, 'tiny_sq')  # row 1 has a masked camera
    prefix = _previous_chunk(model, inputs, noise)
    prefix[1] = prefix[1].flip(0)  # a different previous chunk per row
    kwargs = {'delay': DELAY, 'execution_horizon': HORIZON_S}
    both = model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, **kwargs)
    for row in range(noise.shape[0]):
        one = {'images': {k: v[row:row + 1] for k, v in inputs['images'].items()},
               'image_masks': {k: v[row:row + 1] for k, v in inputs['image_masks'].items()},
               'tokens': inputs['tokens'][row:row + 1],
               'token_mask': inputs['token_mask'][row:row + 1]}
        alone = model.sample_actions(**one, noise=noise[row:row + 1],
                                     prefix_actions=prefix[row:row + 1], **kwargs)
        assert (alone[0] - both[row]).abs().max() < 1e-4


def test_bfloat16_zero_weight_is_bitwise_plain(golden_dir):
    _, model, inputs, noise = _setup(golden_dir, 'geom', torch.bfloat16)
    plain = model.sample_actions(**inputs, noise=noise)
    zero = model.sample_actions(**inputs, noise=noise, prefix_actions=plain[:, HORIZON_S:],
                                delay=0, execution_horizon=HORIZON_S, schedule='zeros')
    assert torch.equal(_bits(zero), _bits(plain))


def test_prefix_weights_follow_the_paper():
    # the reference implementation's own example: start 2, end 6, total 10
    linear = rtc.prefix_weights(2, 6, 10, 'linear')
    assert linear.tolist() == pytest.approx([1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0, 0, 0])
    c = linear[2:6]
    exp = rtc.prefix_weights(2, 6, 10, 'exp')
    assert exp[:2].tolist() == [1, 1] and exp[6:].tolist() == [0] * 4
    assert exp[2:6].tolist() == pytest.approx((c * (c.exp() - 1) / (math.e - 1)).tolist())
    assert rtc.prefix_weights(2, 6, 10, 'ones').tolist() == [1] * 6 + [0] * 4
    assert rtc.prefix_weights(2, 6, 10, 'zeros').tolist() == [1] * 2 + [0] * 8


def test_guidance_weight_is_clipped_pigdm():
    # tau = 1 - t; w = (1 - tau)/tau * (tau^2 + (1 - tau)^2)/(1 - tau)^2 = 1/(t(1-t)) - 2
    for t in (0.9, 0.5, 0.2, 0.1):
        expected = min(10.0, 1 / (t * (1 - t)) - 2)
        weight = rtc.guidance_weight(torch.tensor(t), 10.0).item()
        assert weight == pytest.approx(expected, rel=1e-5)
    assert rtc.guidance_weight(torch.tensor(1.0), 5.0).item() == 5.0  # pure noise: beta


@pytest.mark.parametrize('kwargs, message', [
    ({'delay': 6, 'execution_horizon': 5}, 'execution_horizon'),
    ({'delay': 5, 'execution_horizon': 46}, 'execution_horizon'),
    ({'delay': 26, 'execution_horizon': 26}, 'delay'),
    ({'delay': -1, 'execution_horizon': 5}, 'delay'),
    ({'delay': 2}, 'execution_horizon'),
    ({'delay': 2.0, 'execution_horizon': 5}, 'delay'),
    ({'delay': 2, 'execution_horizon': 5, 'schedule': 'cosine'}, 'schedule'),
    ({'delay': 2, 'execution_horizon': 5, 'guidance_weight_max': -1.0}, 'guidance_weight_max'),
    ({'delay': 2, 'execution_horizon': 5, 'guidance_weight_max': math.inf},
     'guidance_weight_max'),
    ({'delay': 2, 'execution_horizon': 5}, 'prefix_actions'),   # 40 rows given, 45 needed
])
def test_bad_rtc_arguments_name_the_argument(golden_dir, kwargs, message):
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    prefix = torch.zeros(noise.shape[0], 40, noise.shape[2])
    with pytest.raises(InputError, match=message):
        model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, **kwargs)


@pytest.mark.parametrize('prefix', [
    torch.zeros(2, 40, 31), torch.zeros(1, 40, 32), torch.zeros(2, 40, 32, dtype=torch.float64),
    torch.zeros(2, 39, 32), torch.zeros(40, 32), torch.full((2, 40, 32), math.nan)])
def test_bad_prefix_actions_are_refused(golden_dir, prefix):
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    with pytest.raises(InputError, match='prefix_actions'):
        model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, delay=2,
                             execution_horizon=10)


def test_guidance_under_inference_mode_is_refused(golden_dir):
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    with torch.inference_mode(), pytest.raises(InputError, match='inference_mode'):
        model.sample_actions(**inputs, noise=noise, prefix_actions=noise[:, HORIZON_S:],
                             delay=2, execution_horizon=HORIZON_S)


def test_runtime_path_prefix_guidance_into_denoise_trajectory(golden_dir):
    """The split API the runtime times (prefix, then steps) gives the same guided chunk."""
    _, model, inputs, noise = _setup(golden_dir, 'tiny')
    prefix = _previous_chunk(model, inputs, noise)
    guidance = model.prefix_guidance(prefix, DELAY, HORIZON_S, 'exp', 10.0, noise.shape[0])
    with torch.no_grad():
        cache = model.fill_prefix_cache(*model.embed_prefix(**inputs))
        steps = list(model.denoise_trajectory(cache, noise, guidance=guidance))
    whole = model.sample_actions(**inputs, noise=noise, prefix_actions=prefix, delay=DELAY,
                                 execution_horizon=HORIZON_S)
    assert len(steps) == model.config.num_steps
    assert torch.equal(steps[-1].x_next, whole)


def test_short_horizon_bounds(golden_dir):
    """pi05_droid's horizon 15: d <= 7, s in [d, 15 - d]."""
    case = check_golden.load_case(golden_dir / 'tiny')
    config = dataclasses.replace(case.config, action_horizon=15)
    model = PI05Model(config).eval()
    prefix = torch.zeros(1, 15, config.action_dim)
    assert model.prefix_guidance(prefix, 7, 8, 'exp', 10.0, 1).weights.shape == (15,)
    with pytest.raises(InputError, match='delay'):
        model.prefix_guidance(prefix, 8, 8, 'exp', 10.0, 1)
    with pytest.raises(InputError, match='execution_horizon'):
        model.prefix_guidance(prefix, 7, 9, 'exp', 10.0, 1)
