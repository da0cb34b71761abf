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
Remote inference over loopback: what the wire costs beyond the model, per openpi layout.

For each of the droid, aloha and libero layouts: a tiny demo checkpoint, ``pi05-serve`` in its
own process on 127.0.0.1, and :class:`RemotePolicy` in this one sending ``--requests``
observations with 640x480 camera frames. Per request:

* ``wire``: send -> response received, minus the server's ``server_timing.infer_ms`` (socket,
  websocket framing, the server's msgpack decode/encode and event loop);
* ``robot side``: the whole ``infer`` call minus the server's time (adds the resize to
  224x224 and msgpack encoding here, and the response decode and velocity integration);
* request and response bytes.

Median and p99 in ms. The server's time is measured inside the server (decode + transforms +
model), so both figures exclude the model.

    python bench/remote_overhead.py [--requests 200]
"""

import argparse
from pathlib import Path
import re
import subprocess
import sys
import tempfile

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np

LAYOUTS = ('droid', 'aloha', 'libero')


def start_server(checkpoint: Path, profile: str):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'pi05_ros.policy.server', '--checkpoint', str(checkpoint),
         '--profile', profile, '--host', '127.0.0.1', '--port', '0', '--seed', '0'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        found = re.search(r'on (ws://127\.0\.0\.1:\d+)', line)
        if found:
            return proc, found.group(1)
    raise RuntimeError(f'pi05-serve for {profile} exited with {proc.wait()}')


def run_layout(name: str, requests: int, directory: Path) -> dict:
    from pi05_ros.observation import Observation
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from pi05_ros.policy.profiles import load_profile
    from pi05_ros.policy.remote import RemotePolicy
    profile = load_profile(name)
    checkpoint = make_demo_checkpoint(directory / name, profile, seed=0)
    proc, uri = start_server(checkpoint, name)
    try:
        remote = RemotePolicy(uri, profile, timeout=30)
        rng = np.random.default_rng(0)
        wire, robot, server, sizes, replies = [], [], [], [], []
        for i in range(requests + 5):
            frames = {c: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
                      for c in profile.camera_names}
            state = rng.uniform(-0.3, 0.3, len(profile.state_names))
            chunk = remote.infer(Observation(frames, state, 'pick up the cube', i))
            if i < 5:
                continue  # warm-up
            timing = chunk.timing_ms
            server.append(timing['server'])
            wire.append(timing['remote'] - timing['server'])
            robot.append(timing['total'] - timing['server'])
            sizes.append(remote.last_request_bytes)
            replies.append(remote.last_response_bytes)
        remote.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return {'wire': wire, 'robot': robot, 'server': server, 'bytes': sizes,
            'response_bytes': int(np.median(replies)), 'rows': chunk.horizon,
            'cameras': len(profile.camera_names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--requests', type=int, default=200)
    args = parser.parse_args()
    print(header())
    print(f'remote inference over loopback, {args.requests} requests per layout, '
          '640x480 frames resized to 224x224 on the robot side')
    print(f'{"layout":8} {"cams":>4} {"wire med/p99 ms":>17} {"robot side med/p99 ms":>22} '
          f'{"server med ms":>13} {"request B":>10} {"response B":>10}')
    with tempfile.TemporaryDirectory() as tmp:
        for name in LAYOUTS:
            r = run_layout(name, args.requests, Path(tmp))
            print(f'{name:8} {r["cameras"]:>4} '
                  f'{np.median(r["wire"]):8.2f}/{np.percentile(r["wire"], 99):<8.2f} '
                  f'{np.median(r["robot"]):11.2f}/{np.percentile(r["robot"], 99):<10.2f} '
                  f'{np.median(r["server"]):13.1f} {int(np.median(r["bytes"])):>10} '
                  f'{r["response_bytes"]:>10}')
    print(footer())


if __name__ == '__main__':
    main()
