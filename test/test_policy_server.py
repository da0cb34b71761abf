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

"""pi05-serve driven by the real, unmodified openpi-client: same actions as in-process."""

import threading
import time
import urllib.request

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.runtime import Policy
from pi05_ros.policy.server import load_wire_policy, PolicyServer
from pi05_ros.policy.wire import NOISE_KEY, packb, unpackb, wire_actions_to_positions
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


PROMPT = 'pick up the red cube'


def _openpi_client(port):
    module = pytest.importorskip('openpi_client.websocket_client_policy')
    return module.WebsocketClientPolicy(host='127.0.0.1', port=port)


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """Profile name -> (in-process Policy, port, server); one demo checkpoint per profile."""
    out, servers = {}, []
    for name in ('droid', 'aloha', 'libero'):
        profile = load_profile(name)
        ckpt = make_demo_checkpoint(tmp_path_factory.mktemp(name), profile, seed=1)
        server = PolicyServer(load_wire_policy(ckpt, profile, seed=0), profile,
                              host='127.0.0.1', port=0)
        servers.append(server)
        out[name] = (Policy.from_checkpoint(ckpt, name, seed=0), server.start(), server)
    yield out
    for server in servers:
        server.stop()


def _frames(rng, names, shape=(180, 320, 3)):
    return {n: rng.integers(0, 256, shape, dtype=np.uint8) for n in names}


def _openpi_request(name, frames, state, noise):
    """Build the observation dict as openpi's example client for that robot does."""
    image_tools = pytest.importorskip('openpi_client.image_tools')

    def resize(image):
        return image_tools.resize_with_pad(image, 224, 224)
    if name == 'droid':
        obs = {'observation/exterior_image_1_left': resize(frames['exterior_image_1_left']),
               'observation/wrist_image_left': resize(frames['wrist_image_left']),
               'observation/joint_position': state[:7],
               'observation/gripper_position': state[7:]}
    elif name == 'aloha':  # images channels-first, cam_low sent and unused
        cams = dict(frames, cam_low=frames['cam_high'])
        obs = {'state': state,
               'images': {k: resize(v).transpose(2, 0, 1) for k, v in cams.items()}}
    else:  # LIBERO's client rotates its frames 180 degrees
        obs = {'observation/image': resize(frames['agentview'][::-1, ::-1]),
               'observation/wrist_image': resize(frames['wrist'][::-1, ::-1]),
               'observation/state': state}
    obs['prompt'] = PROMPT
    obs[NOISE_KEY] = noise
    return obs


@pytest.mark.parametrize('name', ['droid', 'aloha', 'libero'])
def test_openpi_client_gets_the_in_process_actions_bitwise(served, name):
    policy, port, _ = served[name]
    profile = policy.profile
    client = _openpi_client(port)
    meta = client.get_server_metadata()
    assert meta['layout'] == name and meta['action_horizon'] == profile.chunk_rows
    assert meta['joint_names'] == list(profile.joint_names)
    rng = np.random.default_rng(7)
    for step in range(2):
        frames = _frames(rng, profile.camera_names)
        state = rng.uniform(-0.5, 0.5, len(profile.state_names))
        noise = rng.standard_normal((50, 32)).astype(np.float32)
        result = client.infer(_openpi_request(name, frames, state, noise))
        expected = policy.infer(Observation(frames, state, PROMPT, 0), noise)
        actions = result['actions']
        assert actions.shape == (profile.chunk_rows, len(profile.joint_names))
        if name == 'droid':  # openpi's DROID server returns velocities (clipped to [-1, 1])
            assert np.all(np.abs(actions[:, :7]) <= 1.0)
            assert not np.array_equal(actions, expected.positions)
        got = wire_actions_to_positions(profile, actions, state)
        assert got.tobytes() == expected.positions.tobytes()
        assert result['server_timing']['infer_ms'] > 0
        assert ('prev_total_ms' in result['server_timing']) == (step > 0)
        assert result['policy_timing']['infer_ms'] > 0


def test_health_endpoint(served):
    _, port, _ = served['droid']
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5) as reply:
        assert reply.status == 200 and reply.read() == b'OK\n'


def test_bad_request_is_sent_as_text_then_the_connection_closes(served):
    _, port, _ = served['libero']
    client = _openpi_client(port)
    with pytest.raises(RuntimeError, match="missing key 'observation/state'"):
        image = np.zeros((224, 224, 3), np.uint8)
        client.infer({'observation/image': image, 'observation/wrist_image': image,
                      'prompt': 'x'})
    with pytest.raises(ConnectionClosed) as closed:
        client.infer({'prompt': 'x'})
    assert closed.value.rcvd.code == 1011


class _SlowPolicy:
    """Wrap a policy: each inference takes ``delay`` s more; records the most at once."""

    def __init__(self, policy, delay):
        self.policy, self.delay = policy, delay
        self.active = self.most = 0
        self.lock = threading.Lock()

    def infer(self, observation, noise=None):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(self.delay)
            return self.policy.infer(observation, noise)
        finally:
            with self.lock:
                self.active -= 1


def test_clients_queue_one_inference_at_a_time_and_a_leaver_disturbs_no_one(served, tmp_path):
    policy, _, served_droid = served['droid']
    profile = policy.profile
    slow = _SlowPolicy(served_droid.policy, 0.3)
    server = PolicyServer(slow, profile, host='127.0.0.1', port=0, metadata={'x': 1})
    port = server.start()
    try:
        rng = np.random.default_rng(8)
        frames = _frames(rng, profile.camera_names, (224, 224, 3))
        state = np.zeros(8)
        noise = rng.standard_normal((50, 32)).astype(np.float32)
        message = packb(_openpi_request('droid', frames, state, noise))
        expected = policy.infer(Observation(frames, state, PROMPT, 0), noise).positions
        uri = f'ws://127.0.0.1:{port}'
        leaver = connect(uri, compression=None, max_size=None)
        assert unpackb(leaver.recv(timeout=5)) == {'x': 1}
        leaver.send(message)
        leaver.close()  # gone before its response
        results, errors = [], []

        def one_client():
            try:
                with connect(uri, compression=None, max_size=None) as ws:
                    ws.recv(timeout=5)
                    ws.send(message)
                    results.append(unpackb(ws.recv(timeout=20)))
            except Exception as err:  # noqa: B902 - reported by the assert below
                errors.append(err)
        threads = [threading.Thread(target=one_client) for _ in range(3)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(0.1)  # an inference is running: the event loop still answers
        ask = time.monotonic()
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5) as reply:
            assert reply.read() == b'OK\n'
        assert time.monotonic() - ask < 0.25
        for thread in threads:
            thread.join(30)
        assert not errors and len(results) == 3
        assert slow.most == 1
        assert server.requests_served == 4  # the leaver's ran too, its result dropped
        assert time.monotonic() - start >= 3 * 0.3  # queued, not parallel
        for result in results:
            got = wire_actions_to_positions(profile, result['actions'], state)
            assert got.tobytes() == expected.tobytes()
        queued = sorted(r['server_timing']['queue_ms'] for r in results)
        assert queued[-1] > 250  # the last one waited for the others
    finally:
        server.stop()


def test_api_key_admits_openpi_clients_that_send_it_and_refuses_the_rest(served):
    policy, _, served_droid = served['droid']
    profile = policy.profile
    server = PolicyServer(served_droid.policy, profile, host='127.0.0.1', port=0,
                          api_key='s3cret')
    port = server.start()
    try:
        module = pytest.importorskip('openpi_client.websocket_client_policy')
        client = module.WebsocketClientPolicy(host='127.0.0.1', port=port, api_key='s3cret')
        assert client.get_server_metadata()['layout'] == 'droid'
        rng = np.random.default_rng(9)
        frames = _frames(rng, profile.camera_names)
        state = rng.uniform(-0.5, 0.5, len(profile.state_names))
        noise = rng.standard_normal((50, 32)).astype(np.float32)
        result = client.infer(_openpi_request('droid', frames, state, noise))
        expected = policy.infer(Observation(frames, state, PROMPT, 0), noise)
        assert (wire_actions_to_positions(profile, result['actions'], state).tobytes()
                == expected.positions.tobytes())
        uri = f'ws://127.0.0.1:{port}'
        for headers in (None, {'Authorization': 'Api-Key wrong'}):
            with pytest.raises(InvalidStatus) as refused:
                connect(uri, additional_headers=headers, open_timeout=5)
            assert refused.value.response.status_code == 401
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5) as reply:
            assert reply.read() == b'OK\n'  # health checks need no key
    finally:
        server.stop()


def test_a_device_this_torch_cannot_use_is_one_line_before_any_weights_load(capsys):
    import torch
    from pi05_ros.policy import server
    device = f'cuda:{torch.cuda.device_count()}' if torch.cuda.is_available() else 'cuda'
    assert server.main(['--demo', '--device', device]) == 2
    error = capsys.readouterr().err
    assert error.count('\n') == 1 and error.startswith(f'pi05-serve: error: --device {device}: ')
    if torch.version.cuda is None:  # this CPU build: the line says how to get a CUDA one
        assert 'use --device cpu; or install a CUDA build: pip install' in error
