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
LeRobot pi05 checkpoints: state_dict keys, config.json and normalization statistics.

A LeRobot pi05 policy directory (``PI05Policy.save_pretrained``) holds ``config.json``
(``"type": "pi05"``), ``model.safetensors`` whose keys are openpi's PyTorch keys behind a
``model.`` prefix, and the processor pipelines ``policy_preprocessor.json`` /
``policy_postprocessor.json`` whose normalizer steps keep the dataset statistics in
``policy_{pre,post}processor_step_<i>_{normalizer,unnormalizer}_processor.safetensors`` (flat
keys ``<feature>.<stat>``). Everything here is plain json + safetensors; no LeRobot import.
"""

import json
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Tuple

import numpy as np
from safetensors.numpy import load_file

LEROBOT_PREFIX = 'model.'
_PALIGEMMA = 'paligemma_with_expert.paligemma.'
EMBEDDING_KEY = f'{_PALIGEMMA}lm_head.weight'
EMBED_TOKENS_KEY = f'{_PALIGEMMA}model.language_model.embed_tokens.weight'
_VISION_TOWER = f'{_PALIGEMMA}model.vision_tower.'
# LeRobot-only modules the openpi network does not have.
_UNSUPPORTED = {
    'proprio_history_proj.': 'MEM proprioceptive memory (use_proprioceptive_memory=true)',
}
# Older transformers (< 4.52) nested PaliGemma differently; LeRobot checkpoints written with
# them use these prefixes (after the ``model.`` prefix is removed).
_LEGACY_PREFIXES: Tuple[Tuple[str, str], ...] = (
    (f'{_PALIGEMMA}language_model.model.', f'{_PALIGEMMA}model.language_model.'),
    (f'{_PALIGEMMA}language_model.lm_head.', f'{_PALIGEMMA}lm_head.'),
    (f'{_PALIGEMMA}vision_tower.', f'{_PALIGEMMA}model.vision_tower.'),
    (f'{_PALIGEMMA}multi_modal_projector.', f'{_PALIGEMMA}model.multi_modal_projector.'),
    ('action_time_mlp_in.', 'time_mlp_in.'),
    ('action_time_mlp_out.', 'time_mlp_out.'),
)


class LeRobotCheckpointError(ValueError):
    """A LeRobot checkpoint file is missing, malformed or uses an unsupported feature."""


def is_lerobot_layout(keys: Iterable[str]) -> bool:
    """Return True when the keys are a LeRobot pi05 state_dict (openpi keys behind ``model.``)."""
    keys = list(keys)
    return bool(keys) and all(k.startswith(LEROBOT_PREFIX) for k in keys) and any(
        k.startswith(LEROBOT_PREFIX + 'paligemma_with_expert.') for k in keys)


def _openpi_key(lerobot_key: str) -> str:
    key = lerobot_key[len(LEROBOT_PREFIX):] if lerobot_key.startswith(LEROBOT_PREFIX) \
        else lerobot_key
    for old, new in _LEGACY_PREFIXES:
        if key.startswith(old):
            key = new + key[len(old):]
            break
    # Some transformers versions make the SigLIP transformer itself the vision tower.
    if key.startswith(_VISION_TOWER) and not key.startswith(_VISION_TOWER + 'vision_model.'):
        key = _VISION_TOWER + 'vision_model.' + key[len(_VISION_TOWER):]
    return key


def lerobot_to_openpi(tensors: Mapping[str, Any]) -> Dict[str, Any]:
    """
    Map a LeRobot pi05 state_dict to openpi's PyTorch key layout (values are not copied).

    - removes the ``model.`` prefix (keys without it are taken as already unprefixed);
    - renames the pre-4.52 transformers PaliGemma nesting and LeRobot's ``action_time_mlp_*``;
    - stores the token embedding under ``paligemma.lm_head.weight`` (openpi's tied name): an
      ``embed_tokens.weight`` is renamed to it, and when both are present they must be equal.

    Raises LeRobotCheckpointError for LeRobot-only modules (MEM) and for two keys that map to
    the same openpi key. Other unknown keys pass through for the strict model loader to name.
    """
    out: Dict[str, Any] = {}
    origin: Dict[str, str] = {}
    for key, value in tensors.items():
        new = _openpi_key(key)
        for prefix, feature in _UNSUPPORTED.items():
            if new.startswith(prefix):
                raise LeRobotCheckpointError(f'{key}: LeRobot-only {feature} is not supported '
                                             'by the openpi PI0.5 network')
        if new == EMBED_TOKENS_KEY:
            new = EMBEDDING_KEY
        if new in out:
            first = origin[new]
            if new == EMBEDDING_KEY and _same(out[new], value):
                continue
            raise LeRobotCheckpointError(f'{first} and {key} both map to {new}'
                                         + (' and hold different values'
                                            if new == EMBEDDING_KEY else ''))
        out[new] = value
        origin[new] = key
    return out


def _same(a: Any, b: Any) -> bool:
    if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
        return False
    if hasattr(a, 'equal'):
        return bool(a.equal(b))
    return bool(np.array_equal(a, b))


# --------------------------------------------------------------------------------------------
# config.json
# --------------------------------------------------------------------------------------------

# openpi gemma.py variant table: width, depth, mlp_dim, num_heads, num_kv_heads, head_dim.
GEMMA_VARIANTS = {
    'gemma_300m': (1024, 18, 4096, 8, 1, 256),
    'gemma_2b': (2048, 18, 16384, 8, 1, 256),
}
PALIGEMMA_VOCAB_SIZE = 257152


def read_lerobot_config(checkpoint_dir: Path) -> Dict[str, Any]:
    """Load ``config.json`` of a LeRobot policy directory and check it is a pi05 policy."""
    path = Path(checkpoint_dir) / 'config.json'
    if not path.is_file():
        raise LeRobotCheckpointError(f'{path} not found: not a LeRobot policy directory')
    config = json.loads(path.read_text())
    if config.get('type') != 'pi05':
        raise LeRobotCheckpointError(f"{path}: 'type' is {config.get('type')!r}; expected "
                                     "'pi05'")
    return config


def lerobot_architecture(config: Mapping[str, Any]) -> Dict[str, Any]:
    """
    Map a LeRobot pi05 ``config.json`` dict to the golden ``config.json`` architecture fields.

    LeRobot names: chunk_size -> action_horizon, max_action_dim -> action_dim,
    tokenizer_max_length -> max_token_len, num_inference_steps -> num_steps; the Gemma variants
    come from openpi's table, SigLIP is So400m/14 at ``image_resolution``.
    """
    def gemma(variant_field: str, adarms: bool) -> Dict[str, Any]:
        variant = config.get(variant_field, 'gemma_2b' if not adarms else 'gemma_300m')
        if variant not in GEMMA_VARIANTS:
            raise LeRobotCheckpointError(f'config {variant_field} is {variant!r}; expected one '
                                         f'of {sorted(GEMMA_VARIANTS)}')
        width, depth, mlp, heads, kv, head_dim = GEMMA_VARIANTS[variant]
        d = {'width': width, 'depth': depth, 'mlp_dim': mlp, 'num_heads': heads,
             'num_kv_heads': kv, 'head_dim': head_dim, 'hidden_activation': 'gelu_pytorch_tanh',
             'rms_norm_eps': 1e-6, 'rope_theta': 10000.0, 'use_adarms': adarms}
        if adarms:
            d['adarms_cond_dim'] = width
        return d

    resolution = config.get('image_resolution', [224, 224])
    if list(resolution) != [resolution[0], resolution[0]]:
        raise LeRobotCheckpointError(f'config image_resolution {resolution} is not square')
    vlm = gemma('paligemma_variant', False)
    return {
        'vlm': vlm,
        'action_expert': gemma('action_expert_variant', True),
        'vision': {'hidden_size': 1152, 'num_hidden_layers': 27, 'intermediate_size': 4304,
                   'num_attention_heads': 16, 'patch_size': 14, 'image_size': int(resolution[0]),
                   'num_channels': 3, 'hidden_act': 'gelu_pytorch_tanh',
                   'layer_norm_eps': 1e-6,
                   'tokens_per_image': (int(resolution[0]) // 14) ** 2},
        'projector': {'in_dim': 1152, 'out_dim': vlm['width'], 'bias': True},
        'vocab_size': PALIGEMMA_VOCAB_SIZE,
        'action_dim': int(config.get('max_action_dim', 32)),
        'action_horizon': int(config.get('chunk_size', 50)),
        'max_token_len': int(config.get('tokenizer_max_length', 200)),
        'num_steps': int(config.get('num_inference_steps', 10)),
    }


# --------------------------------------------------------------------------------------------
# Normalization statistics
# --------------------------------------------------------------------------------------------

def _pipeline_step(checkpoint_dir: Path, pipeline: str, registry_name: str
                   ) -> Tuple[Dict[str, Any], Dict[str, Dict[str, np.ndarray]]]:
    """(step config, {feature: {stat: array}}) of one stateful step of a saved pipeline."""
    path = checkpoint_dir / f'{pipeline}.json'
    if not path.is_file():
        raise LeRobotCheckpointError(f'{path} not found: a LeRobot pi05 directory keeps its '
                                     'normalization statistics in its processor pipelines')
    steps = json.loads(path.read_text()).get('steps', [])
    matches = [s for s in steps if s.get('registry_name') == registry_name]
    if len(matches) != 1:
        raise LeRobotCheckpointError(f'{path}: expected one step with registry_name '
                                     f'{registry_name!r}, found {len(matches)}')
    step = matches[0]
    stats: Dict[str, Dict[str, np.ndarray]] = {}
    if step.get('state_file'):
        state_path = checkpoint_dir / step['state_file']
        if not state_path.is_file():
            raise LeRobotCheckpointError(f'{state_path} (state_file of {registry_name} in '
                                         f'{path.name}) not found')
        for flat_key, value in load_file(str(state_path)).items():
            if '.' not in flat_key:
                raise LeRobotCheckpointError(f'{state_path}: key {flat_key!r} is not '
                                             "'<feature>.<stat>'")
            feature, stat = flat_key.rsplit('.', 1)
            stats.setdefault(feature, {})[stat] = value.astype(np.float64)
    return step.get('config', {}), stats


def lerobot_normalization_stats(checkpoint_dir: Path) -> Dict[str, Any]:
    """
    Read the normalization settings and statistics of a LeRobot pi05 policy directory.

    Returns ``{'norm_map': {'STATE': 'QUANTILES', ...}, 'eps': float, 'features': {name:
    {'type', 'shape'}}, 'stats': {feature: {stat: float64 array}}}``. ``stats`` holds the
    preprocessor normalizer's statistics, with the postprocessor unnormalizer's statistics for
    the output features (``action``) taking precedence, since those are what LeRobot applies to
    the model output. Stat names are LeRobot's: mean, std, min, max, q01, q10, q50, q90, q99.
    """
    checkpoint_dir = Path(checkpoint_dir)
    pre_config, pre_stats = _pipeline_step(checkpoint_dir, 'policy_preprocessor',
                                           'normalizer_processor')
    post_config, post_stats = _pipeline_step(checkpoint_dir, 'policy_postprocessor',
                                             'unnormalizer_processor')
    stats = dict(pre_stats)
    stats.update(post_stats)
    features = dict(pre_config.get('features', {}))
    features.update(post_config.get('features', {}))
    return {'norm_map': dict(pre_config.get('norm_map', {})),
            'eps': float(pre_config.get('eps', 1e-8)),
            'features': features, 'stats': stats}


_OPENPI_NAMES = {'observation.state': 'state', 'action': 'actions'}
_OPENPI_STATS = ('mean', 'std', 'q01', 'q99')


def to_openpi_norm_stats(stats: Mapping[str, Mapping[str, np.ndarray]]) -> Dict[str, Any]:
    """
    Convert LeRobot stats to openpi ``norm_stats.json`` content.

    Returns ``{'norm_stats': {'state': ..., 'actions': ...}}`` with mean/std/q01/q99 lists for the
    state and action features present.

    Note that the formulas differ slightly: LeRobot substitutes eps=1e-8 only where q99 == q01
    (or std == 0); openpi always adds 1e-6 to the denominator.
    """
    out: Dict[str, Any] = {}
    for lerobot_name, openpi_name in _OPENPI_NAMES.items():
        if lerobot_name not in stats:
            continue
        feature = stats[lerobot_name]
        out[openpi_name] = {s: np.asarray(feature[s], dtype=np.float64).reshape(-1).tolist()
                            for s in _OPENPI_STATS if s in feature}
    return {'norm_stats': out}
