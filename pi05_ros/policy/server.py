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
``pi05-serve``: a policy server speaking openpi's websocket protocol.

    pi05-serve --checkpoint ckpt/pi05_droid --profile droid --device cuda --dtype bfloat16
    pi05-serve --demo          # a tiny random-weight DROID-layout checkpoint, CPU

Protocol (as openpi's ``WebsocketPolicyServer``): on connect the server sends the metadata map;
then each binary msgpack request (openpi's per-robot observation dict, see wire.py) gets one
response ``{'actions': (H, J), 'policy_timing': {...}, 'server_timing': {'infer_ms',
'prev_total_ms'}}``. A request with the real-time-chunking field (:mod:`remote_rtc`) is sampled
as the continuation of its frozen prefix (metadata ``rtc: true`` says the server reads it). A
request that fails gets the error as a text frame, then the connection is closed with code 1011.
``GET /healthz`` answers 200 ``OK``. With ``--api-key`` (or ``$PI05_SERVE_API_KEY``) a websocket
handshake must carry ``Authorization: Api-Key <key>``, the header openpi_client's
``WebsocketClientPolicy(api_key=...)`` sends; others get HTTP 401.

Unlike openpi's server, inference runs off the event loop, on one worker thread per model:
several clients' requests queue and run one at a time, keep-alive pings are answered meanwhile,
and a client that leaves mid-request does not disturb the others (its result is dropped).
"""

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor
import hmac
import http
import logging
import os
from pathlib import Path
import signal
import sys
import threading
import time
import traceback
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
from pi05_ros.policy.devices import check_device
from pi05_ros.policy.normalize import Normalizer
from pi05_ros.policy.profiles import load_profile, RobotProfile
from pi05_ros.policy.remote_rtc import decode, RTC_KEY, WireGuidance, WireGuidanceError
from pi05_ros.policy.rtc import GuidanceRequest, robot_to_actions, SCHEDULES
from pi05_ros.policy.wire import (layout_for, packb, request_to_observation, unpackb,
                                  wire_profile, WireError)

logger = logging.getLogger(__name__)
logger.propagate = True
DEFAULT_PORT = 8000  # openpi's serve_policy.py default
CLOSE_REASON = 'Internal server error. Traceback included in previous frame.'  # openpi's


def guidance_request(guidance: WireGuidance, profile: RobotProfile, normalizer: Normalizer,
                     state: np.ndarray, action_horizon: int, action_dim: int) -> GuidanceRequest:
    """
    Turn the robot side's frozen prefix into the model-frame request (see remote_rtc).

    Rows are held past the last one sent up to the model's horizon, mapped to model-space
    actions relative to ``state`` (the inverse output transforms), normalized, and padded with
    zeros to ``action_dim``.
    """
    d, s = guidance.delay, guidance.execution_horizon
    if not 1 <= s <= action_horizon - 1 or not 0 <= d <= min(s, action_horizon - s):
        raise WireGuidanceError(
            f'{RTC_KEY}: expected 0 <= delay <= execution_horizon <= H - delay with '
            f'1 <= execution_horizon < H = {action_horizon}, got delay {d}, '
            f'execution_horizon {s}')
    if guidance.schedule not in SCHEDULES:
        raise WireGuidanceError(f'{RTC_KEY}.schedule: expected one of {list(SCHEDULES)}, got '
                                f'{guidance.schedule!r}')
    rows = guidance.prefix_positions
    held = np.clip(np.arange(action_horizon), 0, rows.shape[0] - 1)
    actions = robot_to_actions(profile, rows[held], state)  # (H, A_robot) unnormalized
    prefix = np.zeros((action_horizon, action_dim), dtype=np.float64)  # (H, A)
    prefix[:, :actions.shape[1]] = normalizer.normalize('actions', actions)
    return GuidanceRequest(prefix.astype(np.float32), d, s, guidance.schedule,
                           guidance.guidance_weight_max)


def load_wire_policy(checkpoint: str, profile: RobotProfile, **options):
    """Load a Policy whose chunks are openpi's response actions (see wire.wire_profile)."""
    from pi05_ros.policy.runtime import Policy
    return Policy.from_checkpoint(checkpoint, wire_profile(profile), **options)


class PolicyServer:
    """
    Serve one policy (built on ``wire_profile(profile)``) on ``host:port`` (0: any free port).

    ``policy.infer(observation, noise)`` is called on one worker thread; ``metadata`` is sent
    to every client on connect; ``api_key``: the key every websocket handshake must carry.
    """

    def __init__(self, policy, profile: RobotProfile, layout: Optional[str] = None,
                 host: str = '0.0.0.0', port: int = DEFAULT_PORT,
                 metadata: Optional[Mapping] = None, api_key: Optional[str] = None):
        self.policy = policy
        self.profile = profile
        self.layout = layout_for(profile, layout)
        self.host = host
        self.port = port
        self.metadata = dict(metadata) if metadata is not None else self.default_metadata()
        self._authorization = f'Api-Key {api_key}' if api_key else None
        self._worker = ThreadPoolExecutor(1, thread_name_prefix='pi05-serve-infer')
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Future] = None
        self._thread: Optional[threading.Thread] = None
        self._started = threading.Event()
        self.requests_served = 0

    def default_metadata(self) -> Dict[str, object]:
        profile = self.profile
        meta: Dict[str, object] = {
            'server': 'pi05_ros', 'profile': profile.name, 'layout': self.layout,
            'action_horizon': profile.chunk_rows, 'joint_names': list(profile.joint_names),
            'action_space': profile.action_space, 'control_dt_ns': profile.control_dt_ns,
        }
        config = getattr(self.policy, 'config', None)
        if config is not None:
            meta['noise_shape'] = [config.action_horizon, config.action_dim]
            meta['rtc'] = True  # reads the frozen prefix of real-time chunking (remote_rtc)
        identity = getattr(self.policy, 'model_identity', None)
        if identity:
            meta['model'] = {str(k): str(v) for k, v in identity.items()}
        return meta

    # -------------------------------------------------------------------------- inference

    def _infer(self, message: object) -> Dict[str, object]:
        """Decode one request, run the policy: worker thread."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise WireError('request: expected a binary msgpack frame, got a text frame')
        start = time.monotonic()
        request = unpackb(bytes(message))
        observation, noise = request_to_observation(self.profile, request, self.layout)
        guidance = None
        if RTC_KEY in request:  # real-time chunking: the robot side's frozen prefix
            horizon, dim = self.policy.noise_shape
            guidance = guidance_request(
                decode(request[RTC_KEY], len(self.profile.joint_names)), self.profile,
                self.policy.transforms.normalizer, observation.state, horizon, dim)
            chunk = self.policy.infer(observation, noise, rtc=guidance)
        else:
            chunk = self.policy.infer(observation, noise)
        infer_ms = (time.monotonic() - start) * 1e3
        timing = {str(k): float(v) for k, v in dict(chunk.timing_ms).items()}
        self.requests_served += 1
        response = {'actions': np.ascontiguousarray(chunk.positions),
                    'policy_timing': {'infer_ms': timing.get('model', infer_ms)},
                    'pi05_ros/timing_ms': timing, 'server_timing': {'infer_ms': infer_ms}}
        if guidance is not None:
            response[RTC_KEY] = {'delay': guidance.delay, 'guided': True}
        return response

    async def _handler(self, websocket) -> None:
        from websockets.exceptions import ConnectionClosed
        loop = asyncio.get_running_loop()
        logger.info('connection from %s opened', websocket.remote_address)
        prev_total_ms: Optional[float] = None
        try:
            await websocket.send(packb(self.metadata))
            while True:
                start = time.monotonic()
                message = await websocket.recv()
                queued = time.monotonic()
                try:
                    response = await loop.run_in_executor(self._worker, self._infer, message)
                except Exception as err:  # noqa: B902 - any failure goes back to the client
                    if isinstance(err, ValueError):
                        text = f'{type(err).__name__}: {err}'
                    else:
                        text = traceback.format_exc()
                    logger.warning('request from %s failed: %s', websocket.remote_address,
                                   text.strip().splitlines()[-1])
                    await websocket.send(text)
                    await websocket.close(1011, CLOSE_REASON)
                    return
                timing = response['server_timing']
                timing['queue_ms'] = max(0.0, (time.monotonic() - queued) * 1e3
                                         - timing['infer_ms'])
                if prev_total_ms is not None:
                    timing['prev_total_ms'] = prev_total_ms
                await websocket.send(packb(response))
                prev_total_ms = (time.monotonic() - start) * 1e3
        except ConnectionClosed:
            logger.info('connection from %s closed', websocket.remote_address)

    def _process_request(self, connection, request):
        """Answer ``/healthz`` (no key needed); refuse a handshake without the API key."""
        if request.path == '/healthz':
            return connection.respond(http.HTTPStatus.OK, 'OK\n')
        if self._authorization is not None and not hmac.compare_digest(
                request.headers.get('Authorization', ''), self._authorization):
            logger.warning('refused %s: missing or wrong API key', connection.remote_address)
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, 'missing or wrong API key\n')
        return None

    # -------------------------------------------------------------------------- running

    async def serve(self) -> None:
        """Serve until :meth:`stop`."""
        from websockets.asyncio.server import serve
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(self._handler, self.host, self.port, compression=None, max_size=None,
                         process_request=self._process_request) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stop

    def serve_forever(self) -> None:
        asyncio.run(self.serve())

    def start(self, timeout: float = 10.0) -> int:
        """Serve from a background thread; return the port once listening."""
        self._thread = threading.Thread(target=self.serve_forever, name='pi05-serve',
                                        daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f'pi05-serve: not listening on {self.host}:{self.port} after '
                               f'{timeout} s')
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(
                lambda: self._stop.done() or self._stop.set_result(None))
        if self._thread is not None:
            self._thread.join(10.0)
        self._worker.shutdown(wait=False)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='pi05-serve', description="Serve a PI0.5 policy over openpi's websocket protocol.")
    parser.add_argument('--checkpoint', help='checkpoint directory (openpi PyTorch layout)')
    parser.add_argument('--profile', help='robot profile name or YAML (droid, aloha, libero)')
    parser.add_argument('--layout', help='request layout (default: the profile name)')
    parser.add_argument('--demo', action='store_true',
                        help='serve a tiny random-weight checkpoint with the DROID layout')
    parser.add_argument('--host', default='0.0.0.0', help='address to listen on')
    parser.add_argument('--port', type=int, default=DEFAULT_PORT, help='port (0: any free)')
    parser.add_argument('--device', default='cpu', help='torch device, e.g. cuda')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    parser.add_argument('--seed', type=int, default=None,
                        help='seed of the noise for requests that do not send their own')
    parser.add_argument('--api-key', default=os.environ.get('PI05_SERVE_API_KEY') or None,
                        help='require "Authorization: Api-Key KEY" on every connection '
                             '(default: $PI05_SERVE_API_KEY; unset: no key)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='pi05-serve: %(message)s')
    demo_dir: Optional[Path] = None
    try:
        if args.demo:
            from pi05_ros.policy.demo_assets import make_temporary_demo_checkpoint
            args.profile = args.profile or 'droid'
            demo_dir = make_temporary_demo_checkpoint(args.profile)
            args.checkpoint = str(demo_dir)
            print(f'pi05-serve: demo checkpoint {demo_dir} (random weights; removed at exit)',
                  flush=True)
        if not args.checkpoint or not args.profile:
            raise ValueError('--checkpoint and --profile are required (or --demo)')
        profile = load_profile(args.profile)
        layout_for(profile, args.layout)
        check_device(args.device, '--device')
        policy = load_wire_policy(args.checkpoint, profile, device=args.device,
                                  dtype=args.dtype, seed=args.seed)
        server = PolicyServer(policy, profile, args.layout, args.host, args.port,
                              api_key=args.api_key)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            asyncio.run(_serve_and_announce(server))
        except KeyboardInterrupt:
            pass
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f'pi05-serve: error: {err}', file=sys.stderr, flush=True)
        return 2
    finally:
        if demo_dir is not None:
            from pi05_ros.policy.demo_assets import remove_temporary_demo_checkpoint
            remove_temporary_demo_checkpoint(demo_dir)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM: shut down as on Ctrl+C (the demo checkpoint is removed)


async def _serve_and_announce(server: PolicyServer) -> None:
    task = asyncio.ensure_future(server.serve())
    while not server._started.is_set() and not task.done():
        await asyncio.sleep(0.01)
    if server._started.is_set():
        print(f'pi05-serve: serving profile {server.profile.name} (layout {server.layout}) on '
              f'ws://{server.host}:{server.port} (health: /healthz)', flush=True)
    await task


if __name__ == '__main__':
    sys.exit(main())
