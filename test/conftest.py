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
        for process in graph.processes:  # pytest shows this only for a failed test
            print(f'--- {process.label} (exit {process.process.returncode}):\n'
                  f'{process.log_text()[-4000:]}')


@pytest.fixture(scope='session')
def demo_checkpoint(tmp_path_factory) -> str:
    """Return a tiny random-weight PI0.5 checkpoint for the demo profile (one per session)."""
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    return str(make_demo_checkpoint(tmp_path_factory.mktemp('demo_checkpoint'), 'demo', seed=1))


@pytest.fixture
def ros_context():
    """
    Yield ``make(args=None) -> rclpy Context``: real rclpy in this process, no DDS traffic needed.

    ``args`` are ROS arguments (``['--ros-args', '--params-file', path]``): nodes created with
    ``context=`` get their overrides exactly as a node process would. Nodes in ``made_nodes``
    (append to it) are destroyed and every context shut down at teardown. Skips without rclpy.
    """
    pytest.importorskip('rclpy', reason='real-rclpy node tests need ROS 2 (pi05_ros[ros])')
    import rclpy
    from rclpy.context import Context
    from ros_graph import allocate_domain
    lease = allocate_domain()
    contexts = []

    def make(args=None):
        context = Context()
        rclpy.init(args=args, context=context, domain_id=lease.domain_id)
        contexts.append(context)
        return context
    make.made_nodes = []
    try:
        yield make
    finally:
        for node in make.made_nodes:
            node.destroy_node()
        for context in contexts:
            context.try_shutdown()
        lease.release()
