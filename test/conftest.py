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

"""Shared fixtures: where the golden vectors live, the real-rclpy graph (test/ros_graph.py)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO.parent / 'shared' / 'golden'


@pytest.fixture(scope='session')
def golden_dir() -> Path:
    if not GOLDEN.is_dir():
        pytest.skip(f'golden vectors not found at {GOLDEN}')
    return GOLDEN


@pytest.fixture
def graph(monkeypatch):
    """
    Install the fake ROS graph of test/ros_fakes.py and initialise rclpy.

    A node may change torch's thread count (its ``torch_threads`` parameter): it is restored.
    """
    import torch
    from ros_fakes import install_fake_ros
    threads = torch.get_num_threads()
    fake_graph = install_fake_ros(monkeypatch)
    import rclpy
    rclpy.init()
    yield fake_graph
    torch.set_num_threads(threads)


@pytest.fixture
def ros_graph(tmp_path):
    """
    Yield a :class:`ros_graph.RosGraph` on a fresh ROS_DOMAIN_ID (``$PI05_TEST_DOMAIN_IDS``).

    Skips where rclpy is missing. Node processes started through it are stopped at teardown;
    their logs are in ``<tmp_path>/logs``.
    """
    pytest.importorskip('rclpy', reason='real-rclpy node tests need ROS 2 (pi05_ros[ros])')
    from ros_graph import allocate_domain, RosGraph
    lease = allocate_domain()
    graph = RosGraph(lease.domain_id, tmp_path / 'logs')
    try:
        yield graph
    finally:
        graph.close()
        lease.release()


@pytest.fixture(scope='session')
def demo_checkpoint(tmp_path_factory) -> str:
    """Return a tiny random-weight PI0.5 checkpoint for the demo profile (one per session)."""
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    return str(make_demo_checkpoint(tmp_path_factory.mktemp('demo_checkpoint'), 'demo', seed=1))
