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

"""RemotePolicy against pi05-serve in a subprocess: in-process actions, failures, recovery."""

from pathlib import Path
import queue
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.remote import RemotePolicy, RemotePolicyError
from pi05_ros.policy.runtime import Policy
from pi05_ros.policy.server import load_wire_policy, PolicyServer
from pi05_ros.policy.wire import packb
import pytest
from websockets.sync.server import serve

PROMPT = 'pick up the red cube'


class ServeProcess:
    """``pi05-serve`` in a subprocess; its output drained by a thread."""

    def __init__(self, args, port=0):
        self.lines: 'queue.Queue[str]' = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'pi05_ros.policy.server', '--host', '127.0.0.1', '--port',
             str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 120
        self.output = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, ''.join(self.output)
                continue
            self.output.append(line)
            found = re.search(r'serving profile .* on ws://127\.0\.0\.1:(\d+)', line)
            if found:
                self.port = int(found.group(1))
                self.uri = f'ws://127.0.0.1:{self.port}'
                return
        raise AssertionError(f'pi05-serve did not start: {"".join(self.output)}')

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def stop(self, kill=False):
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
        return self.proc.wait(30)


@pytest.fixture(scope='module')
def droid_checkpoint(tmp_path_factory):
    return make_demo_checkpoint(tmp_path_factory.mktemp('droid'), 'droid', seed=0)


@pytest.fixture(scope='module')
def droid_server(droid_checkpoint):
    server = ServeProcess(['--checkpoint', str(droid_checkpoint), '--profile', 'droid',
                           '--seed', '0'])
    yield server
    server.stop()


def _observation(profile, rng, stamp_ns, shape=(480, 640, 3)):
    frames = {n: rng.integers(0, 256, shape, dtype=np.uint8) for n in profile.camera_names}
    state = rng.uniform(-0.5, 0.5, len(profile.state_names))
    return Observation(frames, state, PROMPT, stamp_ns)


def test_remote_chunks_equal_in_process_and_keep_the_observation_stamp(droid_server,
                                                                       droid_checkpoint):
    local = Policy.from_checkpoint(droid_checkpoint, 'droid', seed=0)
    remote = RemotePolicy(droid_server.uri, 'droid', timeout=30)
    rng = np.random.default_rng(3)
    for stamp in (1_700_000_000_123_456_789, 1_700_000_000_223_456_789):
        observation = _observation(local.profile, rng, stamp)
        noise = rng.standard_normal((50, 32)).astype(np.float32)
        chunk = remote.infer(observation, noise)
        expected = local.infer(observation, noise)
        assert chunk.positions.tobytes() == expected.positions.tobytes()
        assert chunk.stamp_ns == stamp and chunk.dt_ns == expected.dt_ns
        assert chunk.joint_names == expected.joint_names
        assert chunk.timing_ms['server'] > 0 and chunk.timing_ms['total'] > 0
    # two 640x480 frames travel as 224x224: ~300 kB, not 1.8 MB (+ the 50x32 float32 noise)
    sent = 2 * 224 * 224 * 3 + 50 * 32 * 4
    assert sent < remote.last_request_bytes < sent + 2000
    assert remote.connections == 1
    assert remote.server_metadata['layout'] == 'droid'
    identity = remote.model_identity
    assert identity['uri'] == droid_server.uri
    assert identity['device'] == f'cpu at {droid_server.uri}'
    assert identity['checkpoint'] == str(droid_checkpoint)
    remote.close()


@pytest.mark.parametrize('name', ['aloha', 'libero', 'demo'])  # demo: the pi05_ros layout
def test_remote_aloha_libero_and_other_profiles_equal_in_process(tmp_path, name):
    profile = load_profile(name)
    ckpt = make_demo_checkpoint(tmp_path, profile, seed=2)
    server = PolicyServer(load_wire_policy(ckpt, profile, seed=0), profile, host='127.0.0.1',
                          port=0)
    port = server.start()
    try:
        local = Policy.from_checkpoint(ckpt, name, seed=0)
        remote = RemotePolicy(f'ws://127.0.0.1:{port}', profile, timeout=30)
        rng = np.random.default_rng(4)
        observation = _observation(profile, rng, 42, (240, 320, 3))
        noise = rng.standard_normal((50, 32)).astype(np.float32)
        got = remote.infer(observation, noise).positions
        assert got.tobytes() == local.infer(observation, noise).positions.tobytes()
        remote.close()
    finally:
        server.stop()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class FakeClock:

    def __init__(self):
        self.now_ns = 10**12

    def __call__(self):
        return self.now_ns


def test_refused_connection_backs_off_and_doubles(droid_checkpoint):
    clock = FakeClock()
    remote = RemotePolicy(f'ws://127.0.0.1:{_free_port()}', 'droid', timeout=0.5,
                          backoff_initial=0.5, backoff_max=1.5, clock_ns=clock)
    observation = _observation(remote.profile, np.random.default_rng(5), 1)
    with pytest.raises(RemotePolicyError, match=r'connection refused.*reconnecting in 0\.5 s'):
        remote.infer(observation)
    with pytest.raises(RemotePolicyError, match=r'not connected \(connection refused.*next '
                                                r'attempt in 0\.5 s'):
        remote.infer(observation)
    for expected in ('1.0', '1.5', '1.5'):
        clock.now_ns += 2 * 10**9
        with pytest.raises(RemotePolicyError, match=f'reconnecting in {expected} s'):
            remote.infer(observation)
    assert not remote.connected and remote.connections == 0


class FakeServer:
    """A websocket server sending metadata, then ``replies`` (None: no answer) per request."""

    def __init__(self, replies, metadata=None):
        self.replies = list(replies)
        self.metadata = {'server': 'fake'} if metadata is None else metadata
        self.server = serve(self._handler, '127.0.0.1', 0, compression=None, max_size=None)
        self.uri = f'ws://127.0.0.1:{self.server.socket.getsockname()[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self, ws):
        ws.send(packb(self.metadata))
        for message in ws:
            reply = self.replies.pop(0) if self.replies else None
            if reply is not None:
                ws.send(reply)

    def close(self):
        self.server.shutdown()


@pytest.mark.parametrize('reply, match, keeps_connection', [
    (b'\xc1', 'malformed response', True),
    (packb({'action': np.zeros((15, 8))}), r'malformed response: expected a map with actions',
     True),
    (packb({'actions': np.zeros((3, 8))}), r'wrong-shaped response: actions \(3, 8\), expected '
                                           r'\(>= 15, 8\)', True),
    (packb({'actions': np.zeros((15, 7))}), 'wrong-shaped response', True),
    (packb({'actions': np.full((15, 8), np.nan)}), 'not all finite', True),
    (packb({'actions': 'x'}), 'actions must be a numeric array', True),
    ('Traceback ...\nValueError: bad image', r'server error: ValueError: bad image', False),
    (None, r'no response within 0\.3 s', False),
])
def test_bad_responses_give_the_reason(reply, match, keeps_connection):
    server = FakeServer([reply])
    try:
        remote = RemotePolicy(server.uri, 'droid', timeout=0.3)
        observation = _observation(remote.profile, np.random.default_rng(6), 1, (224, 224, 3))
        start = time.monotonic()
        with pytest.raises(RemotePolicyError, match=match):
            remote.infer(observation)
        assert time.monotonic() - start < 3
        assert remote.connected == keeps_connection
        remote.close()
    finally:
        server.close()


def test_a_server_for_another_robot_is_refused():
    server = FakeServer([], metadata={'layout': 'aloha'})
    try:
        remote = RemotePolicy(server.uri, 'droid', timeout=1)
        observation = _observation(remote.profile, np.random.default_rng(6), 1, (224, 224, 3))
        with pytest.raises(RemotePolicyError, match="server layout 'aloha' does not match"):
            remote.infer(observation)
    finally:
        server.close()


def test_bad_arguments_are_refused():
    with pytest.raises(RemotePolicyError, match='remote.uri'):
        RemotePolicy('http://x', 'droid')
    with pytest.raises(RemotePolicyError, match='remote.timeout'):
        RemotePolicy('ws://x:1', 'droid', timeout=0)


def test_server_killed_and_restarted_mid_run_recovers(droid_checkpoint):
    args = ['--checkpoint', str(droid_checkpoint), '--profile', 'droid']
    server = ServeProcess(args)
    local = Policy.from_checkpoint(droid_checkpoint, 'droid', seed=0)
    remote = RemotePolicy(server.uri, 'droid', timeout=5, backoff_initial=0.05,
                          backoff_max=0.2)
    rng = np.random.default_rng(9)
    observation = _observation(local.profile, rng, 7, (224, 224, 3))
    noise = rng.standard_normal((50, 32)).astype(np.float32)
    expected = local.infer(observation, noise).positions.tobytes()
    assert remote.infer(observation, noise).positions.tobytes() == expected
    port = server.port
    server.stop(kill=True)
    with pytest.raises(RemotePolicyError, match='server closed|send failed|connection lost'):
        remote.infer(observation, noise)
    with pytest.raises(RemotePolicyError, match='refused|not connected'):
        remote.infer(observation, noise)
    restarted = ServeProcess(args, port=port)
    try:
        deadline = time.monotonic() + 30
        reasons = []
        while True:
            try:
                chunk = remote.infer(observation, noise)
                break
            except RemotePolicyError as err:
                reasons.append(str(err))
                assert time.monotonic() < deadline, reasons
                time.sleep(0.05)
        assert chunk.positions.tobytes() == expected
        assert remote.connections == 2
    finally:
        remote.close()
        restarted.stop()


def test_demo_serves_until_terminated():
    server = ServeProcess(['--demo'])
    remote = RemotePolicy(server.uri, 'droid', timeout=30)
    assert remote.connect()['profile'] == 'droid'
    observation = _observation(remote.profile, np.random.default_rng(1), 5, (224, 224, 3))
    assert remote.infer(observation).positions.shape == (15, 8)
    remote.close()
    made = [re.search(r'demo checkpoint (\S+)', line) for line in server.output]
    directory = Path(next(m.group(1) for m in made if m))
    assert (directory / 'model.safetensors').is_file()
    assert server.stop() == 0
    assert not directory.exists()  # removed at shutdown


def test_works_against_an_openpi_style_server():
    """Metadata without our keys, float32 actions packed by openpi_client, openpi's timing keys."""
    openpi_msgpack = pytest.importorskip('openpi_client.msgpack_numpy')
    from pi05_ros.policy.wire import wire_actions_to_positions
    rng = np.random.default_rng(12)
    velocities = rng.uniform(-1, 1, (15, 8)).astype(np.float32)  # pi05_droid: 15 rows
    reply = openpi_msgpack.packb({'actions': velocities, 'policy_timing': {'infer_ms': 80.0},
                                  'server_timing': {'infer_ms': 81.0}})
    server = FakeServer([reply], metadata={})
    try:
        remote = RemotePolicy(server.uri, 'droid', timeout=5)
        observation = _observation(remote.profile, rng, 77, (224, 224, 3))
        chunk = remote.infer(observation)
        expected = wire_actions_to_positions(remote.profile, velocities, observation.state)
        assert chunk.positions.tobytes() == expected.tobytes()
        assert chunk.stamp_ns == 77 and chunk.timing_ms['server'] == 81.0
        remote.close()
    finally:
        server.close()


def test_api_key_is_sent_and_a_refusal_names_the_parameter(droid_checkpoint):
    profile = load_profile('droid')
    server = PolicyServer(load_wire_policy(droid_checkpoint, profile, seed=0), profile,
                          host='127.0.0.1', port=0, api_key='k3y')
    uri = f'ws://127.0.0.1:{server.start()}'
    try:
        rng = np.random.default_rng(5)
        observation = _observation(profile, rng, 5, (224, 224, 3))
        keyed = RemotePolicy(uri, profile, timeout=30, api_key='k3y')
        assert keyed.infer(observation).stamp_ns == 5
        keyed.close()
        for key in (None, 'wrong'):
            remote = RemotePolicy(uri, profile, timeout=5, api_key=key)
            with pytest.raises(RemotePolicyError,
                               match=r'refused the API key \(HTTP 401\): set remote.api_key'):
                remote.infer(observation)
    finally:
        server.stop()
