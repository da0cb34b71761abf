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
ROS time stamps and durations as integer nanoseconds.

Works on anything with ``sec`` and ``nanosec`` fields: ``builtin_interfaces/Time`` and ``Duration``
from rclpy, rosbags dataclasses, or a ``SimpleNamespace``. ``divmod`` keeps ``nanosec`` in
``[0, 1e9)`` for negative values too, as ``builtin_interfaces`` requires.
"""

from typing import Any, Tuple

NS_PER_S = 1_000_000_000
INT32_MIN = -(2 ** 31)
INT32_MAX = 2 ** 31 - 1
UINT32_MAX = 2 ** 32 - 1


def _sec_nanosec_to_ns(value: Any, kind: str) -> int:
    try:
        sec, nanosec = int(value.sec), int(value.nanosec)
    except AttributeError as error:
        raise ValueError(
            f'{kind}: expected an object with integer fields sec and nanosec, '
            f'got {type(value).__name__}') from error
    if not 0 <= nanosec < NS_PER_S:
        raise ValueError(f'{kind}.nanosec: expected 0 <= nanosec < 1e9, got {nanosec}')
    return sec * NS_PER_S + nanosec


def _ns_to_sec_nanosec(ns: int, kind: str) -> Tuple[int, int]:
    if isinstance(ns, float) or not hasattr(ns, '__index__'):
        raise ValueError(f'{kind}: expected integer nanoseconds, got {ns!r}')
    sec, nanosec = divmod(int(ns), NS_PER_S)
    if not INT32_MIN <= sec <= INT32_MAX:
        raise ValueError(f'{kind}.sec: expected a value that fits int32, got {sec} s')
    return sec, nanosec


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` (``sec``, ``nanosec``) -> integer nanoseconds."""
    return _sec_nanosec_to_ns(stamp, 'stamp')


def ns_to_stamp(ns: int) -> Tuple[int, int]:
    """Integer nanoseconds -> ``(sec, nanosec)`` for a ``builtin_interfaces/Time``."""
    return _ns_to_sec_nanosec(ns, 'stamp')


def duration_to_ns(duration: Any) -> int:
    """``builtin_interfaces/Duration`` (``sec``, ``nanosec``) -> integer nanoseconds."""
    return _sec_nanosec_to_ns(duration, 'duration')


def ns_to_duration(ns: int) -> Tuple[int, int]:
    """Integer nanoseconds -> ``(sec, nanosec)`` for a ``builtin_interfaces/Duration``."""
    return _ns_to_sec_nanosec(ns, 'duration')


def header_stamp_ns(msg: Any) -> int:
    """``msg.header.stamp`` as integer nanoseconds."""
    try:
        stamp = msg.header.stamp
    except AttributeError as error:
        raise ValueError(
            f'header.stamp: expected a message with a header, got {type(msg).__name__}'
        ) from error
    return stamp_to_ns(stamp)
