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
The remote inference backend: the in-process Policy's interface over openpi's server protocol.

    policy = RemotePolicy('ws://gpu-box:8000', 'droid', timeout=2.0)
    chunk = policy.infer(observation)   # ActionChunk stamped with observation.stamp_ns

Works against ``pi05-serve`` and openpi's own ``serve_policy.py``. The observation goes out in the
profile's openpi layout (wire.py: images rotated as the profile says and resized to 224x224 here,
so a request is ~300 kB for two cameras); the response's ``actions`` become absolute targets
(DROID's velocities integrated from the observation's state). The chunk carries the
observation's stamp, so the two computers' clocks need not agree.

Every failure raises :class:`RemotePolicyError` (a ValueError) with the reason: refused or timed
out connection, no response within ``timeout``, the server gone, a server error (openpi sends it
as text), a malformed or wrong-shaped response. A broken connection is dropped; the next
attempt waits ``backoff_initial`` s, doubling per failure up to ``backoff_max``, and calls
inside that wait fail at once with the reason and the time left.
"""

import threading
import time
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk, RtcInfo
from pi05_ros.observation import Observation
from pi05_ros.policy.profiles import load_profile, RobotProfile
from pi05_ros.policy.remote_rtc import RTC_KEY, WireGuidance
from pi05_ros.policy.rtc import RtcRuntime, RtcSettings
from pi05_ros.policy.wire import (layout_for, observation_to_request, packb, unpackb,
                                  wire_actions_to_positions, WireError)

NS_PER_S = 1_000_000_000


class RemotePolicyError(ValueError):
    """The policy server gave no usable chunk; the message says why."""


class RemotePolicy:
    """
    A policy on a remote openpi-protocol server, with the in-process Policy's ``infer``.

    :param uri: ``ws://host:port`` of the server.
    :param profile: the robot profile (name, YAML path or RobotProfile); picks the layout.
    :param timeout: seconds to wait for a response (and to connect, unless ``connect_timeout``).
    :param backoff_initial: seconds before the first reconnection attempt after a failure.
    :param backoff_max: the longest wait between attempts.
    :param api_key: sent as ``Authorization: Api-Key <key>``, as openpi_client does.
    :param clock_ns: monotonic clock in integer ns (tests pass their own).
    """

    def __init__(self, uri: str, profile: Union[str, RobotProfile], layout: Optional[str] = None,
                 timeout: float = 5.0, connect_timeout: Optional[float] = None,
                 backoff_initial: float = 0.5, backoff_max: float = 5.0,
                 api_key: Optional[str] = None,
                 clock_ns: Callable[[], int] = time.monotonic_ns):
        if not isinstance(uri, str) or not uri.startswith(('ws://', 'wss://')):
            raise RemotePolicyError(f'remote.uri: expected ws://host:port, got {uri!r}')
        for name, value in (('remote.timeout', timeout), ('backoff_initial', backoff_initial),
                            ('backoff_max', backoff_max)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise RemotePolicyError(f'{name}: expected a positive number of seconds, '
                                        f'got {value!r}')
        self.profile = profile if isinstance(profile, RobotProfile) else load_profile(profile)
        self.layout = layout_for(self.profile, layout)
        self.uri = uri
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout or timeout)
        self.backoff_initial = float(backoff_initial)
        self.backoff_max = float(backoff_max)
        self._headers = {'Authorization': f'Api-Key {api_key}'} if api_key else None
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._ws = None
        self._failures = 0
        self._retry_at_ns = 0
        self.server_metadata: Optional[Dict] = None
        self.last_error: Optional[str] = None
        self.connections = 0  # successful connects so far
        self.last_request_bytes = 0
        self.last_response_bytes = 0

    # -------------------------------------------------------------------------- connection

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def noise_shape(self) -> Optional[Tuple[int, int]]:
        """(action_horizon, action_dim) of pi05-serve's model (connects); None for others."""
        if self.server_metadata is None:
            self.connect()
        shape = (self.server_metadata or {}).get('noise_shape')
        return None if shape is None else (int(shape[0]), int(shape[1]))

    @property
    def supports_rtc(self) -> bool:
        """Whether the server reads the RTC prefix (pi05-serve; openpi's ignores it)."""
        if self.server_metadata is None:
            self.connect()
        return (self.server_metadata or {}).get('rtc') is True

    def rtc_runtime(self, settings: RtcSettings) -> RtcRuntime:
        """Return a real-time-chunking runtime whose prefix goes to the server (remote_rtc)."""
        return RtcRuntime(settings, self.profile, None, self.profile.chunk_rows, 0)

    @property
    def model_identity(self) -> Dict[str, str]:
        """Return the server's URI and what its metadata says about the model."""
        identity = {'backend': 'remote', 'uri': self.uri, 'profile': self.profile.name,
                    'layout': self.layout}
        meta = self.server_metadata or {}
        model = dict(meta.get('model') or {})
        for key, value in model.items():
            identity[f'server.{key}'] = str(value)
        # the keys the in-process Policy has, as the server reports them
        identity['checkpoint'] = str(model.get('checkpoint', '(on the server)'))
        identity['config'] = str(model.get('config', 'unknown'))
        identity['device'] = f"{model.get('device', 'server')} at {self.uri}"
        if 'server' in meta:
            identity['server'] = str(meta['server'])
        return identity

    def _fail(self, reason: str) -> RemotePolicyError:
        """Drop the connection, schedule the next attempt, return the error to raise."""
        self._drop()
        self._failures += 1
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (self._failures - 1))
        self._retry_at_ns = self._clock_ns() + int(delay * NS_PER_S)
        self.last_error = reason
        return RemotePolicyError(f'{self.uri}: {reason}; reconnecting in {delay:.1f} s')

    def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.__exit__(None, None, None)
            except Exception:  # noqa: B902 - the connection is being discarded anyway
                pass

    def _check_metadata(self, meta: object) -> Dict:
        if not isinstance(meta, dict):
            raise self._fail(f'malformed metadata: expected a map, got {type(meta).__name__}')
        layout = meta.get('layout')
        if layout is not None and layout != self.layout:
            raise self._fail(f"server layout {layout!r} does not match this robot's "
                             f'{self.layout!r} (profile {self.profile.name!r})')
        joints = meta.get('joint_names')
        if joints is not None and list(joints) != list(self.profile.joint_names):
            raise self._fail(f'server joint_names {list(joints)} differ from profile '
                             f'{self.profile.name!r} {list(self.profile.joint_names)}')
        return meta

    def connect(self) -> Dict:
        """Connect now (waiting out no backoff) and return the server's metadata."""
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
        from websockets.sync.client import connect
        self._drop()
        try:
            # entered as a context manager (websockets >= 17.1 warns otherwise); _drop exits it
            ws = connect(self.uri, compression=None, max_size=None,
                         open_timeout=self.connect_timeout,
                         additional_headers=self._headers).__enter__()
        except ConnectionRefusedError:
            raise self._fail('connection refused (is the server running?)') from None
        except InvalidStatus as err:
            status = err.response.status_code
            if status in (401, 403):
                raise self._fail(f'the server refused the API key (HTTP {status}): set '
                                 'remote.api_key to the key it was started with') from None
            raise self._fail(f'the server refused the connection (HTTP {status})') from None
        except (TimeoutError, OSError, InvalidHandshake, InvalidURI) as err:
            raise self._fail(f'cannot connect ({type(err).__name__}: {err})') from None
        self._ws = ws
        try:
            meta = unpackb(self._receive('metadata'))
        except WireError as err:
            raise self._fail(f'malformed metadata ({err})') from None
        self.server_metadata = self._check_metadata(meta)
        self.connections += 1
        return self.server_metadata

    def _receive(self, what: str) -> bytes:
        from websockets.exceptions import ConnectionClosed
        try:
            message = self._ws.recv(timeout=self.timeout)
        except TimeoutError:
            raise self._fail(f'no {what} within {self.timeout:g} s') from None
        except ConnectionClosed as err:
            code = err.rcvd.code if err.rcvd is not None else 'none'
            raise self._fail(f'server closed the connection (code {code})') from None
        except OSError as err:
            raise self._fail(f'connection lost ({err})') from None
        if isinstance(message, str):
            lines = [line for line in message.strip().splitlines() if line.strip()]
            raise self._fail(f'server error: {lines[-1] if lines else "(empty)"}')
        return message

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -------------------------------------------------------------------------- inference

    def _actions(self, response: object) -> np.ndarray:
        if not isinstance(response, dict) or 'actions' not in response:
            keys = sorted(map(str, response)) if isinstance(response, dict) else None
            raise RemotePolicyError(f'{self.uri}: malformed response: expected a map with '
                                    f'actions, got {keys if keys is not None else response!r}')
        actions = response['actions']
        rows, joints = self.profile.chunk_rows, len(self.profile.joint_names)
        if not isinstance(actions, np.ndarray) or actions.dtype.kind not in 'fiu':
            raise RemotePolicyError(f'{self.uri}: malformed response: actions must be a numeric '
                                    f'array, got {type(actions).__name__}')
        if actions.ndim != 2 or actions.shape[0] < rows or actions.shape[1] != joints:
            raise RemotePolicyError(
                f'{self.uri}: wrong-shaped response: actions {actions.shape}, expected '
                f'(>= {rows}, {joints}) for profile {self.profile.name!r}')
        actions = actions[:rows].astype(np.float64)
        if not np.all(np.isfinite(actions)):
            raise RemotePolicyError(f'{self.uri}: response actions are not all finite')
        return actions

    def infer(self, observation: Observation, noise: Optional[np.ndarray] = None,
              rtc: Optional[WireGuidance] = None) -> ActionChunk:
        """
        Observation -> ActionChunk stamped ``observation.stamp_ns``, computed on the server.

        ``noise`` (action_horizon, action_dim) and ``rtc`` (the frozen prefix of real-time
        chunking) are sent in extra fields pi05-serve uses and openpi's server ignores; the
        chunk's ``rtc`` says whether the server guided it. A bad observation raises the wire's
        ValueError (no backoff).
        """
        from websockets.exceptions import ConnectionClosed
        with self._lock:
            start = time.perf_counter()
            request = observation_to_request(self.profile, observation, self.layout, noise)
            if rtc is not None:
                request[RTC_KEY] = rtc.encode()
            data = packb(request)
            self.last_request_bytes = len(data)
            if self._ws is None:
                wait_ns = self._retry_at_ns - self._clock_ns()
                if self._failures and wait_ns > 0:
                    raise RemotePolicyError(
                        f'{self.uri}: not connected ({self.last_error}); next attempt in '
                        f'{wait_ns / NS_PER_S:.1f} s')
                self.connect()
            encoded = time.perf_counter()
            try:
                self._ws.send(data)
            except (ConnectionClosed, OSError) as err:
                raise self._fail(f'send failed, server gone ({type(err).__name__})') from None
            message = self._receive('response')
            received = time.perf_counter()
            self.last_response_bytes = len(message)
            try:
                response = unpackb(message)
            except WireError as err:
                raise RemotePolicyError(f'{self.uri}: malformed response ({err})') from None
            actions = self._actions(response)
            self._failures = 0
            self.last_error = None
            positions = wire_actions_to_positions(self.profile, actions, observation.state)
            end = time.perf_counter()
        timing = {'preprocess': (encoded - start) * 1e3, 'remote': (received - encoded) * 1e3,
                  'postprocess': (end - received) * 1e3, 'total': (end - start) * 1e3}
        server = response.get('server_timing')
        if isinstance(server, dict) and isinstance(server.get('infer_ms'), (int, float)):
            timing['server'] = float(server['infer_ms'])
            timing['network'] = max(0.0, timing['remote'] - timing['server'])
        guided = response.get(RTC_KEY)
        info = (RtcInfo(int(guided.get('delay', 0)), True)
                if isinstance(guided, dict) and guided.get('guided') is True else None)
        return ActionChunk(positions=positions, stamp_ns=int(observation.stamp_ns),
                           dt_ns=self.profile.control_dt_ns, joint_names=self.profile.joint_names,
                           timing_ms=timing, rtc=info)
