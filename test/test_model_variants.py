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
Cases the golden folder does not hold, checked by invariances of the network itself.

Each runs a small random model (56 px images -> 16 tokens per camera) under changed settings
and compares against what the same computation must give another way.
"""

import dataclasses
import math

from pi05_ros.model.config import GemmaConfig, PI05Config, VisionConfig
from pi05_ros.model.gemma import attention, MASK_FILL
from pi05_ros.model.loading import init_random_weights
from pi05_ros.model.pi05 import euler_times, PI05Model, sample_training_time
import pytest
import torch
import torch.nn.functional as F

TOL = 1e-5


def small_config(**overrides) -> PI05Config:
    vision = VisionConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64,
                          num_attention_heads=4, image_size=56)
    base = {'vision': vision, 'vocab_size': 300, 'max_token_len': 12, 'action_horizon': 6,
            'action_dim': 5, 'num_steps': 4}
    base.update(overrides)
    return PI05Config.tiny(**base)


def small_model(config: PI05Config = None, seed: int = 0) -> PI05Model:
    model = PI05Model(config or small_config()).eval()
    return init_random_weights(model, seed)


def make_inputs(config: PI05Config, batch: int, seed: int = 1, prompt_lens=None):
    g = torch.Generator().manual_seed(seed)
    size = config.vision.image_size
    images = {k: torch.rand(batch, size, size, 3, generator=g) * 2 - 1 for k in config.image_keys}
    masks = {k: torch.ones(batch, dtype=torch.bool) for k in config.image_keys}
    length = config.max_token_len
    tokens = torch.randint(3, config.vocab_size, (batch, length), generator=g)
    lens = prompt_lens or [length - 3 * i for i in range(batch)]
    token_mask = torch.arange(length)[None, :] < torch.tensor(lens)[:, None]
    tokens = torch.where(token_mask, tokens, torch.zeros_like(tokens))
    noise = torch.randn(batch, config.action_horizon, config.action_dim, generator=g)
    return {'images': images, 'image_masks': masks, 'tokens': tokens,
            'token_mask': token_mask}, noise


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def euler_with_joint_passes(model, inputs, noise, num_steps):
    """Sample independently of the model code: a full joint pass (no cache) per Euler step."""
    dt, times = euler_times(num_steps)
    x = noise
    for t in times:
        v = model.training_velocity(**inputs, x_t=x, time=t.expand(noise.shape[0]))
        x = x + dt * v
    return x


@pytest.fixture(scope='module')
def model():
    return small_model()


def test_random_model_gives_finite_varied_actions(model):
    inputs, noise = make_inputs(model.config, 2)
    actions = model.sample_actions(**inputs, noise=noise)
    assert actions.shape == (2, 6, 5) and torch.isfinite(actions).all()
    assert actions.std() > 0.1
    assert max_diff(actions[0], actions[1]) > 1e-2


def test_sample_equals_the_last_euler_step(model):
    inputs, noise = make_inputs(model.config, 2)
    actions = model.sample_actions(**inputs, noise=noise)
    with torch.no_grad():
        cache = model.fill_prefix_cache(*model.embed_prefix(**inputs))
        steps = list(model.denoise_trajectory(cache, noise))
    assert len(steps) == model.config.num_steps
    assert torch.equal(steps[-1].x_next, actions)
    assert torch.equal(steps[0].x_t, noise)


@pytest.mark.parametrize('num_steps', [1, 3, 10])
def test_cached_sampling_equals_joint_passes(model, num_steps):
    """Prefix KV cache + expert-only steps == openpi's joint training pass at each time."""
    inputs, noise = make_inputs(model.config, 2)
    with torch.no_grad():
        expected = euler_with_joint_passes(model, inputs, noise, num_steps)
    actions = model.sample_actions(**inputs, noise=noise, num_steps=num_steps)
    assert max_diff(actions, expected) < TOL


def test_euler_times_follow_float32_accumulation():
    dt, times = euler_times(10)
    assert len(times) == 10
    t = torch.tensor(1.0)
    for value in times:
        assert value.item() == t.item()
        t = t + torch.tensor(-0.1, dtype=torch.float32)
    assert times[2].item() != pytest.approx(0.8, abs=0)  # float32 accumulation, not 1 - k/N
    assert [len(euler_times(n)[1]) for n in (1, 2, 3, 5, 7, 20)] == [1, 2, 3, 5, 7, 20]


def test_batch_rows_are_independent(model):
    inputs, noise = make_inputs(model.config, 3, prompt_lens=[12, 5, 9])
    inputs['image_masks']['left_wrist_0_rgb'] = torch.tensor([True, False, True])
    batched = model.sample_actions(**inputs, noise=noise)
    for i in range(3):
        row = {'images': {k: v[i:i + 1] for k, v in inputs['images'].items()},
               'image_masks': {k: v[i:i + 1] for k, v in inputs['image_masks'].items()},
               'tokens': inputs['tokens'][i:i + 1], 'token_mask': inputs['token_mask'][i:i + 1]}
        alone = model.sample_actions(**row, noise=noise[i:i + 1])
        assert max_diff(alone[0], batched[i]) < TOL


def test_masked_camera_is_the_same_as_no_camera(model):
    """A masked slot neither contributes tokens nor advances positions."""
    inputs, noise = make_inputs(model.config, 2)
    inputs['image_masks']['left_wrist_0_rgb'] = torch.tensor([False, False])
    masked = model.sample_actions(**inputs, noise=noise)
    two_cams = dataclasses.replace(model.config, image_keys=('base_0_rgb', 'right_wrist_0_rgb'))
    without = PI05Model(two_cams).eval()
    without.load_state_dict(model.state_dict())
    del inputs['images']['left_wrist_0_rgb'], inputs['image_masks']['left_wrist_0_rgb']
    assert max_diff(without.sample_actions(**inputs, noise=noise), masked) < TOL


def test_masked_camera_content_is_ignored(model):
    inputs, noise = make_inputs(model.config, 2)
    inputs['image_masks']['right_wrist_0_rgb'] = torch.tensor([True, False])
    before = model.sample_actions(**inputs, noise=noise)
    inputs['images']['right_wrist_0_rgb'] = -inputs['images']['right_wrist_0_rgb']
    after = model.sample_actions(**inputs, noise=noise)
    assert torch.equal(before[1], after[1])
    assert max_diff(before[0], after[0]) > 1e-3  # an unmasked camera does matter


def test_prompt_padding_is_ignored(model):
    inputs, noise = make_inputs(model.config, 2, prompt_lens=[7, 4])
    short = {**inputs, 'tokens': inputs['tokens'][:, :7],
             'token_mask': inputs['token_mask'][:, :7]}
    padded = model.sample_actions(**inputs, noise=noise)
    assert max_diff(model.sample_actions(**short, noise=noise), padded) < TOL


@pytest.mark.parametrize('horizon', [1, 15])
def test_other_horizons_share_the_weights(model, horizon):
    config = dataclasses.replace(model.config, action_horizon=horizon)
    other = PI05Model(config).eval()
    other.load_state_dict(model.state_dict())
    inputs, noise = make_inputs(config, 2)
    actions = other.sample_actions(**inputs, noise=noise)
    assert actions.shape == (2, horizon, config.action_dim)
    with torch.no_grad():
        expected = euler_with_joint_passes(other, inputs, noise, config.num_steps)
    assert max_diff(actions, expected) < TOL


def reference_attention(q, k, v, allowed, scale):
    """Textbook GQA: repeat each kv head for its query heads, mask with -inf, softmax."""
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    logits = (q @ k.transpose(-1, -2)) * scale
    logits = logits.masked_fill(~allowed[:, None], float('-inf'))
    out = torch.softmax(logits, dim=-1) @ v  # [B, H, L, D]
    return out.transpose(1, 2).flatten(2)


@pytest.mark.parametrize('kv_heads', [1, 2, 4, 8])
def test_grouped_query_attention_matches_reference(kv_heads):
    g = torch.Generator().manual_seed(kv_heads)
    q = torch.randn(2, 8, 7, 16, generator=g)
    k = torch.randn(2, kv_heads, 9, 16, generator=g)
    v = torch.randn(2, kv_heads, 9, 16, generator=g)
    allowed = torch.rand(2, 7, 9, generator=g) > 0.3
    allowed[..., 0] = True  # every query sees at least one key
    bias = torch.where(allowed, 0.0, MASK_FILL)[:, None]
    ours = attention(q, k, v, bias, 0.25)
    assert max_diff(ours, reference_attention(q, k, v, allowed, 0.25)) < 1e-5


@pytest.mark.parametrize('kv_heads', [2, 8])
def test_models_with_several_kv_heads(kv_heads):
    base = small_config()
    vlm = dataclasses.replace(base.vlm, num_kv_heads=kv_heads)
    expert = dataclasses.replace(base.action_expert, num_kv_heads=kv_heads)
    model = small_model(dataclasses.replace(base, vlm=vlm, action_expert=expert))
    k_proj = model.vlm.layers[0].self_attn.k_proj
    assert k_proj.weight.shape == (kv_heads * 16, 64)
    inputs, noise = make_inputs(model.config, 2)
    actions = model.sample_actions(**inputs, noise=noise)
    with torch.no_grad():
        expected = euler_with_joint_passes(model, inputs, noise, model.config.num_steps)
    assert torch.isfinite(actions).all() and max_diff(actions, expected) < TOL


def test_square_and_non_square_towers():
    base = small_config()
    vlm = GemmaConfig(width=96, depth=3, mlp_dim=80, num_heads=8, num_kv_heads=1, head_dim=16)
    expert = GemmaConfig(width=48, depth=3, mlp_dim=40, num_heads=8, num_kv_heads=1,
                         head_dim=16, use_adarms=True, adarms_cond_dim=48)
    model = small_model(dataclasses.replace(base, vlm=vlm, action_expert=expert))
    inputs, noise = make_inputs(model.config, 1)
    with torch.no_grad():
        expected = euler_with_joint_passes(model, inputs, noise, 2)
    assert max_diff(model.sample_actions(**inputs, noise=noise, num_steps=2), expected) < TOL


def test_loss_is_the_squared_velocity_error(model):
    inputs, noise = make_inputs(model.config, 2)
    g = torch.Generator().manual_seed(7)
    actions = torch.randn(noise.shape, generator=g)
    time = torch.tensor([0.3, 0.9])
    loss = model.compute_loss(**inputs, actions=actions, noise=noise, time=time)
    t = time[:, None, None]
    with torch.no_grad():
        v = model.training_velocity(**inputs, x_t=t * noise + (1 - t) * actions, time=time)
    assert loss.shape == noise.shape
    assert torch.equal(loss, F.mse_loss(noise - actions, v, reduction='none'))


def test_training_time_is_openpi_beta_distribution():
    """Beta(1.5, 1) * 0.999 + 0.001: mean 0.6 * 0.999 + 0.001, CDF ((t - 0.001) / 0.999)^1.5."""
    time = sample_training_time(200_000, torch.device('cpu'), torch.Generator().manual_seed(0))
    assert time.dtype == torch.float32 and time.shape == (200_000,)
    assert 0.001 <= time.min() and time.max() <= 1.0
    assert abs(time.mean().item() - (0.6 * 0.999 + 0.001)) < 3e-3
    for q in (0.2, 0.5, 0.9):
        fraction = (time < q).float().mean().item()
        assert abs(fraction - ((q - 0.001) / 0.999) ** 1.5) < 5e-3


def test_loss_draws_noise_and_time_from_the_generator(model):
    inputs, noise = make_inputs(model.config, 2)
    actions = torch.zeros_like(noise)
    with torch.no_grad():
        a, b = (model.compute_loss(**inputs, actions=actions,
                                   generator=torch.Generator().manual_seed(5)) for _ in range(2))
        g = torch.Generator().manual_seed(5)
        drawn_noise = torch.randn(noise.shape, generator=g)
        drawn_time = sample_training_time(2, torch.device('cpu'), g)
        expected = model.compute_loss(**inputs, actions=actions, noise=drawn_noise,
                                      time=drawn_time)
    assert torch.equal(a, b) and torch.equal(a, expected)


def test_loss_has_gradients_for_fine_tuning():
    model = small_model()
    inputs, noise = make_inputs(model.config, 1)
    loss = model.compute_loss(**inputs, actions=torch.zeros_like(noise), noise=noise,
                              time=torch.tensor([0.5])).mean()
    loss.backward()
    for param in model.parameters():
        assert param.grad is None or torch.isfinite(param.grad).all()
    # the loss reaches every part: pixels, prompt embedding, both towers, time conditioning
    for module in (model.vision.embeddings.patch_embedding, model.vlm.embed_tokens,
                   model.vlm.layers[0].mlp.up_proj, model.expert.layers[-1].mlp.down_proj,
                   model.expert.layers[0].input_layernorm.dense, model.time_mlp_in,
                   model.action_in_proj):
        assert module.weight.grad.abs().sum() > 0


def test_time_embedding_numerics():
    model = small_model()
    t = torch.tensor([1.0, 0.3, 1e-3])
    ours = model.time_embedding(t)
    half = 32
    period = 4e-3 * (4.0 / 4e-3) ** torch.linspace(0, 1, half, dtype=torch.float64)
    angle = t.double()[:, None] * (2 * math.pi / period)[None]
    expected = torch.cat((angle.sin(), angle.cos()), dim=1).float()
    assert max_diff(ours, expected) < 1e-7
    model.numerics = 'jax'
    jax_like = model.time_embedding(t)
    assert jax_like.dtype == torch.float32 and 0 < max_diff(jax_like, expected) < 1e-3


def test_generator_noise_is_deterministic(model):
    inputs, _ = make_inputs(model.config, 1)
    a = model.sample_actions(**inputs, generator=torch.Generator().manual_seed(3))
    b = model.sample_actions(**inputs, generator=torch.Generator().manual_seed(3))
    c = model.sample_actions(**inputs, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and max_diff(a, c) > 1e-3


def test_bfloat16_never_nan_even_with_everything_masked():
    model = small_model().to_precision(torch.bfloat16)
    inputs, noise = make_inputs(model.config, 2, prompt_lens=[0, 3])
    inputs['image_masks'] = {k: torch.tensor([False, True]) for k in model.config.image_keys}
    actions = model.sample_actions(**inputs, noise=noise)
    assert actions.dtype == torch.float32 and torch.isfinite(actions).all()
    assert model.vlm.layers[0].mlp.up_proj.weight.dtype == torch.bfloat16
    assert model.vlm.layers[0].input_layernorm.weight.dtype == torch.float32
    assert model.expert.norm.dense.weight.dtype == torch.float32
    assert model.vision.embeddings.patch_embedding.weight.dtype == torch.float32
    assert model.action_out_proj.weight.dtype == torch.float32
