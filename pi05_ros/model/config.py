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
Architecture numbers of the PI0.5 network (every field is a parameter, never a constant).

The dictionary format of `PI05Config.from_dict` / `to_dict` is the golden `config.json` format
(/work/shared/golden/<case>/config.json), so a checkpoint directory can carry its architecture.
"""

import dataclasses
import math
import numbers
from typing import Any, Dict, Optional, Tuple

IMAGE_KEYS = ('base_0_rgb', 'left_wrist_0_rgb', 'right_wrist_0_rgb')
HIDDEN_ACTIVATION = 'gelu_pytorch_tanh'
SHARED_GEMMA_FIELDS = ('rms_norm_eps', 'rope_theta')  # top-level config.json copies


class ConfigError(ValueError):
    """A config dictionary has a missing or invalid field."""


@dataclasses.dataclass(frozen=True)
class GemmaConfig:
    """One Gemma tower: the PaliGemma VLM or the action expert."""

    width: int
    depth: int
    mlp_dim: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    use_adarms: bool = False
    adarms_cond_dim: Optional[int] = None

    def __post_init__(self) -> None:
        _check_positive(self, ('width', 'depth', 'mlp_dim', 'num_heads', 'num_kv_heads',
                               'head_dim'))
        _check_positive_real(self, ('rms_norm_eps', 'rope_theta'))
        if not isinstance(self.use_adarms, bool):
            raise ConfigError(f'GemmaConfig.use_adarms must be true or false, '
                              f'got {self.use_adarms!r}')
        if self.adarms_cond_dim is not None:
            _check_positive(self, ('adarms_cond_dim',))
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(f'GemmaConfig.num_heads ({self.num_heads}) must be a multiple of '
                              f'num_kv_heads ({self.num_kv_heads})')
        if self.head_dim % 2:
            raise ConfigError(f'GemmaConfig.head_dim must be even for RoPE, got {self.head_dim}')
        if self.use_adarms and not self.adarms_cond_dim:
            raise ConfigError('GemmaConfig.adarms_cond_dim is required when use_adarms is true')

    @classmethod
    def from_dict(cls, d: Dict[str, Any], where: str = 'gemma config') -> 'GemmaConfig':
        _check_object(d, where)
        _check_activation(d, 'hidden_activation', where)
        return _construct(cls, d, where)

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d['hidden_activation'] = HIDDEN_ACTIVATION
        if not self.use_adarms:
            d.pop('adarms_cond_dim')
        return d


@dataclasses.dataclass(frozen=True)
class VisionConfig:
    """The SigLIP vision tower (no pooling head)."""

    hidden_size: int
    num_hidden_layers: int
    intermediate_size: int
    num_attention_heads: int
    patch_size: int = 14
    image_size: int = 224
    num_channels: int = 3
    layer_norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        _check_positive(self, ('hidden_size', 'num_hidden_layers', 'intermediate_size',
                               'num_attention_heads', 'patch_size', 'image_size',
                               'num_channels'))
        _check_positive_real(self, ('layer_norm_eps',))
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f'VisionConfig.hidden_size ({self.hidden_size}) must be a multiple '
                              f'of num_attention_heads ({self.num_attention_heads})')
        if self.image_size % self.patch_size:
            raise ConfigError(f'VisionConfig.image_size ({self.image_size}) must be a multiple '
                              f'of patch_size ({self.patch_size})')

    @property
    def tokens_per_image(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> 'VisionConfig':
        _check_object(d, 'vision')
        _check_activation(d, 'hidden_act', 'vision')
        vision = _construct(cls, d, 'vision')
        tokens = d.get('tokens_per_image', vision.tokens_per_image)
        if isinstance(tokens, bool) or tokens != vision.tokens_per_image:
            raise ConfigError(f'vision.tokens_per_image must be (image_size/patch_size)^2 = '
                              f'{vision.tokens_per_image}, got {tokens}')
        return vision

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d['hidden_act'] = HIDDEN_ACTIVATION
        d['tokens_per_image'] = self.tokens_per_image
        return d


@dataclasses.dataclass(frozen=True)
class PI05Config:
    """The whole PI0.5 network: SigLIP + projector, Gemma VLM, Gemma action expert, projections."""

    vlm: GemmaConfig
    action_expert: GemmaConfig
    vision: VisionConfig
    vocab_size: int
    action_dim: int = 32
    action_horizon: int = 50
    max_token_len: int = 200
    num_steps: int = 10
    image_keys: Tuple[str, ...] = IMAGE_KEYS

    def __post_init__(self) -> None:
        vlm, expert = self.vlm, self.action_expert
        for name in ('depth', 'num_heads', 'num_kv_heads', 'head_dim'):
            if getattr(vlm, name) != getattr(expert, name):
                raise ConfigError(f'joint attention needs vlm.{name} == action_expert.{name}, '
                                  f'got {getattr(vlm, name)} and {getattr(expert, name)}')
        if vlm.use_adarms:
            raise ConfigError('vlm.use_adarms must be false (only the action expert uses adaRMS)')
        if not expert.use_adarms or expert.adarms_cond_dim != expert.width:
            raise ConfigError('action_expert must use adaRMS with adarms_cond_dim == width '
                              f'({expert.width}), got use_adarms={expert.use_adarms}, '
                              f'adarms_cond_dim={expert.adarms_cond_dim}')
        if expert.width % 2:
            raise ConfigError(f'action_expert.width must be even (sin-cos time embedding), '
                              f'got {expert.width}')
        _check_positive(self, ('vocab_size', 'action_dim', 'action_horizon', 'max_token_len',
                               'num_steps'))
        object.__setattr__(self, 'image_keys', tuple(self.image_keys))
        if not self.image_keys or len(set(self.image_keys)) != len(self.image_keys):
            raise ConfigError(f'image_keys must be distinct names, got {self.image_keys}')

    @classmethod
    def pi05(cls, **overrides: Any) -> 'PI05Config':
        """Return the released PI0.5: SigLIP So400m/14@224, Gemma 2B VLM, 300M adaRMS expert."""
        base = {
            'vlm': GemmaConfig(width=2048, depth=18, mlp_dim=16384, num_heads=8, num_kv_heads=1,
                               head_dim=256),
            'action_expert': GemmaConfig(width=1024, depth=18, mlp_dim=4096, num_heads=8,
                                         num_kv_heads=1, head_dim=256, use_adarms=True,
                                         adarms_cond_dim=1024),
            'vision': VisionConfig(hidden_size=1152, num_hidden_layers=27,
                                   intermediate_size=4304, num_attention_heads=16),
            'vocab_size': 257152, 'action_dim': 32, 'action_horizon': 50, 'max_token_len': 200,
            'num_steps': 10,
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def tiny(cls, **overrides: Any) -> 'PI05Config':
        """Return a small, fast geometry (openpi's 'dummy' Gemma, 2 layers) for demos/tests."""
        gemma = {'width': 64, 'depth': 2, 'mlp_dim': 128, 'num_heads': 8, 'num_kv_heads': 1,
                 'head_dim': 16}
        base = {
            'vlm': GemmaConfig(**gemma),
            'action_expert': GemmaConfig(**gemma, use_adarms=True, adarms_cond_dim=64),
            'vision': VisionConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64,
                                   num_attention_heads=4),
            'vocab_size': 1024, 'max_token_len': 48,
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> 'PI05Config':
        """Build from the golden `config.json` format; unrelated fields are ignored."""
        _check_object(d, 'config')
        for name in ('vlm', 'action_expert', 'vision', 'vocab_size'):
            if name not in d:
                raise ConfigError(f'config is missing the field {name!r}')
        vision = VisionConfig.from_dict(d['vision'])
        vlm, expert = (GemmaConfig.from_dict(_with_shared_fields(d, tower), tower)
                       for tower in ('vlm', 'action_expert'))
        projector = d.get('projector')
        if projector is not None and not isinstance(projector, dict):
            raise ConfigError(f'projector must be an object with in_dim and out_dim, '
                              f'got {projector!r}')
        if projector is not None and (projector.get('in_dim') != vision.hidden_size
                                      or projector.get('out_dim') != vlm.width):
            raise ConfigError(f'projector must map vision.hidden_size ({vision.hidden_size}) to '
                              f'vlm.width ({vlm.width}), got {projector}')
        kwargs = {k: d[k] for k in ('action_dim', 'action_horizon', 'max_token_len',
                                    'num_steps') if k in d}
        if 'image_keys_order' in d:
            keys = d['image_keys_order']
            if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
                raise ConfigError(f'image_keys_order must be a list of camera names, '
                                  f'got {keys!r}')
            kwargs['image_keys'] = tuple(keys)
        return cls(vlm=vlm, action_expert=expert, vision=vision, vocab_size=d['vocab_size'],
                   **kwargs)

    def to_dict(self) -> Dict[str, Any]:
        """Write the golden `config.json` format (architecture fields only)."""
        return {
            'model': 'pi05',
            'vlm': self.vlm.to_dict(),
            'action_expert': self.action_expert.to_dict(),
            'vision': self.vision.to_dict(),
            'projector': {'in_dim': self.vision.hidden_size, 'out_dim': self.vlm.width,
                          'bias': True},
            'vocab_size': self.vocab_size,
            'action_dim': self.action_dim,
            'action_horizon': self.action_horizon,
            'max_token_len': self.max_token_len,
            'num_steps': self.num_steps,
            'image_keys_order': list(self.image_keys),
            **{name: getattr(self.vlm, name) for name in SHARED_GEMMA_FIELDS
               if getattr(self.vlm, name) == getattr(self.action_expert, name)},
        }


def _check_positive(config: Any, names: Tuple[str, ...]) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ConfigError(f'{type(config).__name__}.{name} must be a positive int, '
                              f'got {value!r}')


def _check_positive_real(config: Any, names: Tuple[str, ...]) -> None:
    for name in names:
        value = getattr(config, name)
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or value <= 0):
            raise ConfigError(f'{type(config).__name__}.{name} must be a finite number > 0, '
                              f'got {value!r}')


def _check_object(d: Any, where: str) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f'{where} must be a JSON object, got {type(d).__name__} {d!r:.60}')


def _check_activation(d: Dict[str, Any], key: str, where: str) -> None:
    act = d.get(key, HIDDEN_ACTIVATION)
    if act != HIDDEN_ACTIVATION:
        raise ConfigError(f'{where} {key} must be {HIDDEN_ACTIVATION!r}, got {act!r}')


def _with_shared_fields(d: Dict[str, Any], tower: str) -> Dict[str, Any]:
    """d[tower] with the top-level rms_norm_eps / rope_theta filled in; a conflict is an error."""
    _check_object(d[tower], tower)
    fields = dict(d[tower])
    for name in SHARED_GEMMA_FIELDS:
        if name in d:
            if fields.setdefault(name, d[name]) != d[name]:
                raise ConfigError(f'{tower}.{name} ({fields[name]}) differs from the top-level '
                                  f'{name} ({d[name]})')
    return fields


def _construct(cls: type, d: Dict[str, Any], where: str) -> Any:
    """cls(**fields of d), naming a missing required field; other keys of d are ignored."""
    fields = dataclasses.fields(cls)
    for f in fields:
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and f.name not in d:
            raise ConfigError(f'{where} is missing the field {f.name!r}')
    names = {f.name for f in fields}
    try:
        return cls(**{k: v for k, v in d.items() if k in names})
    except ConfigError as err:
        raise ConfigError(f'{where}: {err}') from None
