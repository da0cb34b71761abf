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
The rclpy fakes accept exactly what both Humble and Jazzy accept, so passing code runs on both.

The expected signatures were read from rclpy's sources (ros2/rclpy, branches humble and jazzy:
rclpy/node.py, lifecycle/node.py, utilities.py, executors.py). Where the distros differ, the
fakes take the intersection: Jazzy-only keywords (``create_timer(autostart=)``,
``Node(enable_logger_service=)``) must fail here as they would on Humble, and Humble's
acceptance of a ``None`` parameter default must fail as it does on Jazzy.
"""

import inspect

import pytest
from ros_fakes import install_fake_ros, lifecycle_state

# name -> parameters (after self) common to rclpy humble and jazzy
COMMON_SIGNATURES = {
    'Node.__init__': [
        'node_name', 'context', 'cli_args', 'namespace', 'use_global_arguments',
        'enable_rosout', 'start_parameter_services', 'parameter_overrides',
        'allow_undeclared_parameters', 'automatically_declare_parameters_from_overrides'],
    'Node.create_publisher': [
        'msg_type', 'topic', 'qos_profile', 'callback_group', 'event_callbacks',
        'qos_overriding_options', 'publisher_class'],
    'Node.create_subscription': [
        'msg_type', 'topic', 'callback', 'qos_profile', 'callback_group', 'event_callbacks',
        'qos_overriding_options', 'raw'],
    'Node.create_service': ['srv_type', 'srv_name', 'callback', 'qos_profile',
                            'callback_group'],
    'Node.create_timer': ['timer_period_sec', 'callback', 'callback_group', 'clock'],
    'Node.declare_parameter': ['name', 'value', 'descriptor', 'ignore_override'],
}


@pytest.fixture
def rclpy(monkeypatch):
    install_fake_ros(monkeypatch)
    import rclpy
    rclpy.init()
    return rclpy


@pytest.mark.parametrize('qualname', sorted(COMMON_SIGNATURES))
def test_fake_signatures_are_the_humble_jazzy_intersection(rclpy, qualname):
    from rclpy.node import Node
    method = getattr(Node, qualname.split('.')[1])
    names = [p for p in inspect.signature(method).parameters if p != 'self']
    assert names == COMMON_SIGNATURES[qualname]


def test_jazzy_only_keywords_are_refused(rclpy):
    from rclpy.node import Node
    with pytest.raises(TypeError):
        Node('n', enable_logger_service=True)
    node = Node('n')
    with pytest.raises(TypeError):
        node.create_timer(0.1, lambda: None, autostart=False)
    with pytest.raises(TypeError):
        rclpy.try_shutdown(uninstall_handlers=True)  # only rclpy.shutdown takes it


def test_parameter_declaration_traps_of_either_distro(rclpy):
    from rclpy.exceptions import InvalidParameterTypeException
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rcl_interfaces.msg import ParameterDescriptor
    with pytest.raises(ValueError, match='PARAMETER_NOT_SET'):  # Jazzy
        Node('a').declare_parameter('x', None)
    node = Node('b')
    assert node.declare_parameter('empty', []).type_ == Parameter.Type.BYTE_ARRAY
    node.declare_parameter('names', Parameter.Type.STRING_ARRAY, ParameterDescriptor())
    rclpy.fake_graph.param_overrides['c'] = {'rate': 5}
    with pytest.raises(InvalidParameterTypeException, match='rate'):
        Node('c').declare_parameter('rate', 5.0)  # YAML `5` for a double


def test_lifecycle_state_and_transition_return_as_rclpy(rclpy):
    from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
    seen = []

    class Managed(LifecycleNode):
        def on_configure(self, state):
            seen.append(state)
            return TransitionCallbackReturn.FAILURE

    node = Managed('m')
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert seen == [LifecycleState(label='unconfigured', state_id=1)]
    assert lifecycle_state(node) == 'unconfigured'
