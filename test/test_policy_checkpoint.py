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

"""Checkpoint directories: layouts, config.json variants, assets, tokenizer, demo checkpoint."""

import hashlib
import json

import numpy as np
from pi05_ros.model.config import PI05Config
from pi05_ros.policy.checkpoint import (CheckpointDirError, open_checkpoint, present_assets,
                                        read_model_config, resolve_tokenizer, TOKENIZER_ENV)
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.normalize import load_norm_stats
import pytest
from safetensors.numpy import save_file


def openpi_dir(tmp_path, assets=('droid',), config=None):
    (tmp_path / 'model.safetensors').write_bytes(b'')
    for asset in assets:
        (tmp_path / 'assets' / asset).mkdir(parents=True)
        (tmp_path / 'assets' / asset / 'norm_stats.json').write_text(json.dumps({'norm_stats': {
            'state': {'q01': [0.0], 'q99': [1.0]}, 'actions': {'q01': [0.0], 'q99': [1.0]}}}))
    (tmp_path / 'tokenizer.model').write_bytes(b'sp')
    if config is not None:
        (tmp_path / 'config.json').write_text(json.dumps(config))
    return tmp_path


def test_missing_asset_lists_the_assets_present(tmp_path):
    directory = openpi_dir(tmp_path, assets=('trossen', 'physical-intelligence/libero'))
    assert present_assets(directory) == ('physical-intelligence/libero', 'trossen')
    with pytest.raises(CheckpointDirError,
                       match=r"asset_id 'droid'.*\['physical-intelligence/libero', 'trossen'\]"):
        open_checkpoint(directory, 'droid')
    opened = open_checkpoint(directory, 'physical-intelligence/libero')
    assert opened.layout == 'openpi' and opened.norm_stats['state'].q99.tolist() == [1.0]


def test_jax_checkpoint_points_to_pi05_convert(tmp_path):
    (tmp_path / 'params').mkdir()
    with pytest.raises(CheckpointDirError, match='pi05-convert'):
        open_checkpoint(tmp_path, 'droid')


def test_directory_without_weights_is_an_error(tmp_path):
    with pytest.raises(CheckpointDirError, match='no model.safetensors'):
        open_checkpoint(tmp_path, 'droid')
    with pytest.raises(CheckpointDirError, match='no directory'):
        open_checkpoint(tmp_path / 'absent', 'droid')


def test_config_json_variants(tmp_path, golden_dir):
    assert read_model_config(tmp_path) == PI05Config.pi05()  # no config.json: released PI0.5
    converter = {'action_dim': 32, 'action_horizon': 15, 'paligemma_variant': 'gemma_2b',
                 'action_expert_variant': 'gemma_300m', 'precision': 'bfloat16'}
    (tmp_path / 'config.json').write_text(json.dumps(converter))
    assert read_model_config(tmp_path) == PI05Config.pi05(action_horizon=15)
    converter['paligemma_variant'] = 'gemma_2b_lora'
    (tmp_path / 'config.json').write_text(json.dumps(converter))
    with pytest.raises(CheckpointDirError, match='paligemma_variant'):
        read_model_config(tmp_path)
    config = read_model_config(golden_dir / 'geom')
    assert config.vlm.width == 256 and config.max_token_len == 64


def test_tokenizer_resolution_order(tmp_path, monkeypatch):
    explicit = tmp_path / 'explicit.model'
    explicit.write_bytes(b'x')
    env = tmp_path / 'env.model'
    env.write_bytes(b'x')
    ckpt = tmp_path / 'ckpt'
    ckpt.mkdir()
    monkeypatch.delenv(TOKENIZER_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match='paligemma_tokenizer.model'):
        resolve_tokenizer(ckpt)
    monkeypatch.setenv(TOKENIZER_ENV, str(env))
    assert resolve_tokenizer(ckpt) == env
    (ckpt / 'tokenizer.model').write_bytes(b'x')
    assert resolve_tokenizer(ckpt) == ckpt / 'tokenizer.model'
    assert resolve_tokenizer(ckpt, explicit) == explicit
    with pytest.raises(FileNotFoundError, match='tokenizer_path'):
        resolve_tokenizer(ckpt, tmp_path / 'missing.model')


def write_lerobot_checkpoint(directory):
    """Write a LeRobot pi05 directory: config.json and both processor pipelines with stats."""
    (directory / 'model.safetensors').write_bytes(b'')
    (directory / 'tokenizer.model').write_bytes(b'sp')
    (directory / 'config.json').write_text(json.dumps({
        'type': 'pi05', 'chunk_size': 30, 'max_action_dim': 32, 'tokenizer_max_length': 200,
        'num_inference_steps': 5}))
    norm_map = {'VISUAL': 'IDENTITY', 'STATE': 'QUANTILES', 'ACTION': 'QUANTILES'}
    for pipeline, step, stats in (
            ('policy_preprocessor', 'normalizer_processor',
             {'observation.state.q01': [-1.0, 0.0], 'observation.state.q99': [1.0, 2.0],
              'action.q01': [0.0], 'action.q99': [5.0]}),
            ('policy_postprocessor', 'unnormalizer_processor',
             {'action.q01': [0.0], 'action.q99': [4.0]})):
        state_file = f'{pipeline}_step_0_{step}.safetensors'
        save_file({k: np.asarray(v, dtype=np.float32) for k, v in stats.items()},
                  str(directory / state_file))
        (directory / f'{pipeline}.json').write_text(json.dumps({'steps': [
            {'registry_name': step, 'config': {'norm_map': norm_map}, 'state_file': state_file}]}))
    return directory


def test_lerobot_directory_reads_config_and_processor_stats(tmp_path):
    write_lerobot_checkpoint(tmp_path)
    opened = open_checkpoint(tmp_path, 'ignored_for_lerobot')
    assert opened.layout == 'lerobot' and opened.norm_convention == 'lerobot'
    assert opened.norm_mode == 'quantile'
    assert opened.config.action_horizon == 30 and opened.config.num_steps == 5
    assert opened.norm_stats['state'].q99.tolist() == [1.0, 2.0]
    assert opened.norm_stats['actions'].q99.tolist() == [4.0]  # the unnormalizer's stats win


def test_demo_checkpoint_is_complete_and_deterministic(tmp_path):
    first = make_demo_checkpoint(tmp_path / 'a')
    second = make_demo_checkpoint(tmp_path / 'b')
    files = ['model.safetensors', 'config.json', 'tokenizer.model', 'assets/demo/norm_stats.json']
    for name in files:
        digest = [hashlib.sha256((d / name).read_bytes()).hexdigest() for d in (first, second)]
        assert digest[0] == digest[1], name
    opened = open_checkpoint(first, 'demo')
    assert opened.tokenizer == first / 'tokenizer.model'
    assert len(load_norm_stats(opened.norm_source)['state'].q01) == 7
    different = make_demo_checkpoint(tmp_path / 'c', seed=1)
    assert (different / 'model.safetensors').read_bytes() != \
        (first / 'model.safetensors').read_bytes()


def test_demo_checkpoint_for_other_profiles_names_their_asset(tmp_path):
    directory = make_demo_checkpoint(tmp_path, profile='aloha')
    stats = load_norm_stats(directory / 'assets' / 'trossen' / 'norm_stats.json')
    assert len(stats['actions'].q99) == 14
