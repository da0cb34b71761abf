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
Checkpoint directories: which files hold the weights, the architecture and the norm stats.

Layouts:

* **openpi PyTorch** (``examples/convert_jax_model_to_pytorch.py`` or ``pi05-convert``):
  ``model.safetensors``, ``assets/<asset_id>/norm_stats.json`` and optionally ``config.json``,
  either in the golden format (full architecture) or openpi's converter format
  (``paligemma_variant``, ``action_expert_variant``, ``action_dim``, ``action_horizon``).
  Without config.json the released architecture ``PI05Config.pi05()`` is assumed.
* **LeRobot pi05** (``config.json`` with ``"type": "pi05"``): ``model.safetensors`` with
  ``model.``-prefixed keys, norm stats in the processor pipelines (read by
  ``pi05_ros.model.lerobot_keys``; LeRobot's epsilon convention, see normalize.py).
* **openpi JAX** (``params/`` orbax): not loadable directly; convert with ``pi05-convert``.

Tokenizer: the explicit path, else ``<checkpoint>/tokenizer.model``, else ``$PI05_TOKENIZER``.
"""

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from pi05_ros.model.config import ConfigError, PI05Config
from pi05_ros.policy.normalize import load_norm_stats, NormStats, parse_norm_stats

WEIGHTS_FILE = 'model.safetensors'
CONFIG_FILE = 'config.json'
TOKENIZER_FILE = 'tokenizer.model'
TOKENIZER_ENV = 'PI05_TOKENIZER'
RELEASED_VARIANTS = {'paligemma_variant': 'gemma_2b', 'action_expert_variant': 'gemma_300m'}
LEROBOT_NORM_MODES = {'QUANTILES': 'quantile', 'MEAN_STD': 'zscore'}
TOKENIZER_HELP = (
    'PI0.5 uses the PaliGemma SentencePiece model paligemma_tokenizer.model (openpi downloads '
    'it from gs://big_vision/paligemma_tokenizer.model, e.g. `gsutil cp '
    'gs://big_vision/paligemma_tokenizer.model .`); pass tokenizer_path, put it in the '
    f'checkpoint directory as {TOKENIZER_FILE}, or set ${TOKENIZER_ENV}')


class CheckpointDirError(ValueError):
    """A checkpoint directory is missing a file or holds something unexpected."""


@dataclass(frozen=True)
class CheckpointDir:
    """Everything the runtime needs from one checkpoint directory."""

    path: Path
    layout: str  # 'openpi' or 'lerobot'
    weights: Path
    config: PI05Config
    norm_stats: Dict[str, NormStats]  # 'state', 'actions'
    norm_source: str  # the file the stats came from
    norm_convention: str  # 'openpi' (eps 1e-6 always) or 'lerobot' (eps only if range is 0)
    norm_mode: Optional[str]  # None: the profile decides; LeRobot configs fix it
    tokenizer: Path
    relative_actions: bool = False  # LeRobot use_relative_actions: the model predicts deltas


def detect_layout(directory: Path) -> str:
    """'openpi', 'lerobot' or 'jax' (an orbax ``params/`` directory: raises with the fix)."""
    if directory.is_file():
        raise CheckpointDirError(_file_not_directory(directory))
    if not directory.is_dir():
        raise CheckpointDirError(f'checkpoint: no directory at {directory}')
    if not (directory / WEIGHTS_FILE).is_file():
        if (directory / 'params').is_dir():
            raise CheckpointDirError(
                f'checkpoint {directory}: this is an openpi JAX checkpoint (params/ orbax); '
                f'convert it first: `pi05-convert {directory} <output_dir>` writes '
                f'{WEIGHTS_FILE} and the assets')
        raise CheckpointDirError(f'checkpoint {directory}: no {WEIGHTS_FILE} (expected an openpi '
                                 'PyTorch or LeRobot pi05 directory)')
    config = _read_json(directory / CONFIG_FILE) if (directory / CONFIG_FILE).is_file() else {}
    return 'lerobot' if config.get('type') == 'pi05' else 'openpi'


def _file_not_directory(path: Path) -> str:
    """Explain that a checkpoint is a directory; a pickle file is deliberately never loaded."""
    if path.suffix in ('.pt', '.pth', '.bin', '.ckpt', '.pkl'):
        from pi05_ros.model.loading import CONVERT_HELP
        return (f'checkpoint {path}: a {path.suffix} file is a pickle checkpoint; {CONVERT_HELP}, '
                f'then pass the directory holding {WEIGHTS_FILE}, {CONFIG_FILE} and '
                'assets/<asset_id>/norm_stats.json')
    return (f'checkpoint {path}: expected a directory (holding {WEIGHTS_FILE}), got a file; pass '
            'its directory')


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes().decode('utf-8'))
    except UnicodeDecodeError as err:
        raise CheckpointDirError(f'{path}: not a UTF-8 JSON text file (byte {err.start} is '
                                 f'{err.object[err.start:err.start + 1]!r})') from None
    except json.JSONDecodeError as err:
        raise CheckpointDirError(f'{path}: not valid JSON ({err})') from None
    except OSError as err:
        raise CheckpointDirError(f'{path}: cannot read ({err.strerror or err})') from None
    if not isinstance(data, dict):
        raise CheckpointDirError(f'{path}: expected a JSON object')
    return data


def model_config_from_json(data: dict, source: str) -> PI05Config:
    """PI05Config from a golden-format or openpi-converter ``config.json``."""
    if 'vlm' in data:
        try:
            return PI05Config.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f'{source}: {err}') from None
    for key, released in RELEASED_VARIANTS.items():
        if data.get(key, released) != released:
            raise CheckpointDirError(
                f'{source}: {key}={data[key]!r}; only the released {released!r} architecture '
                'has a known geometry (give a golden-format config.json for others)')
    names = ('action_horizon', 'action_dim', 'max_token_len', 'num_steps')
    try:
        return PI05Config.pi05(**{k: data[k] for k in names if k in data})
    except ConfigError as err:
        raise ConfigError(f'{source}: {err}') from None


def read_model_config(directory: Path) -> PI05Config:
    """Read the architecture of the checkpoint in ``directory`` (released PI0.5 if no config)."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        return PI05Config.pi05()
    return model_config_from_json(_read_json(path), str(path))


def present_assets(directory: Path) -> Tuple[str, ...]:
    """Asset ids with a norm_stats.json under ``<directory>/assets`` (ids may contain '/')."""
    root = directory / 'assets'
    if not root.is_dir():
        return ()
    return tuple(sorted(p.parent.relative_to(root).as_posix()
                        for p in root.rglob('norm_stats.json')))


def norm_stats_path(directory: Path, asset_id: str) -> Path:
    """``assets/<asset_id>/norm_stats.json``, or an error listing the assets that are present."""
    path = directory / 'assets' / asset_id / 'norm_stats.json'
    if not path.is_file():
        present = present_assets(directory)
        raise CheckpointDirError(
            f'checkpoint {directory}: no norm stats for asset_id {asset_id!r} (expected {path}); '
            f'assets present: {list(present) or "none"}; set the profile\'s asset_id to one '
            'of them')
    return path


LeRobotParts = Tuple[PI05Config, Dict[str, NormStats], str, str, bool]
LEROBOT_PIPELINES = ('policy_preprocessor', 'policy_postprocessor')
LEROBOT_INT_FIELDS = ('chunk_size', 'max_action_dim', 'tokenizer_max_length',
                      'num_inference_steps')


def check_lerobot_files(directory: Path) -> None:
    """
    Check the files of a LeRobot directory before they are interpreted, naming file and field.

    config.json (a JSON object whose sizes are positive ints, a square image_resolution), the
    processor pipelines (JSON objects with a ``steps`` list of objects) and their state files
    (well-formed safetensors headers).
    """
    from pi05_ros.model.loading import read_safetensors_header

    path = directory / CONFIG_FILE
    config = _read_json(path)
    for name in LEROBOT_INT_FIELDS:
        value = config.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f'{path}: {name} must be a positive int, got {value!r}')
    resolution = config.get('image_resolution', [224, 224])
    if (not isinstance(resolution, list) or len(resolution) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                       for v in resolution)):
        raise ConfigError(f'{path}: image_resolution must be [size, size] (positive ints), got '
                          f'{resolution!r}')
    for name in ('paligemma_variant', 'action_expert_variant', 'use_relative_actions'):
        if isinstance(config.get(name), (dict, list)):
            raise ConfigError(f'{path}: {name} must be a string or a boolean, got '
                              f'{config[name]!r}')
    for pipeline in LEROBOT_PIPELINES:
        path = directory / f'{pipeline}.json'
        if not path.is_file():
            continue  # lerobot_keys says which is missing
        steps = _read_json(path).get('steps', [])
        if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
            raise CheckpointDirError(f'{path}: steps must be a list of objects')
        for index, step in enumerate(steps):
            state_file = step.get('state_file')
            if state_file is None:
                continue
            if not isinstance(state_file, str) or not state_file:
                raise CheckpointDirError(f'{path}: steps[{index}].state_file must be a file '
                                         f'name, got {state_file!r}')
            if not isinstance(step.get('config', {}), dict):
                raise CheckpointDirError(f'{path}: steps[{index}].config must be an object')
            if (directory / state_file).is_file():
                read_safetensors_header(directory / state_file)


def load_lerobot_checkpoint(directory: Path) -> LeRobotParts:
    """
    Read a LeRobot pi05 directory with ``pi05_ros.model.lerobot_keys``.

    Returns (architecture, {'state', 'actions'} stats, stats file, normalization mode,
    whether the model predicts relative actions).
    """
    from pi05_ros.model import lerobot_keys

    check_lerobot_files(directory)
    try:
        data = lerobot_keys.read_lerobot_config(directory)
        config = PI05Config.from_dict(lerobot_keys.lerobot_architecture(data))
        norm = lerobot_keys.lerobot_normalization_stats(directory)
    except lerobot_keys.LeRobotCheckpointError as err:
        raise CheckpointDirError(f'LeRobot checkpoint {directory}: {err}') from None
    modes = {LEROBOT_NORM_MODES.get(norm['norm_map'].get(k, 'QUANTILES'))
             for k in ('STATE', 'ACTION')}
    if None in modes or len(modes) != 1:
        raise CheckpointDirError(
            f'LeRobot checkpoint {directory}: norm_map {norm["norm_map"]} not supported (STATE '
            f'and ACTION must both be one of {sorted(LEROBOT_NORM_MODES)})')
    source = f'{directory}/policy_preprocessor (LeRobot)'
    stats = parse_norm_stats(lerobot_keys.to_openpi_norm_stats(norm['stats']), source)
    relative = data.get('use_relative_actions', False)
    if not isinstance(relative, bool):
        raise CheckpointDirError(f'LeRobot checkpoint {directory}: config.json '
                                 f'use_relative_actions: expected true or false, got {relative!r}')
    return config, stats, source, modes.pop(), relative


def resolve_tokenizer(directory: Path, explicit: Optional[Union[str, Path]] = None) -> Path:
    """Find the SentencePiece model (explicit, checkpoint's tokenizer.model, $PI05_TOKENIZER)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f'tokenizer_path: no file at {path}. {TOKENIZER_HELP}')
        return path
    if (directory / TOKENIZER_FILE).is_file():
        return directory / TOKENIZER_FILE
    env = os.environ.get(TOKENIZER_ENV)
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f'${TOKENIZER_ENV}: no file at {env}. {TOKENIZER_HELP}')
        return Path(env)
    raise FileNotFoundError(f'tokenizer: none found for checkpoint {directory}. {TOKENIZER_HELP}')


def open_checkpoint(directory: Union[str, Path], asset_id: str,
                    tokenizer_path: Optional[Union[str, Path]] = None) -> CheckpointDir:
    """Locate and validate every file of a checkpoint directory for ``asset_id``'s robot."""
    directory = Path(directory)
    layout = detect_layout(directory)
    relative = False
    if layout == 'lerobot':
        config, stats, source, norm_mode, relative = load_lerobot_checkpoint(directory)
        convention = 'lerobot'
    else:
        config = read_model_config(directory)
        source = str(norm_stats_path(directory, asset_id))
        stats = load_norm_stats(source)
        norm_mode, convention = None, 'openpi'
    return CheckpointDir(
        path=directory, layout=layout, weights=directory / WEIGHTS_FILE, config=config,
        norm_stats=stats, norm_source=source, norm_convention=convention, norm_mode=norm_mode,
        tokenizer=resolve_tokenizer(directory, tokenizer_path), relative_actions=relative)


def check_weights(ckpt: CheckpointDir) -> None:
    """
    Check the weights file against the architecture from its header alone (about a second).

    Call before building the network: a wrong or corrupt file (or a missing config.json, which
    makes the released 3.6 B-parameter architecture the assumption) is refused before any
    memory is spent. Raises CheckpointError naming the file and the first tensors.
    """
    from pi05_ros.model.loading import check_weights_file

    note = ''
    if not (ckpt.path / CONFIG_FILE).is_file():
        note = (f'; {ckpt.path} has no {CONFIG_FILE}, so the released PI0.5 architecture was '
                f'assumed: add the {CONFIG_FILE} the weights belong to')
    check_weights_file(ckpt.weights, ckpt.config, note)


def sha256_file(path: Union[str, Path], block: int = 1 << 24) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(block), b''):
            digest.update(chunk)
    return digest.hexdigest()
