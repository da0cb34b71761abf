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
Naive replacement, the baseline the executor is measured against.

Each new chunk simply replaces the old one the moment it arrives (latency compensated, linear
interpolation between rows, no splice, no limits): what streaming chunks to a controller that
"forgets the old trajectory" amounts to. For comparisons in tests, benchmarks and replay only.
"""

from typing import Optional

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk


class SnapFollower:
    """Follows the newest chunk; holds its last row, or the initial command, otherwise."""

    def __init__(self, initial: np.ndarray):
        self.chunk: Optional[ActionChunk] = None
        self._hold = np.asarray(initial, dtype=np.float64).copy()
        self._times: Optional[np.ndarray] = None

    def submit(self, chunk: ActionChunk, now_ns: int) -> None:
        """Replace the active chunk (newer stamps only)."""
        if self.chunk is None or chunk.stamp_ns > self.chunk.stamp_ns:
            self.chunk = chunk
            self._times = chunk.row_times_ns()

    def tick(self, now_ns: int) -> np.ndarray:
        """(J,) position command at now_ns."""
        if self.chunk is None:
            return self._hold
        times, rows = self._times, self.chunk.positions
        if now_ns <= times[0]:
            return rows[0]
        if now_ns >= times[-1]:
            return rows[-1]
        k = int(np.searchsorted(times, now_ns, side='right')) - 1
        s = (now_ns - times[k]) / (times[k + 1] - times[k])
        return rows[k] + s * (rows[k + 1] - rows[k])
