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
A LeRobot pi05 directory end to end: config + processor stats + prefixed weights -> chunk.

The test writes what ``PI05Policy.save_pretrained`` and the processor pipelines write, around
the golden ``tiny`` network. A real LeRobot config only names the released Gemma variants and
SigLIP So400m, so the one thing replaced is the variant -> geometry table: the architecture
keeps every field LeRobot's config sets (chunk_size, max_action_dim, ...) and takes the tiny
geometry from the golden config. Everything else (layout detection, key mapping, statistics
from the processor files, LeRobot's epsilon and normalization mode) runs as for a real one.
"""

import json
import shutil

import numpy as np
from pi05_ros.model import lerobot_keys
from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import load_pi05_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.observation import Observation
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.runtime import Policy
import pytest
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file
import torch

CAMERAS = ('cam_high', 'cam_left_wrist', 'cam_right_wrist')
GEOMETRY = ('vlm', 'action_expert', 'vision', 'projector', 'vocab_size')
PG = 'paligemma_with_expert.paligemma.'
# LeRobot stores float32 statistics; these are exactly representable in float32.
Q01, Q99, MEAN, STD = (np.linspace(a, b, 7).astype(np.float32).astype(np.float64)
                       for a, b in ((-1.0, -0.4), (0.5, 1.3), (-0.2, 0.2), (0.3, 0.9)))


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_geometry(golden_dir, monkeypatch):
    """Map LeRobot's config to the architecture, with the golden tiny geometry, not 2B/300M."""
    golden = json.loads((golden_dir / 'tiny' / 'config.json').read_text())
    real = lerobot_keys.lerobot_architecture

    def architecture(config):
        return {**real(config), **{k: golden[k] for k in GEOMETRY}}

    monkeypatch.setattr(lerobot_keys, 'lerobot_architecture', architecture)


def write_lerobot_dir(root, golden_dir, norm='QUANTILES', relative=False):
    """Write a LeRobot pi05 policy directory holding the golden tiny weights."""
    tensors = load_file(str(golden_dir / 'tiny' / 'model.safetensors'))
    lerobot = {f'model.{k}': v for k, v in tensors.items()}
    # PI05Policy.state_dict() holds both tied names of the token embedding.
    lerobot[f'model.{PG}model.language_model.embed_tokens.weight'] = \
        tensors[f'{PG}lm_head.weight'].clone()
    save_file(lerobot, str(root / 'model.safetensors'))
    features = {'observation.state': {'type': 'STATE', 'shape': [7]},
                **{f'observation.images.{c}': {'type': 'VISUAL', 'shape': [3, 480, 640]}
                   for c in CAMERAS}}
    outputs = {'action': {'type': 'ACTION', 'shape': [7]}}
    norm_map = {'VISUAL': 'IDENTITY', 'STATE': norm, 'ACTION': norm}
    (root / 'config.json').write_text(json.dumps({
        'type': 'pi05', 'paligemma_variant': 'gemma_2b', 'action_expert_variant': 'gemma_300m',
        'chunk_size': 50, 'n_action_steps': 50, 'max_state_dim': 32, 'max_action_dim': 32,
        'tokenizer_max_length': 48, 'num_inference_steps': 10, 'image_resolution': [224, 224],
        'input_features': features, 'output_features': outputs,
        'normalization_mapping': norm_map, 'use_relative_actions': relative}))
    stats = {'q01': Q01, 'q99': Q99, 'mean': MEAN, 'std': STD, 'min': Q01 - 1, 'max': Q99 + 1}
    for pipeline, step, index, names in (
            ('policy_preprocessor', 'normalizer_processor', 3, ('observation.state', 'action')),
            ('policy_postprocessor', 'unnormalizer_processor', 0, ('action',))):
        state_file = f'{pipeline}_step_{index}_{step}.safetensors'
        save_numpy({f'{n}.{s}': v.astype(np.float32) for n in names for s, v in stats.items()},
                   str(root / state_file))
        steps = [{'registry_name': 'device_processor', 'config': {'device': 'cpu'}}] * index
        steps.append({'registry_name': step, 'state_file': state_file, 'config': {
            'eps': 1e-8, 'features': {**features, **outputs}, 'norm_map': norm_map}})
        (root / f'{pipeline}.json').write_text(json.dumps({'name': pipeline, 'steps': steps}))
    shutil.copy(golden_dir / 'tokenizer' / 'tokenizer.model', root)
    return root


def observation():
    rng = np.random.default_rng(11)
    images = {c: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for c in CAMERAS}
    return Observation(images=images, state=rng.uniform(-0.6, 0.6, 7), prompt='stack the cups',
                       stamp_ns=42)


def golden_network(golden_dir):
    config = PI05Config.from_dict(json.loads((golden_dir / 'tiny' / 'config.json').read_text()))
    model = PI05Model(config)
    load_pi05_weights(model, golden_dir / 'tiny' / 'model.safetensors')
    return model.eval()


@pytest.mark.parametrize('norm', ['QUANTILES', 'MEAN_STD'])
def test_lerobot_directory_runs_end_to_end(golden_dir, tmp_path, tiny_geometry, norm):
    directory = write_lerobot_dir(tmp_path, golden_dir, norm=norm)
    profile = load_profile('demo', chunk_rows=20)  # 7 joints, delta actions on every joint
    policy = Policy.from_checkpoint(directory, profile, warmup=False)
    identity = policy.model_identity
    assert identity['layout'] == 'lerobot'
    mode = 'quantile' if norm == 'QUANTILES' else 'zscore'
    assert identity['normalization'] == f'{mode} (lerobot)'
    obs = observation()
    noise = np.random.default_rng(5).standard_normal((50, 32)).astype(np.float32)
    chunk = policy.infer(obs, noise=noise)

    # LeRobot's formulas (eps only where a range is zero; std + 1e-8), the same tokens and
    # images as openpi (PreprocessTransforms is checked against openpi elsewhere), the golden
    # network, then the demo profile's delta: + state.
    if norm == 'QUANTILES':
        normalized = 2.0 * (obs.state - Q01) / (Q99 - Q01) - 1.0
    else:
        normalized = (obs.state - MEAN) / (STD + 1e-8)
    inputs = policy.preprocess(obs)
    # openpi's epsilon (1e-6 always) would differ by ~1e-6: LeRobot's convention is used
    np.testing.assert_allclose(inputs.normalized_state, normalized, rtol=0, atol=1e-12)
    model = golden_network(golden_dir)
    raw = model.sample_actions(
        {k: torch.from_numpy(v)[None] for k, v in inputs.images.items()},
        {k: torch.tensor([m]) for k, m in inputs.image_masks.items()},
        torch.from_numpy(inputs.tokens)[None], torch.from_numpy(inputs.token_mask)[None],
        noise=torch.from_numpy(noise)[None])[0].double().numpy()[:20, :7]
    if norm == 'QUANTILES':
        expected = (raw + 1.0) / 2.0 * (Q99 - Q01) + Q01
    else:
        expected = raw * (STD + 1e-8) + MEAN
    np.testing.assert_allclose(chunk.positions, expected + obs.state, rtol=0, atol=1e-9)


def test_relative_action_checkpoint_needs_a_delta_profile(golden_dir, tmp_path, tiny_geometry):
    directory = write_lerobot_dir(tmp_path, golden_dir, relative=True)
    with pytest.raises(ValueError, match=r'action.space: expected delta.*use_relative_actions'):
        Policy.from_checkpoint(directory, load_profile('generic', joint_names=list('abcdefg')),
                               warmup=False)
    policy = Policy.from_checkpoint(directory, 'demo', warmup=False)  # delta: accepted
    assert policy.profile.action_space == 'delta'


def test_lerobot_directory_without_processor_stats_is_named(golden_dir, tmp_path, tiny_geometry):
    directory = write_lerobot_dir(tmp_path, golden_dir)
    (directory / 'policy_postprocessor.json').unlink()
    with pytest.raises(ValueError, match='policy_postprocessor.json'):
        Policy.from_checkpoint(directory, 'demo', warmup=False)
