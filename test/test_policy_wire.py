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

"""The wire format: byte for byte openpi_client's msgpack-numpy; the request layouts."""

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.images import resize_with_pad
from pi05_ros.policy.profiles import actions_to_robot, load_profile, state_to_model
from pi05_ros.policy.wire import (layout_for, NOISE_KEY, observation_to_request, packb,
                                  request_to_observation, unpackb, wire_actions_to_positions,
                                  wire_profile, WireError)
import pytest


@pytest.fixture
def openpi_msgpack():
    return pytest.importorskip('openpi_client.msgpack_numpy')


def _message():
    rng = np.random.default_rng(1)
    return {
        'observation/image': rng.integers(0, 256, (224, 224, 3), dtype=np.uint8),
        'state': rng.normal(size=14),
        'f32': rng.normal(size=(10, 32)).astype(np.float32),
        'ints': np.arange(5, dtype=np.int64), 'flags': np.array([True, False]),
        'big_endian': np.arange(3, dtype='>i4'), 'scalar': np.float32(1.5),
        'count': np.int64(7), 'nested': {'images': {'cam_high': np.zeros((3, 4, 4), np.uint8)}},
        'list': [1, 2.5, 'x', None, (1, 2)], 'prompt': 'pick up the cube', b'raw': b'\x00\x01',
    }


def _same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert type(a) is type(b) and a == b


def test_encoding_is_byte_for_byte_openpi_clients(openpi_msgpack):
    message = _message()
    ours = packb(message)
    assert ours == openpi_msgpack.packb(message)
    assert ours == openpi_msgpack.Packer().pack(message)  # what WebsocketClientPolicy sends
    _same(unpackb(ours), openpi_msgpack.unpackb(ours))


def test_decoding_gives_numpy_arrays_and_scalars_back(openpi_msgpack):
    decoded = unpackb(openpi_msgpack.packb(_message()))
    assert decoded['f32'].dtype == np.float32 and decoded['f32'].shape == (10, 32)
    assert decoded['big_endian'].dtype == np.dtype('>i4')
    assert decoded['scalar'] == np.float32(1.5) and isinstance(decoded['scalar'], np.float32)
    assert decoded['nested']['images']['cam_high'].shape == (3, 4, 4)
    assert decoded['list'] == [1, 2.5, 'x', None, [1, 2]]


@pytest.mark.parametrize('value', [np.array([object()]), np.zeros(2, np.complex64),
                                   object()])
def test_unencodable_values_raise_wire_error(value):
    with pytest.raises(WireError, match='encode|dtype'):
        packb({'x': value})


@pytest.mark.parametrize('data', [b'\xc1', b'\x81\xc4\x0b__ndarray__\xc3',
                                  packb({'a': 1}) + b'\x01',
                                  packb({b'__ndarray__': True, b'data': b'abc', b'dtype': '<f8',
                                         b'shape': [4]})])
def test_malformed_messages_raise_wire_error(data):
    with pytest.raises(WireError, match='malformed'):
        unpackb(data)


def _observation(profile, rng, size=(180, 320)):
    images = {c: rng.integers(0, 256, size + (3,), dtype=np.uint8) for c in profile.camera_names}
    state = rng.uniform(-0.5, 0.5, len(profile.state_names))
    return Observation(images=images, state=state, prompt='pick up the cube', stamp_ns=123)


@pytest.mark.parametrize('name, keys', [
    ('droid', {'observation/exterior_image_1_left', 'observation/wrist_image_left',
               'observation/joint_position', 'observation/gripper_position', 'prompt'}),
    ('aloha', {'images', 'state', 'prompt'}),
    ('libero', {'observation/image', 'observation/wrist_image', 'observation/state', 'prompt'}),
    ('demo', {'images', 'state', 'prompt'}),  # not an openpi robot: the pi05_ros layout
])
def test_requests_have_openpi_layout_and_come_back(name, keys):
    profile = load_profile(name)
    rng = np.random.default_rng(2)
    observation = _observation(profile, rng)
    noise = rng.normal(size=(50, 32))
    request = observation_to_request(profile, observation, noise=noise)
    assert set(request) == keys | {NOISE_KEY}
    assert request[NOISE_KEY].dtype == np.float32
    wire = unpackb(packb(request))
    back, back_noise = request_to_observation(profile, wire, stamp_ns=5)
    np.testing.assert_array_equal(back.state, observation.state)
    np.testing.assert_array_equal(back_noise, noise.astype(np.float32))
    assert back.prompt == 'pick up the cube' and back.stamp_ns == 5
    for camera in profile.camera_names:
        expected = resize_with_pad(observation.images[camera])
        np.testing.assert_array_equal(back.images[camera], expected)
        assert back.images[camera].shape == (224, 224, 3)
    if name == 'aloha':
        assert {k: v.shape for k, v in request['images'].items()} == dict.fromkeys(
            profile.camera_names, (3, 224, 224))
    if name == 'droid':
        assert request['observation/gripper_position'].shape == (1,)
    if name == 'libero':  # sent rotated as openpi's LIBERO client does
        frame = observation.images['agentview']
        np.testing.assert_array_equal(request['observation/image'],
                                      resize_with_pad(frame[::-1, ::-1]))


def test_float_and_channels_first_images_parse_as_openpi():
    profile = load_profile('libero')
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    request = {'observation/image': (image / 255.0).transpose(2, 0, 1),
               'observation/wrist_image': image, 'observation/state': np.zeros(8),
               'prompt': 'x'}
    observation, noise = request_to_observation(profile, request)
    assert noise is None
    expected = (255 * (image / 255.0)).astype(np.uint8)[::-1, ::-1]
    np.testing.assert_array_equal(observation.images['agentview'], expected)


@pytest.mark.parametrize('mutate, match', [
    (lambda r: r.pop('observation/state'), "missing key 'observation/state'"),
    (lambda r: r.update({'observation/state': np.zeros(3)}), r'state: expected shape \(8,\)'),
    (lambda r: r.update({'observation/image': np.zeros((224, 224), np.uint8)}),
     'observation/image'),
    (lambda r: r.update({'prompt': 3}), 'prompt: expected a str'),
])
def test_bad_requests_name_the_field(mutate, match):
    profile = load_profile('libero')
    request = observation_to_request(profile, _observation(profile, np.random.default_rng(4)))
    mutate(request)
    with pytest.raises(WireError, match=match):
        request_to_observation(profile, request)


def test_layout_must_fit_the_profile():
    assert layout_for(load_profile('demo')) == 'pi05_ros'
    assert layout_for(load_profile('aloha')) == 'aloha'
    with pytest.raises(WireError, match="layout 'droid': profile 'demo' needs cameras"):
        observation_to_request(load_profile('demo'), Observation({}, np.zeros(7), '', 0),
                               layout='droid')
    with pytest.raises(WireError, match='layout: expected one of'):
        layout_for(load_profile('demo'), 'franka')
    with pytest.raises(WireError, match="layout 'aloha'"):
        request_to_observation(load_profile('droid'), {}, layout='aloha')


@pytest.mark.parametrize('name', ['droid', 'aloha', 'libero'])
def test_wire_actions_integrate_to_the_profile_targets_bitwise(name):
    profile = load_profile(name)
    rng = np.random.default_rng(5)
    actions = rng.normal(size=(profile.chunk_rows, len(profile.action_dims)))
    state = rng.uniform(-0.5, 0.5, len(profile.state_names))
    model_state = state_to_model(profile, state)
    expected = actions_to_robot(profile, actions, state, model_state)
    wire = actions_to_robot(wire_profile(profile), actions, state, model_state)
    assert (wire_profile(profile) is profile) == (name != 'droid')
    got = wire_actions_to_positions(profile, unpackb(packb(wire)), state)
    assert got.tobytes() == expected.tobytes()
