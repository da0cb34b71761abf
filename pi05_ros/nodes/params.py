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

"""Declaring typed, described ROS parameters that behave the same on Humble and Jazzy.

A parameter is a :class:`ParamSpec`. Its default fixes its type, so it must never be ``None``
(Jazzy refuses that) or an empty list (rclpy types it BYTE_ARRAY); a list parameter that may be
left unset is declared by type (``STRING_ARRAY`` / ``DOUBLE_ARRAY``) and reads back as ``None``.
The table of specs is also what ``doc/nodes.md`` documents.
"""

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Sequence

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter

STRING_ARRAY = 'string_array'
DOUBLE_ARRAY = 'double_array'
_TYPED = {STRING_ARRAY: 'STRING_ARRAY', DOUBLE_ARRAY: 'DOUBLE_ARRAY'}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: dotted name, typed default (or an array type name), description."""

    name: str
    default: Any
    description: str
    read_only: bool = True

    def __post_init__(self):
        if self.default is None:
            raise ValueError(f'parameter {self.name}: a default of None is not portable '
                             '(Jazzy refuses it); give a typed default')
        if isinstance(self.default, (list, tuple)) and not self.default:
            raise ValueError(f'parameter {self.name}: an empty list default becomes BYTE_ARRAY; '
                             f'use {STRING_ARRAY!r} or {DOUBLE_ARRAY!r}')


def declare_parameters(node, specs: Iterable[ParamSpec]) -> Dict[str, Any]:
    """Declare every spec on ``node`` and return ``{name: value}`` (None for unset arrays)."""
    values = {}
    for spec in specs:
        descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
        if isinstance(spec.default, str) and spec.default in _TYPED:
            node.declare_parameter(
                spec.name, getattr(Parameter.Type, _TYPED[spec.default]), descriptor)
        else:
            node.declare_parameter(spec.name, spec.default, descriptor)
        values[spec.name] = read_parameter(node, spec.name)
    return values


def read_parameter(node, name: str) -> Any:
    """Return the parameter's value as plain Python (lists for arrays); None if unset."""
    try:
        value = node.get_parameter(name).value
    except ParameterUninitializedException:
        return None
    if value is not None and not isinstance(value, (str, bytes, bool, int, float)):
        value = list(value)
    return value


def positive(params: Dict[str, Any], name: str) -> float:
    """Return ``params[name]`` if it is above zero; ValueError naming the parameter otherwise.

    For rates and periods: rclpy accepts a zero timer period and then fires on every spin.
    """
    value = params[name]
    if not value > 0:
        raise ValueError(f'{name}: expected a positive number, got {value!r}')
    return value


_ROS_TYPE_NAMES = {bool: 'bool', int: 'integer', float: 'double', str: 'string'}


def documentation_rows(specs: Sequence[ParamSpec]) -> str:
    """Markdown table rows (name, type, default, description) for ``doc/nodes.md``."""
    rows = []
    for spec in specs:
        if isinstance(spec.default, str) and spec.default in _TYPED:
            kind, default = spec.default.replace('_array', '[]'), '(unset)'
        elif isinstance(spec.default, (list, tuple)):
            kind, default = f'{_ROS_TYPE_NAMES[type(spec.default[0])]}[]', repr(spec.default)
        else:
            kind, default = _ROS_TYPE_NAMES[type(spec.default)], repr(spec.default)
        description = spec.description.replace('|', '\\|')
        rows.append(f'| `{spec.name}` | {kind} | `{default}` | {description} |')
    return '\n'.join(rows)
