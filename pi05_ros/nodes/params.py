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
Declaring typed, described ROS parameters that behave the same on Humble and Jazzy.

A parameter is a :class:`ParamSpec`. Its default fixes its type, so it must never be ``None``
(Jazzy refuses that) or an empty list (rclpy types it BYTE_ARRAY). Every parameter gets a real
value, so ``ros2 param list/get/dump/describe`` show all of them (rclpy answers a GetParameters
request with nothing at all when one named parameter is uninitialized):

- a list whose value depends on other parameters (the profile's joint names) is declared with
  the marker ``STRING_ARRAY`` / ``DOUBLE_ARRAY`` and ``resolve=fn(values)``: the value is
  computed at startup from the parameters declared before it and shown like any other;
- a marker without ``resolve`` is declared with the sentinel ``UNSET_STRINGS`` (``['']``) or
  ``UNSET_DOUBLES`` (``[nan]``), documented as "unset", and reads back as ``None``.

Parameters are read-only unless ``dynamic=True``: :func:`watch_parameters` then accepts run-time
changes (``ros2 param set``) that pass the spec's ``validate(value, values)`` (returns a reason
to refuse, or None), updates the node's values and calls the node's ``on_change(names)``.
A wrong type at startup, or a start value its ``validate`` refuses, raises
:class:`ParameterError` naming the parameter, the expected type and what was given. The
table of specs is also what the README documents.
"""

from dataclasses import dataclass
import math
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException, ParameterUninitializedException

STRING_ARRAY = 'string_array'
DOUBLE_ARRAY = 'double_array'
UNSET_STRINGS = ['']
UNSET_DOUBLES = [math.nan]
_UNSET = {STRING_ARRAY: UNSET_STRINGS, DOUBLE_ARRAY: UNSET_DOUBLES}

Validator = Callable[[Any, Mapping[str, Any]], Optional[str]]


class ParameterError(ValueError):
    """A parameter of the wrong type or value; the message names it."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: dotted name, typed default (or an array marker), description, mutability."""

    name: str
    default: Any
    description: str
    dynamic: bool = False
    validate: Optional[Validator] = None
    resolve: Optional[Callable[[Mapping[str, Any]], Sequence[Any]]] = None

    def __post_init__(self):
        if self.default is None:
            raise ValueError(f'parameter {self.name}: a default of None is not portable '
                             '(Jazzy refuses it); give a typed default')
        if isinstance(self.default, (list, tuple)) and not self.default:
            raise ValueError(f'parameter {self.name}: an empty list default becomes BYTE_ARRAY; '
                             f'use {STRING_ARRAY!r} or {DOUBLE_ARRAY!r}')
        if self.resolve is not None and not self.is_marker:
            raise ValueError(f'parameter {self.name}: resolve needs an array marker default')

    @property
    def read_only(self) -> bool:
        return not self.dynamic

    @property
    def is_marker(self) -> bool:
        return isinstance(self.default, str) and self.default in _UNSET


def is_unset(value: Any) -> bool:
    """Return True for the 'unset' sentinels ``['']`` and ``[nan]`` (and None)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, bool, int, float)):
        return False
    items = list(value)
    return len(items) == 1 and (items[0] == '' or (isinstance(items[0], float)
                                                   and math.isnan(items[0])))


def _type_error(spec: ParamSpec, error: Exception) -> ParameterError:
    match = re.search(r"to '(.*)' of type '(\w+)'", str(error))
    given = f'{match.group(2).lower()} {match.group(1)}' if match else str(error)
    return ParameterError(f'parameter {spec.name}: expected {type_name(spec)} like '
                          f'{example(spec)}, got {given}')


def declare_parameters(node, specs: Iterable[ParamSpec],
                       values: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """
    Declare every spec on ``node``; return ``{name: value}`` (None for 'unset' arrays).

    ``values`` (the node's values so far) is what ``resolve`` functions see; it is updated.
    """
    values = {} if values is None else values
    for spec in specs:
        descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
        if spec.is_marker:
            default = (list(spec.resolve(values)) if spec.resolve is not None
                       else list(_UNSET[spec.default]))
            if not default:
                default = list(_UNSET[spec.default])
        else:
            default = spec.default
        try:
            node.declare_parameter(spec.name, default, descriptor)
        except InvalidParameterTypeException as error:
            raise _type_error(spec, error) from None
        values[spec.name] = read_parameter(node, spec.name)
        reason = spec.validate(values[spec.name], values) if spec.validate else None
        if reason:  # the run-time rule holds at start too
            raise ParameterError(f'parameter {spec.name}: {reason}')
    return values


def read_parameter(node, name: str) -> Any:
    """Return the parameter's value as plain Python (lists for arrays); None if unset."""
    try:
        value = node.get_parameter(name).value
    except ParameterUninitializedException:
        return None
    if value is not None and not isinstance(value, (str, bytes, bool, int, float)):
        value = list(value)
        if is_unset(value):
            return None
    return value


def watch_parameters(node, specs: Sequence[ParamSpec], values: Dict[str, Any],
                     on_change: Optional[Callable[[List[str]], Optional[str]]] = None) -> None:
    """
    Accept run-time changes of the dynamic specs; refuse the others with a reason.

    ``on_change(names)`` runs after ``values`` took the new values; it may return a reason to
    refuse (then the old values are restored).
    """
    by_name = {spec.name: spec for spec in specs}

    def callback(parameters) -> SetParametersResult:
        changed = {}
        for parameter in parameters:
            spec = by_name.get(parameter.name)
            if spec is None:
                continue  # use_sim_time and other rclpy parameters
            if not spec.dynamic:
                return SetParametersResult(
                    successful=False,
                    reason=f'{spec.name} is read-only: set it in the parameter file and restart')
            value = parameter.value
            if not isinstance(value, (str, bytes, bool, int, float)):
                value = list(value)
            reason = spec.validate(value, {**values, **changed}) if spec.validate else None
            if reason:
                return SetParametersResult(successful=False, reason=f'{spec.name}: {reason}')
            changed[spec.name] = value
        if not changed:
            return SetParametersResult(successful=True)
        previous = {name: values[name] for name in changed}
        values.update(changed)
        reason = on_change(sorted(changed)) if on_change is not None else None
        if reason:
            values.update(previous)
            return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(callback)


# --- validators (value, all values) -> reason or None ---------------------------------------

def above_zero(value, values) -> Optional[str]:
    """Refuse values that are not above zero."""
    return None if value > 0 else f'expected a value above 0, got {value!r}'


def at_least_zero(value, values) -> Optional[str]:
    """Refuse negative values."""
    return None if value >= 0 else f'expected a value >= 0, got {value!r}'


def fraction(value, values) -> Optional[str]:
    """Refuse values outside (0, 1]."""
    return None if 0 < value <= 1 else f'expected a value in (0, 1], got {value!r}'


def positive(params: Dict[str, Any], name: str) -> float:
    """
    Return ``params[name]`` if it is above zero; ValueError naming the parameter otherwise.

    For rates and periods: rclpy accepts a zero timer period and then fires on every spin.
    """
    value = params[name]
    if not value > 0:
        raise ParameterError(f'{name}: expected a positive number, got {value!r}')
    return value


_ROS_TYPE_NAMES = {bool: 'bool', int: 'integer', float: 'double', str: 'string'}


def type_name(spec: ParamSpec) -> str:
    """Return the ROS type of a spec: 'double', 'string[]'..."""
    if spec.is_marker:
        return spec.default.replace('_array', '[]')
    if isinstance(spec.default, (list, tuple)):
        return f'{_ROS_TYPE_NAMES[type(spec.default[0])]}[]'
    return _ROS_TYPE_NAMES[type(spec.default)]


def example(spec: ParamSpec) -> str:
    """Return a value of the right type, as YAML would write it."""
    if spec.is_marker:
        return "['a', 'b']" if spec.default == STRING_ARRAY else '[1.0, 2.0]'
    return repr(list(spec.default) if isinstance(spec.default, tuple) else spec.default)


def documentation_rows(specs: Sequence[ParamSpec]) -> str:
    """Markdown table rows (name, type, default, run-time change, description)."""
    rows = []
    for spec in specs:
        if spec.is_marker:
            default = '(resolved at start)' if spec.resolve is not None else '(unset)'
        else:
            default = repr(spec.default)
        description = spec.description.replace('|', '\\|')
        change = 'dynamic' if spec.dynamic else 'read-only'
        rows.append(f'| `{spec.name}` | {type_name(spec)} | `{default}` | {change} | '
                    f'{description} |')
    return '\n'.join(rows)
