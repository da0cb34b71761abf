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
One thread that runs the policy's inference cycles, ticked by the node's timer.

Inference is not an executor callback: a long, GIL-heavy callback in rclpy's
MultiThreadedExecutor (Humble, Jazzy 7.1) makes its spin thread resubmit every queued task
in a loop (thousands of no-op entries in the pool's queue), so subscription takes and the timer
run seconds late. The executor only stores messages and ticks; :class:`CycleWorker` runs the
cycle. ``tick()`` never blocks: a tick during a cycle starts the next cycle as soon as that one
ends (one overrun costs a delay, not a period); a further tick while one already waits is
skipped. ``stop()`` returns after the running cycle (if any) has finished, so the node can be
deactivated or destroyed without a cycle still using it.
"""

import threading
from typing import Callable, Optional


class CycleWorker:
    """Run ``cycle()`` on a dedicated thread, once per :meth:`tick`, at most one at a time."""

    def __init__(self, cycle: Callable[[], None],
                 on_error: Optional[Callable[[BaseException], None]] = None,
                 name: str = 'inference'):
        self._cycle = cycle
        self._on_error = on_error
        self._name = name
        self._condition = threading.Condition()
        self._pending = False
        self._running = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self.cycles_run = 0

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def busy(self) -> bool:
        """Return True while a cycle runs or one is about to start."""
        with self._condition:
            return self._running or self._pending

    def start(self) -> None:
        """Start the thread (no-op while it runs)."""
        with self._condition:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._pending = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def tick(self) -> bool:
        """
        Ask for one cycle: now, or right after the running one.

        False (skipped) when a cycle already waits or the worker is stopped.
        """
        with self._condition:
            if self._thread is None or self._stopping or self._pending:
                return False
            self._pending = True
            self._condition.notify_all()
            return True

    def stop(self, timeout: Optional[float] = None) -> bool:
        """Stop after the running cycle; True when the thread has ended within ``timeout``."""
        with self._condition:
            self._stopping = True
            self._pending = False
            self._condition.notify_all()
            thread = self._thread
        if thread is None:
            return True
        if thread is not threading.current_thread():
            thread.join(timeout)
        if thread.is_alive():
            return False
        with self._condition:
            if self._thread is thread:
                self._thread = None
        return True

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                self._pending = False
                self._running = True
            try:
                self._cycle()
            except Exception as error:  # noqa: B902 -- one failed cycle never ends the thread
                if self._on_error is not None:
                    self._on_error(error)
            finally:
                with self._condition:
                    self._running = False
                    self.cycles_run += 1
                    self._condition.notify_all()
