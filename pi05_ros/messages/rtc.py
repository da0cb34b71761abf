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
How a chunk was sampled under real-time chunking <-> ``diagnostic_msgs/DiagnosticStatus``.

A JointTrajectory has no field for it, so the policy node publishes it on
``~/action_chunk_rtc`` just before the chunk it describes:

    name 'rtc', message: why it was sampled plainly ('' when guided),
    values: chunk_stamp_ns (the chunk's header.stamp in ns), delay_rows (d), guided (true/false)

The executor node matches it to the chunk by stamp. A chunk without one (lost, late, or a policy
without RTC) is spliced with a blend like any other, which is the safe side.
"""

from typing import Dict, List, Tuple

from pi05_ros.control.action_chunk import RtcInfo

NAME = 'rtc'


class RtcStatusError(ValueError):
    """A ``~/action_chunk_rtc`` message that is not one (the message names the field)."""


def rtc_status_fields(stamp_ns: int, info: RtcInfo) -> Dict[str, object]:
    """Return the DiagnosticStatus fields (``values`` as (key, value) pairs) for one chunk."""
    values: List[Tuple[str, str]] = [('chunk_stamp_ns', str(int(stamp_ns))),
                                     ('delay_rows', str(int(info.delay_rows))),
                                     ('guided', 'true' if info.guided else 'false')]
    return {'name': NAME, 'message': info.reason, 'hardware_id': '', 'values': values}


def rtc_status_to_info(msg) -> Tuple[int, RtcInfo]:
    """Return (chunk stamp ns, RtcInfo) from a DiagnosticStatus built by rtc_status_fields."""
    if getattr(msg, 'name', None) != NAME:
        raise RtcStatusError(f'name: expected {NAME!r}, got {getattr(msg, "name", None)!r}')
    values = {kv.key: kv.value for kv in getattr(msg, 'values', ())}
    try:
        stamp_ns = int(values['chunk_stamp_ns'])
        delay_rows = int(values['delay_rows'])
        guided = {'true': True, 'false': False}[values['guided']]
    except KeyError as missing:
        raise RtcStatusError(f'values: expected chunk_stamp_ns, delay_rows and guided '
                             f'(guided true or false), missing or bad {missing}') from None
    except ValueError as bad:
        raise RtcStatusError(f'values: expected integers for chunk_stamp_ns and delay_rows '
                             f'({bad})') from None
    if delay_rows < 0:
        raise RtcStatusError(f'values.delay_rows: expected >= 0, got {delay_rows}')
    return stamp_ns, RtcInfo(delay_rows, guided, str(getattr(msg, 'message', '')))
