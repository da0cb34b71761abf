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
check_golden on cases of the golden format that ../shared/golden does not hold.

Each case is written here with another batch size, horizon, prompt lengths, kv-head count,
image size, masked cameras, step count and extra step counts. Its reference trajectory is
computed the cache-less way (one joint prefix + action pass per Euler step, as openpi's
training forward runs), so the checker's cached sampling is compared with an independent path,
and every shape in io.safetensors follows the case's own config.json.
"""

import dataclasses
import json

from pi05_ros.model import check_golden
from pi05_ros.model.config import PI05Config, VisionConfig
from pi05_ros.model.loading import init_random_weights, save_pi05_weights
from pi05_ros.model.pi05 import euler_times, PI05Model, suffix_masks
import pytest
from safetensors.torch import load_file, save_file
import torch


def case_config(kv_heads: int, horizon: int, num_steps: int) -> PI05Config:
    vision = VisionConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64,
                          num_attention_heads=4, image_size=56)
    config = PI05Config.tiny(vision=vision, vocab_size=300, max_token_len=10,
                             action_horizon=horizon, action_dim=6, num_steps=num_steps)
    return dataclasses.replace(
        config, vlm=dataclasses.replace(config.vlm, num_kv_heads=kv_heads, depth=3),
        action_expert=dataclasses.replace(config.action_expert, num_kv_heads=kv_heads,
                                          depth=3))


@torch.no_grad()
def joint_pass_trajectory(model, inputs, noise, num_steps):
    """Euler integration with a full joint pass per step (no KV cache): times, x_t, v_t."""
    dt, times = euler_times(num_steps)
    xs, vs, x = [], [], noise
    for t in times:
        v = model.training_velocity(**inputs, x_t=x, time=t.expand(noise.shape[0]))
        xs.append(x)
        vs.append(v)
        x = x + dt * v
    return torch.stack(times), torch.stack(xs), torch.stack(vs), x


@torch.no_grad()
def write_case(path, config, batch, prompt_lens, image_masks, extra_num_steps, seed=0):
    """Write config.json, model.safetensors and io.safetensors in the golden format."""
    path.mkdir()
    model = init_random_weights(PI05Model(config).eval(), seed)
    save_pi05_weights(model, path / 'model.safetensors')
    raw = dict(config.to_dict(), batch_size=batch, prompt_lens=prompt_lens,
               extra_num_steps=extra_num_steps, image_masks=image_masks)
    (path / 'config.json').write_text(json.dumps(raw))

    g = torch.Generator().manual_seed(seed + 1)
    size, length = config.vision.image_size, config.max_token_len
    horizon, dim = config.action_horizon, config.action_dim
    io = {}
    for key in config.image_keys:
        io[f'in.image.{key}'] = torch.rand(batch, size, size, 3, generator=g) * 2 - 1
        io[f'in.image_mask.{key}'] = torch.tensor(image_masks[key])
    mask = torch.arange(length)[None] < torch.tensor(prompt_lens)[:, None]
    tokens = torch.randint(3, config.vocab_size, (batch, length), generator=g)
    io['in.tokenized_prompt'] = torch.where(mask, tokens, torch.zeros_like(tokens))
    io['in.tokenized_prompt_mask'] = mask
    io['in.noise'] = torch.randn(batch, horizon, dim, generator=g)
    io['in.actions'] = torch.randn(batch, horizon, dim, generator=g)
    io['in.time'] = torch.rand(batch, generator=g) * 0.9 + 0.05

    inputs = {'images': {k: io[f'in.image.{k}'] for k in config.image_keys},
              'image_masks': {k: io[f'in.image_mask.{k}'] for k in config.image_keys},
              'tokens': io['in.tokenized_prompt'], 'token_mask': mask}
    noise, time = io['in.noise'], io['in.time']
    times, xs, vs, actions = joint_pass_trajectory(model, inputs, noise, config.num_steps)
    ones = torch.ones(batch)
    embs, pad = model.embed_prefix(**inputs)
    suffix_pad, suffix_ar = suffix_masks(batch, horizon, noise.device)
    t = time[:, None, None]
    x_t, u_t = t * noise + (1 - t) * io['in.actions'], noise - io['in.actions']
    v_t = model.training_velocity(**inputs, x_t=x_t, time=time)
    loss = (u_t - v_t) ** 2
    out = {'actions': actions, 'denoise_timesteps': times, 'denoise_x_t': xs,
           'denoise_v_t': vs, 'v_t_first_step_t1': vs[0].clone(), 'prefix_embs': embs,
           'prefix_pad_masks': pad, 'prefix_att_masks': torch.zeros_like(pad),
           'suffix_pad_masks': suffix_pad, 'suffix_att_masks': suffix_ar.float(),
           'suffix_embs_t1': model.action_in_proj(noise),
           'time_sincos_t1': model.time_embedding(ones),
           'adarms_cond_t1': model.adarms_condition(ones),
           'time_sincos_train': model.time_embedding(time),
           'adarms_cond_train': model.adarms_condition(time),
           'train_x_t': x_t, 'train_u_t': u_t, 'train_v_t': v_t,
           'loss_elementwise': loss, 'loss_mean': loss.mean()}
    for n in extra_num_steps:
        out[f'actions_steps{n}'] = joint_pass_trajectory(model, inputs, noise, n)[3]
    io.update({f'out.{k}': v.contiguous() for k, v in out.items()})
    save_file(io, str(path / 'io.safetensors'))
    return model


CASES = {
    # name: (kv heads, horizon, steps, batch, prompt lengths, masks per camera, extra steps)
    'b1_kv2_h7': (2, 7, 4, 1, [10], {'base_0_rgb': [True], 'left_wrist_0_rgb': [False],
                                     'right_wrist_0_rgb': [True]}, [1]),
    'b3_kv8_h3': (8, 3, 3, 3, [10, 1, 6],
                  {'base_0_rgb': [True, True, False], 'left_wrist_0_rgb': [False, True, True],
                   'right_wrist_0_rgb': [True, False, True]}, [2, 5]),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_check_golden_runs_cases_of_other_shapes(tmp_path, name, capsys):
    kv, horizon, steps, batch, lens, masks, extra = CASES[name]
    write_case(tmp_path / name, case_config(kv, horizon, steps), batch, lens, masks, extra)
    assert check_golden.main([str(tmp_path / name)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith('PASS')
    for n in extra:
        assert f'out.actions_steps{n}' in out
    assert f'[{steps}, {batch}, {horizon}, 6]' in out  # denoise_x_t follows the case
    assert 'not computed' not in out


def test_other_shapes_case_fails_when_perturbed(tmp_path, capsys):
    kv, horizon, steps, batch, lens, masks, extra = CASES['b1_kv2_h7']
    case = tmp_path / 'case'
    write_case(case, case_config(kv, horizon, steps), batch, lens, masks, extra)
    io = load_file(str(case / 'io.safetensors'))
    io['out.actions_steps1'] = io['out.actions_steps1'] + 2e-5
    io['out.prefix_embs'][0, -1] += 1e-3  # last prompt token of the only row
    io['out.some_new_output'] = torch.zeros(3)
    save_file(io, str(case / 'io.safetensors'))
    assert check_golden.main([str(case)]) == 1
    out = capsys.readouterr().out
    assert 'FAIL: out.actions_steps1, out.prefix_embs, out.some_new_output' in out
    assert 'out.some_new_output' in out and 'not computed' in out


def test_config_json_carries_every_architecture_number(tmp_path):
    config = case_config(2, 7, 4)
    write_case(tmp_path / 'c', config, 1, [3], {k: [True] for k in config.image_keys}, [])
    case = check_golden.load_case(tmp_path / 'c')
    assert case.config == config
