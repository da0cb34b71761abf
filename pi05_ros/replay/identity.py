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
Run identity for the replay report, and the torch thread count replay picks for this machine.

The pure functions take what they describe (CPU count, load average, time in nanoseconds);
:func:`machine_load` and :func:`versions` read the machine, at the CLI's edge.
"""

from datetime import datetime, timezone
import importlib.metadata
import math
import os
import platform
import shlex
from typing import Dict, Mapping, Optional, Sequence, Tuple


def choose_threads(cpus: int, load_1min: Optional[float]) -> Tuple[int, str]:
    """
    Torch threads for a replay: one per idle CPU (CPUs minus the 1-minute load), at least 1.

    An oversubscribed CPU makes PyTorch's threads wait on each other: on a busy 2-core machine,
    two threads took 1325 ms per inference against 64.5 ms with one. Returns the
    count and the reason in words.
    """
    cpus = max(1, int(cpus))
    if load_1min is None or not math.isfinite(load_1min):
        return cpus, f'{cpus} CPUs available, load average unknown: one thread per CPU'
    idle = cpus - max(0.0, float(load_1min))
    idle_cpus = int(math.floor(idle + 1e-9))
    threads = max(1, min(cpus, idle_cpus))
    busy = ', at least 1' if idle_cpus < 1 else ''
    return threads, (f'{cpus} CPUs available, 1-minute load average {load_1min:.2f}: one '
                     f'thread per idle CPU{busy}')


def machine_load() -> Tuple[int, Optional[float]]:
    """Return the CPUs this process may run on and the 1-minute load average (None: unknown)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    return cpus, load


def versions() -> Dict[str, str]:
    """Versions of pi05_ros, torch, numpy and python, and the platform."""
    import numpy
    import torch

    try:
        package = importlib.metadata.version('pi05_ros')
    except importlib.metadata.PackageNotFoundError:
        package = 'unknown (not installed)'
    return {'pi05_ros': package, 'torch': torch.__version__, 'numpy': numpy.__version__,
            'python': platform.python_version(), 'platform': platform.platform()}


def utc_date(time_ns: int) -> str:
    """ISO 8601 UTC time of ``time_ns`` (nanoseconds since the epoch), to the second."""
    return datetime.fromtimestamp(time_ns // 10**9, timezone.utc).isoformat()


def run_identity(model: Mapping[str, str], profile: str, device: str, dtype: str,
                 threads: int, threads_reason: str, argv: Sequence[str], time_ns: int,
                 package_versions: Mapping[str, str]) -> Dict[str, object]:
    """
    Everything that identifies a replay run, for metrics.json and the page.

    ``model`` is ``Policy.model_identity`` (checkpoint path, weights sha256, config, ...);
    ``argv`` the command line as run (program first).
    """
    return {
        'checkpoint': model.get('checkpoint'),
        'weights_sha256': model.get('weights_sha256'),
        'model_config': model.get('config'),
        'norm_stats': model.get('norm_stats'),
        'profile': profile,
        'device': device,
        'dtype': dtype,
        'torch_threads': threads,
        'torch_threads_reason': threads_reason,
        'versions': dict(package_versions),
        'command': ' '.join(shlex.quote(a) for a in argv),
        'date_utc': utc_date(time_ns),
    }
