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

"""Strict checkpoint loading, saving, LeRobot layout, random init and the full-size layout."""

import json
from pathlib import Path

from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import (
    CheckpointError, EMBED_KEY, EXPERT_LM_HEAD_KEY, init_random_weights, load_pi05_weights,
    openpi_state_dict, save_pi05_weights, TIED_LM_HEAD_KEY)
from pi05_ros.model.pi05 import PI05Model
import pytest
from safetensors.torch import load_file, save_file
import torch

SPEC_PARAMETER_COUNTS = {  # PI05_MODEL_SPEC.md section 2.2 (verified on openpi)
    'vision tower': 412_442_352,
    'projector': 2_361_344,
    'language model with embedding': 2_508_531_712,
    'embedding': 526_647_296,
    'expert model': 427_932_672,
    'top-level projections': 2_165_792,
}


@pytest.fixture(scope='module')
def tiny(golden_dir):
    config = PI05Config.from_dict(json.loads((golden_dir / 'tiny' / 'config.json').read_text()))
    return config, load_file(str(golden_dir / 'tiny' / 'model.safetensors'))


@pytest.fixture(scope='module')
def full_meta_model():
    with torch.device('meta'):
        return PI05Model(PI05Config.pi05())


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_size_parameter_counts_match_the_spec(full_meta_model):
    m = full_meta_model
    top = sum(p.numel() for n, p in m.named_parameters()
              if not n.startswith('paligemma_with_expert.'))
    assert {'vision tower': count(m.vision), 'projector': count(m.projector),
            'language model with embedding': count(m.vlm),
            'embedding': m.vlm.embed_tokens.weight.numel(), 'expert model': count(m.expert),
            'top-level projections': top} == SPEC_PARAMETER_COUNTS


def read_keys_full(path: Path):
    keys = {}
    for line in path.read_text().splitlines():
        if line.startswith('#'):
            continue
        key, shape, dtype = line.split('\t')[:3]
        keys[key] = (json.loads(shape), dtype)
    return keys


def test_full_size_layout_equals_openpi_saved_checkpoint(golden_dir):
    """812 saved tensors with openpi's names, shapes and bf16/fp32 split."""
    reference = read_keys_full(golden_dir / 'KEYS_full.txt')
    del reference[EMBED_KEY]  # tied: save_model keeps only the lm_head name
    with torch.device('meta'):
        model = PI05Model(PI05Config.pi05()).to_precision(torch.bfloat16)
    state = openpi_state_dict(model)
    assert len(state) == 812
    assert {k: (list(v.shape), str(v.dtype).replace('torch.', ''))
            for k, v in state.items()} == reference


def test_golden_checkpoint_loads_with_the_tied_embedding(tiny):
    config, tensors = tiny
    assert TIED_LM_HEAD_KEY in tensors and EMBED_KEY not in tensors
    model = load_pi05_weights(PI05Model(config), tensors)
    assert torch.equal(model.vlm.embed_tokens.weight, tensors[TIED_LM_HEAD_KEY])


def test_missing_tensor_is_named_with_its_shape(tiny):
    config, tensors = tiny
    key = 'paligemma_with_expert.gemma_expert.model.layers.2.mlp.up_proj.weight'
    broken = {k: v for k, v in tensors.items() if k != key}
    with pytest.raises(CheckpointError, match=rf'missing.*{key}.*\[128, 64\]'):
        load_pi05_weights(PI05Model(config), broken)


def test_missing_embedding_is_named(tiny):
    config, tensors = tiny
    broken = {k: v for k, v in tensors.items() if k != TIED_LM_HEAD_KEY}
    with pytest.raises(CheckpointError, match=r'missing 1 tensor\(s\): .*lm_head\.weight '
                       r'\(= .*embed_tokens\.weight\)\W+\(expected shape \[512, 64\]\)'):
        load_pi05_weights(PI05Model(config), broken)


def test_many_missing_tensors_are_counted_and_the_first_named(tiny):
    config, tensors = tiny
    broken = {k: v for k, v in tensors.items() if '.layers.1.' not in k}
    with pytest.raises(CheckpointError) as info:
        load_pi05_weights(PI05Model(config), broken)
    message = str(info.value)
    missing = len(tensors) - len(broken)
    assert f'missing {missing} tensor(s)' in message
    assert message.count('expected shape') == 5 and f'and {missing - 5} more' in message


def test_unexpected_tensor_is_named(tiny):
    config, tensors = tiny
    broken = dict(tensors, **{'state_proj.weight': torch.zeros(64, 32)})
    with pytest.raises(CheckpointError, match=r'unexpected.*state_proj\.weight'):
        load_pi05_weights(PI05Model(config), broken)


def test_misshaped_tensor_is_named_with_the_expected_shape(tiny):
    config, tensors = tiny
    key = 'action_out_proj.weight'
    broken = dict(tensors, **{key: torch.zeros(7, 64)})
    with pytest.raises(CheckpointError, match=r'action_out_proj\.weight.*\[7, 64\].*\[32, 64\]'):
        load_pi05_weights(PI05Model(config), broken)
    broken = dict(tensors, **{TIED_LM_HEAD_KEY: torch.zeros(100, 64)})
    with pytest.raises(CheckpointError, match=r'lm_head.*expected \[512, 64\]'):
        load_pi05_weights(PI05Model(config), broken)


def test_model_of_another_geometry_is_rejected(tiny, golden_dir):
    _, tensors = tiny
    sq = json.loads((golden_dir / 'tiny_sq' / 'config.json').read_text())
    with pytest.raises(CheckpointError, match=r'40 tensor\(s\) of the wrong shape: .*projector'
                       r'\.linear\.weight\W+has shape \[64, 32\], expected \[128, 32\]'):
        load_pi05_weights(PI05Model(PI05Config.from_dict(sq)), tensors)


def test_only_safetensors_files_are_read(tmp_path, tiny):
    config, tensors = tiny
    path = tmp_path / 'model.pt'
    torch.save(tensors, path)
    with pytest.raises(CheckpointError, match='safetensors'):
        load_pi05_weights(PI05Model(config), path)


def test_unused_expert_lm_head_is_optional(tiny):
    config, tensors = tiny
    assert EXPERT_LM_HEAD_KEY in tensors
    without = {k: v for k, v in tensors.items() if k != EXPERT_LM_HEAD_KEY}
    load_pi05_weights(PI05Model(config), without)


def test_save_then_load_round_trips_in_openpi_layout(tmp_path, tiny):
    config, tensors = tiny
    model = load_pi05_weights(PI05Model(config), tensors)
    path = tmp_path / 'model.safetensors'
    save_pi05_weights(model, path)
    saved = load_file(str(path))
    assert set(saved) == set(tensors)
    for key, value in saved.items():
        if key != EXPERT_LM_HEAD_KEY:
            assert torch.equal(value, tensors[key]), key
    reloaded = load_pi05_weights(PI05Model(config), path)
    for (name, a), b in zip(model.state_dict().items(), reloaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_lerobot_layout_loads(tiny):
    config, tensors = tiny
    lerobot = {'model.' + k: v for k, v in tensors.items()}
    lerobot['model.' + EMBED_KEY] = lerobot.pop('model.' + TIED_LM_HEAD_KEY)
    del lerobot['model.' + EXPERT_LM_HEAD_KEY]
    model = load_pi05_weights(PI05Model(config), lerobot)
    assert torch.equal(model.vlm.embed_tokens.weight, tensors[TIED_LM_HEAD_KEY])
    assert torch.equal(model.action_in_proj.bias, tensors['action_in_proj.bias'])


def test_bfloat16_checkpoint_loads_into_float32_model(tmp_path, tiny):
    config, tensors = tiny
    bf16 = {k: v.to(torch.bfloat16) for k, v in tensors.items()}
    save_file(bf16, str(tmp_path / 'model.safetensors'))
    model = load_pi05_weights(PI05Model(config), tmp_path / 'model.safetensors')
    assert model.time_mlp_in.weight.dtype == torch.float32
    assert torch.equal(model.time_mlp_in.weight, bf16['time_mlp_in.weight'].float())


def test_random_init_is_deterministic_and_scaled():
    config = PI05Config.tiny()
    a = init_random_weights(PI05Model(config), seed=1)
    b = init_random_weights(PI05Model(config), seed=1)
    c = init_random_weights(PI05Model(config), seed=2)
    for (name, x), y, z in zip(a.state_dict().items(), b.state_dict().values(),
                               c.state_dict().values()):
        assert torch.equal(x, y), name
        assert not torch.equal(x, z), name
    fc = a.vlm.layers[0].mlp.down_proj.weight  # fan_in 128
    assert abs(fc.std().item() - 128 ** -0.5) < 0.01
