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
openpi's policy-server wire format: msgpack with numpy arrays, and the per-robot request dicts.

Encoding (byte-compatible with ``openpi_client.msgpack_numpy``): msgpack with binary strings; a
numpy array becomes the map ``{b'__ndarray__': True, b'data': raw bytes, b'dtype': dtype.str,
b'shape': shape}``, a numpy scalar ``{b'__npgeneric__': True, b'data': item, b'dtype': ...}``;
object, void and complex dtypes are refused.

Request layouts (what openpi's example clients send; images are resized with padding to
224x224 uint8 on the robot side):

* ``droid``: ``observation/exterior_image_1_left``, ``observation/wrist_image_left`` (H, W, 3),
  ``observation/joint_position`` (7,), ``observation/gripper_position`` (1,), ``prompt``;
  response ``actions`` (H, 8): joint velocities and gripper position, as openpi's DroidOutputs.
* ``aloha``: ``state`` (14,), ``images`` {camera: (3, H, W)} (``cam_low`` may be present and is
  ignored), ``prompt``; response ``actions`` (H, 14) absolute joints.
* ``libero``: ``observation/image``, ``observation/wrist_image`` (H, W, 3, already rotated 180
  degrees by the client), ``observation/state`` (8,), ``prompt``; response ``actions`` (H, 7).
* ``pi05_ros`` (any other profile, e.g. ``generic`` or ``demo``; our server and client only):
  ``images`` {profile camera name: (H, W, 3)}, ``state`` (S,), ``prompt``; response ``actions``
  (H, J) in the profile's joint order.

The response's ``actions`` are what openpi's output transforms give: our profile's
``actions_to_robot`` without the velocity integration (:func:`wire_profile`); the robot side
integrates velocities (:func:`wire_actions_to_positions`). Our server also reads the optional
request field :data:`NOISE_KEY` (action_horizon, action_dim) float32; openpi's ignores it.
"""

import dataclasses
from typing import Dict, Mapping, Optional, Tuple

import msgpack
import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.images import check_image, MODEL_IMAGE_SIZE, resize_with_pad
from pi05_ros.policy.profiles import check_state, RobotProfile

NOISE_KEY = 'pi05_ros/noise'
OPENPI_LAYOUTS = ('droid', 'aloha', 'libero')
LAYOUTS = OPENPI_LAYOUTS + ('pi05_ros',)
_REFUSED_KINDS = ('V', 'O', 'c')


class WireError(ValueError):
    """A message on the policy-server wire is malformed, or does not fit the robot profile."""


# ----------------------------------------------------------------------------- msgpack-numpy


def _encode(obj: object) -> object:
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in _REFUSED_KINDS:
        raise WireError(f'cannot send numpy dtype {obj.dtype} (object, void and complex dtypes '
                        'are not in the wire format)')
    if isinstance(obj, np.ndarray):
        return {b'__ndarray__': True, b'data': obj.tobytes(), b'dtype': obj.dtype.str,
                b'shape': obj.shape}
    if isinstance(obj, np.generic):
        return {b'__npgeneric__': True, b'data': obj.item(), b'dtype': obj.dtype.str}
    return obj


def _decode(obj: dict) -> object:
    try:
        if b'__ndarray__' in obj:
            return np.ndarray(buffer=obj[b'data'], dtype=np.dtype(obj[b'dtype']),
                              shape=obj[b'shape'])
        if b'__npgeneric__' in obj:
            return np.dtype(obj[b'dtype']).type(obj[b'data'])
    except (KeyError, TypeError, ValueError) as err:
        raise WireError(f'malformed numpy entry in message: {err}') from None
    return obj


def packb(obj: object) -> bytes:
    """Encode ``obj`` (dicts, lists, numbers, strings, numpy arrays) as openpi's client does."""
    try:
        return msgpack.packb(obj, default=_encode)
    except TypeError as err:
        raise WireError(f'cannot encode message: {err}') from None


def unpackb(data: bytes) -> object:
    """Decode one message; arrays come back read-only, viewing the message bytes."""
    try:
        return msgpack.unpackb(data, object_hook=_decode)
    except WireError:
        raise
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError) as err:
        raise WireError(f'malformed msgpack message: {err}') from None


# ----------------------------------------------------------------------------- layouts

# layout -> profile camera name -> request key (aloha: key inside 'images')
_IMAGE_KEYS: Dict[str, Dict[str, str]] = {
    'droid': {'exterior_image_1_left': 'observation/exterior_image_1_left',
              'wrist_image_left': 'observation/wrist_image_left'},
    'aloha': {'cam_high': 'cam_high', 'cam_left_wrist': 'cam_left_wrist',
              'cam_right_wrist': 'cam_right_wrist'},
    'libero': {'agentview': 'observation/image', 'wrist': 'observation/wrist_image'},
}
_STATE_SIZES = {'droid': 8, 'aloha': 14, 'libero': 8}


def layout_for(profile: RobotProfile, layout: Optional[str] = None) -> str:
    """
    Return the wire layout of ``profile`` after checking that it fits.

    The default is the profile's name for openpi's robots, ``pi05_ros`` for any other profile.
    """
    if layout is None:
        layout = profile.name if profile.name in OPENPI_LAYOUTS else 'pi05_ros'
    name = layout
    if name not in LAYOUTS:
        raise WireError(f'layout: expected one of {list(LAYOUTS)} (openpi request layouts and '
                        f'pi05_ros), got {name!r} for profile {profile.name!r}')
    if name == 'pi05_ros':
        return name
    cameras = set(profile.camera_names)
    missing = sorted(set(_IMAGE_KEYS[name]) - cameras)
    if missing or len(profile.state_names) != _STATE_SIZES[name]:
        raise WireError(f'layout {name!r}: profile {profile.name!r} needs cameras '
                        f'{sorted(_IMAGE_KEYS[name])} and {_STATE_SIZES[name]} state values, '
                        f'has cameras {sorted(cameras)} and {len(profile.state_names)} values')
    return name


def _image_keys(profile: RobotProfile, layout: str) -> Dict[str, str]:
    """Profile camera name -> its request key (inside ``images`` for aloha and pi05_ros)."""
    if layout == 'pi05_ros':
        return {name: name for name in profile.camera_names}
    return _IMAGE_KEYS[layout]


def _wire_image(image: np.ndarray, rotate: bool) -> np.ndarray:
    if rotate:
        image = image[::-1, ::-1]
    return np.ascontiguousarray(resize_with_pad(image, MODEL_IMAGE_SIZE, MODEL_IMAGE_SIZE))


def observation_to_request(profile: RobotProfile, observation: Observation,
                           layout: Optional[str] = None,
                           noise: Optional[np.ndarray] = None) -> Dict[str, object]:
    """
    Observation -> openpi request dict, as that robot's openpi client builds it.

    Images are rotated (cameras with ``rotate_180``) and resized with padding to 224x224 here;
    ``noise`` goes into :data:`NOISE_KEY` as float32.
    """
    layout = layout_for(profile, layout)
    state = check_state(profile, observation.state)
    images = {}
    keys = _image_keys(profile, layout)
    for camera, key in keys.items():
        if camera not in observation.images:
            raise WireError(f'images[{camera!r}]: missing; the {layout} layout sends cameras '
                            f'{sorted(keys)}')
        frame = check_image(camera, observation.images[camera])
        images[key] = _wire_image(frame, profile.camera(camera).rotate_180)
    if not isinstance(observation.prompt, str):
        raise WireError(f'prompt: expected a str, got {type(observation.prompt).__name__}')
    if layout == 'droid':
        request: Dict[str, object] = dict(images)
        request['observation/joint_position'] = state[:7]
        request['observation/gripper_position'] = state[7:8]
    elif layout == 'pi05_ros':
        request = {'state': state, 'images': images}
    elif layout == 'aloha':
        request = {'state': state,
                   'images': {k: np.ascontiguousarray(v.transpose(2, 0, 1))
                              for k, v in images.items()}}
    else:
        request = dict(images)
        request['observation/state'] = state
    request['prompt'] = observation.prompt
    if noise is not None:
        request[NOISE_KEY] = np.ascontiguousarray(noise, dtype=np.float32)
    return request


def _request_image(value: object, where: str, channels_first: Optional[bool]) -> np.ndarray:
    """Parse a request image to (H, W, 3) uint8 as openpi's input transforms do."""
    if not isinstance(value, np.ndarray):
        raise WireError(f'{where}: expected a numpy image, got {type(value).__name__}')
    image = value
    if np.issubdtype(image.dtype, np.floating):
        image = (255 * image).astype(np.uint8)
    if channels_first is None:
        channels_first = image.ndim == 3 and image.shape[0] == 3
    if channels_first:
        if image.ndim != 3:
            raise WireError(f'{where}: expected shape (3, H, W), got {image.shape}')
        image = image.transpose(1, 2, 0)
    try:
        return np.ascontiguousarray(check_image(where, image))
    except ValueError as err:
        raise WireError(str(err)) from None


def _field(request: Mapping, key: str) -> object:
    if key not in request:
        raise WireError(f'request: missing key {key!r}; got keys {sorted(map(str, request))}')
    return request[key]


def _vector(value: object, where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WireError(f'{where}: expected numbers, got {type(value).__name__}') from None
    return array.reshape(1) if array.ndim == 0 else array


def request_to_observation(profile: RobotProfile, request: object,
                           layout: Optional[str] = None,
                           stamp_ns: int = 0) -> Tuple[Observation, Optional[np.ndarray]]:
    """
    Turn an openpi request dict into (Observation for ``profile``, noise or None).

    Images of ``rotate_180`` cameras are rotated back (the client rotated them; the profile's
    transforms rotate them again, so the model sees what openpi's would).
    """
    layout = layout_for(profile, layout)
    if not isinstance(request, Mapping):
        raise WireError(f'request: expected a map, got {type(request).__name__}')
    images = {}
    nested = layout in ('aloha', 'pi05_ros')
    source = _field(request, 'images') if nested else request
    if not isinstance(source, Mapping):
        raise WireError(f'images: expected a map camera -> image, got {type(source).__name__}')
    channels_first = {'aloha': True, 'pi05_ros': False}.get(layout)
    for camera, key in _image_keys(profile, layout).items():
        where = f'images[{key!r}]' if nested else key
        image = _request_image(_field(source, key), where, channels_first)
        if profile.camera(camera).rotate_180:
            image = np.ascontiguousarray(image[::-1, ::-1])
        images[camera] = image
    if layout == 'droid':
        state = np.concatenate([_vector(_field(request, 'observation/joint_position'),
                                        'observation/joint_position'),
                                _vector(_field(request, 'observation/gripper_position'),
                                        'observation/gripper_position')])
    else:
        key = 'observation/state' if layout == 'libero' else 'state'
        state = _vector(_field(request, key), key)
    try:
        state = check_state(profile, state)
    except ValueError as err:
        raise WireError(str(err)) from None
    prompt = request.get('prompt', profile.default_prompt or '')
    if not isinstance(prompt, str):
        raise WireError(f'prompt: expected a str, got {type(prompt).__name__}')
    noise = request.get(NOISE_KEY)
    if noise is not None:
        noise = _vector(noise, NOISE_KEY).astype(np.float32)
    return Observation(images=images, state=state, prompt=prompt, stamp_ns=int(stamp_ns)), noise


# ----------------------------------------------------------------------------- actions


def wire_profile(profile: RobotProfile) -> RobotProfile:
    """
    Return the profile whose ``actions_to_robot`` gives openpi's response actions.

    The same as ``profile`` except that velocity actions are not integrated (openpi's DROID
    server returns the velocities; the robot side integrates them).
    """
    if profile.action_space != 'velocity':
        return profile
    return dataclasses.replace(profile, action_space='absolute', action_mask=())


def wire_actions_to_positions(profile: RobotProfile, actions: np.ndarray,
                              state: np.ndarray) -> np.ndarray:
    """
    Response ``actions`` (H, J) in joint order -> absolute targets (H, J).

    Velocity profiles integrate the masked joints from the robot ``state`` exactly as
    ``actions_to_robot`` does; other profiles' actions already are targets.
    """
    out = np.asarray(actions, dtype=np.float64)
    if profile.action_space != 'velocity':
        return out
    state = check_state(profile, state)
    state_index = {n: i for i, n in enumerate(profile.state_names)}
    mask = np.array([n in profile.action_mask for n in profile.joint_names])
    start = np.array([state[state_index[n]] if m else 0.0
                      for n, m in zip(profile.joint_names, mask)])
    step = profile.velocity_scale * profile.control_dt_s
    integrated = start[None, :] + step * np.cumsum(out, axis=0)
    return np.where(mask[None, :], integrated, out)
