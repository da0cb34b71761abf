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
State / action normalization from openpi's ``norm_stats.json``.

File format: ``{"norm_stats": {"state": {"mean", "std", "q01", "q99"}, "actions": {...}}}``.

* quantile (PI0.5): ``y = (x - q01) / (q99 - q01 + 1e-6) * 2 - 1``;
* z-score (PI0): ``y = (x - mean) / (std + 1e-6)``.

Only the first ``len(stats)`` dimensions are transformed; dimensions beyond the stats (e.g. the
zero padding up to the model's 32 action dims) pass through unchanged, as in openpi.

LeRobot checkpoints use the same formulas with a different epsilon (``convention='lerobot'``):
the quantile range gets 1e-8 only where it is zero, the z-score divides by ``std + 1e-8``.
"""

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np

EPS = 1e-6
LEROBOT_EPS = 1e-8
MODES = ('quantile', 'zscore')
CONVENTIONS = ('openpi', 'lerobot')
REQUIRED_KEYS = ('state', 'actions')
FIELDS_BY_MODE = {'quantile': ('q01', 'q99'), 'zscore': ('mean', 'std')}


class NormStatsError(ValueError):
    """A norm_stats file is missing a key or holds malformed values."""


@dataclass(frozen=True)
class NormStats:
    """Statistics of one key ('state' or 'actions'); each array is (D,) float64 or None."""

    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None
    q01: Optional[np.ndarray] = None
    q99: Optional[np.ndarray] = None

    def require(self, mode: str, where: str) -> None:
        """Raise NormStatsError naming ``where`` if the fields ``mode`` needs are missing."""
        for name in FIELDS_BY_MODE[mode]:
            if getattr(self, name) is None:
                raise NormStatsError(
                    f'{where}.{name}: missing; {mode} normalization needs '
                    f'{" and ".join(FIELDS_BY_MODE[mode])}')


def _parse_stats(entry: object, where: str) -> NormStats:
    if not isinstance(entry, dict):
        raise NormStatsError(f'{where}: expected an object with mean/std/q01/q99, got {entry!r}')
    values = {}
    length = None
    for name in ('mean', 'std', 'q01', 'q99'):
        if entry.get(name) is None:
            continue
        try:
            array = np.asarray(entry[name], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise NormStatsError(f'{where}.{name}: expected a 1-D list of finite numbers, got '
                                 f'{entry[name]!r:.80}') from None
        if _has_non_number(entry[name]):
            raise NormStatsError(f'{where}.{name}: expected a 1-D list of finite numbers, got '
                                 f'{entry[name]!r:.80}')
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise NormStatsError(
                f'{where}.{name}: expected a 1-D list of finite numbers, got shape {array.shape}')
        if length is not None and array.shape[0] != length:
            raise NormStatsError(
                f'{where}.{name}: expected length {length} like the other fields, '
                f'got {array.shape[0]}')
        length = array.shape[0]
        values[name] = array
    return NormStats(**values)


def _has_non_number(value: object) -> bool:
    """Tell whether strings or booleans (which numpy would turn into numbers) are inside."""
    if isinstance(value, (list, tuple)):
        return any(_has_non_number(v) for v in value)
    return isinstance(value, (str, bool, bytes))


def parse_norm_stats(data: dict, source: str = 'norm_stats') -> Dict[str, NormStats]:
    """Parse the JSON object of a norm_stats file (with or without the outer 'norm_stats' key)."""
    if not isinstance(data, dict):
        raise NormStatsError(f'{source}: expected a JSON object, got {type(data).__name__}')
    body = data.get('norm_stats', data)
    if not isinstance(body, dict):
        raise NormStatsError(f'{source}.norm_stats: expected a JSON object')
    return {key: _parse_stats(value, f'{source}: norm_stats.{key}') for key, value in body.items()}


def load_norm_stats(path: Union[str, Path]) -> Dict[str, NormStats]:
    """Read an openpi ``norm_stats.json``; every parse error names the file and the key."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode('utf-8'))
    except FileNotFoundError:
        raise NormStatsError(f'norm_stats: no file at {path}') from None
    except OSError as err:
        raise NormStatsError(f'norm_stats: cannot read {path} ({err.strerror or err})') from None
    except UnicodeDecodeError as err:
        raise NormStatsError(f'norm_stats: {path} is not a UTF-8 JSON text file (byte '
                             f'{err.start} is {err.object[err.start:err.start + 1]!r})') from None
    except json.JSONDecodeError as err:
        raise NormStatsError(f'norm_stats: {path} is not valid JSON ({err})') from None
    return parse_norm_stats(data, source=str(path))


def save_norm_stats(path: Union[str, Path], stats: Dict[str, NormStats]) -> None:
    """Write ``stats`` in openpi's norm_stats.json layout."""
    body = {}
    for key, entry in stats.items():
        body[key] = {name: getattr(entry, name).tolist() for name in ('mean', 'std', 'q01', 'q99')
                     if getattr(entry, name) is not None}
    Path(path).write_text(json.dumps({'norm_stats': body}, indent=2))


class Normalizer:
    """
    Normalize inputs and unnormalize outputs with one set of stats.

    :param stats: key ('state', 'actions') -> NormStats.
    :param mode: 'quantile' (PI0.5) or 'zscore'.
    :param source: where the stats came from, used in error messages.
    :param convention: 'openpi' (epsilon 1e-6 always added) or 'lerobot' (see module doc).
    """

    def __init__(self, stats: Dict[str, NormStats], mode: str = 'quantile',
                 source: str = 'norm_stats', convention: str = 'openpi'):
        if mode not in MODES:
            raise ValueError(f'normalization mode: expected one of {MODES}, got {mode!r}')
        if convention not in CONVENTIONS:
            raise ValueError(f'normalization convention: expected one of {CONVENTIONS}, '
                             f'got {convention!r}')
        for key in REQUIRED_KEYS:
            if key not in stats:
                raise NormStatsError(
                    f'{source}: norm_stats.{key} missing (present: {sorted(stats)}); '
                    f'PI0.5 needs stats for {" and ".join(REQUIRED_KEYS)}')
            stats[key].require(mode, f'{source}: norm_stats.{key}')
        self.stats = stats
        self.mode = mode
        self.source = source
        self.convention = convention

    def normalize(self, key: str, x: np.ndarray) -> np.ndarray:
        """Robot units -> model units over the last axis; extra dimensions pass through."""
        x = np.asarray(x, dtype=np.float64)
        d = min(x.shape[-1], self.dim(key))
        out = x.copy()
        head = x[..., :d]
        offset, scale = self._affine(key, d)
        out[..., :d] = (head - offset) / scale
        if self.mode == 'quantile':
            out[..., :d] = out[..., :d] * 2.0 - 1.0
        return out

    def unnormalize(self, key: str, y: np.ndarray) -> np.ndarray:
        """Model units -> robot units over the last axis; extra dimensions pass through."""
        y = np.asarray(y, dtype=np.float64)
        d = min(y.shape[-1], self.dim(key))
        out = y.copy()
        head = y[..., :d]
        offset, scale = self._affine(key, d)
        if self.mode == 'quantile':
            head = (head + 1.0) / 2.0
        out[..., :d] = head * scale + offset
        return out

    def _affine(self, key: str, d: int):
        """(offset, scale) of the first ``d`` dims: normalized = (x - offset) / scale [*2 - 1]."""
        stats = self.stats[key]
        if self.mode == 'quantile':
            offset, spread = stats.q01[:d], stats.q99[:d] - stats.q01[:d]
        else:
            offset, spread = stats.mean[:d], stats.std[:d]
        if self.convention == 'openpi':
            return offset, spread + EPS
        if self.mode == 'quantile':
            return offset, np.where(spread == 0, LEROBOT_EPS, spread)
        return offset, spread + LEROBOT_EPS

    def dim(self, key: str) -> int:
        stats = self.stats[key]
        first = stats.q01 if self.mode == 'quantile' else stats.mean
        return int(first.shape[0])
