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
Hand-written fakes of exactly the rclpy API the pi05_ros nodes use (no MagicMock).

``install_fake_ros(monkeypatch)`` puts fake ``rclpy`` (node, lifecycle, qos, callback_groups,
executors, time, duration, parameter), ``rcl_interfaces.msg`` and the message/service modules
into ``sys.modules`` and returns a :class:`FakeGraph`: the test's handle on the ROS graph
(clock, parameter overrides, remappings, publishing into topics, firing timers, calling
services).

The fakes take the signatures common to rclpy Humble and Jazzy (a keyword only one distro has,
such as Jazzy's ``create_timer(autostart=)``, is a TypeError here; see test_node_fakes.py) and
are strict where the real thing is strict: Jazzy's ``declare_parameter`` refuses ``None``
defaults, a YAML override of the wrong type is refused, Humble's message setters refuse numpy
arrays and ints for float fields, ``byte`` fields hold ``bytes``, lifecycle publishers drop
messages while inactive, a RELIABLE subscription does not hear a BEST_EFFORT publisher,
TRANSIENT_LOCAL replays the last message.

Messages are built from the ``rosbags`` type store, so :func:`to_cdr` proves that what a node
publishes is valid ROS 2 CDR.
"""

import array
from collections import defaultdict
import enum
import math
import sys
import types
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import numpy as np
from rosbags.typesys import get_typestore, Stores

STORE = get_typestore(Stores.ROS2_HUMBLE)

MESSAGE_PACKAGES = {
    'std_msgs': ['String', 'Bool', 'Header', 'Float64MultiArray', 'MultiArrayLayout',
                 'MultiArrayDimension', 'Empty'],
    'sensor_msgs': ['Image', 'CompressedImage', 'JointState'],
    'trajectory_msgs': ['JointTrajectory', 'JointTrajectoryPoint'],
    'builtin_interfaces': ['Time', 'Duration'],
    'diagnostic_msgs': ['DiagnosticArray', 'DiagnosticStatus', 'KeyValue'],
}

_INT_RANGES = {
    'int8': (-2**7, 2**7 - 1), 'uint8': (0, 2**8 - 1), 'int16': (-2**15, 2**15 - 1),
    'uint16': (0, 2**16 - 1), 'int32': (-2**31, 2**31 - 1), 'uint32': (0, 2**32 - 1),
    'int64': (-2**63, 2**63 - 1), 'uint64': (0, 2**64 - 1), 'char': (0, 255),
}
_TYPECODES = {'int8': 'b', 'uint8': 'B', 'int16': 'h', 'uint16': 'H', 'int32': 'i',
              'uint32': 'I', 'int64': 'q', 'uint64': 'Q', 'float32': 'f', 'float64': 'd',
              'char': 'B'}
_NUMPY = {'int8': np.int8, 'uint8': np.uint8, 'int16': np.int16, 'uint16': np.uint16,
          'int32': np.int32, 'uint32': np.uint32, 'int64': np.int64, 'uint64': np.uint64,
          'float32': np.float32, 'float64': np.float64, 'char': np.uint8, 'bool': np.bool_,
          'byte': np.uint8}


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

class FakeMessage:
    """Base of generated message classes: rclpy-like defaults, slots and Humble setter checks."""

    __msgtype__ = ''
    _field_specs: Dict[str, tuple] = {}

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(self._field_specs)
        if unknown:
            raise AssertionError(
                f'Invalid arguments passed to constructor: {", ".join(sorted(unknown))}')
        for name, spec in self._field_specs.items():
            if name in kwargs:
                setattr(self, name, kwargs[name])
            else:
                object.__setattr__(self, name, _default(spec))

    def __setattr__(self, name, value):
        if name not in self._field_specs:
            raise AttributeError(f'{type(self).__name__} has no field {name!r}')
        object.__setattr__(self, name, _checked(self._field_specs[name], name, value))

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        return all(_equal(getattr(self, n), getattr(other, n)) for n in self._field_specs)

    def __repr__(self):
        fields = ', '.join(f'{n}={getattr(self, n)!r}' for n in self._field_specs)
        return f'{type(self).__name__}({fields})'


def _equal(a, b) -> bool:
    if isinstance(a, (array.array, list)) and isinstance(b, (array.array, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _default(spec):
    kind = spec[0]
    if kind == 'msg':
        return MESSAGE_CLASSES[spec[1]]()
    if kind == 'seq':
        elem = spec[1]
        if elem[0] == 'base' and elem[1] in _TYPECODES:
            return array.array(_TYPECODES[elem[1]])
        return []
    base = spec[1]
    if base == 'string':
        return ''
    if base == 'bool':
        return False
    if base == 'byte':
        return b'\x00'
    if base.startswith('float'):
        return 0.0
    return 0


def _checked(spec, name, value):
    kind = spec[0]
    if kind == 'msg':
        cls = MESSAGE_CLASSES[spec[1]]
        if not isinstance(value, cls):
            raise AssertionError(f"The '{name}' field must be a sub message of type '{spec[1]}'")
        return value
    if kind == 'seq':
        return _checked_sequence(spec[1], name, value)
    return _checked_base(spec[1], name, value)


def _checked_base(base, name, value):
    if base == 'string':
        ok = isinstance(value, str)
    elif base == 'bool':
        ok = isinstance(value, bool)
    elif base == 'byte':
        ok = isinstance(value, bytes) and len(value) == 1
    elif base.startswith('float'):
        ok = isinstance(value, float)
    else:
        low, high = _INT_RANGES[base]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        raise AssertionError(f"The '{name}' field must be of type {base} (got {value!r:.60})")
    return value


def _checked_sequence(elem, name, value):
    if isinstance(value, np.ndarray):
        raise AssertionError(
            f"The '{name}' field must be a set or sequence (Humble refuses numpy arrays)")
    if elem[0] == 'base' and elem[1] in _TYPECODES:
        code = _TYPECODES[elem[1]]
        if isinstance(value, array.array):
            if value.typecode != code:
                raise AssertionError(
                    f"The '{name}' array.array() must have the type code of '{code}'")
            return value
        if isinstance(value, (bytes, bytearray)) and code == 'B':
            return array.array('B', value)
        if not isinstance(value, (list, tuple)):
            raise AssertionError(f"The '{name}' field must be a set or sequence")
        for v in value:
            _checked_base(elem[1], name, v)
        return array.array(code, value)
    if not isinstance(value, (list, tuple)):
        raise AssertionError(f"The '{name}' field must be a set or sequence")
    return [_checked(elem, name, v) for v in value]


def _spec_from_rosbags(node) -> tuple:
    nodetype, detail = node
    if nodetype.name == 'BASE':
        return ('base', detail[0])
    if nodetype.name == 'NAME':
        return ('msg', detail)
    return ('seq', _spec_from_rosbags(detail[0]))


MESSAGE_CLASSES: Dict[str, type] = {}


def _message_class(msgtype: str) -> type:
    if msgtype in MESSAGE_CLASSES:
        return MESSAGE_CLASSES[msgtype]
    consts, fields = STORE.fielddefs[msgtype]
    specs = {name: _spec_from_rosbags(node) for name, node in fields}
    attrs = {'__msgtype__': msgtype, '_field_specs': specs}
    for cname, ctype, cvalue in consts:
        attrs[cname] = bytes([cvalue]) if ctype == 'byte' else cvalue
    cls = type(msgtype.rsplit('/', 1)[1], (FakeMessage,), attrs)
    MESSAGE_CLASSES[msgtype] = cls
    for spec in specs.values():
        inner = spec[1] if spec[0] == 'seq' else spec
        if inner[0] == 'msg':
            _message_class(inner[1])
    return cls


def to_rosbags(msg):
    """Convert a fake message to the rosbags dataclass (numpy arrays for primitive sequences)."""
    cls = STORE.types[msg.__msgtype__]
    values = {}
    for name, spec in msg._field_specs.items():
        values[name] = _to_rosbags_value(spec, getattr(msg, name))
    return cls(**values)


def _to_rosbags_value(spec, value):
    if spec[0] == 'msg':
        return to_rosbags(value)
    if spec[0] == 'seq':
        elem = spec[1]
        if elem[0] == 'base' and elem[1] in _NUMPY:
            return np.asarray(value, dtype=_NUMPY[elem[1]])
        return [_to_rosbags_value(elem, v) for v in value]
    if spec[1] == 'byte':
        return value[0]
    return value


def to_cdr(msg) -> bytes:
    """Serialize a fake message to ROS 2 CDR with rosbags (raises if it is not wire-valid)."""
    return bytes(STORE.serialize_cdr(to_rosbags(msg), msg.__msgtype__))


def from_cdr(data: bytes, msgtype: str):
    """Deserialize CDR into the rosbags dataclass (to compare what went over the wire)."""
    return STORE.deserialize_cdr(data, msgtype)


def _service_class(name: str, request: Dict[str, tuple], response: Dict[str, tuple]) -> type:
    req = type(f'{name}_Request', (FakeMessage,),
               {'__msgtype__': f'std_srvs/srv/{name}_Request', '_field_specs': request})
    res = type(f'{name}_Response', (FakeMessage,),
               {'__msgtype__': f'std_srvs/srv/{name}_Response', '_field_specs': response})
    return type(name, (), {'Request': req, 'Response': res})


SERVICE_CLASSES = {
    'SetBool': _service_class(
        'SetBool', {'data': ('base', 'bool')},
        {'success': ('base', 'bool'), 'message': ('base', 'string')}),
    'Trigger': _service_class(
        'Trigger', {}, {'success': ('base', 'bool'), 'message': ('base', 'string')}),
}


# --------------------------------------------------------------------------------------------
# QoS, callback groups, time, parameters
# --------------------------------------------------------------------------------------------

class HistoryPolicy(enum.IntEnum):
    SYSTEM_DEFAULT = 0
    KEEP_LAST = 1
    KEEP_ALL = 2


class ReliabilityPolicy(enum.IntEnum):
    SYSTEM_DEFAULT = 0
    RELIABLE = 1
    BEST_EFFORT = 2


class DurabilityPolicy(enum.IntEnum):
    SYSTEM_DEFAULT = 0
    TRANSIENT_LOCAL = 1
    VOLATILE = 2


class InvalidQoSProfileException(Exception):
    pass


class QoSProfile:
    def __init__(self, **kwargs):
        allowed = {'history', 'depth', 'reliability', 'durability', 'lifespan', 'deadline',
                   'liveliness', 'liveliness_lease_duration',
                   'avoid_ros_namespace_conventions'}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f'QoSProfile: unexpected keyword arguments {sorted(unknown)}')
        if 'history' not in kwargs and 'depth' not in kwargs:
            raise InvalidQoSProfileException('History and/or depth settings are required.')
        self.history = kwargs.get('history', HistoryPolicy.KEEP_LAST)
        self.depth = kwargs.get('depth', 0)
        self.reliability = kwargs.get('reliability', ReliabilityPolicy.RELIABLE)
        self.durability = kwargs.get('durability', DurabilityPolicy.VOLATILE)


def _qos(qos_profile) -> QoSProfile:
    if isinstance(qos_profile, QoSProfile):
        return qos_profile
    if isinstance(qos_profile, int) and not isinstance(qos_profile, bool):
        return QoSProfile(depth=qos_profile)
    raise TypeError(f'qos_profile must be a QoSProfile or int depth, got {qos_profile!r}')


qos_profile_sensor_data = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT,
                                     durability=DurabilityPolicy.VOLATILE)
qos_profile_system_default = QoSProfile(depth=10)


class CallbackGroup:
    pass


class ReentrantCallbackGroup(CallbackGroup):
    pass


class MutuallyExclusiveCallbackGroup(CallbackGroup):
    pass


class ClockType(enum.IntEnum):
    UNINITIALIZED = 0
    ROS_TIME = 1
    SYSTEM_TIME = 2
    STEADY_TIME = 3


class Duration:
    def __init__(self, *, seconds=0, nanoseconds=0):
        self.nanoseconds = int(seconds * 10**9) + int(nanoseconds)

    def to_msg(self):
        sec, nanosec = divmod(self.nanoseconds, 10**9)
        return MESSAGE_CLASSES['builtin_interfaces/msg/Duration'](sec=sec, nanosec=nanosec)


class Time:
    def __init__(self, *, seconds=0, nanoseconds=0, clock_type=ClockType.SYSTEM_TIME):
        total = int(seconds * 10**9) + int(nanoseconds)
        if total < 0:
            raise ValueError('Total nanoseconds value is too large to store in C time point.')
        self.nanoseconds = total
        self.clock_type = clock_type

    def to_msg(self):
        sec, nanosec = divmod(self.nanoseconds, 10**9)
        return MESSAGE_CLASSES['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec)

    def seconds_nanoseconds(self):
        return divmod(self.nanoseconds, 10**9)

    @classmethod
    def from_msg(cls, msg, clock_type=ClockType.ROS_TIME):
        return cls(seconds=msg.sec, nanoseconds=msg.nanosec, clock_type=clock_type)


class ParameterType(enum.IntEnum):
    NOT_SET = 0
    BOOL = 1
    INTEGER = 2
    DOUBLE = 3
    STRING = 4
    BYTE_ARRAY = 5
    BOOL_ARRAY = 6
    INTEGER_ARRAY = 7
    DOUBLE_ARRAY = 8
    STRING_ARRAY = 9

    @classmethod
    def from_parameter_value(cls, value):
        """Type a value by rclpy's rules, including the empty-list-is-BYTE_ARRAY trap."""
        if value is None:
            return cls.NOT_SET
        if isinstance(value, bool):
            return cls.BOOL
        if isinstance(value, int):
            return cls.INTEGER
        if isinstance(value, float):
            return cls.DOUBLE
        if isinstance(value, str):
            return cls.STRING
        if isinstance(value, (list, tuple, array.array)):
            if all(isinstance(v, bytes) for v in value):
                return cls.BYTE_ARRAY
            if all(isinstance(v, bool) for v in value):
                return cls.BOOL_ARRAY
            if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return cls.INTEGER_ARRAY
            if all(isinstance(v, float) for v in value):
                return cls.DOUBLE_ARRAY
            if all(isinstance(v, str) for v in value):
                return cls.STRING_ARRAY
        raise TypeError(f'The given value is not one of the allowed types {value!r}.')


class Parameter:
    Type = ParameterType

    def __init__(self, name, type_=None, value=None):
        if type_ is None:
            type_ = ParameterType.from_parameter_value(value)
        self.name = name
        self.type_ = type_
        self.value = value


class ParameterNotDeclaredException(Exception):
    pass


class ParameterAlreadyDeclaredException(Exception):
    pass


class InvalidParameterTypeException(Exception):
    pass


class ParameterUninitializedException(Exception):
    pass


class ParameterDescriptor:
    def __init__(self, *, name='', type=0, description='', additional_constraints='',  # noqa: A002
                 read_only=False, dynamic_typing=False, floating_point_range=None,
                 integer_range=None):
        self.name = name
        self.type = type
        self.description = description
        self.additional_constraints = additional_constraints
        self.read_only = read_only
        self.dynamic_typing = dynamic_typing
        self.floating_point_range = list(floating_point_range or [])
        self.integer_range = list(integer_range or [])


class FloatingPointRange:
    def __init__(self, *, from_value=0.0, to_value=0.0, step=0.0):
        self.from_value, self.to_value, self.step = from_value, to_value, step


class IntegerRange:
    def __init__(self, *, from_value=0, to_value=0, step=0):
        self.from_value, self.to_value, self.step = from_value, to_value, step


class SetParametersResult:
    def __init__(self, *, successful=False, reason=''):
        self.successful, self.reason = successful, reason


# --------------------------------------------------------------------------------------------
# Graph, node, entities
# --------------------------------------------------------------------------------------------

class FakeGraph:
    """Everything the test controls: time, parameters, remaps, topics, timers, services."""

    def __init__(self):
        self.now_ns = 1_000_000_000_000
        self.param_overrides: Dict[str, Dict[str, Any]] = defaultdict(dict)
        self.remaps: Dict[str, Dict[str, str]] = defaultdict(dict)
        self.nodes: list = []
        self.publishers: List['Publisher'] = []
        self.subscriptions: List['Subscription'] = []
        self.timers: List['Timer'] = []
        self.services: List['Service'] = []
        self.initialized = False

    # --- time
    def advance(self, seconds: float) -> None:
        self.now_ns += int(round(seconds * 1e9))

    # --- topics
    def publishers_on(self, topic: str) -> List['Publisher']:
        return [p for p in self.publishers if p.topic == topic and not p.destroyed]

    def subscriptions_on(self, topic: str) -> List['Subscription']:
        return [s for s in self.subscriptions if s.topic == topic and not s.destroyed]

    def published(self, topic: str) -> list:
        """Every message any node published on ``topic``, in order."""
        out = []
        for pub in self.publishers_on(topic):
            out.extend(pub.messages)
        return out

    def publish(self, topic: str, msg, qos=None) -> None:
        """Publish from outside the nodes (a camera, a robot driver, ``ros2 topic pub``)."""
        _check_type_matches(topic, msg, self.subscriptions_on(topic))
        qos = _qos(qos if qos is not None else 10)
        for sub in self.subscriptions_on(topic):
            if _compatible(qos, sub.qos):
                sub.deliver(msg)

    def topic_types(self) -> Dict[str, type]:
        out = {}
        for ent in self.publishers + self.subscriptions:
            if not ent.destroyed:
                out[ent.topic] = ent.msg_type
        return out

    # --- timers and services
    def timers_of(self, node: Any) -> List['Timer']:
        return [t for t in self.timers if t.node is node and not t.destroyed]

    def fire_timers(self, node: Optional[Any] = None) -> None:
        for timer in list(self.timers):
            if (node is None or timer.node is node) and not timer.destroyed \
                    and not timer.is_canceled():
                timer.fire()

    def spin_for(self, seconds: float) -> None:
        """Advance the clock by ``seconds``, firing every due timer in time order."""
        end_ns = self.now_ns + int(round(seconds * 1e9))
        while True:
            due = [t for t in self.timers if not t.destroyed and not t.is_canceled()]
            for timer in due:
                if timer.next_ns is None:
                    timer.next_ns = self.now_ns + timer.timer_period_ns
            if not due:
                break
            timer = min(due, key=lambda t: t.next_ns)
            if timer.next_ns > end_ns:
                break
            self.now_ns = max(self.now_ns, timer.next_ns)
            timer.next_ns += timer.timer_period_ns
            timer.fire()
        self.now_ns = end_ns

    def service(self, name: str) -> 'Service':
        for srv in self.services:
            if srv.name == name and not srv.destroyed:
                return srv
        raise KeyError(f'no service {name!r}; have {[s.name for s in self.services]}')


def _compatible(pub_qos: QoSProfile, sub_qos: QoSProfile) -> bool:
    if (sub_qos.reliability == ReliabilityPolicy.RELIABLE
            and pub_qos.reliability == ReliabilityPolicy.BEST_EFFORT):
        return False
    if (sub_qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
            and pub_qos.durability == DurabilityPolicy.VOLATILE):
        return False
    return True


def _check_type_matches(topic, msg, entities):
    for ent in entities:
        if not isinstance(msg, ent.msg_type):
            raise TypeError(f'topic {topic}: {type(msg).__name__} published where '
                            f'{ent.msg_type.__name__} is expected')


class Publisher:
    def __init__(self, graph, node, msg_type, topic, qos):
        self.graph, self.node, self.msg_type, self.topic, self.qos = graph, node, msg_type, \
            topic, qos
        self.messages: list = []
        self.destroyed = False

    def publish(self, msg) -> None:
        if not isinstance(msg, self.msg_type):
            raise TypeError(f'Expected {self.msg_type.__name__}, got {type(msg).__name__}')
        to_cdr(msg)  # what rmw does: a message that cannot be serialized raises here
        self.messages.append(msg)
        for sub in self.graph.subscriptions_on(self.topic):
            if _compatible(self.qos, sub.qos):
                sub.deliver(msg)

    @property
    def topic_name(self) -> str:
        return self.topic

    def get_subscription_count(self) -> int:
        return len(self.graph.subscriptions_on(self.topic))

    def destroy(self) -> None:
        self.destroyed = True


class LifecyclePublisher(Publisher):
    """Drops messages (with a warning) unless activated, like rclpy's LifecyclePublisher."""

    def __init__(self, *args):
        super().__init__(*args)
        self.enabled = False
        self.dropped = 0

    def on_activate(self, state):
        self.enabled = True

    def on_deactivate(self, state):
        self.enabled = False

    def publish(self, msg) -> None:
        if not self.enabled:
            self.dropped += 1
            self.node.get_logger().warning(
                f"Trying to publish message on the topic '{self.topic}', but the publisher "
                'is not activated')
            return
        super().publish(msg)


class Subscription:
    def __init__(self, graph, node, msg_type, topic, callback, qos, callback_group):
        self.graph, self.node, self.msg_type, self.topic = graph, node, msg_type, topic
        self.callback, self.qos, self.callback_group = callback, qos, callback_group
        self.destroyed = False
        self.received = 0

    def deliver(self, msg) -> None:
        self.received += 1
        self.callback(msg)

    def destroy(self) -> None:
        self.destroyed = True


class Timer:
    def __init__(self, graph, node, period_sec, callback, callback_group):
        self.graph, self.node, self.callback = graph, node, callback
        self.timer_period_ns = int(round(period_sec * 1e9))
        self.next_ns: Optional[int] = None  # for FakeGraph.spin_for
        self.callback_group = callback_group
        self.canceled = False
        self.destroyed = False

    def fire(self) -> None:
        self.callback()

    def cancel(self) -> None:
        self.canceled = True

    def reset(self) -> None:
        self.canceled = False

    def is_canceled(self) -> bool:
        return self.canceled

    def destroy(self) -> None:
        self.destroyed = True


class Service:
    def __init__(self, graph, node, srv_type, name, callback, callback_group):
        self.graph, self.node, self.srv_type, self.name = graph, node, srv_type, name
        self.callback, self.callback_group = callback, callback_group
        self.destroyed = False

    def call(self, request):
        """Call the service like a client would; returns the response."""
        if not isinstance(request, self.srv_type.Request):
            raise TypeError(f'{self.name}: expected {self.srv_type.Request.__name__}')
        response = self.callback(request, self.srv_type.Response())
        if not isinstance(response, self.srv_type.Response):
            raise TypeError(f'{self.name}: callback returned {type(response).__name__}, '
                            f'expected {self.srv_type.Response.__name__}')
        return response

    def destroy(self) -> None:
        self.destroyed = True


class Logger:
    def __init__(self, name):
        self.name = name
        self.records: List[tuple] = []

    def _log(self, level, message, **kwargs):
        allowed = {'throttle_duration_sec', 'throttle_time_source_type', 'skip_first', 'once'}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f'logger: unexpected keyword arguments {sorted(unknown)}')
        self.records.append((level, str(message)))
        return True

    def debug(self, message, **kwargs):
        return self._log('DEBUG', message, **kwargs)

    def info(self, message, **kwargs):
        return self._log('INFO', message, **kwargs)

    def warning(self, message, **kwargs):
        return self._log('WARN', message, **kwargs)

    warn = warning

    def error(self, message, **kwargs):
        return self._log('ERROR', message, **kwargs)

    def fatal(self, message, **kwargs):
        return self._log('FATAL', message, **kwargs)

    def text(self, level: Optional[str] = None) -> str:
        return '\n'.join(m for lv, m in self.records if level is None or lv == level)


class Clock:
    def __init__(self, graph, clock_type=ClockType.ROS_TIME):
        self.graph, self.clock_type = graph, clock_type

    def now(self) -> Time:
        return Time(nanoseconds=self.graph.now_ns, clock_type=self.clock_type)


def _resolve(name: str, node_name: str, namespace: str) -> str:
    ns = namespace.rstrip('/')
    if name.startswith('~'):
        return f'{ns}/{node_name}' + name[1:]
    if name.startswith('/'):
        return name
    return f'{ns}/{name}'


def make_node_class(graph: FakeGraph) -> type:
    """rclpy.node.Node bound to ``graph``."""

    class Node:
        def __init__(self, node_name, *, context=None, cli_args=None, namespace=None,
                     use_global_arguments=True, enable_rosout=True,
                     start_parameter_services=True, parameter_overrides=None,
                     allow_undeclared_parameters=False,
                     automatically_declare_parameters_from_overrides=False):
            if not graph.initialized:
                raise RuntimeError('rclpy.init() has not been called')
            self._graph = graph
            self._name = node_name
            self._namespace = namespace or '/'
            if not self._namespace.startswith('/'):
                self._namespace = '/' + self._namespace
            self._parameters: Dict[str, Parameter] = {}
            self._descriptors: Dict[str, ParameterDescriptor] = {}
            self._overrides = dict(graph.param_overrides.get(node_name, {}))
            for p in parameter_overrides or []:
                self._overrides[p.name] = p.value
            self._logger = Logger(node_name)
            self._clock = Clock(graph)
            self._default_callback_group = MutuallyExclusiveCallbackGroup()
            self._destroyed = False
            self._entities = []
            graph.nodes.append(self)
            self.declare_parameter('use_sim_time', False)

        @property
        def executor(self):
            return getattr(self, '_executor', None)

        @executor.setter
        def executor(self, new_executor):
            # as rclpy: assigning attaches the node to that rclpy executor
            new_executor.add_node(self)
            self._executor = new_executor

        # --- names
        def get_name(self):
            return self._name

        def get_namespace(self):
            return self._namespace

        def get_fully_qualified_name(self):
            return _resolve('~', self._name, self._namespace)

        def resolve_topic_name(self, topic, *, only_expand=False):
            remap = graph.remaps.get(self._name, {})
            if topic in remap:
                return _resolve(remap[topic], self._name, self._namespace)
            resolved = _resolve(topic, self._name, self._namespace)
            return _resolve(remap.get(resolved, resolved), self._name, self._namespace)

        # --- logging and time
        def get_logger(self):
            return self._logger

        def get_clock(self):
            return self._clock

        # --- parameters
        def declare_parameter(self, name, value=None, descriptor=None, ignore_override=False):
            if name in self._parameters:
                raise ParameterAlreadyDeclaredException(name)
            descriptor = descriptor or ParameterDescriptor()
            if isinstance(value, ParameterType):
                type_, default = value, None
            else:
                if value is None and not descriptor.dynamic_typing:
                    raise ValueError('Cannot declare a statically typed parameter with default '
                                     'value of type PARAMETER_NOT_SET')
                type_, default = ParameterType.from_parameter_value(value), value
            if name in self._overrides and not ignore_override:
                override = self._overrides[name]
                override_type = ParameterType.from_parameter_value(override)
                if not descriptor.dynamic_typing and override_type != type_:
                    raise InvalidParameterTypeException(
                        f"Trying to set parameter '{name}' to '{override!r}' of type "
                        f"'{override_type.name}', expecting type '{type_.name}'")
                default = override
            param = Parameter(name, type_, default)
            self._parameters[name] = param
            self._descriptors[name] = descriptor
            return param

        def has_parameter(self, name):
            return name in self._parameters

        def get_parameter(self, name):
            if name not in self._parameters:
                raise ParameterNotDeclaredException(name)
            param = self._parameters[name]
            if param.value is None and param.type_ != ParameterType.NOT_SET:
                raise ParameterUninitializedException(name)
            return param

        def describe_parameter(self, name):
            return self._descriptors[name]

        # --- entities
        def _group(self, callback_group):
            if callback_group is not None and not isinstance(callback_group, CallbackGroup):
                raise TypeError('callback_group must be a CallbackGroup')
            return callback_group or self._default_callback_group

        def create_publisher(self, msg_type, topic, qos_profile, *, callback_group=None,
                             event_callbacks=None, qos_overriding_options=None,
                             publisher_class=None):
            cls = publisher_class or Publisher
            pub = cls(graph, self, msg_type, self.resolve_topic_name(topic), _qos(qos_profile))
            _check_type_consistency(graph, pub)
            graph.publishers.append(pub)
            self._entities.append(pub)
            return pub

        def create_subscription(self, msg_type, topic, callback, qos_profile, *,
                                callback_group=None, event_callbacks=None,
                                qos_overriding_options=None, raw=False):
            sub = Subscription(graph, self, msg_type, self.resolve_topic_name(topic), callback,
                               _qos(qos_profile), self._group(callback_group))
            _check_type_consistency(graph, sub)
            graph.subscriptions.append(sub)
            self._entities.append(sub)
            if sub.qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
                for pub in graph.publishers_on(sub.topic):
                    if pub.messages and pub.qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
                        sub.deliver(pub.messages[-1])
            return sub

        def create_timer(self, timer_period_sec, callback, callback_group=None, clock=None):
            if timer_period_sec <= 0:
                raise ValueError('timer period must be positive')
            timer = Timer(graph, self, timer_period_sec, callback, self._group(callback_group))
            graph.timers.append(timer)
            self._entities.append(timer)
            return timer

        def create_service(self, srv_type, srv_name, callback, *, qos_profile=None,
                           callback_group=None):
            srv = Service(graph, self, srv_type, self.resolve_topic_name(srv_name), callback,
                          self._group(callback_group))
            graph.services.append(srv)
            self._entities.append(srv)
            return srv

        def destroy_publisher(self, publisher):
            publisher.destroy()
            return True

        def destroy_subscription(self, subscription):
            subscription.destroy()
            return True

        def destroy_timer(self, timer):
            timer.destroy()
            return True

        def destroy_service(self, service):
            service.destroy()
            return True

        def destroy_node(self):
            for ent in self._entities:
                ent.destroy()
            self._destroyed = True

    return Node


def _check_type_consistency(graph, entity):
    for other in graph.publishers + graph.subscriptions:
        if other.topic == entity.topic and not other.destroyed \
                and other.msg_type is not entity.msg_type:
            raise TypeError(f'topic {entity.topic}: {entity.msg_type.__name__} vs '
                            f'{other.msg_type.__name__}')


class TransitionCallbackReturn(enum.IntEnum):
    SUCCESS = 97
    FAILURE = 98
    ERROR = 99


class LifecycleState(NamedTuple):
    label: str
    state_id: int


_STATES = {'unconfigured': 1, 'inactive': 2, 'active': 3, 'finalized': 4}


def make_lifecycle_node_class(node_class: type) -> type:
    """rclpy.lifecycle.LifecycleNode over the fake Node."""

    class LifecycleNode(node_class):
        def __init__(self, node_name, *, enable_communication_interface=True, **kwargs):
            super().__init__(node_name, **kwargs)
            self._fake_lifecycle_state = 'unconfigured'
            self._managed_entities = set()

        def create_lifecycle_publisher(self, msg_type, topic, qos_profile, **kwargs):
            pub = self.create_publisher(msg_type, topic, qos_profile,
                                        publisher_class=LifecyclePublisher, **kwargs)
            self._managed_entities.add(pub)
            return pub

        def destroy_lifecycle_publisher(self, publisher):
            self._managed_entities.discard(publisher)
            return self.destroy_publisher(publisher)

        def add_managed_entity(self, entity):
            self._managed_entities.add(entity)

        # default transition callbacks, as in rclpy.lifecycle.LifecycleNodeMixin
        def on_configure(self, state):
            return TransitionCallbackReturn.SUCCESS

        def on_cleanup(self, state):
            return TransitionCallbackReturn.SUCCESS

        def on_shutdown(self, state):
            return TransitionCallbackReturn.SUCCESS

        def on_activate(self, state):
            for ent in self._managed_entities:
                ent.on_activate(state)
            return TransitionCallbackReturn.SUCCESS

        def on_deactivate(self, state):
            for ent in self._managed_entities:
                ent.on_deactivate(state)
            return TransitionCallbackReturn.SUCCESS

        def on_error(self, state):
            return TransitionCallbackReturn.SUCCESS

        def _transition(self, callback, start, goal, failure_goal):
            current = self._fake_lifecycle_state
            if current != start and not (start == '*' and current != 'finalized'):
                raise RuntimeError(f'transition not allowed from {current}')
            state = LifecycleState(current, _STATES.get(current, 0))
            try:
                result = callback(state)
            except Exception:  # noqa: B902 -- rclpy turns exceptions into ERROR
                result = TransitionCallbackReturn.ERROR
            if result == TransitionCallbackReturn.SUCCESS:
                self._fake_lifecycle_state = goal
            elif result == TransitionCallbackReturn.FAILURE:
                self._fake_lifecycle_state = failure_goal
            else:
                handled = self.on_error(state)
                self._fake_lifecycle_state = (
                    'unconfigured' if handled == TransitionCallbackReturn.SUCCESS
                    else 'finalized')
            return result

        def trigger_configure(self):
            return self._transition(self.on_configure, 'unconfigured', 'inactive',
                                    'unconfigured')

        def trigger_activate(self):
            return self._transition(self.on_activate, 'inactive', 'active', 'inactive')

        def trigger_deactivate(self):
            return self._transition(self.on_deactivate, 'active', 'inactive', 'active')

        def trigger_cleanup(self):
            return self._transition(self.on_cleanup, 'inactive', 'unconfigured', 'inactive')

        def trigger_shutdown(self):
            return self._transition(self.on_shutdown, '*', 'finalized',
                                    self._fake_lifecycle_state)

    return LifecycleNode


class ExternalShutdownException(Exception):
    pass


def make_executor_classes(graph: FakeGraph):
    class Executor:
        spin_behaviour: Callable = None  # test hook: what spin() does (default: return)

        def __init__(self, *, context=None):
            self.nodes = []
            self.shut_down = False

        def add_node(self, node):
            self.nodes.append(node)
            node._executor = self
            return True

        def remove_node(self, node):
            self.nodes.remove(node)

        def spin(self):
            if Executor.spin_behaviour is not None:
                Executor.spin_behaviour(self)

        def spin_once(self, timeout_sec=None):
            for node in self.nodes:
                graph.fire_timers(node)

        def shutdown(self, timeout_sec=None):
            self.shut_down = True
            return True

    class SingleThreadedExecutor(Executor):
        pass

    class MultiThreadedExecutor(Executor):
        def __init__(self, num_threads=None, *, context=None):
            super().__init__(context=context)
            self.num_threads = num_threads

    return Executor, SingleThreadedExecutor, MultiThreadedExecutor


# --------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------

def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def build_modules(graph: FakeGraph) -> Dict[str, types.ModuleType]:
    """Build the fake module tree, bound to ``graph``."""
    for package, names in MESSAGE_PACKAGES.items():
        for name in names:
            _message_class(f'{package}/msg/{name}')
    node_class = make_node_class(graph)
    lifecycle_class = make_lifecycle_node_class(node_class)
    executor, single, multi = make_executor_classes(graph)

    def init(*, args=None, context=None, domain_id=None, signal_handler_options=None):
        graph.initialized = True

    def shutdown(*, context=None, uninstall_handlers=None):
        if not graph.initialized:
            raise RuntimeError('rclpy.shutdown() called twice / before init')
        graph.initialized = False

    def try_shutdown(*, context=None):
        graph.initialized = False

    def ok(*, context=None):
        return graph.initialized

    mods = {
        'rclpy': _module('rclpy', init=init, shutdown=shutdown, try_shutdown=try_shutdown,
                         ok=ok, fake_graph=graph),
        'rclpy.node': _module('rclpy.node', Node=node_class),
        'rclpy.lifecycle': _module(
            'rclpy.lifecycle', LifecycleNode=lifecycle_class, Node=lifecycle_class,
            LifecycleState=LifecycleState, State=LifecycleState,
            TransitionCallbackReturn=TransitionCallbackReturn,
            LifecyclePublisher=LifecyclePublisher, Publisher=LifecyclePublisher),
        'rclpy.qos': _module(
            'rclpy.qos', QoSProfile=QoSProfile, HistoryPolicy=HistoryPolicy,
            ReliabilityPolicy=ReliabilityPolicy, DurabilityPolicy=DurabilityPolicy,
            qos_profile_sensor_data=qos_profile_sensor_data,
            qos_profile_system_default=qos_profile_system_default,
            InvalidQoSProfileException=InvalidQoSProfileException),
        'rclpy.callback_groups': _module(
            'rclpy.callback_groups', CallbackGroup=CallbackGroup,
            ReentrantCallbackGroup=ReentrantCallbackGroup,
            MutuallyExclusiveCallbackGroup=MutuallyExclusiveCallbackGroup),
        'rclpy.executors': _module(
            'rclpy.executors', Executor=executor, SingleThreadedExecutor=single,
            MultiThreadedExecutor=multi, ExternalShutdownException=ExternalShutdownException),
        'rclpy.time': _module('rclpy.time', Time=Time),
        'rclpy.duration': _module('rclpy.duration', Duration=Duration),
        'rclpy.clock': _module('rclpy.clock', Clock=Clock, ClockType=ClockType),
        'rclpy.parameter': _module('rclpy.parameter', Parameter=Parameter),
        'rclpy.exceptions': _module(
            'rclpy.exceptions', ParameterNotDeclaredException=ParameterNotDeclaredException,
            ParameterAlreadyDeclaredException=ParameterAlreadyDeclaredException,
            InvalidParameterTypeException=InvalidParameterTypeException,
            ParameterUninitializedException=ParameterUninitializedException),
        'rcl_interfaces': _module('rcl_interfaces'),
        'rcl_interfaces.msg': _module(
            'rcl_interfaces.msg', ParameterDescriptor=ParameterDescriptor,
            FloatingPointRange=FloatingPointRange, IntegerRange=IntegerRange,
            SetParametersResult=SetParametersResult),
        'std_srvs': _module('std_srvs'),
        'std_srvs.srv': _module('std_srvs.srv', **SERVICE_CLASSES),
    }
    for package, names in MESSAGE_PACKAGES.items():
        mods[package] = _module(package)
        mods[f'{package}.msg'] = _module(
            f'{package}.msg', **{n: MESSAGE_CLASSES[f'{package}/msg/{n}'] for n in names})
    return mods


def install_fake_ros(monkeypatch) -> FakeGraph:
    """Install the fakes into ``sys.modules`` for one test and drop cached pi05_ros.nodes."""
    graph = FakeGraph()
    for name, module in build_modules(graph).items():
        monkeypatch.setitem(sys.modules, name, module)
    package = sys.modules.get('pi05_ros.nodes')
    for name in list(sys.modules):
        if name.startswith('pi05_ros.nodes.'):
            monkeypatch.delitem(sys.modules, name)
            if package is not None:
                monkeypatch.delattr(package, name.rsplit('.', 1)[1], raising=False)
    return graph


def lifecycle_state(node) -> str:
    """Return the fake lifecycle node's state label (rclpy has no public accessor for it)."""
    return node._fake_lifecycle_state


def stamp(ns: int):
    """builtin_interfaces/Time for integer nanoseconds."""
    sec, nanosec = divmod(int(ns), 10**9)
    return MESSAGE_CLASSES['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec)


def is_finite_list(values) -> bool:
    return all(math.isfinite(v) for v in values)
