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
nodes/spin.py in a real process: a raising callback never ends spin; shutdown waits for callbacks.

The node under test is a small script using ``spin_node`` exactly as the package's nodes do:
a ``~/fail`` service that raises, a ``~/ok`` service, a timer whose callback takes
``busy_s`` seconds (SIGINT arrives while it runs), and with ``hang_on_destroy`` a teardown
that never returns.
"""

import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import time

    from pi05_ros.nodes.spin import spin_node
    from rclpy.node import Node
    from std_srvs.srv import Trigger


    class Probe(Node):
        def __init__(self):
            super().__init__('probe')
            self.busy_s = self.declare_parameter('busy_s', 0.0).value
            self.hang_on_destroy = self.declare_parameter('hang_on_destroy', False).value
            self.create_service(Trigger, '~/fail', self.fail)
            self.create_service(Trigger, '~/ok', self.ok)
            self.create_timer(0.05, self.work)

        def fail(self, request, response):
            raise RuntimeError('bad request')

        def ok(self, request, response):
            response.success = True
            return response

        def work(self):
            if self.busy_s:
                self.get_logger().info('working')
                time.sleep(self.busy_s)
                self.get_logger().info('done')

        def destroy_node(self):
            if self.hang_on_destroy:  # a teardown that never returns (middleware, say)
                time.sleep(60.0)
            super().destroy_node()


    spin_node(Probe, num_threads=int(sys.argv[1]), args=sys.argv)
""")


@pytest.fixture
def probe_script(tmp_path):
    path = tmp_path / 'probe.py'
    path.write_text(SCRIPT)
    return str(path)


@pytest.mark.parametrize('threads', [1, 2])
def test_a_raising_service_callback_does_not_end_spin(ros_graph, probe_script, threads):
    from std_srvs.srv import Trigger
    probe = ros_graph.start_node(probe_script, extra_args=[str(threads)])
    ros_graph.wait_for_services('/probe', ['fail', 'ok'])
    client = ros_graph.node.create_client(Trigger, '/probe/fail')
    assert client.wait_for_service(timeout_sec=10.0)
    client.call_async(Trigger.Request())  # never answered: the callback raised
    probe.wait_for_log(r'\[ERROR\].*a callback raised RuntimeError: bad request')
    assert probe.alive()
    assert ros_graph.trigger('/probe/ok').success  # still serving
    result = probe.stop()
    assert result.code == 0 and result.seconds < 2.0, result.log


def test_sigint_waits_for_the_running_callback_then_exits_cleanly(ros_graph, probe_script):
    probe = ros_graph.start_node(probe_script, extra_args=['2'], params={'busy_s': 0.6})
    probe.wait_for_log(r'working')
    result = probe.stop()
    assert result.code == 0 and 0.0 < result.seconds < 2.0, result.log
    assert 'done' in result.log  # finished before the node was destroyed
    assert not result.errors, result.log


def test_a_callback_that_outlasts_the_drain_timeout_does_not_hang_the_exit(ros_graph,
                                                                           probe_script):
    probe = ros_graph.start_node(probe_script, extra_args=['2'], params={'busy_s': 10.0})
    probe.wait_for_log(r'working')
    result = probe.stop()
    assert result.code == 0 and result.seconds < 3.0, result.log
    assert 'callbacks still running after 1.5 s' in result.log
    assert 'done' not in result.log


def test_a_second_signal_during_cleanup_ends_the_process(ros_graph, probe_script):
    import signal
    import time
    probe = ros_graph.start_node(probe_script, extra_args=['2'], params={'busy_s': 10.0})
    probe.wait_for_log(r'working')
    probe.signal(signal.SIGINT)
    time.sleep(0.3)  # draining the running callback (the 1.5 s drain would exit 0)
    while probe.alive():  # a signal before the cleanup starts only repeats the stop request
        probe.process.send_signal(signal.SIGTERM)
        time.sleep(0.1)
    result = probe.stop()
    assert result.code == 130 and result.seconds < 1.4, result.log


def test_a_hung_teardown_prints_where_and_exits_within_the_limit(ros_graph, probe_script):
    from pi05_ros.nodes.spin import SHUTDOWN_LIMIT_S
    probe = ros_graph.start_node(probe_script, extra_args=['1'],
                                 params={'hang_on_destroy': True})
    ros_graph.wait_for_services('/probe', ['ok'])
    result = probe.stop()
    assert result.code == 1, result.log  # not killed by the harness: it left by itself
    assert SHUTDOWN_LIMIT_S - 0.5 < result.seconds < SHUTDOWN_LIMIT_S + 2.0, result.seconds
    assert 'in destroy_node' in result.log  # the stack says where it hung


def test_sigusr1_prints_every_stack_and_the_node_goes_on(ros_graph, probe_script):
    import signal
    probe = ros_graph.start_node(probe_script, extra_args=['2'])
    ros_graph.wait_for_services('/probe', ['ok'])
    probe.process.send_signal(signal.SIGUSR1)
    probe.wait_for_log(r'(Current thread|Thread) 0x[0-9a-f]+')
    assert ros_graph.trigger('/probe/ok').success
    result = probe.stop()
    assert result.code == 0 and result.seconds < 2.0, result.log


def test_nodes_with_camera_frames_get_the_large_frame_transport_unless_one_is_set():
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.spin import use_large_frame_transport
    environ = {}
    chosen = use_large_frame_transport(environ)
    assert chosen.endswith('fastdds_large_frames.xml') and open(chosen).read().count('16777216')
    assert environ['FASTRTPS_DEFAULT_PROFILES_FILE'] == chosen
    mine = {'FASTRTPS_DEFAULT_PROFILES_FILE': '/etc/my_dds.xml'}
    assert use_large_frame_transport(mine) == '/etc/my_dds.xml'  # the user's file stays
    other = {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}
    assert use_large_frame_transport(other) is None
    assert 'FASTRTPS_DEFAULT_PROFILES_FILE' not in other
