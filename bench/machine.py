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
The header every benchmark prints: when, on what machine, under what load, with which versions.

    # 2026-12-02 10:15 UTC; AMD EPYC, 2 cores (2 usable), load 0.41 0.30 0.22
    # python 3.11.7, torch 2.13.0+cpu (1 thread), numpy 1.26.4, ruckig 0.19.4

Benchmarks on a shared machine are only comparable within one run (the ratio columns); this
header says what "one run" was, so a figure copied into a table carries its conditions.
"""

from datetime import datetime, timezone
import importlib.metadata
import os
import platform
from typing import Iterable

DISTRIBUTIONS = ('torch', 'numpy', 'ruckig', 'ros-jazzy-rclpy', 'websockets', 'msgpack')


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask), which a container may cap."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ''


def versions(distributions: Iterable[str] = DISTRIBUTIONS) -> str:
    """Return the versions of python and each installed distribution (torch: threads too)."""
    parts = [f'python {platform.python_version()}']
    for name in distributions:
        found = _version(name)
        if not found:
            continue
        if name == 'torch':
            import torch
            threads = torch.get_num_threads()
            found = f'{torch.__version__} ({threads} thread{"" if threads == 1 else "s"})'
        parts.append(f'{name.replace("ros-jazzy-", "")} {found}')
    return ', '.join(parts)


def header(distributions: Iterable[str] = DISTRIBUTIONS) -> str:
    """Two comment lines: date, CPU model, cores and load; then the versions."""
    now = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    return (f'# {now}; {cpu_model()}, {os.cpu_count()} cores ({usable_cores()} usable), '
            f'load {load()}\n# {versions(distributions)}')


def footer() -> str:
    """Return the load when the run ended (a busy neighbour shows up as a rise)."""
    return f'# after the run: load {load()}'
