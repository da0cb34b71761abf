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

"""``diagnostic_msgs/DiagnosticArray`` from a flat dict of key/values."""

from typing import Any, Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

OK = 'ok'
WARN = 'warn'
ERROR = 'error'
_LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)


def diagnostic_array(stamp_msg, name: str, hardware_id: str, level: str, message: str,
                     values: Mapping[str, Any]) -> DiagnosticArray:
    """One-status DiagnosticArray; ``level`` is 'ok', 'warn' or 'error'."""
    if level not in _LEVELS:
        raise ValueError(f'diagnostics level: expected one of {sorted(_LEVELS)}, got {level!r}')
    status = DiagnosticStatus(
        level=_LEVELS[level], name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=str(k), value=_text(v)) for k, v in values.items()])
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp_msg
    return array
