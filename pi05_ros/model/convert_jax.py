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
openpi JAX (orbax) PI0.5 checkpoints -> openpi PyTorch state_dict keys.

An openpi checkpoint directory holds ``params/``: an orbax PyTree checkpoint (OCDBT + zarr) of
``{'params': tree}`` whose leaves are the Flax parameters of ``openpi.models.pi0.Pi0`` with
``pi05=True``. Gemma and SigLIP layers are stacked (scanned) along a leading layer axis.

The arrays are read with ``tensorstore`` alone (no JAX, no orbax, no pickle): ``_METADATA``
lists the tree, each leaf is a zarr array inside the OCDBT key-value store. The mapping to the
PyTorch layout (spec section 3.2) is a pure re-indexing of the stored values, so a float32
checkpoint converts bit-exactly. Unlike openpi's converter, the attention output projection is
rebuilt from its own axes ``(heads, head_dim, width)`` and is right for any geometry, including
``heads * head_dim != width``.

Geometry is read from the array shapes; JAX keeps heads, kv heads and head_dim as separate axes,
so nothing about attention has to be guessed. What the weights cannot tell (action horizon,
prompt token budget, flow steps) is passed in by the caller.
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

KeyPath = Tuple[str, ...]

VLM = 'paligemma_with_expert.paligemma.model.language_model'
EXPERT = 'paligemma_with_expert.gemma_expert.model'
VISION = 'paligemma_with_expert.paligemma.model.vision_tower.vision_model'
PROJECTOR = 'paligemma_with_expert.paligemma.model.multi_modal_projector.linear'
# The token embedding is tied to the VLM lm_head; safetensors.torch.save_model keeps this name.
EMBEDDING_KEY = 'paligemma_with_expert.paligemma.lm_head.weight'
EMBED_TOKENS_KEY = f'{VLM}.embed_tokens.weight'
# Exists in openpi's PI0Pytorch state_dict but is never used (the expert has no token input).
EXPERT_LM_HEAD_KEY = 'paligemma_with_expert.gemma_expert.lm_head.weight'

# Architecture constants of openpi's Gemma/SigLIP that no weight records.
RMS_NORM_EPS = 1e-6
ROPE_THETA = 10000.0
LAYER_NORM_EPS = 1e-6
HIDDEN_ACTIVATION = 'gelu_pytorch_tanh'
IMAGE_KEYS_ORDER = ('base_0_rgb', 'left_wrist_0_rgb', 'right_wrist_0_rgb')

_LLM = 'PaliGemma/llm'
_IMG = 'PaliGemma/img'
_BLOCK = f'{_IMG}/Transformer/encoderblock'
_MHA = f'{_BLOCK}/MultiHeadDotProductAttention_0'


class JaxCheckpointError(ValueError):
    """The source is not a readable openpi PI0.5 JAX checkpoint, or its arrays are inconsistent."""


# --------------------------------------------------------------------------------------------
# Reading the orbax checkpoint
# --------------------------------------------------------------------------------------------

def find_params_dir(path: Path) -> Path:
    """
    Return the orbax ``params`` directory of a checkpoint directory (or of ``params/`` itself).

    Raises JaxCheckpointError naming what was expected when ``path`` is neither.
    """
    path = Path(path)
    if not path.exists():
        raise JaxCheckpointError(f'checkpoint path {str(path)!r} does not exist')
    for candidate in (path / 'params', path):
        if _is_orbax_dir(candidate):
            return candidate
    raise JaxCheckpointError(
        f'{str(path)!r} is not an openpi JAX checkpoint: expected an orbax directory '
        f"'params/' with '_METADATA', 'manifest.ocdbt' or zarr arrays (found: "
        f'{sorted(p.name for p in path.iterdir())[:10] if path.is_dir() else "a file"})')


def _is_orbax_dir(path: Path) -> bool:
    if (path / '_METADATA').is_file() or (path / 'manifest.ocdbt').is_file():
        return True
    # Orbax without OCDBT: one zarr directory per array.
    return path.is_dir() and any((child / '.zarray').is_file() or (child / 'zarr.json').is_file()
                                 for child in path.iterdir())


def _read_metadata(path: Path) -> Dict[str, Any]:
    """Read orbax's ``_METADATA`` JSON; anything else is a JaxCheckpointError naming the file."""
    try:
        metadata = json.loads(path.read_bytes().decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise JaxCheckpointError(f'{path}: not a valid orbax _METADATA JSON file ({err}); the '
                                 'checkpoint is corrupt or incompletely copied') from None
    except OSError as err:
        raise JaxCheckpointError(f'{path}: cannot read ({err.strerror or err})') from None
    if not isinstance(metadata, dict):
        raise JaxCheckpointError(f'{path}: expected a JSON object, got '
                                 f'{type(metadata).__name__}')
    return metadata


def _import_tensorstore() -> Any:
    try:
        import tensorstore
    except ImportError as err:
        raise ImportError(
            "reading openpi JAX checkpoints needs the 'tensorstore' package: "
            "pip install 'pi05_ros[jax]' (or: pip install tensorstore)") from err
    return tensorstore


def _normalise_path(keys: List[str]) -> KeyPath:
    """Drop the orbax item name ``params`` and the NNX ``value`` leaf suffix."""
    if keys and keys[0] == 'params':
        keys = keys[1:]
    if keys and keys[-1] == 'value':
        keys = keys[:-1]
    return tuple(keys)


class OrbaxParams:
    """
    Lazy view of the arrays of an orbax PyTree checkpoint, read with tensorstore.

    ``shape(path)`` costs only metadata; ``read(path)`` loads one array as numpy.
    """

    def __init__(self, params_dir: Path) -> None:
        self.params_dir = Path(params_dir).resolve()
        self._ts = _import_tensorstore()
        self._context = self._ts.Context()
        metadata_file = self.params_dir / '_METADATA'
        metadata = _read_metadata(metadata_file) if metadata_file.is_file() else {}
        self._zarr_driver = 'zarr3' if metadata.get('use_zarr3') else 'zarr'
        self._ocdbt = (self.params_dir / 'manifest.ocdbt').is_file()
        self._names: Dict[KeyPath, str] = {}
        if 'tree_metadata' in metadata:
            try:
                self._names = self._names_from_metadata(metadata['tree_metadata'])
            except (AttributeError, KeyError, TypeError):
                raise JaxCheckpointError(
                    f'{metadata_file}: tree_metadata: expected an object of leaves, each with '
                    'key_metadata: [{"key": ...}, ...] (an orbax checkpoint written by '
                    'openpi)') from None
        else:
            self._names = self._names_from_listing()
        if not self._names:
            raise JaxCheckpointError(f'no arrays found in orbax checkpoint {self.params_dir}')
        self._stores: Dict[KeyPath, Any] = {}

    @staticmethod
    def _names_from_metadata(tree: Dict[str, Any]) -> Dict[KeyPath, str]:
        names = {}
        for entry in tree.values():
            keys = [str(k['key']) for k in entry['key_metadata']]
            value_type = entry.get('value_metadata', {}).get('value_type', 'np.ndarray')
            if value_type not in ('np.ndarray', 'jax.Array'):
                raise JaxCheckpointError(f"orbax leaf {'/'.join(keys)} has value type "
                                         f'{value_type!r}; expected an array')
            names[_normalise_path(keys)] = '.'.join(keys)
        return names

    def _names_from_listing(self) -> Dict[KeyPath, str]:
        """Older orbax versions write no ``_METADATA``: find the zarr arrays by listing."""
        suffixes = ('/.zarray', '/zarr.json')
        if self._ocdbt:
            store = self._ts.KvStore.open(self._kvstore_spec('')).result()
            entries = [k.decode() for k in store.list().result()]
        else:
            entries = [str(p.relative_to(self.params_dir)) for p in self.params_dir.rglob('*')
                       if p.name in ('.zarray', 'zarr.json')]
        names = {}
        for entry in entries:
            for suffix in suffixes:
                if entry.endswith(suffix):
                    name = entry[:-len(suffix)]
                    if suffix == '/zarr.json':
                        self._zarr_driver = 'zarr3'
                    names[_normalise_path(name.split('.'))] = name
        return names

    def _kvstore_spec(self, name: str) -> Dict[str, Any]:
        if self._ocdbt:
            return {'driver': 'ocdbt', 'base': f'file://{self.params_dir}', 'path': name}
        return {'driver': 'file', 'path': str(self.params_dir / name)}

    def _store(self, path: KeyPath) -> Any:
        if path not in self._stores:
            if path not in self._names:
                raise KeyError('/'.join(path))
            spec = {'driver': self._zarr_driver, 'kvstore': self._kvstore_spec(self._names[path])}
            try:
                self._stores[path] = self._ts.open(spec, context=self._context, open=True,
                                                   read=True).result()
            except Exception as err:  # tensorstore raises ValueError/RuntimeError variants
                raise JaxCheckpointError(f"cannot open array {'/'.join(path)} in "
                                         f'{self.params_dir}: {err}') from err
        return self._stores[path]

    def paths(self) -> List[KeyPath]:
        """All leaf paths, e.g. ``('PaliGemma', 'llm', 'embedder', 'input_embedding')``."""
        return sorted(self._names)

    def shape(self, path: KeyPath) -> Tuple[int, ...]:
        return tuple(int(n) for n in self._store(path).shape)

    def read(self, path: KeyPath) -> np.ndarray:
        array = self._store(path).read().result()
        del self._stores[path]
        return np.asarray(array)


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

def _p(path: str) -> KeyPath:
    return tuple(path.split('/'))


@dataclasses.dataclass(frozen=True)
class JaxGeometry:
    """Every architecture number of a PI0.5 checkpoint that its array shapes determine."""

    vocab_size: int
    depth: int
    vlm_width: int
    vlm_mlp_dim: int
    expert_width: int
    expert_mlp_dim: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vision_width: int
    vision_depth: int
    vision_mlp_dim: int
    vision_heads: int
    vision_head_dim: int
    patch_size: int
    num_channels: int
    image_tokens: int
    action_dim: int

    @property
    def image_size(self) -> int:
        return self.patch_size * math.isqrt(self.image_tokens)

    def expected_shapes(self) -> Dict[KeyPath, Tuple[int, ...]]:
        """Shape of every array of an openpi pi05 JAX checkpoint with this geometry."""
        g = self
        L, N, K, H = g.depth, g.num_heads, g.num_kv_heads, g.head_dim
        Lv, Dv, Nv, Hv = g.vision_depth, g.vision_width, g.vision_heads, g.vision_head_dim
        shapes = {
            f'{_LLM}/embedder/input_embedding': (g.vocab_size, g.vlm_width),
            f'{_LLM}/final_norm/scale': (g.vlm_width,),
            f'{_LLM}/final_norm_1/Dense_0/kernel': (g.expert_width, 3 * g.expert_width),
            f'{_LLM}/final_norm_1/Dense_0/bias': (3 * g.expert_width,),
            f'{_IMG}/embedding/kernel': (g.patch_size, g.patch_size, g.num_channels, Dv),
            f'{_IMG}/embedding/bias': (Dv,),
            f'{_IMG}/pos_embedding': (1, g.image_tokens, Dv),
            f'{_IMG}/Transformer/encoder_norm/scale': (Dv,),
            f'{_IMG}/Transformer/encoder_norm/bias': (Dv,),
            f'{_IMG}/head/kernel': (Dv, g.vlm_width),
            f'{_IMG}/head/bias': (g.vlm_width,),
            f'{_BLOCK}/MlpBlock_0/Dense_0/kernel': (Lv, Dv, g.vision_mlp_dim),
            f'{_BLOCK}/MlpBlock_0/Dense_0/bias': (Lv, g.vision_mlp_dim),
            f'{_BLOCK}/MlpBlock_0/Dense_1/kernel': (Lv, g.vision_mlp_dim, Dv),
            f'{_BLOCK}/MlpBlock_0/Dense_1/bias': (Lv, Dv),
            f'{_MHA}/out/kernel': (Lv, Nv, Hv, Dv),
            f'{_MHA}/out/bias': (Lv, Dv),
            'action_in_proj/kernel': (g.action_dim, g.expert_width),
            'action_in_proj/bias': (g.expert_width,),
            'action_out_proj/kernel': (g.expert_width, g.action_dim),
            'action_out_proj/bias': (g.action_dim,),
        }
        for ln in ('LayerNorm_0', 'LayerNorm_1'):
            for leaf in ('scale', 'bias'):
                shapes[f'{_BLOCK}/{ln}/{leaf}'] = (Lv, Dv)
        for qkv in ('query', 'key', 'value'):
            shapes[f'{_MHA}/{qkv}/kernel'] = (Lv, Dv, Nv, Hv)
            shapes[f'{_MHA}/{qkv}/bias'] = (Lv, Nv, Hv)
        for suffix, width, mlp in (('', g.vlm_width, g.vlm_mlp_dim),
                                   ('_1', g.expert_width, g.expert_mlp_dim)):
            shapes[f'{_LLM}/layers/attn/q_einsum{suffix}/w'] = (L, N, width, H)
            shapes[f'{_LLM}/layers/attn/kv_einsum{suffix}/w'] = (L, 2, K, width, H)
            shapes[f'{_LLM}/layers/attn/attn_vec_einsum{suffix}/w'] = (L, N, H, width)
            shapes[f'{_LLM}/layers/mlp{suffix}/gating_einsum'] = (L, 2, width, mlp)
            shapes[f'{_LLM}/layers/mlp{suffix}/linear'] = (L, mlp, width)
        for norm in ('pre_attention_norm', 'pre_ffw_norm'):
            shapes[f'{_LLM}/layers/{norm}/scale'] = (L, g.vlm_width)
            shapes[f'{_LLM}/layers/{norm}_1/Dense_0/kernel'] = (
                L, g.expert_width, 3 * g.expert_width)
            shapes[f'{_LLM}/layers/{norm}_1/Dense_0/bias'] = (L, 3 * g.expert_width)
        for mlp in ('time_mlp_in', 'time_mlp_out'):
            shapes[f'{mlp}/kernel'] = (g.expert_width, g.expert_width)
            shapes[f'{mlp}/bias'] = (g.expert_width,)
        return {_p(k): v for k, v in shapes.items()}


def _shape_of(shape: Callable[[KeyPath], Tuple[int, ...]], path: str, ndim: int
              ) -> Tuple[int, ...]:
    try:
        s = shape(_p(path))
    except KeyError:
        raise JaxCheckpointError(f'checkpoint has no array {path!r}; not an openpi PI0.5 '
                                 'checkpoint') from None
    if len(s) != ndim:
        raise JaxCheckpointError(f'array {path!r} has shape {s}; expected {ndim} axes')
    return s


def infer_geometry(paths: List[KeyPath], shape: Callable[[KeyPath], Tuple[int, ...]]
                   ) -> JaxGeometry:
    """
    Read the architecture from array shapes and check every array against it.

    Raises JaxCheckpointError naming the first unexpected, missing or mis-shaped array.
    """
    _reject_foreign_layouts(paths)
    vocab, vlm_width = _shape_of(shape, f'{_LLM}/embedder/input_embedding', 2)
    depth, heads, _, head_dim = _shape_of(shape, f'{_LLM}/layers/attn/q_einsum/w', 4)
    kv_heads = _shape_of(shape, f'{_LLM}/layers/attn/kv_einsum/w', 5)[2]
    vlm_mlp = _shape_of(shape, f'{_LLM}/layers/mlp/gating_einsum', 4)[3]
    expert_width = _shape_of(shape, f'{_LLM}/layers/attn/q_einsum_1/w', 4)[2]
    expert_mlp = _shape_of(shape, f'{_LLM}/layers/mlp_1/gating_einsum', 4)[3]
    patch, _, channels, vision_width = _shape_of(shape, f'{_IMG}/embedding/kernel', 4)
    image_tokens = _shape_of(shape, f'{_IMG}/pos_embedding', 3)[1]
    vision_depth, _, vision_heads, vision_head_dim = _shape_of(
        shape, f'{_MHA}/query/kernel', 4)
    vision_mlp = _shape_of(shape, f'{_BLOCK}/MlpBlock_0/Dense_0/kernel', 3)[2]
    action_dim = _shape_of(shape, 'action_in_proj/kernel', 2)[0]
    if math.isqrt(image_tokens) ** 2 != image_tokens:
        raise JaxCheckpointError(f'{_IMG}/pos_embedding has {image_tokens} positions; expected '
                                 'a square number of patches')
    geometry = JaxGeometry(
        vocab_size=vocab, depth=depth, vlm_width=vlm_width, vlm_mlp_dim=vlm_mlp,
        expert_width=expert_width, expert_mlp_dim=expert_mlp, num_heads=heads,
        num_kv_heads=kv_heads, head_dim=head_dim, vision_width=vision_width,
        vision_depth=vision_depth, vision_mlp_dim=vision_mlp, vision_heads=vision_heads,
        vision_head_dim=vision_head_dim, patch_size=patch, num_channels=channels,
        image_tokens=image_tokens, action_dim=action_dim)
    expected = geometry.expected_shapes()
    unexpected = sorted('/'.join(p) for p in set(paths) - set(expected))
    if unexpected:
        raise JaxCheckpointError(f'unexpected arrays in the checkpoint (not part of openpi '
                                 f'PI0.5): {unexpected[:8]}')
    missing = sorted('/'.join(p) for p in set(expected) - set(paths))
    if missing:
        raise JaxCheckpointError(f'arrays missing from the checkpoint: {missing[:8]}')
    for path, want in sorted(expected.items()):
        got = shape(path)
        if tuple(got) != want:
            raise JaxCheckpointError(f"array {'/'.join(path)} has shape {tuple(got)}; expected "
                                     f'{want} for the geometry inferred from the checkpoint')
    return geometry


def _reject_foreign_layouts(paths: List[KeyPath]) -> None:
    joined = ['/'.join(p) for p in paths]
    lora = [p for p in joined if 'lora' in p.split('/')[-1]]
    if lora:
        raise JaxCheckpointError(f'LoRA adapter arrays found ({lora[:4]}); merge the adapters '
                                 'into the base weights before converting (the PyTorch model '
                                 'has no LoRA)')
    pi0 = [p for p in joined if p.split('/')[0] in ('state_proj', 'action_time_mlp_in')]
    if pi0:
        raise JaxCheckpointError(f'this is a PI0 checkpoint ({pi0[0]} present), not PI0.5; '
                                 'only pi05=True checkpoints are supported')


def geometry_config(geometry: JaxGeometry, action_horizon: int, max_token_len: int,
                    num_steps: int) -> Dict[str, Any]:
    """Return the architecture fields of the golden ``config.json`` format for this geometry."""
    g = geometry

    def gemma(width: int, mlp_dim: int, adarms: bool) -> Dict[str, Any]:
        d = {'width': width, 'depth': g.depth, 'mlp_dim': mlp_dim, 'num_heads': g.num_heads,
             'num_kv_heads': g.num_kv_heads, 'head_dim': g.head_dim,
             'hidden_activation': HIDDEN_ACTIVATION, 'rms_norm_eps': RMS_NORM_EPS,
             'rope_theta': ROPE_THETA, 'use_adarms': adarms}
        if adarms:
            d['adarms_cond_dim'] = width
        return d

    for name, value in (('action_horizon', action_horizon), ('max_token_len', max_token_len),
                        ('num_steps', num_steps)):
        if int(value) <= 0:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    return {
        'model': 'openpi PI0Pytorch layout, pi05=True',
        'vlm': gemma(g.vlm_width, g.vlm_mlp_dim, False),
        'action_expert': gemma(g.expert_width, g.expert_mlp_dim, True),
        'vision': {
            'hidden_size': g.vision_width, 'num_hidden_layers': g.vision_depth,
            'intermediate_size': g.vision_mlp_dim, 'num_attention_heads': g.vision_heads,
            'patch_size': g.patch_size, 'image_size': g.image_size,
            'num_channels': g.num_channels, 'hidden_act': HIDDEN_ACTIVATION,
            'layer_norm_eps': LAYER_NORM_EPS, 'tokens_per_image': g.image_tokens,
            'attn_implementation': 'sdpa'},
        'projector': {'in_dim': g.vision_width, 'out_dim': g.vlm_width, 'bias': True},
        'vocab_size': g.vocab_size,
        'expert_lm_head_vocab_size': g.vocab_size,
        'action_dim': g.action_dim,
        'action_horizon': int(action_horizon),
        'max_token_len': int(max_token_len),
        'num_steps': int(num_steps),
        'rms_norm_eps': RMS_NORM_EPS,
        'rope_theta': ROPE_THETA,
        'image_keys_order': list(IMAGE_KEYS_ORDER),
    }


# --------------------------------------------------------------------------------------------
# The mapping (spec section 3.2), one block at a time
# --------------------------------------------------------------------------------------------

Pairs = Iterator[Tuple[str, np.ndarray]]
Reader = Callable[[str], np.ndarray]
# A group reads one (or two related) stacked arrays and returns {torch name: (depth, ...) array}.
Group = Callable[[], Dict[str, np.ndarray]]


def _linear(kernel: np.ndarray) -> np.ndarray:
    """Flax Dense kernel (in, out) -> torch Linear weight (out, in)."""
    return kernel.T


def _split_layers(prefix: str, depth: int, groups: List[Group]) -> Pairs:
    """Yield ``prefix.{i}.name`` per layer, holding one group's stacked arrays at a time."""
    for group in groups:
        stacked = group()
        for name, array in stacked.items():
            for i in range(depth):
                yield f'{prefix}.{i}.{name}', array[i]
        del stacked


def _siglip(read: Reader, g: JaxGeometry) -> Pairs:
    # HWIO (P, P, C, Dv) -> OIHW (Dv, C, P, P)
    yield f'{VISION}.embeddings.patch_embedding.weight', \
        read(f'{_IMG}/embedding/kernel').transpose(3, 2, 0, 1)
    yield f'{VISION}.embeddings.patch_embedding.bias', read(f'{_IMG}/embedding/bias')
    # (1, T, Dv) -> (T, Dv)
    yield f'{VISION}.embeddings.position_embedding.weight', read(f'{_IMG}/pos_embedding')[0]
    Lv, Dv = g.vision_depth, g.vision_width

    def layer_norm(ln: str, name: str) -> Group:
        return lambda: {f'{name}.weight': read(f'{_BLOCK}/{ln}/scale'),
                        f'{name}.bias': read(f'{_BLOCK}/{ln}/bias')}

    def mlp(dense: str, name: str) -> Group:
        # (Lv, in, out) -> (Lv, out, in)
        return lambda: {
            f'mlp.{name}.weight': read(f'{_BLOCK}/MlpBlock_0/{dense}/kernel').transpose(0, 2, 1),
            f'mlp.{name}.bias': read(f'{_BLOCK}/MlpBlock_0/{dense}/bias')}

    def projection(qkv: str, name: str) -> Group:
        # (Lv, Dv, Nv, Hv) -> (Lv, Dv, Nv*Hv) -> (Lv, Nv*Hv, Dv): output row = n*Hv + h
        return lambda: {
            f'self_attn.{name}.weight': read(f'{_MHA}/{qkv}/kernel').reshape(
                Lv, Dv, -1).transpose(0, 2, 1),
            f'self_attn.{name}.bias': read(f'{_MHA}/{qkv}/bias').reshape(Lv, -1)}

    def out_projection() -> Dict[str, np.ndarray]:
        # (Lv, Nv, Hv, Dv) -> (Lv, Nv*Hv, Dv) -> (Lv, Dv, Nv*Hv): input column = n*Hv + h
        return {'self_attn.out_proj.weight': read(f'{_MHA}/out/kernel').reshape(
                    Lv, -1, Dv).transpose(0, 2, 1),
                'self_attn.out_proj.bias': read(f'{_MHA}/out/bias')}

    yield from _split_layers(f'{VISION}.encoder.layers', Lv, [
        layer_norm('LayerNorm_0', 'layer_norm1'), layer_norm('LayerNorm_1', 'layer_norm2'),
        mlp('Dense_0', 'fc1'), mlp('Dense_1', 'fc2'), projection('query', 'q_proj'),
        projection('key', 'k_proj'), projection('value', 'v_proj'), out_projection])
    yield f'{VISION}.post_layernorm.weight', read(f'{_IMG}/Transformer/encoder_norm/scale')
    yield f'{VISION}.post_layernorm.bias', read(f'{_IMG}/Transformer/encoder_norm/bias')
    yield f'{PROJECTOR}.weight', _linear(read(f'{_IMG}/head/kernel'))
    yield f'{PROJECTOR}.bias', read(f'{_IMG}/head/bias')


def _attention_and_mlp(read: Reader, g: JaxGeometry, suffix: str) -> List[Group]:
    """Stacked (depth-leading) torch weights of one tower's attention and MLP, lazily read."""
    L, N, K, H = g.depth, g.num_heads, g.num_kv_heads, g.head_dim

    def query() -> Dict[str, np.ndarray]:
        q = read(f'{_LLM}/layers/attn/q_einsum{suffix}/w')           # (L, N, D, H)
        # (L, N, D, H) -> (L, N, H, D) -> (L, N*H, D): output row = n*H + h
        return {'self_attn.q_proj.weight': q.transpose(0, 1, 3, 2).reshape(L, N * H, -1)}

    def key_value() -> Dict[str, np.ndarray]:
        kv = read(f'{_LLM}/layers/attn/kv_einsum{suffix}/w')         # (L, 2, K, D, H)
        # (L, K, D, H) -> (L, K, H, D) -> (L, K*H, D): output row = k*H + h
        return {'self_attn.k_proj.weight': kv[:, 0].transpose(0, 1, 3, 2).reshape(L, K * H, -1),
                'self_attn.v_proj.weight': kv[:, 1].transpose(0, 1, 3, 2).reshape(L, K * H, -1)}

    def output() -> Dict[str, np.ndarray]:
        out = read(f'{_LLM}/layers/attn/attn_vec_einsum{suffix}/w')  # (L, N, H, D)
        # (L, N, H, D) -> (L, N*H, D) -> (L, D, N*H): input column = n*H + h.
        # openpi's converter reshapes (D, N, H) to (N*H, D), right only when N*H == D.
        return {'self_attn.o_proj.weight': out.reshape(L, N * H, -1).transpose(0, 2, 1)}

    def gated_mlp() -> Dict[str, np.ndarray]:
        gating = read(f'{_LLM}/layers/mlp{suffix}/gating_einsum')    # (L, 2, D, F)
        # (L, D, F) -> (L, F, D)
        return {'mlp.gate_proj.weight': gating[:, 0].transpose(0, 2, 1),
                'mlp.up_proj.weight': gating[:, 1].transpose(0, 2, 1)}

    def down() -> Dict[str, np.ndarray]:
        # (L, F, D) -> (L, D, F)
        return {'mlp.down_proj.weight': read(f'{_LLM}/layers/mlp{suffix}/linear'
                                             ).transpose(0, 2, 1)}

    return [query, key_value, output, gated_mlp, down]


def _vlm(read: Reader, g: JaxGeometry) -> Pairs:
    yield EMBEDDING_KEY, read(f'{_LLM}/embedder/input_embedding')

    def norms() -> Dict[str, np.ndarray]:
        # Gemma RMSNorm weights are stored as-is: both sides use (1 + w).
        return {'input_layernorm.weight': read(f'{_LLM}/layers/pre_attention_norm/scale'),
                'post_attention_layernorm.weight': read(f'{_LLM}/layers/pre_ffw_norm/scale')}

    yield from _split_layers(f'{VLM}.layers', g.depth,
                             _attention_and_mlp(read, g, '') + [norms])
    yield f'{VLM}.norm.weight', read(f'{_LLM}/final_norm/scale')


def _expert(read: Reader, g: JaxGeometry) -> Pairs:
    def ada_rms(norm: str, name: str) -> Group:
        # adaRMS modulation Dense (L, W, 3W) -> Linear (L, 3W, W); output = [scale|shift|gate]
        return lambda: {
            f'{name}.dense.weight': read(f'{_LLM}/layers/{norm}/Dense_0/kernel'
                                         ).transpose(0, 2, 1),
            f'{name}.dense.bias': read(f'{_LLM}/layers/{norm}/Dense_0/bias')}

    yield from _split_layers(f'{EXPERT}.layers', g.depth, _attention_and_mlp(read, g, '_1') + [
        ada_rms('pre_attention_norm_1', 'input_layernorm'),
        ada_rms('pre_ffw_norm_1', 'post_attention_layernorm')])
    yield f'{EXPERT}.norm.dense.weight', _linear(read(f'{_LLM}/final_norm_1/Dense_0/kernel'))
    yield f'{EXPERT}.norm.dense.bias', read(f'{_LLM}/final_norm_1/Dense_0/bias')


def _projections(read: Reader) -> Pairs:
    for name in ('action_in_proj', 'action_out_proj', 'time_mlp_in', 'time_mlp_out'):
        yield f'{name}.weight', _linear(read(f'{name}/kernel'))
        yield f'{name}.bias', read(f'{name}/bias')


def numpy_to_torch(array: np.ndarray) -> torch.Tensor:
    """Copy ``array`` to a contiguous tensor; bfloat16 (ml_dtypes) arrays become torch.bfloat16."""
    array = np.ascontiguousarray(array)
    if array.dtype.name == 'bfloat16':
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def jax_params_to_openpi(read: Callable[[KeyPath], np.ndarray], geometry: JaxGeometry,
                         dtype: Optional[torch.dtype] = None) -> Dict[str, torch.Tensor]:
    """
    Map checkpoint arrays (``read(path)``) to ``{openpi PyTorch key: tensor}``.

    The mapping only re-indexes values, so with ``dtype=None`` (keep the stored dtype) it is
    bit-exact. The tied token embedding is stored under ``paligemma.lm_head.weight`` as
    ``safetensors.torch.save_model`` does; the unused expert lm_head is not produced (see
    ``expert_lm_head_placeholder``). Each array is read once.
    """
    used = set()

    def read_once(path: str) -> np.ndarray:
        key = _p(path)
        if key in used:
            raise AssertionError(f'array {path} read twice')
        used.add(key)
        return read(key)

    tensors: Dict[str, torch.Tensor] = {}
    for block in (_siglip(read_once, geometry), _vlm(read_once, geometry),
                  _expert(read_once, geometry), _projections(read_once)):
        for name, array in block:
            tensor = numpy_to_torch(array)
            tensors[name] = tensor if dtype is None else tensor.to(dtype)
    unused = set(geometry.expected_shapes()) - used
    if unused:
        raise AssertionError(f'arrays not converted: {sorted(unused)}')
    return tensors


def expert_lm_head_placeholder(geometry: JaxGeometry, dtype: torch.dtype) -> torch.Tensor:
    """
    Zeros for openpi's unused ``gemma_expert.lm_head.weight`` (vocab, expert width).

    JAX checkpoints have no such array; openpi's own converter leaves the random init there.
    Writing zeros keeps the key set identical to openpi's (so ``load_model(strict=True)`` in
    openpi works) without inventing values.
    """
    return torch.zeros(geometry.vocab_size, geometry.expert_width, dtype=dtype)


def load_jax_checkpoint(path: Path, dtype: Optional[torch.dtype] = None
                        ) -> Tuple[Dict[str, torch.Tensor], JaxGeometry]:
    """Read an openpi PI0.5 JAX checkpoint directory and return (openpi tensors, geometry)."""
    params = OrbaxParams(find_params_dir(Path(path)))
    geometry = infer_geometry(params.paths(), params.shape)
    return jax_params_to_openpi(params.read, geometry, dtype), geometry
