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

"""LeRobot pi05 checkpoints: key mapping round trips, config and normalization statistics."""

import json
from pathlib import Path
from typing import Dict

import numpy as np
from pi05_ros.model.lerobot_keys import (
    EMBED_TOKENS_KEY, EMBEDDING_KEY, is_lerobot_layout, lerobot_architecture,
    lerobot_normalization_stats, lerobot_to_openpi, LeRobotCheckpointError, read_lerobot_config,
    to_openpi_norm_stats)
import pytest
from safetensors.numpy import save_file
from safetensors.torch import load_file
import torch

PG = 'paligemma_with_expert.paligemma.'


@pytest.fixture(scope='module')
def golden_tensors(golden_dir) -> Dict[str, torch.Tensor]:
    return load_file(str(golden_dir / 'tiny' / 'model.safetensors'))


def _as_lerobot(tensors: Dict[str, torch.Tensor], with_embed_tokens: bool = True
                ) -> Dict[str, torch.Tensor]:
    """Return what PI05Policy.state_dict() holds: openpi names under 'model.', both tied names."""
    out = {f'model.{k}': v for k, v in tensors.items()}
    if with_embed_tokens:
        out[f'model.{EMBED_TOKENS_KEY}'] = tensors[EMBEDDING_KEY]
    return out


def _legacy_transformers_layout(key: str) -> str:
    """Inverse of the pre-4.52 transformers PaliGemma renames (and a bare SigLIP tower)."""
    for new, old in ((f'{PG}model.language_model.', f'{PG}language_model.model.'),
                     (f'{PG}lm_head.', f'{PG}language_model.lm_head.'),
                     (f'{PG}model.vision_tower.vision_model.', f'{PG}vision_tower.'),
                     (f'{PG}model.multi_modal_projector.', f'{PG}multi_modal_projector.'),
                     ('time_mlp_', 'action_time_mlp_')):
        if key.startswith(new):
            return old + key[len(new):]
    return key


def _assert_same_tensors(mapped: Dict[str, torch.Tensor], golden: Dict[str, torch.Tensor]):
    assert sorted(mapped) == sorted(golden)
    assert all(torch.equal(mapped[k], golden[k]) for k in golden)


def test_lerobot_state_dict_maps_back_to_openpi_keys(golden_tensors):
    lerobot = _as_lerobot(golden_tensors)
    assert is_lerobot_layout(lerobot)
    _assert_same_tensors(lerobot_to_openpi(lerobot), golden_tensors)


def test_embed_tokens_alone_becomes_the_tied_lm_head_name(golden_tensors):
    lerobot = _as_lerobot(golden_tensors)
    del lerobot[f'model.{EMBEDDING_KEY}']
    _assert_same_tensors(lerobot_to_openpi(lerobot), golden_tensors)


def test_legacy_transformers_layout_maps_back(golden_tensors):
    lerobot = {_legacy_transformers_layout(k[len('model.'):]): v
               for k, v in _as_lerobot(golden_tensors, with_embed_tokens=False).items()}
    lerobot = {f'model.{k}': v for k, v in lerobot.items()}
    assert any('language_model.model.layers' in k for k in lerobot)
    _assert_same_tensors(lerobot_to_openpi(lerobot), golden_tensors)


def test_openpi_layout_is_not_lerobot_and_passes_through(golden_tensors):
    assert not is_lerobot_layout(golden_tensors)
    assert not is_lerobot_layout([])
    _assert_same_tensors(lerobot_to_openpi(golden_tensors), golden_tensors)


def test_tied_names_with_different_values_are_refused(golden_tensors):
    lerobot = _as_lerobot(golden_tensors)
    lerobot[f'model.{EMBED_TOKENS_KEY}'] = lerobot[f'model.{EMBEDDING_KEY}'] + 1.0
    with pytest.raises(LeRobotCheckpointError, match='embed_tokens.*different values'):
        lerobot_to_openpi(lerobot)


def test_lerobot_only_memory_module_is_refused_by_name(golden_tensors):
    lerobot = _as_lerobot(golden_tensors)
    lerobot['model.proprio_history_proj.weight'] = torch.zeros(64, 32)
    with pytest.raises(LeRobotCheckpointError, match='proprio_history_proj.*MEM'):
        lerobot_to_openpi(lerobot)


def test_mapped_lerobot_checkpoint_loads_into_the_network(golden_dir, golden_tensors):
    config_module = pytest.importorskip('pi05_ros.model.config')
    loading = pytest.importorskip('pi05_ros.model.loading')
    pi05 = pytest.importorskip('pi05_ros.model.pi05')
    config = config_module.PI05Config.from_dict(
        json.loads((golden_dir / 'tiny' / 'config.json').read_text()))
    model = loading.load_pi05_weights(pi05.PI05Model(config), _as_lerobot(golden_tensors))
    assert torch.equal(model.state_dict()[loading.EMBED_KEY], golden_tensors[EMBEDDING_KEY])


# ---------------------------------------------------------------------------------------------
# A LeRobot policy directory as PI05Policy.save_pretrained + the processor pipelines write it
# ---------------------------------------------------------------------------------------------

STATE_DIM, ACTION_DIM = 8, 7


def _stats(dim: int, offset: float) -> Dict[str, np.ndarray]:
    base = np.arange(dim, dtype=np.float32) + offset
    return {'mean': base, 'std': base * 0 + 0.5, 'min': base - 3, 'max': base + 3,
            'q01': base - 2, 'q10': base - 1, 'q50': base, 'q90': base + 1, 'q99': base + 2}


def _write_lerobot_dir(root: Path) -> Path:
    features = {
        'observation.state': {'type': 'STATE', 'shape': [STATE_DIM]},
        'observation.images.base_0_rgb': {'type': 'VISUAL', 'shape': [3, 224, 224]},
    }
    outputs = {'action': {'type': 'ACTION', 'shape': [ACTION_DIM]}}
    norm_map = {'VISUAL': 'IDENTITY', 'STATE': 'QUANTILES', 'ACTION': 'QUANTILES'}
    config = {'type': 'pi05', 'paligemma_variant': 'gemma_2b',
              'action_expert_variant': 'gemma_300m', 'chunk_size': 15, 'n_action_steps': 8,
              'max_state_dim': 32, 'max_action_dim': 32, 'tokenizer_max_length': 200,
              'num_inference_steps': 10, 'image_resolution': [224, 224],
              'input_features': features, 'output_features': outputs,
              'normalization_mapping': norm_map}
    (root / 'config.json').write_text(json.dumps(config))
    flat = {}
    for name, stats in (('observation.state', _stats(STATE_DIM, 0.0)),
                        ('action', _stats(ACTION_DIM, 10.0))):
        flat.update({f'{name}.{k}': v for k, v in stats.items()})
    flat['observation.images.base_0_rgb.mean'] = np.full((3, 1, 1), 0.5, np.float32)
    pre_file = 'policy_preprocessor_step_3_normalizer_processor.safetensors'
    save_file(flat, str(root / pre_file))
    post_flat = {k: v for k, v in flat.items() if k.startswith('action.')}
    post_file = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    save_file(post_flat, str(root / post_file))
    step_config = {'eps': 1e-8, 'features': {**features, **outputs}, 'norm_map': norm_map}
    pre = {'name': 'policy_preprocessor', 'steps': [
        {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
        {'registry_name': 'to_batch_processor', 'config': {}},
        {'registry_name': 'relative_actions_processor', 'config': {'enabled': False}},
        {'registry_name': 'normalizer_processor', 'config': step_config,
         'state_file': pre_file},
        {'registry_name': 'pi05_prepare_state_tokenizer_processor_step', 'config': {}},
    ]}
    post = {'name': 'policy_postprocessor', 'steps': [
        {'registry_name': 'unnormalizer_processor',
         'config': {'eps': 1e-8, 'features': outputs, 'norm_map': norm_map},
         'state_file': post_file},
        {'registry_name': 'device_processor', 'config': {'device': 'cpu'}},
    ]}
    (root / 'policy_preprocessor.json').write_text(json.dumps(pre))
    (root / 'policy_postprocessor.json').write_text(json.dumps(post))
    return root


def test_normalization_stats_are_read_from_the_processor_files(tmp_path):
    result = lerobot_normalization_stats(_write_lerobot_dir(tmp_path))
    assert result['norm_map'] == {'VISUAL': 'IDENTITY', 'STATE': 'QUANTILES',
                                  'ACTION': 'QUANTILES'}
    assert result['eps'] == 1e-8
    assert result['features']['action']['shape'] == [ACTION_DIM]
    np.testing.assert_array_equal(result['stats']['observation.state']['q99'],
                                  _stats(STATE_DIM, 0.0)['q99'])
    np.testing.assert_array_equal(result['stats']['action']['q01'],
                                  _stats(ACTION_DIM, 10.0)['q01'])
    assert result['stats']['observation.images.base_0_rgb']['mean'].shape == (3, 1, 1)


def test_openpi_norm_stats_from_lerobot_stats(tmp_path):
    stats = lerobot_normalization_stats(_write_lerobot_dir(tmp_path))['stats']
    openpi = to_openpi_norm_stats(stats)
    assert sorted(openpi['norm_stats']) == ['actions', 'state']
    assert openpi['norm_stats']['actions']['q99'] == _stats(ACTION_DIM, 10.0)['q99'].tolist()
    assert sorted(openpi['norm_stats']['state']) == ['mean', 'q01', 'q99', 'std']
    normalize = pytest.importorskip('pi05_ros.policy.normalize')
    path = tmp_path / 'norm_stats.json'
    path.write_text(json.dumps(openpi))
    loaded = normalize.load_norm_stats(str(path))
    np.testing.assert_allclose(loaded['state'].q01, _stats(STATE_DIM, 0.0)['q01'])


def test_missing_processor_files_are_named(tmp_path):
    root = _write_lerobot_dir(tmp_path)
    (root / 'policy_postprocessor_step_0_unnormalizer_processor.safetensors').unlink()
    with pytest.raises(LeRobotCheckpointError, match='unnormalizer_processor.safetensors'):
        lerobot_normalization_stats(root)
    (root / 'policy_preprocessor.json').unlink()
    with pytest.raises(LeRobotCheckpointError, match='policy_preprocessor.json'):
        lerobot_normalization_stats(root)


def test_lerobot_config_gives_the_released_architecture(tmp_path):
    config = read_lerobot_config(_write_lerobot_dir(tmp_path))
    arch = lerobot_architecture(config)
    assert arch['action_horizon'] == 15 and arch['max_token_len'] == 200
    assert (arch['vlm']['width'], arch['action_expert']['width']) == (2048, 1024)
    config_module = pytest.importorskip('pi05_ros.model.config')
    released = config_module.PI05Config.pi05(action_horizon=15)
    assert config_module.PI05Config.from_dict(arch) == released


def test_non_pi05_lerobot_config_is_refused(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps({'type': 'act'}))
    with pytest.raises(LeRobotCheckpointError, match="'act'.*'pi05'"):
        read_lerobot_config(tmp_path)
