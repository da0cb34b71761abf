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

"""Config round trips and errors; input validation errors that name the tensor and shape."""

import dataclasses
import json

from pi05_ros.model.config import ConfigError, GemmaConfig, PI05Config, VisionConfig
from pi05_ros.model.pi05 import InputError, PI05Model
import pytest
import torch

CASES = ('tiny', 'tiny_sq', 'geom', 'geom_d1')


@pytest.mark.parametrize('case', CASES)
def test_golden_config_round_trips(golden_dir, case):
    raw = json.loads((golden_dir / case / 'config.json').read_text())
    config = PI05Config.from_dict(raw)
    assert config.vlm.width == raw['vlm']['width']
    assert config.action_expert.mlp_dim == raw['action_expert']['mlp_dim']
    assert config.vision.intermediate_size == raw['vision']['intermediate_size']
    assert config.vocab_size == raw['vocab_size']
    assert config.max_token_len == raw['max_token_len']
    assert PI05Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    written = config.to_dict()
    for tower in ('vlm', 'action_expert', 'vision'):
        for key, value in written[tower].items():
            assert raw[tower][key] == value, (tower, key)


def test_released_architecture():
    config = PI05Config.pi05()
    assert (config.vlm.width, config.vlm.depth, config.vlm.mlp_dim) == (2048, 18, 16384)
    assert (config.action_expert.width, config.action_expert.mlp_dim) == (1024, 4096)
    assert config.action_expert.use_adarms and config.action_expert.adarms_cond_dim == 1024
    assert (config.vision.hidden_size, config.vision.num_hidden_layers) == (1152, 27)
    assert config.vision.tokens_per_image == 256
    assert (config.action_dim, config.action_horizon, config.max_token_len) == (32, 50, 200)
    assert config.image_keys == ('base_0_rgb', 'left_wrist_0_rgb', 'right_wrist_0_rgb')


def test_config_errors_name_the_field(golden_dir):
    raw = json.loads((golden_dir / 'tiny' / 'config.json').read_text())
    with pytest.raises(ConfigError, match='head_dim'):
        PI05Config.from_dict({**raw, 'vlm': {k: v for k, v in raw['vlm'].items()
                                             if k != 'head_dim'}})
    with pytest.raises(ConfigError, match='vocab_size'):
        PI05Config.from_dict({k: v for k, v in raw.items() if k != 'vocab_size'})
    with pytest.raises(ConfigError, match='num_heads'):
        PI05Config.from_dict({**raw, 'action_expert': {**raw['action_expert'], 'num_heads': 4}})
    with pytest.raises(ConfigError, match='hidden_activation'):
        PI05Config.from_dict({**raw, 'vlm': {**raw['vlm'], 'hidden_activation': 'relu'}})
    with pytest.raises(ConfigError, match='projector'):
        PI05Config.from_dict({**raw, 'projector': {'in_dim': 32, 'out_dim': 99}})
    with pytest.raises(ConfigError, match='num_kv_heads'):
        GemmaConfig(width=64, depth=1, mlp_dim=8, num_heads=8, num_kv_heads=3, head_dim=16)
    with pytest.raises(ConfigError, match='patch_size'):
        VisionConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=8,
                     num_attention_heads=4, image_size=100)


@pytest.fixture(scope='module')
def model():
    vision = VisionConfig(hidden_size=16, num_hidden_layers=1, intermediate_size=16,
                          num_attention_heads=2, image_size=28)
    return PI05Model(PI05Config.tiny(vision=vision, vocab_size=50, max_token_len=8,
                                     action_horizon=4)).eval()


def good_inputs(model, batch=2):
    size = model.config.vision.image_size
    keys = model.config.image_keys
    return {'images': {k: torch.zeros(batch, size, size, 3) for k in keys},
            'image_masks': {k: torch.ones(batch, dtype=torch.bool) for k in keys},
            'tokens': torch.ones(batch, 8, dtype=torch.int64),
            'token_mask': torch.ones(batch, 8, dtype=torch.bool)}


def test_good_inputs_run(model):
    inputs = good_inputs(model)
    assert model.sample_actions(**inputs).shape == (2, 4, 32)
    assert model.sample_actions(**dict(inputs, image_masks=None)).shape == (2, 4, 32)


@pytest.mark.parametrize('edit, message', [
    (lambda i: i['images'].update(base_0_rgb=torch.zeros(2, 32, 32, 3)),
     r"images\['base_0_rgb'\].*\[2, 28, 28, 3\].*\[2, 32, 32, 3\]"),
    (lambda i: i['images'].update(base_0_rgb=torch.zeros(2, 3, 28, 28)),
     r"images\['base_0_rgb'\].*channels-last"),
    (lambda i: i['images'].update(base_0_rgb=torch.zeros(2, 28, 28, 3, dtype=torch.uint8)),
     r"images\['base_0_rgb'\] must be a float tensor"),
    (lambda i: i['images'].pop('left_wrist_0_rgb'), "missing camera slot 'left_wrist_0_rgb'"),
    (lambda i: i['images'].update(top=torch.zeros(2, 28, 28, 3)), 'unknown camera slots'),
    (lambda i: i['image_masks'].update(base_0_rgb=torch.ones(2)),
     r"image_masks\['base_0_rgb'\] must be a torch.bool tensor of shape \[2\]"),
    (lambda i: i.update(tokens=torch.ones(2, 9, dtype=torch.int64),
                        token_mask=torch.ones(2, 9, dtype=torch.bool)),
     r'tokens has 9 tokens, more than max_token_len 8'),
    (lambda i: i.update(tokens=torch.ones(2, 8, dtype=torch.int32)),
     r'tokens must be a torch.int64 tensor of shape \[2, 8\]'),
    (lambda i: i.update(token_mask=torch.ones(2, 7, dtype=torch.bool)),
     r'token_mask must be a torch.bool tensor of shape \[2, 8\]'),
    (lambda i: i.update(tokens=torch.full((2, 8), 50, dtype=torch.int64)),
     r'tokens must be ids in \[0, 50\)'),
    (lambda i: i.update(noise=torch.zeros(2, 5, 32)),
     r'noise must be a torch.float32 tensor of shape \[2, 4, 32\].*\[2, 5, 32\]'),
    (lambda i: i.update(noise=torch.zeros(2, 4, 32, dtype=torch.float64)),
     r'noise must be a torch.float32 tensor.*float64'),
    (lambda i: i.update(num_steps=0), 'num_steps must be a positive int'),
])
def test_bad_inputs_raise_value_errors_naming_the_tensor(model, edit, message):
    inputs = good_inputs(model)
    edit(inputs)
    with pytest.raises(InputError, match=message):
        model.sample_actions(**inputs)
    assert issubclass(InputError, ValueError)


def test_training_inputs_are_checked(model):
    inputs = good_inputs(model)
    ok = torch.zeros(2, 4, 32)
    with pytest.raises(InputError, match=r'actions must be .* \[2, 4, 32\]'):
        model.compute_loss(**inputs, actions=torch.zeros(2, 4, 8), noise=ok,
                           time=torch.ones(2))
    with pytest.raises(InputError, match=r'time must be .* \[2\]'):
        model.compute_loss(**inputs, actions=ok, noise=ok, time=torch.ones(2, 1))


def test_unknown_numerics_and_precision_are_rejected(model):
    with pytest.raises(ValueError, match='numerics'):
        PI05Model(model.config, numerics='numpy')
    with pytest.raises(ValueError, match='dtype'):
        PI05Model(model.config).to_precision(torch.float16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.num_steps = 3


def test_top_level_norm_eps_and_rope_theta_are_parameters(golden_dir):
    raw = json.loads((golden_dir / 'tiny' / 'config.json').read_text())
    towers = {t: {k: v for k, v in raw[t].items() if k not in ('rms_norm_eps', 'rope_theta')}
              for t in ('vlm', 'action_expert')}
    config = PI05Config.from_dict({**raw, **towers, 'rms_norm_eps': 1e-5, 'rope_theta': 500.0})
    for tower in (config.vlm, config.action_expert):
        assert (tower.rms_norm_eps, tower.rope_theta) == (1e-5, 500.0)
    with pytest.raises(ConfigError, match=r'vlm.rms_norm_eps \(1e-06\) differs from the '
                                          r'top-level rms_norm_eps \(1e-05\)'):
        PI05Config.from_dict({**raw, 'rms_norm_eps': 1e-5})


def test_towers_with_different_norm_eps_round_trip():
    base = PI05Config.tiny()
    config = dataclasses.replace(
        base, action_expert=dataclasses.replace(base.action_expert, rms_norm_eps=1e-5))
    assert 'rms_norm_eps' not in config.to_dict() and 'rope_theta' in config.to_dict()
    assert PI05Config.from_dict(config.to_dict()) == config


@pytest.mark.parametrize('field', ['num_attention_heads', 'patch_size', 'image_size'])
def test_vision_sizes_must_be_positive_ints(field):
    sizes = {'hidden_size': 32, 'num_hidden_layers': 1, 'intermediate_size': 8,
             'num_attention_heads': 4}
    with pytest.raises(ConfigError, match=rf'VisionConfig.{field} must be a positive int, '
                                          r'got 0'):
        VisionConfig(**{**sizes, field: 0})
    with pytest.raises(ConfigError, match=rf'VisionConfig.{field} must be a positive int, '
                                          r"got '4'"):
        VisionConfig(**{**sizes, field: '4'})
