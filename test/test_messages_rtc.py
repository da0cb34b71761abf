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

"""A chunk's RTC status as the DiagnosticStatus on ~/action_chunk_rtc, and back."""

from types import SimpleNamespace

from pi05_ros.control.action_chunk import RtcInfo
from pi05_ros.messages.rtc import rtc_status_fields, rtc_status_to_info, RtcStatusError
import pytest


def _message(fields):
    values = [SimpleNamespace(key=k, value=v) for k, v in fields['values']]
    return SimpleNamespace(**dict(fields, values=values))


@pytest.mark.parametrize('info', [RtcInfo(4, True), RtcInfo(0, False, 'after a hold (teleop)')])
def test_round_trip_keeps_stamp_delay_guided_and_reason(info):
    stamp = 1_700_000_000_123_456_789
    assert rtc_status_to_info(_message(rtc_status_fields(stamp, info))) == (stamp, info)


@pytest.mark.parametrize('change, match', [
    ({'name': 'policy'}, "name: expected 'rtc'"),
    ({'values': [('chunk_stamp_ns', '1'), ('delay_rows', '2')]}, 'missing or bad'),
    ({'values': [('chunk_stamp_ns', '1'), ('delay_rows', 'two'), ('guided', 'true')]},
     'expected integers'),
    ({'values': [('chunk_stamp_ns', '1'), ('delay_rows', '2'), ('guided', 'yes')]},
     'missing or bad'),
    ({'values': [('chunk_stamp_ns', '1'), ('delay_rows', '-1'), ('guided', 'true')]},
     'delay_rows: expected >= 0'),
])
def test_malformed_status_is_refused_naming_the_field(change, match):
    fields = dict(rtc_status_fields(1, RtcInfo(2, True)), **change)
    with pytest.raises(RtcStatusError, match=match):
        rtc_status_to_info(_message(fields))
