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
What only Humble refuses: the field values our message-building code assigns.

The node tests run on Jazzy, whose generated message setters accept more than Humble's
(rosidl_generator_py@humble): Humble refuses numpy arrays for ``float64[]`` and ints for
``float64`` fields, wants ``array.array`` with the right type code for primitive sequences, and
``bytes`` of length one for ``byte`` fields. :func:`humble_type` builds a stand-in of a real
message class (its field types read from the class) whose setters apply those rules, and the
code that fills messages in the nodes is run against it.
"""

import array
import math

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.messages.joints import float64_sequence, joint_state_fields
from pi05_ros.messages.trajectory import chunk_to_joint_trajectory, JointTrajectoryTypes
import pytest

_TYPECODES = {'double': 'd', 'float': 'f', 'uint8': 'B', 'int8': 'b', 'int32': 'i',
              'uint32': 'I', 'int64': 'q', 'uint64': 'Q', 'int16': 'h', 'uint16': 'H'}
_INTEGERS = set(_TYPECODES) - {'double', 'float'}


def humble_check(field: str, kind: str, value) -> None:
    """Raise AssertionError where Humble's generated setter would."""
    if kind.startswith('sequence<') or kind.endswith(']'):
        element = kind[len('sequence<'):-1] if kind.startswith('sequence<') else kind[:-2]
        element = element.split(',')[0]
        assert not isinstance(value, np.ndarray), f'{field}: Humble refuses numpy arrays'
        if element in _TYPECODES:
            if isinstance(value, array.array):
                assert value.typecode == _TYPECODES[element], (
                    f'{field}: array.array type code {value.typecode!r}, Humble wants '
                    f'{_TYPECODES[element]!r}')
                return
            if element == 'uint8' and isinstance(value, bytes):
                return
        assert isinstance(value, (list, tuple, array.array)), f'{field}: not a sequence'
        for item in value:
            humble_check(field, element, item)
        return
    if kind in ('double', 'float'):
        assert isinstance(value, float), f'{field}: Humble wants a float, got {value!r}'
    elif kind in _INTEGERS:
        assert isinstance(value, int) and not isinstance(value, bool), f'{field}: not an int'
    elif kind == 'octet':
        assert isinstance(value, bytes) and len(value) == 1, f'{field}: byte wants bytes'
    elif kind == 'string':
        assert isinstance(value, str), f'{field}: not a str'
    elif kind == 'boolean':
        assert isinstance(value, bool), f'{field}: not a bool'
    else:  # a nested message: must be the stand-in (or real) message of that type
        assert type(value).__name__ == kind.rsplit('/', 1)[1], f'{field}: not a {kind}'


def humble_type(real_class):
    """Return a message class with ``real_class``'s fields and Humble's setter rules."""
    fields = real_class.get_fields_and_field_types()

    class HumbleMessage:
        __slots__ = tuple(fields)

        def __init__(self, **kwargs):
            for name, kind in fields.items():
                if name in kwargs:
                    setattr(self, name, kwargs[name])
                else:  # defaults as rclpy makes them
                    object.__setattr__(self, name, getattr(real_class(), name))

        def __setattr__(self, name, value):
            humble_check(f'{real_class.__name__}.{name}', fields[name], value)
            object.__setattr__(self, name, value)

    HumbleMessage.__name__ = real_class.__name__
    return HumbleMessage


@pytest.fixture
def msgs():
    pytest.importorskip('rclpy', reason='message classes from ROS 2 (pi05_ros[ros])')
    from builtin_interfaces.msg import Duration, Time
    from std_msgs.msg import Header
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    return JointTrajectoryTypes(*(humble_type(c) for c in (
        JointTrajectory, JointTrajectoryPoint, Header, Time, Duration)))


def test_the_checker_refuses_what_humble_refuses(msgs):
    point = msgs.joint_trajectory_point()
    for value in (np.zeros(3), array.array('f', [0.0]), [1, 2]):
        with pytest.raises(AssertionError):
            point.positions = value
    point.positions = array.array('d', [1.0])
    with pytest.raises(AssertionError):
        msgs.time().sec = 1.0


def test_action_chunks_are_built_with_humble_field_types(msgs):
    rng = np.random.default_rng(0)
    positions = rng.normal(size=(5, 2)).astype(np.float32)  # float32 from the model
    chunk = ActionChunk(positions, 1_700_000_000_123_456_789, 20_000_000, ('a', 'b'),
                        velocities=rng.normal(size=(5, 2)))
    msg = chunk_to_joint_trajectory(chunk, msgs)
    assert type(msg.points[0].positions) is array.array
    assert msg.points[-1].time_from_start.sec == 0
    assert msg.points[-1].time_from_start.nanosec == 100_000_000


def test_node_command_fields_are_humble_types():
    command = np.array([0.1, 0.2], np.float32)
    humble_check('Float64MultiArray.data', 'sequence<double>', float64_sequence(command))
    name, position, velocity = joint_state_fields(['a', 'b'], command, np.zeros(2))
    humble_check('JointState.position', 'sequence<double>', position)
    humble_check('JointState.velocity', 'sequence<double>', velocity)
    humble_check('JointState.name', 'sequence<string>', name)
    with pytest.raises(AssertionError):
        humble_check('JointState.position', 'sequence<double>', command)


def test_diagnostics_and_images_fill_byte_and_uint8_fields_as_humble_wants():
    pytest.importorskip('rclpy', reason='message classes from ROS 2 (pi05_ros[ros])')
    from pi05_ros.nodes.diagnostics import diagnostic_array, WARN
    from pi05_ros.nodes.sim_robot_node import rgb8_image_fields, synthetic_frame
    from rclpy.clock import Clock
    array_msg = diagnostic_array(Clock().now().to_msg(), 'x', 'hw', WARN, 'm',
                                 {'rate': math.pi, 'n': 3})
    status = array_msg.status[0]
    humble_check('DiagnosticStatus.level', 'octet', status.level)
    assert [kv.value for kv in status.values] == ['3.142', '3']
    fields = rgb8_image_fields(synthetic_frame(8, 6, 0.5, 1))
    for name, kind in (('height', 'uint32'), ('width', 'uint32'), ('step', 'uint32'),
                       ('encoding', 'string'), ('data', 'sequence<uint8>')):
        humble_check(f'Image.{name}', kind, fields[name])
    assert len(fields['data']) == 8 * 6 * 3
