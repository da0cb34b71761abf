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
Robot profiles: how one robot's joints, cameras and units map onto PI0.5's inputs and outputs.

A profile is a YAML file in ``config/profiles/`` or anywhere else (see doc/policy.md for every
field, doc/robots.md for a custom arm). Loading validates every field and raises
:class:`ProfileError` naming the file, the field and what was expected. The two pure functions
:func:`state_to_model` and :func:`actions_to_robot` do the robot <-> model conversions around
normalization:

    robot state --state_to_model--> model-space state --normalize--> tokens
    model actions --unnormalize--> model-space actions --actions_to_robot--> absolute joint targets
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from pi05_ros.config_paths import config_dirs, find_config_file
from pi05_ros.policy.conversions import CONVERSIONS
from pi05_ros.policy.images import IMAGE_SLOTS
from pi05_ros.policy.normalize import MODES as NORMALIZATION_MODES
from pi05_ros.policy.tokenizer import PROMPT_FORMATS
import yaml

ACTION_SPACES = ('absolute', 'delta', 'velocity')
NS_PER_S = 1_000_000_000
LIMIT_KEYS = ('lower', 'upper', 'max_velocity', 'max_acceleration', 'max_jerk')
JOINT_NAMES_HINT = ('set joint_names in the profile YAML, or give them: pi05-replay --joint-names '
                    "a,b,c; the nodes' joint_names parameter; "
                    'load_profile(..., joint_names=[...])')


class ProfileError(ValueError):
    """A robot profile field is missing or invalid."""


@dataclass(frozen=True)
class CameraSpec:
    """One camera: the name observations use, the model image slot and its default ROS topic."""

    name: str
    slot: str
    topic: str
    rotate_180: bool = False  # LIBERO's client flips its images before sending them


@dataclass(frozen=True)
class RobotProfile:
    """
    Everything robot-specific between an Observation and an ActionChunk.

    ``joint_names`` are the chunk columns (what the executor commands); ``state_names`` the order
    of ``Observation.state`` (the same as ``joint_names`` for every joint-space robot).
    ``state_dims[i]`` / ``action_dims[i]`` name the robot quantity at model dimension ``i``.
    """

    name: str
    joint_names: Tuple[str, ...]
    state_names: Tuple[str, ...]
    state_dims: Tuple[str, ...]
    action_dims: Tuple[str, ...]
    action_space: str
    action_mask: Tuple[str, ...]  # joints the delta / velocity action applies to
    cameras: Tuple[CameraSpec, ...]
    control_dt_ns: int
    chunk_rows: int
    asset_id: str
    prompt_format: str = 'state'
    normalization: str = 'quantile'
    velocity_scale: float = 1.0  # velocity space: robot units per second per action unit
    state_sign: Tuple[float, ...] = ()
    action_sign: Tuple[float, ...] = ()
    state_convert: Mapping[str, str] = field(default_factory=dict)
    action_convert: Mapping[str, str] = field(default_factory=dict)
    action_clip: Mapping[str, Tuple[float, float]] = field(default_factory=dict)
    # gripper dims: robot units (open, closed) <-> the model's 0 (open) .. 1 (closed)
    grippers: Mapping[str, Tuple[float, float]] = field(default_factory=dict)
    # a ceiling on the executor's limits (LIMIT_KEYS -> (J,) in joint_names order); empty: none
    limits: Mapping[str, Tuple[float, ...]] = field(default_factory=dict)
    joint_states_topic: str = 'joint_states'  # relative: resolved in the node namespace
    default_prompt: Optional[str] = None
    description: str = ''
    source: str = ''

    @property
    def camera_names(self) -> Tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    @property
    def control_dt_s(self) -> float:
        return self.control_dt_ns / NS_PER_S

    def camera(self, name: str) -> CameraSpec:
        for spec in self.cameras:
            if spec.name == name:
                return spec
        raise ProfileError(f'profile {self.name!r}: no camera named {name!r} '
                           f'(cameras: {list(self.camera_names)})')


# ----------------------------------------------------------------------------- conversions


def state_to_model(profile: RobotProfile, state: np.ndarray) -> np.ndarray:
    """
    (S,) robot state in ``state_names`` order -> (len(state_dims),) model-space state.

    Reorders into the model layout, applies the per-dimension sign flips, then the named unit
    conversions (openpi's ``_decode_state`` order) and the gripper maps (robot units -> 0 open
    .. 1 closed).
    """
    state = check_state(profile, state)
    index = {n: i for i, n in enumerate(profile.state_names)}
    model = state[[index[n] for n in profile.state_dims]] * np.asarray(profile.state_sign)
    for i, name in enumerate(profile.state_dims):
        if name in profile.state_convert:
            model[i] = CONVERSIONS[profile.state_convert[name]](model[i])
        if name in profile.grippers:
            open_, closed = profile.grippers[name]
            model[i] = (model[i] - open_) / (closed - open_)
    return model


def actions_to_robot(profile: RobotProfile, actions: np.ndarray, state: np.ndarray,
                     model_state: np.ndarray) -> np.ndarray:
    """
    (H, >=A) unnormalized model actions -> (H, J) absolute targets in ``joint_names`` order.

    Steps (openpi order): keep the first A = len(action_dims) dims; delta space adds the
    model-space state of the same joint on masked dims (AbsoluteActions); sign flips; named unit
    conversions and gripper maps (0 open .. 1 closed -> robot units); clipping (robot units);
    velocity space integrates masked dims from the robot state:
    ``q_k = q_0 + velocity_scale * dt * sum_{i<=k} v_i`` (row k is the target at (k+1)*dt).
    """
    actions = np.asarray(actions, dtype=np.float64)
    n_act = len(profile.action_dims)
    if actions.ndim != 2 or actions.shape[1] < n_act:
        raise ValueError(f'actions: expected shape (H, >={n_act}), got {actions.shape}')
    out = actions[:, :n_act].copy()
    mask = np.array([n in profile.action_mask for n in profile.action_dims])
    if profile.action_space == 'delta':
        model_index = {n: i for i, n in enumerate(profile.state_dims)}
        anchor = np.array([model_state[model_index[n]] if m else 0.0
                           for n, m in zip(profile.action_dims, mask)])
        out += anchor[None, :]
    out *= np.asarray(profile.action_sign)[None, :]
    for i, name in enumerate(profile.action_dims):
        if name in profile.action_convert:
            out[:, i] = CONVERSIONS[profile.action_convert[name]](out[:, i])
        if name in profile.grippers:
            open_, closed = profile.grippers[name]
            out[:, i] = open_ + out[:, i] * (closed - open_)
        if name in profile.action_clip:
            low, high = profile.action_clip[name]
            out[:, i] = np.clip(out[:, i], low, high)
    if profile.action_space == 'velocity':
        state = check_state(profile, state)
        state_index = {n: i for i, n in enumerate(profile.state_names)}
        start = np.array([state[state_index[n]] if m else 0.0
                          for n, m in zip(profile.action_dims, mask)])
        step = profile.velocity_scale * profile.control_dt_s
        integrated = start[None, :] + step * np.cumsum(out, axis=0)
        out = np.where(mask[None, :], integrated, out)
    column = {n: i for i, n in enumerate(profile.action_dims)}
    return out[:, [column[n] for n in profile.joint_names]]


def check_state(profile: RobotProfile, state: object) -> np.ndarray:
    """Return ``state`` as a finite (S,) float64 vector or raise ValueError naming the field."""
    array = np.asarray(state, dtype=np.float64)
    expected = len(profile.state_names)
    if array.shape != (expected,):
        raise ValueError(
            f'state: expected shape ({expected},) for profile {profile.name!r} '
            f'({", ".join(profile.state_names)}), got {array.shape}')
    if not np.all(np.isfinite(array)):
        bad = [profile.state_names[i] for i in np.flatnonzero(~np.isfinite(array))]
        raise ValueError(f'state: expected finite values, got non-finite {bad}')
    return array


# ----------------------------------------------------------------------------- loading


def _names(value: object, where: str, allow_empty: bool = False) -> Tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(f'{where}: expected a list of non-empty names, got {value!r}')
    if not value and not allow_empty:
        raise ProfileError(f'{where}: expected at least one name')
    if len(set(value)) != len(value):
        raise ProfileError(f'{where}: names must be unique, got {list(value)}')
    return tuple(value)


def _subset(names: Tuple[str, ...], allowed: Sequence[str], where: str, of: str) -> None:
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ProfileError(f'{where}: {unknown} not in {of} {list(allowed)}')


def _choice(value: object, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise ProfileError(f'{where}: expected one of {list(choices)}, got {value!r}')
    return value


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ProfileError(f'{where}: expected a positive integer, got {value!r}')
    return value


def _signs(value: object, length: int, where: str) -> Tuple[float, ...]:
    if value is None:
        return (1.0,) * length
    if not isinstance(value, (list, tuple)) or len(value) != length or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or v not in (1, -1)
            for v in value):
        raise ProfileError(f'{where}: expected {length} values, each 1 or -1, got {value!r}')
    return tuple(float(v) for v in value)


def _convert(value: object, dims: Tuple[str, ...], where: str) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f'{where}: expected a mapping joint -> conversion, got {value!r}')
    _subset(tuple(value), dims, where, 'the model dims')
    for name, conversion in value.items():
        _choice(conversion, sorted(CONVERSIONS), f'{where}.{name}')
    return dict(value)


def _clip(value: object, dims: Tuple[str, ...], where: str) -> Dict[str, Tuple[float, float]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f'{where}: expected a mapping joint -> [low, high], got {value!r}')
    _subset(tuple(value), dims, where, 'the action dims')
    out = {}
    for name, bounds in value.items():
        ok = isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
        if not ok or not bounds[0] < bounds[1]:
            raise ProfileError(f'{where}.{name}: expected [low, high] with low < high, '
                               f'got {bounds!r}')
        out[name] = (float(bounds[0]), float(bounds[1]))
    return out


def _cameras(value: object, where: str) -> Tuple[CameraSpec, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError(f'{where}: expected a non-empty list of {{name, slot, topic}}')
    cameras = []
    for i, entry in enumerate(value):
        at = f'{where}[{i}]'
        if not isinstance(entry, dict):
            raise ProfileError(f'{at}: expected a mapping with name, slot, topic; got {entry!r}')
        unknown = set(entry) - {'name', 'slot', 'topic', 'rotate_180'}
        if unknown:
            raise ProfileError(f'{at}: unknown keys {sorted(unknown)}')
        for key in ('name', 'topic'):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ProfileError(f'{at}.{key}: expected a non-empty string, got '
                                   f'{entry.get(key)!r}')
        slot = _choice(entry.get('slot'), IMAGE_SLOTS, f'{at}.slot')
        rotate = entry.get('rotate_180', False)
        if not isinstance(rotate, bool):
            raise ProfileError(f'{at}.rotate_180: expected true or false, got {rotate!r}')
        cameras.append(CameraSpec(entry['name'], slot, entry['topic'], rotate))
    _names([c.name for c in cameras], f'{where} names')
    _names([c.slot for c in cameras], f'{where} slots')
    return tuple(cameras)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _grippers(value: object, state_dims: Tuple[str, ...], action_dims: Tuple[str, ...],
              converted: Sequence[str], where: str) -> Dict[str, Tuple[float, float]]:
    """``{joint: {open: x, closed: y}}`` -> ``{joint: (open, closed)}`` in robot units."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f'{where}: expected a mapping joint -> {{open: X, closed: Y}} (robot '
                           f'units; the model sees 0 open .. 1 closed), got {value!r}')
    dims = list(dict.fromkeys(state_dims + action_dims))
    _subset(tuple(value), dims, where, 'the state/action dims')
    out = {}
    for name, entry in value.items():
        at = f'{where}.{name}'
        if not isinstance(entry, dict) or set(entry) != {'open', 'closed'}:
            raise ProfileError(f'{at}: expected {{open: X, closed: Y}} (robot units), '
                               f'got {entry!r}')
        open_, closed = entry['open'], entry['closed']
        if not (_number(open_) and _number(closed) and np.isfinite([open_, closed]).all()
                and open_ != closed):
            raise ProfileError(f'{at}: expected two different finite numbers for open and '
                               f'closed, got open={open_!r}, closed={closed!r}')
        if name in converted:
            raise ProfileError(f'{at}: {name!r} also has a named conversion (state.convert / '
                               'action.convert); use one of the two')
        out[name] = (float(open_), float(closed))
    return out


def _limits(value: object, joints: Tuple[str, ...], where: str) -> Dict[str, Tuple[float, ...]]:
    """``limits:`` -> ``{key: (J,) values}``, one value spread to every joint."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f'{where}: expected a mapping with some of {list(LIMIT_KEYS)}, '
                           f'got {value!r}')
    unknown = set(value) - set(LIMIT_KEYS)
    if unknown:
        raise ProfileError(f'{where}: unknown keys {sorted(unknown)} (allowed: '
                           f'{list(LIMIT_KEYS)})')
    out = {}
    for key in LIMIT_KEYS:
        if key not in value:
            continue
        raw = value[key]
        values = raw if isinstance(raw, list) else [raw]
        if len(values) == 1:
            values = values * len(joints)
        positive = key.startswith('max_')
        expected = (f'a number > 0 or {len(joints)} of them (one per joint: '
                    f'{", ".join(joints)})' if positive else
                    f'a number or {len(joints)} of them (one per joint: {", ".join(joints)})')
        if len(values) != len(joints) or not all(_number(v) for v in values) or (
                positive and not all(v > 0 for v in values)) or any(np.isnan(values)):
            raise ProfileError(f'{where}.{key}: expected {expected}, got {raw!r}')
        out[key] = tuple(float(v) for v in values)
    if 'lower' in out and 'upper' in out:
        bad = [j for j, lo, hi in zip(joints, out['lower'], out['upper']) if not lo < hi]
        if bad:
            raise ProfileError(f'{where}: expected lower < upper on every joint, not on {bad}')
    return out


def _control_dt_ns(data: dict, where: str) -> int:
    if 'control_dt_ns' in data:
        return _positive_int(data['control_dt_ns'], f'{where}.control_dt_ns')
    dt = data.get('control_dt')
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
        raise ProfileError(f'{where}.control_dt: expected a positive number of seconds, '
                           f'got {dt!r}')
    return int(round(dt * NS_PER_S))


TOP_KEYS = {'name', 'description', 'joint_names', 'state_names', 'joint_states_topic',
            'control_dt', 'control_dt_ns', 'chunk_rows', 'asset_id', 'prompt_format',
            'normalization', 'default_prompt', 'cameras', 'state', 'action', 'grippers',
            'limits'}
STATE_KEYS = {'dims', 'sign', 'convert'}
ACTION_KEYS = {'dims', 'space', 'mask', 'velocity_scale', 'sign', 'convert', 'clip'}


def _section(data: dict, key: str, allowed: set, where: str) -> dict:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise ProfileError(f'{where}.{key}: expected a mapping, got {section!r}')
    unknown = set(section) - allowed
    if unknown:
        raise ProfileError(f'{where}.{key}: unknown keys {sorted(unknown)} '
                           f'(allowed: {sorted(allowed)})')
    return section


def _rename(value: object, mapping: Dict[str, str]) -> object:
    """Rename joint references in a raw YAML value (lists, mapping keys, strings)."""
    if isinstance(value, list):
        return [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    if isinstance(value, dict):
        return {mapping.get(k, k): v for k, v in value.items()}
    return value


def _apply_joint_names(data: dict, joint_names: Sequence[str], where: str) -> dict:
    """Give the profile the user's joint names, renaming references to its own names."""
    new = list(_names(list(joint_names), 'joint_names argument'))
    old = data.get('joint_names')
    data = dict(data)
    data['joint_names'] = new
    if old is None:
        return data
    if len(old) != len(new):
        raise ProfileError(f'joint_names argument: profile {where} has {len(old)} joints '
                           f'({old}), got {len(new)}')
    mapping = dict(zip(old, new))
    if 'state_names' in data:
        data['state_names'] = _rename(data['state_names'], mapping)
    for section in ('state', 'action'):
        if isinstance(data.get(section), dict):
            data[section] = {k: _rename(v, mapping) if k in ('dims', 'mask', 'convert', 'clip')
                             else v for k, v in data[section].items()}
    if isinstance(data.get('grippers'), dict):
        data['grippers'] = _rename(data['grippers'], mapping)
    return data


def profile_from_dict(data: Mapping, joint_names: Optional[Sequence[str]] = None,
                      source: str = '<dict>') -> RobotProfile:
    """Build and validate a RobotProfile from its YAML mapping; errors name the field."""
    if not isinstance(data, Mapping):
        raise ProfileError(f'profile {source}: expected a mapping at the top level')
    data = dict(data)
    where = f'profile {source}'
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ProfileError(
            f'{where}: unknown keys {sorted(unknown)} (allowed: {sorted(TOP_KEYS)})')
    if joint_names is not None:
        data = _apply_joint_names(data, joint_names, where)
    name = data.get('name')
    if not isinstance(name, str) or not name:
        raise ProfileError(f'{where}.name: expected a non-empty string, got {name!r}')
    if data.get('joint_names') is None:
        raise ProfileError(f"{where}.joint_names: this profile needs the robot's joint names; "
                           f'{JOINT_NAMES_HINT}')
    joints = _names(data['joint_names'], f'{where}.joint_names')
    state_names = _names(data.get('state_names', list(joints)), f'{where}.state_names')
    state = _section(data, 'state', STATE_KEYS, where)
    action = _section(data, 'action', ACTION_KEYS, where)

    state_dims = _names(state.get('dims', list(state_names)), f'{where}.state.dims')
    _subset(state_dims, state_names, f'{where}.state.dims', 'state_names')
    action_dims = _names(action.get('dims', list(joints)), f'{where}.action.dims')
    _subset(action_dims, joints, f'{where}.action.dims', 'joint_names')
    missing = [j for j in joints if j not in action_dims]
    if missing:
        raise ProfileError(f'{where}.action.dims: joints {missing} have no model action dim')
    space = _choice(action.get('space', 'absolute'), ACTION_SPACES, f'{where}.action.space')
    default_mask = [] if space == 'absolute' else list(action_dims)
    mask = _names(action.get('mask', default_mask), f'{where}.action.mask', allow_empty=True)
    _subset(mask, action_dims, f'{where}.action.mask', 'action.dims')
    if space == 'absolute' and mask:
        raise ProfileError(f'{where}.action.mask: only meaningful for delta/velocity actions')
    if space == 'delta':
        _subset(mask, state_dims, f'{where}.action.mask', 'state.dims (delta anchors)')
    if space == 'velocity':
        _subset(mask, state_names, f'{where}.action.mask', 'state_names (integration start)')
    scale = action.get('velocity_scale', 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ProfileError(f'{where}.action.velocity_scale: expected a positive number, '
                           f'got {scale!r}')
    chunk_rows = _positive_int(data.get('chunk_rows'), f'{where}.chunk_rows')
    asset_id = data.get('asset_id')
    if not isinstance(asset_id, str) or not asset_id:
        raise ProfileError(f'{where}.asset_id: expected the norm-stats asset id '
                           f'(assets/<asset_id>/norm_stats.json), got {asset_id!r}')
    topic = data.get('joint_states_topic', 'joint_states')
    if not isinstance(topic, str) or not topic:
        raise ProfileError(f'{where}.joint_states_topic: expected a topic name, got {topic!r}')
    prompt = data.get('default_prompt')
    if prompt is not None and not isinstance(prompt, str):
        raise ProfileError(f'{where}.default_prompt: expected a string, got {prompt!r}')
    description = data.get('description', '')
    state_convert = _convert(state.get('convert'), state_dims, f'{where}.state.convert')
    action_convert = _convert(action.get('convert'), action_dims, f'{where}.action.convert')
    grippers = _grippers(data.get('grippers'), state_dims, action_dims,
                         list(state_convert) + list(action_convert), f'{where}.grippers')
    integrated = [g for g in grippers if space == 'velocity' and g in mask]
    if integrated:
        raise ProfileError(f'{where}.grippers: {integrated} are velocity-integrated '
                           '(action.mask); a gripper map needs a position dim')
    return RobotProfile(
        name=name,
        joint_names=joints,
        state_names=state_names,
        state_dims=state_dims,
        action_dims=action_dims,
        action_space=space,
        action_mask=mask,
        cameras=_cameras(data.get('cameras'), f'{where}.cameras'),
        control_dt_ns=_control_dt_ns(data, where),
        chunk_rows=chunk_rows,
        asset_id=asset_id,
        prompt_format=_choice(data.get('prompt_format', 'state'), PROMPT_FORMATS,
                              f'{where}.prompt_format'),
        normalization=_choice(data.get('normalization', 'quantile'), NORMALIZATION_MODES,
                              f'{where}.normalization'),
        velocity_scale=float(scale),
        state_sign=_signs(state.get('sign'), len(state_dims), f'{where}.state.sign'),
        action_sign=_signs(action.get('sign'), len(action_dims), f'{where}.action.sign'),
        state_convert=state_convert,
        action_convert=action_convert,
        action_clip=_clip(action.get('clip'), action_dims, f'{where}.action.clip'),
        grippers=grippers,
        limits=_limits(data.get('limits'), joints, f'{where}.limits'),
        joint_states_topic=topic,
        default_prompt=prompt,
        description=str(description),
        source=source,
    )


def profile_path(name_or_path: Union[str, Path]) -> Path:
    """Resolve a profile name ('droid') to its shipped YAML, a path to itself (must exist)."""
    text = str(name_or_path)
    if text.endswith(('.yaml', '.yml')) or '/' in text or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise FileNotFoundError(f'profile: no file at {path}')
        return path
    try:
        return find_config_file(f'profiles/{text}.yaml')
    except FileNotFoundError as err:
        raise ProfileError(f'profile {text!r}: unknown; shipped profiles: '
                           f'{", ".join(shipped_profiles())} ({err})') from None


def shipped_profiles() -> Tuple[str, ...]:
    """Names of the profiles in the installed ``config/profiles``."""
    names = set()
    for directory in config_dirs():
        names.update(p.stem for p in (directory / 'profiles').glob('*.yaml'))
    return tuple(sorted(names))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_bytes().decode('utf-8'))
    except UnicodeDecodeError as err:
        raise ProfileError(f'profile {path}: not a UTF-8 YAML text file (byte {err.start} is '
                           f'{err.object[err.start:err.start + 1]!r})') from None
    except yaml.YAMLError as err:
        detail = ' '.join(str(err).split())  # one line: PyYAML's message spans several
        raise ProfileError(f'profile {path}: invalid YAML ({detail})') from None
    if not isinstance(data, dict):
        raise ProfileError(f'profile {path}: expected a mapping at the top level')
    return data


def load_profile(name_or_path: Union[str, Path], joint_names: Optional[Sequence[str]] = None,
                 **overrides) -> RobotProfile:
    """
    Load a robot profile by name (``config/profiles/<name>.yaml``) or YAML path.

    ``joint_names`` gives the robot's own joint names (required by ``generic``; for other
    profiles it renames their joints one to one). ``overrides`` replace top-level YAML fields,
    e.g. ``chunk_rows=25`` or ``asset_id='my_robot'``, and are validated like the file.
    """
    if joint_names is not None and len(joint_names) == 0:
        joint_names = None  # an unset ROS string-array parameter
    path = profile_path(name_or_path)
    data = _read_yaml(path)
    data.update(overrides)
    return profile_from_dict(data, joint_names=joint_names, source=str(path))


def profile_for_joints(name_or_path: Union[str, Path],
                       joint_names: Sequence[str]) -> RobotProfile:
    """
    Return the profile as a node commanding ``joint_names`` sees it.

    The profile's own names when ``joint_names`` are they in any order, else the profile
    renamed one to one (``load_profile(..., joint_names=...)``, as the policy node does).
    """
    own = _read_yaml(profile_path(name_or_path)).get('joint_names')
    same = isinstance(own, list) and set(own) == set(joint_names) and len(own) == len(joint_names)
    return load_profile(name_or_path, joint_names=None if same else list(joint_names))


def cap_limits(limits, profile: RobotProfile):
    """
    Return ``limits`` (a JointLimits) inside the profile's ``limits`` ceiling, joint by name.

    Position ranges are intersected, velocity / acceleration / jerk limits take the smaller
    value; a profile without ``limits`` returns them unchanged.
    """
    if not profile.limits:
        return limits
    missing = [n for n in limits.joint_names if n not in profile.joint_names]
    if missing:
        raise ProfileError(f'profile {profile.source}.limits: no joints {missing} in the profile '
                           f'(joint_names: {list(profile.joint_names)})')
    index = [profile.joint_names.index(n) for n in limits.joint_names]

    def ceiling(key: str, default: float) -> np.ndarray:
        values = profile.limits.get(key)
        return np.full(len(index), default) if values is None else np.asarray(values)[index]

    jerk = np.full(len(index), np.inf) if limits.max_jerk is None else limits.max_jerk
    capped_jerk = np.minimum(jerk, ceiling('max_jerk', np.inf))
    return type(limits)(
        limits.joint_names, np.maximum(limits.lower, ceiling('lower', -np.inf)),
        np.minimum(limits.upper, ceiling('upper', np.inf)),
        np.minimum(limits.max_velocity, ceiling('max_velocity', np.inf)),
        np.minimum(limits.max_acceleration, ceiling('max_acceleration', np.inf)),
        None if np.isinf(capped_jerk).all() else capped_jerk)


def cap_limits_by_profile(limits, name_or_path: Union[str, Path]):
    """
    Return :func:`cap_limits` of ``limits`` by the profile file's ``limits:``, if it has any.

    What the executor node and ``pi05-replay`` do with the limits of their parameters.
    """
    if not _read_yaml(profile_path(name_or_path)).get('limits'):
        return limits
    return cap_limits(limits, profile_for_joints(name_or_path, limits.joint_names))
