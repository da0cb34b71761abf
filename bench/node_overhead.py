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
The policy node on real rclpy and DDS: chunk rate and newest frame -> chunk latency.

Starts ``sim_robot_node`` (three raw 640x480 rgb8 cameras at 15 Hz, joint states at 100 Hz,
config/demo.yaml) and ``policy_node`` (config/demo.yaml: the tiny demo model, 2 Hz,
autostart) as their own processes in a private ROS_DOMAIN_ID, localhost only, and listens to
``~/action_chunk`` and ``/diagnostics`` for ``--seconds`` after the first chunk. One run per
configuration: ``prepare_frames_on_arrival`` true / false, with the shared-memory profile for
raw frames (config/fastdds_large_frames.xml) and, with ``--default-transport``, also without
it. ``--before DIR`` adds the same runs for the policy node of another checkout (``git archive
<commit> pi05_ros config | tar -x -C DIR``), so old and new figures come from one session.

Per run: chunks per second against ``inference_rate_hz``; newest camera stamp -> chunk
published (the node's ``latency_ms.newest_frame_to_publish_ms``; the sim stamps a frame when
it publishes it, same clock), median and p99; cycles without a chunk by reason; skipped
periods; lifecycle state. Then load average and versions.

    python bench/node_overhead.py [--seconds 20] [--before /tmp/before] [--default-transport]
"""

import argparse
from collections import Counter
import importlib.metadata
import os
from pathlib import Path
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

from machine import footer, header  # bench/ is sys.path[0]
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'config' / 'demo.yaml'
LARGE_FRAMES = REPO / 'config' / 'fastdds_large_frames.xml'
BIN = Path(sys.executable).parent


def reason_kind(reason: str) -> str:
    """'camera skew 0.267 s between ...' -> 'camera skew' (what a refusal is counted as)."""
    for kind in ('camera skew', 'silent', 'stale', 'no image received', 'malformed',
                 'empty prompt', 'inference failed', 'in the future'):
        if kind in reason:
            return kind
    return re.sub(r'[\d.]+', '#', reason)[:40]


class Listener:
    """Chunks and per-cycle policy diagnostics seen by a test-side node."""

    def __init__(self, domain_id: int):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node('node_overhead_bench', context=self.context)
        self.chunks: List[float] = []
        self.cycles: List[Dict[str, str]] = []
        from diagnostic_msgs.msg import DiagnosticArray
        from trajectory_msgs.msg import JointTrajectory
        self.node.create_subscription(JointTrajectory, '/pi05_policy/action_chunk',
                                      lambda msg: self.chunks.append(time.monotonic()), 10)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      50)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._running = True
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._running and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.endswith(': policy'):
                values = {kv.key: kv.value for kv in status.values}
                values['_received'] = str(time.monotonic())
                self.cycles.append(values)

    def close(self) -> None:
        self._running = False
        self._thread.join(2.0)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()


def start(command: List[str], env: Dict[str, str], log: Path,
          cwd: Path = REPO) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, stdout=open(log, 'wb'), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=str(cwd))


def run(label: str, domain_id: int, checkpoint: str, seconds: float, prepare: bool,
        large_frames: bool, source: Optional[str], log_dir: Path) -> Dict[str, object]:
    """One configuration: sim robot + policy node for ``seconds`` after the first chunk."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               PYTHONUNBUFFERED='1')
    env.pop('ROS_LOCALHOST_ONLY', None)
    if large_frames:
        env['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(LARGE_FRAMES)
    else:
        env.pop('FASTRTPS_DEFAULT_PROFILES_FILE', None)
    args = ['--ros-args', '--params-file', str(CONFIG)]
    sim = start([str(BIN / 'sim_robot_node')] + args, env, log_dir / f'{label}.sim.log')
    policy_env = dict(env)
    if source:  # the other checkout's package first on the path
        policy_env['PYTHONPATH'] = source + os.pathsep + env.get('PYTHONPATH', '')
    policy_args = args + ['-p', f'checkpoint_dir:={checkpoint}',
                          '-p', f'prepare_frames_on_arrival:={str(prepare).lower()}']
    # python -m puts the working directory first on the path: the other checkout's, if any
    policy = start([sys.executable, '-m', 'pi05_ros.nodes.policy_node'] + policy_args,
                   policy_env, log_dir / f'{label}.policy.log', Path(source) if source else REPO)
    listener = Listener(domain_id)
    try:
        deadline = time.monotonic() + 60.0
        while not listener.chunks and time.monotonic() < deadline:
            time.sleep(0.05)
        if not listener.chunks:
            raise RuntimeError(f'{label}: no chunk in 60 s; see {log_dir}')
        time.sleep(2.0)  # past the first cycles
        start_t, first_cycles = time.monotonic(), len(listener.cycles)
        time.sleep(seconds)
        end_t = time.monotonic()
        chunks = [t for t in listener.chunks if start_t <= t < end_t]
        cycles = [c for c in listener.cycles[first_cycles:]
                  if start_t <= float(c['_received']) < end_t and 'cycles' in c]
        load = os.getloadavg()[0]
    finally:
        for process in (policy, sim):
            process.send_signal(2)
        for process in (policy, sim):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        listener.close()
    latency = [float(c['latency_ms.newest_frame_to_publish_ms']) for c in cycles
               if c.get('no_chunk_reason') == 'none' and 'latency_ms.newest_frame_to_publish_ms'
               in c]
    beyond_model = [float(c['latency_ms.newest_frame_to_publish_ms'])
                    - float(c['latency_ms.policy.model']) for c in cycles
                    if c.get('no_chunk_reason') == 'none'
                    and 'latency_ms.newest_frame_to_publish_ms' in c]
    reasons: Counter = Counter()
    for c in cycles:
        if c.get('no_chunk_reason', 'none') != 'none':
            for reason in c['no_chunk_reason'].split('; '):
                reasons[reason_kind(reason)] += 1
    last = cycles[-1] if cycles else {}
    frame_hz = [float(v) for k, v in last.items() if k.startswith('frame_rate_hz.')]
    return {'label': label, 'rate': len(chunks) / (end_t - start_t),
            'latency': latency, 'beyond_model': beyond_model, 'reasons': reasons,
            'cycles': len(cycles), 'frame_hz': min(frame_hz) if frame_hz else float('nan'),
            'skipped': last.get('skipped_cycles', '?'), 'state': last.get('lifecycle_state', '?'),
            'prepared': last.get('frames_prepared_on_arrival', '-'), 'load': load,
            'model_ms': float(np.median([float(c['latency_ms.policy.model']) for c in cycles
                                         if 'latency_ms.policy.model' in c] or [np.nan]))}


def versions() -> str:
    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return 'n/a'
    import torch
    fastdds = sorted(p.name for p in (BIN.parent / 'lib').glob('libfastrtps.so.*.*.*'))
    return (f'python {platform.python_version()}, rclpy {version("ros-jazzy-rclpy")}, '
            f'{os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp (default)")}, '
            f'{fastdds[-1] if fastdds else "Fast DDS"}, torch {torch.__version__}, '
            f'numpy {np.__version__}, {os.cpu_count()} CPUs')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--domain-id', type=int, default=int(os.environ.get('BENCH_DOMAIN_ID',
                                                                            '177')))
    parser.add_argument('--before', default=None,
                        help='a checkout whose policy node is measured too (before/after)')
    parser.add_argument('--default-transport', action='store_true',
                        help='also run without config/fastdds_large_frames.xml')
    args = parser.parse_args()
    print(header())
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    work = Path(tempfile.mkdtemp(prefix='pi05_node_overhead_'))
    checkpoint = str(make_demo_checkpoint(work / 'checkpoint', 'demo', seed=0))
    configs = []
    for source, name in ([(args.before, 'before')] if args.before else []) + [(None, 'now')]:
        transports = [True, False] if args.default_transport else [True]
        for large in transports:
            for prepare in (True, False):
                configs.append((f'{name}, prepare={str(prepare).lower()}, '
                                f'{"large-frames SHM" if large else "default transport"}',
                                prepare, large, source))
    results = []
    for index, (label, prepare, large, source) in enumerate(configs):
        file_label = re.sub(r'[^a-z0-9]+', '_', label.lower())
        results.append(run(file_label, args.domain_id, checkpoint, args.seconds, prepare,
                           large, source, work))
        results[-1]['label'] = label
    rate_hz = 2.0
    print(f'policy node + sim_robot_node on real rclpy, 3 x 640x480 rgb8 @ 15 Hz, demo model, '
          f'inference_rate_hz {rate_hz:g}, {args.seconds:g} s per run')
    print(f'{"run":44s} {"chunks/s":>8s} {"of cfg":>6s} {"f->c med":>8s} {"p99":>6s} '
          f'{"-model":>6s} {"model":>6s} {"cyc":>4s} {"skip":>4s} {"prep":>4s} {"cam Hz":>6s}'
          '  refusals by reason')
    for r in results:
        lat = r['latency']
        med = float(np.median(lat)) if lat else float('nan')
        p99 = float(np.percentile(lat, 99)) if lat else float('nan')
        beyond = float(np.median(r['beyond_model'])) if r['beyond_model'] else float('nan')
        refusals = ', '.join(f'{k} {v}' for k, v in r['reasons'].most_common()) or 'none'
        print(f'{r["label"]:44s} {r["rate"]:8.2f} {100 * r["rate"] / rate_hz:5.0f}% '
              f'{med:8.1f} {p99:6.1f} {beyond:6.1f} {r["model_ms"]:6.1f} {r["cycles"]:4d} '
              f'{r["skipped"]:>4s} {r["prepared"]:>4s} {r["frame_hz"]:6.1f}  {refusals}')
    states = ', '.join(sorted({str(r['state']) for r in results}))
    loads = ', '.join('%.2f' % r['load'] for r in results)
    print(f'state at the end: {states}; load average (1 min) after each run: {loads}')
    print('f->c: newest camera stamp -> chunk published [ms], median and p99 (nan: the node '
          'does not report it); -model: f->c median minus the network time; model: network '
          'time [ms]; cyc: cycles; skip: skipped periods; prep: frames prepared on arrival; '
          'cam Hz: frames received per second, slowest camera')
    print(versions())
    print(footer())


if __name__ == '__main__':
    main()
