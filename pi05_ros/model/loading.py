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
Strict checkpoint loading and saving (safetensors only, never pickle).

openpi layout: the keys of openpi's `PI0Pytorch.state_dict()` as written by
`safetensors.torch.save_model` (812 tensors for the full model): the token embedding is stored
under the tied name `paligemma_with_expert.paligemma.lm_head.weight`, and the unused expert
`paligemma_with_expert.gemma_expert.lm_head.weight` is present (tolerated, ignored).
LeRobot layout: the same names under a `model.` prefix, mapped by
`pi05_ros.model.lerobot_keys.lerobot_to_openpi`.
"""

from dataclasses import dataclass
import hashlib
import json
import math
import os
from typing import Dict, Mapping, Tuple, Union

from pi05_ros.model.config import PI05Config
from pi05_ros.model.pi05 import PI05Model
from safetensors.torch import load_file, save_file
import torch

EMBED_KEY = 'paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight'
TIED_LM_HEAD_KEY = 'paligemma_with_expert.paligemma.lm_head.weight'
EXPERT_LM_HEAD_KEY = 'paligemma_with_expert.gemma_expert.lm_head.weight'
LEROBOT_PREFIX = 'model.'


# safetensors dtype names -> bytes per element; only the first four load into the model
FLOAT_DTYPES = ('F64', 'F32', 'F16', 'BF16')
SAFETENSORS_DTYPES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'F8_E4M3': 1, 'F8_E5M2': 1,
                      'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U64': 8, 'U32': 4, 'U16': 2,
                      'U8': 1, 'BOOL': 1}
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
CONVERT_HELP = ('pickled / torch.save checkpoints are deliberately never loaded (unpickling runs '
                'code); convert one with `python -c "import torch; from safetensors.torch '
                'import save_file; save_file(torch.load(\'model.pt\'), \'model.safetensors\')"` '
                'on a machine you trust, or `pi05-convert` for an openpi JAX checkpoint')


class CheckpointError(ValueError):
    """A checkpoint does not match the model: names the tensor and the expected shape."""


@dataclass(frozen=True)
class TensorInfo:
    """Name-less description of one stored tensor, from a safetensors header."""

    dtype: str
    shape: Tuple[int, ...]

    @property
    def floating(self) -> bool:
        return self.dtype in FLOAT_DTYPES


def read_safetensors_header(path: Union[str, os.PathLike]) -> Dict[str, TensorInfo]:
    """
    Read and validate the header of a ``.safetensors`` file without reading a tensor.

    Raises CheckpointError naming the file for anything that is not a well-formed safetensors
    file (truncated, empty, a pickle or torch zip, a header pointing outside the file).
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as handle:
            head = handle.read(8)
            length = int.from_bytes(head, 'little') if len(head) == 8 else -1
            raw = handle.read(length) if 0 <= length <= min(size - 8, MAX_HEADER_BYTES) else b''
    except OSError as err:
        raise CheckpointError(f'{path}: cannot read ({err.strerror or err})') from None
    kind = _pickle_kind(head)
    if kind:
        raise CheckpointError(f'{path}: this is a {kind}, not safetensors; {CONVERT_HELP}')
    if length < 0:
        raise CheckpointError(f'{path}: not a safetensors file: {size} bytes, expected an 8-byte '
                              'header length then a JSON header (truncated?)')
    if length > min(size - 8, MAX_HEADER_BYTES):
        raise CheckpointError(f'{path}: not a safetensors file: header length {length} exceeds '
                              f'the {size}-byte file (truncated or not safetensors)')
    try:
        header = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f'{path}: not a safetensors file: the {length}-byte header is not '
                              'UTF-8 JSON') from None
    if not isinstance(header, dict):
        raise CheckpointError(f'{path}: safetensors header: expected a JSON object, got '
                              f'{type(header).__name__}')
    data_bytes = size - 8 - length
    infos = {name: _tensor_info(path, name, entry, data_bytes)
             for name, entry in header.items() if name != '__metadata__'}
    covered = 0  # like safetensors: the tensors tile the data bytes exactly
    for start, end in sorted(tuple(header[name]['data_offsets']) for name in infos):
        if start != covered:
            break
        covered = end
    if covered != data_bytes:
        raise CheckpointError(f'{path}: the tensors in the header do not cover the '
                              f'{data_bytes} data bytes exactly (truncated, padded or '
                              'overlapping: not a file safetensors wrote)')
    return infos


def _pickle_kind(head: bytes) -> str:
    if head.startswith(b'PK\x03\x04'):
        return 'torch.save zip archive'
    if head[:1] == b'\x80' and head[1:2] in (b'\x02', b'\x03', b'\x04', b'\x05'):
        return 'Python pickle'
    return ''


def _tensor_info(path: str, name: str, entry: object, data_bytes: int) -> TensorInfo:
    """Check one header entry: known dtype, a shape of ints, offsets inside the data."""
    where = f'{path}: tensor {name!r}'
    if not isinstance(entry, dict):
        raise CheckpointError(f'{where}: expected an object with dtype, shape, data_offsets')
    dtype, shape, offsets = entry.get('dtype'), entry.get('shape'), entry.get('data_offsets')
    if dtype not in SAFETENSORS_DTYPES:
        raise CheckpointError(f'{where}: dtype {dtype!r} unknown, expected one of '
                              f'{sorted(SAFETENSORS_DTYPES)}')
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        raise CheckpointError(f'{where}: shape {shape!r}, expected a list of sizes >= 0')
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_natural, offsets))
            or not offsets[0] <= offsets[1] <= data_bytes
            or offsets[1] - offsets[0] != math.prod(shape) * SAFETENSORS_DTYPES[dtype]):
        raise CheckpointError(f'{where}: data_offsets {offsets!r} do not hold a {dtype} tensor '
                              f'of shape {shape} inside the {data_bytes} data bytes '
                              '(truncated file?)')
    return TensorInfo(dtype, tuple(shape))


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_weights_file(path: Union[str, os.PathLike], config: PI05Config,
                       note: str = '') -> Dict[str, TensorInfo]:
    """
    Check a weights file against ``config`` from its header alone, before building the network.

    Names, shapes and floating-point dtypes are compared with a ``meta``-device model (no
    memory, about a second for the released geometry). ``note`` is appended to the message
    (e.g. where the architecture came from).
    """
    infos = read_safetensors_header(path)
    with torch.device('meta'):
        expected = PI05Model(config).state_dict()
    try:
        _check_tensors(expected, to_model_keys(infos))
    except CheckpointError as err:
        raise CheckpointError(f'{os.fspath(path)}: {err}{note}') from None
    return infos


def load_pi05_weights(model: PI05Model,
                      path_or_tensors: Union[str, os.PathLike, Mapping[str, torch.Tensor]]
                      ) -> PI05Model:
    """
    Copy a checkpoint into `model` strictly (values are cast to the model's dtypes).

    Accepts a `.safetensors` path or a dict of tensors, in openpi or LeRobot layout. Raises
    CheckpointError on a missing, unexpected or mis-shaped tensor, naming it.
    """
    if isinstance(path_or_tensors, Mapping):
        tensors = dict(path_or_tensors)
        where = ''
    else:
        path = os.fspath(path_or_tensors)
        if not path.endswith('.safetensors'):
            raise CheckpointError(f'weights must be a .safetensors file, got {path!r}; '
                                  f'{CONVERT_HELP}')
        read_safetensors_header(path)
        try:
            tensors = load_file(path)
        except Exception as err:  # noqa: B902 - safetensors/torch raise their own types
            raise CheckpointError(f'{path}: cannot read the tensors ({type(err).__name__}: '
                                  f'{str(err).strip()[:200]})') from None
        where = f'{path}: '
    expected = model.state_dict()
    try:
        _check_tensors(expected, to_model_keys(tensors))
    except CheckpointError as err:
        raise CheckpointError(f'{where}{err}') from None
    tensors = to_model_keys(tensors)
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(tensors[key])
    return model


def _check_tensors(expected: Mapping[str, torch.Tensor], tensors: Mapping[str, object]) -> None:
    """Raise CheckpointError for missing, unexpected, mis-shaped or non-float tensors."""
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise CheckpointError(f'checkpoint is missing {len(missing)} tensor(s): ' + _listing(
            [f'{_saved_name(k)!r} (expected shape {list(expected[k].shape)})'
             for k in missing]))
    unexpected = sorted(k for k in tensors if k not in expected)
    if unexpected:
        raise CheckpointError(
            f'checkpoint has {len(unexpected)} unexpected tensor(s) for this architecture: '
            + _listing([f'{k!r} (shape {list(tensors[k].shape)})' for k in unexpected]))
    misshaped = [k for k, target in expected.items()
                 if tuple(tensors[k].shape) != tuple(target.shape)]
    if misshaped:
        raise CheckpointError(
            f'checkpoint has {len(misshaped)} tensor(s) of the wrong shape: ' + _listing(
                [f'{_saved_name(k)!r} has shape {list(tensors[k].shape)}, expected '
                 f'{list(expected[k].shape)}' for k in misshaped]))
    wrong_dtype = [k for k, target in expected.items()
                   if target.is_floating_point() and not _floating(tensors[k])]
    if wrong_dtype:
        raise CheckpointError(
            f'checkpoint has {len(wrong_dtype)} tensor(s) of a non-floating-point dtype: '
            + _listing([f'{_saved_name(k)!r} is {_dtype_name(tensors[k])}, expected a floating-'
                        'point dtype (float32, float16 or bfloat16)' for k in wrong_dtype]))


def _floating(value: object) -> bool:
    if isinstance(value, TensorInfo):
        return value.floating
    return bool(value.is_floating_point()) and value.dtype in (
        torch.float64, torch.float32, torch.float16, torch.bfloat16)


def _dtype_name(value: object) -> str:
    if isinstance(value, TensorInfo):  # 'I32' -> 'int32', 'BOOL' -> 'bool', 'U8' -> 'uint8'
        kind = {'I': 'int', 'U': 'uint', 'F': 'float', 'B': 'bool'}[value.dtype[0]]
        return 'bool' if value.dtype == 'BOOL' else kind + value.dtype[1:].lower()
    return str(value.dtype).replace('torch.', '')


def _saved_name(key: str) -> str:
    """Return the name a tensor has in an openpi file (the embedding: the tied lm_head)."""
    return f'{TIED_LM_HEAD_KEY} (= {EMBED_KEY})' if key == EMBED_KEY else key


def _listing(items, limit: int = 5) -> str:
    """Join the first `limit` items; say how many more there are."""
    more = f'; and {len(items) - limit} more' if len(items) > limit else ''
    return '; '.join(items[:limit]) + more


def to_model_keys(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """openpi/LeRobot checkpoint names -> this model's state_dict names."""
    if tensors and all(k.startswith(LEROBOT_PREFIX) for k in tensors):
        try:
            from pi05_ros.model.lerobot_keys import lerobot_to_openpi
        except ImportError as exc:
            raise CheckpointError('this is a LeRobot checkpoint (keys start with "model."), '
                                  'but pi05_ros.model.lerobot_keys is not available') from exc
        tensors = dict(lerobot_to_openpi(tensors))
    tensors = dict(tensors)
    tensors.pop(EXPERT_LM_HEAD_KEY, None)  # unused by PI0.5
    lm_head = tensors.pop(TIED_LM_HEAD_KEY, None)
    if lm_head is not None:
        embed = tensors.get(EMBED_KEY)
        if (isinstance(embed, torch.Tensor) and isinstance(lm_head, torch.Tensor)
                and not torch.equal(embed, lm_head)):
            raise CheckpointError(f'{TIED_LM_HEAD_KEY!r} and {EMBED_KEY!r} are tied but differ')
        tensors[EMBED_KEY] = lm_head
    return tensors


def openpi_state_dict(model: PI05Model, include_expert_lm_head: bool = True
                      ) -> Dict[str, torch.Tensor]:
    """
    Return the tensors under openpi's saved names (the layout `load_pi05_weights` reads).

    The expert lm_head that openpi's PI0Pytorch carries (unused) is written as zeros so that
    openpi's strict `load_model` accepts the file.
    """
    state = {}
    for key, value in model.state_dict().items():
        state[TIED_LM_HEAD_KEY if key == EMBED_KEY else key] = value.detach().contiguous()
    if include_expert_lm_head:
        expert = model.config.action_expert
        like = model.expert.layers[0].self_attn.q_proj.weight
        state[EXPERT_LM_HEAD_KEY] = torch.zeros(model.config.vocab_size, expert.width,
                                                dtype=like.dtype, device=like.device)
    return state


def save_pi05_weights(model: PI05Model, path: Union[str, os.PathLike],
                      include_expert_lm_head: bool = True) -> None:
    """Write `model` as an openpi-layout `model.safetensors`."""
    state = {k: v.cpu() for k, v in openpi_state_dict(model, include_expert_lm_head).items()}
    save_file(state, os.fspath(path), metadata={'format': 'pt'})


def init_random_weights(model: PI05Model, seed: int) -> PI05Model:
    """
    Deterministic, sensibly scaled random weights (for demo and test checkpoints).

    Each parameter draws from its own generator seeded by (seed, name), so the values do not
    depend on construction order or device. Linear weights ~ N(0, 1/fan_in), biases ~
    N(0, 0.02^2), Gemma (1+w) norm weights ~ N(0, 0.1^2), LayerNorm scales ~ N(1, 0.1^2), adaRMS
    modulation ~ N(0, 1/cond_dim) weights and N(0, 0.1^2) biases, embeddings ~ N(0, 1/width).
    """
    with torch.no_grad():
        for name, param in model.named_parameters():
            generator = torch.Generator().manual_seed(_name_seed(seed, name))
            mean, std = _init_normal(name, param)
            values = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            param.copy_(values * std + mean)
    return model


def _name_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f'{seed}:{name}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') & ((1 << 63) - 1)


def _init_normal(name: str, param: torch.Tensor):
    """(mean, std) of the normal distribution the parameter `name` is drawn from."""
    if '.dense.' in name:  # adaRMS modulation
        return 0.0, (1.0 / math.sqrt(param.shape[-1]) if name.endswith('weight') else 0.1)
    if 'layer_norm' in name or 'post_layernorm' in name:
        return (1.0, 0.1) if name.endswith('weight') else (0.0, 0.05)
    if 'layernorm' in name or name.endswith('norm.weight'):  # Gemma RMSNorm, used as (1 + w)
        return 0.0, 0.1
    if name.endswith('embed_tokens.weight'):
        return 0.0, 1.0 / math.sqrt(param.shape[1])
    if name.endswith('position_embedding.weight'):
        return 0.0, 0.05
    if name.endswith('bias'):
        return 0.0, 0.02
    fan_in = param[0].numel()
    return 0.0, 1.0 / math.sqrt(fan_in)
