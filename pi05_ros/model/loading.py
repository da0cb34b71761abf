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

import hashlib
import math
import os
from typing import Dict, Mapping, Union

from pi05_ros.model.pi05 import PI05Model
from safetensors.torch import load_file, save_file
import torch

EMBED_KEY = 'paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight'
TIED_LM_HEAD_KEY = 'paligemma_with_expert.paligemma.lm_head.weight'
EXPERT_LM_HEAD_KEY = 'paligemma_with_expert.gemma_expert.lm_head.weight'
LEROBOT_PREFIX = 'model.'


class CheckpointError(ValueError):
    """A checkpoint does not match the model: names the tensor and the expected shape."""


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
    else:
        path = os.fspath(path_or_tensors)
        if not path.endswith('.safetensors'):
            raise CheckpointError(f'weights must be a .safetensors file, got {path!r} '
                                  '(pickled checkpoints are never loaded)')
        tensors = load_file(path)
    tensors = to_model_keys(tensors)
    expected = model.state_dict()
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
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(tensors[key])
    return model


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
        if embed is not None and not torch.equal(embed, lm_head):
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
