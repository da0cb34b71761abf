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
``main()`` of every node: init, spin, clean shutdown on SIGINT/SIGTERM (Humble and Jazzy).

rclpy's own signal handlers shut the context down the moment Ctrl-C arrives, while callbacks
still run: they then fail on a destroyed node ("cannot use Destroyable", "Failed to publish log
message to rosout", "exception was never retrieved"). Here SIGINT and SIGTERM only ask the spin
loop to stop (no callback is taken after that); then, in order: the node's
``on_process_exit()`` hook (if it has one: stop its own threads), the callbacks already running
finish (at most ``drain_timeout`` seconds; past that the process exits at once, without
destroying anything under a running callback), the node is destroyed, rclpy shut down, and
``main`` returns (exit 0). A second signal during that cleanup ends the process (exit 130).
A shutdown still going SHUTDOWN_LIMIT_S after the signal prints every thread's stack to
stderr and exits 1: a node never hangs on its way out.

An exception raised by a callback (a service callback, rclpy's lifecycle services on an invalid
transition) is logged and spinning goes on: a bad request never takes the node down.

SIGUSR1 prints the stack of every thread to stderr and the node goes on: where a hung node is
(the test harness sends it before killing a node that did not exit in time).

A node that cannot start (a wrong parameter type or value) prints one line naming the
parameter and exits 2, instead of a traceback.

Nodes that publish or take raw camera frames (``large_frames=True``: the policy node, the sim
robot) use ``config/fastdds_large_frames.xml`` unless ``FASTRTPS_DEFAULT_PROFILES_FILE`` is set
already: Fast DDS's default 512 KiB shared-memory segment cannot hold three 640x480 frames and
drops them (the demo loop ran at 0.58 chunks/s for 2 Hz without it).
"""

import faulthandler
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, List, Optional

from pi05_ros.config_paths import find_config_file
import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import (ExternalShutdownException, MultiThreadedExecutor,
                             SingleThreadedExecutor)
from rclpy.signals import SignalHandlerOptions

#: exceptions from a node's constructor that mean "bad configuration": one line, exit 2
STARTUP_ERRORS = (ValueError, ParameterException, FileNotFoundError, KeyError)
EXIT_STARTUP_ERROR = 2
EXIT_SECOND_SIGNAL = 130
SPIN_PERIOD = 0.1
SHUTDOWN_LIMIT_S = 5.0  # from the first signal to the end of main()


class StopRequest:
    """Set by SIGINT/SIGTERM; a second signal during cleanup exits immediately."""

    def __init__(self):
        self.event = threading.Event()
        self.cleaning_up = False
        self.signal_name: Optional[str] = None

    def __call__(self, signum, frame) -> None:
        if self.event.is_set() and self.cleaning_up:
            sys.stderr.flush()
            os._exit(EXIT_SECOND_SIGNAL)
        if not self.event.is_set():
            # a shutdown that hangs (in the middleware, say) prints every stack and exits 1
            faulthandler.dump_traceback_later(SHUTDOWN_LIMIT_S, exit=True)
        self.signal_name = signal.Signals(signum).name
        self.event.set()


def startup_error_line(program: str, error: BaseException) -> str:
    """Return the one line printed when a node refuses its configuration."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f'{program}: cannot start: {text}'


def _in_flight(executor) -> List[Any]:
    # MultiThreadedExecutor keeps the tasks it handed to its thread pool (Humble and Jazzy)
    return [task for task in list(getattr(executor, '_futures', [])) if not task.done()]


def drain(executor, timeout: float) -> List[BaseException]:
    """
    Wait until the callbacks already running have returned (at most ``timeout`` seconds).

    Returns the exceptions they raised (retrieved, so rclpy never reports them as "never
    retrieved"); raises TimeoutError when some are still running.
    """
    deadline = time.monotonic() + timeout
    while _in_flight(executor):
        if time.monotonic() > deadline:
            raise TimeoutError(f'callbacks still running after {timeout} s')
        time.sleep(0.01)
    tasks = list(getattr(executor, '_futures', []))
    return [e for e in (task.exception() for task in tasks) if e is not None]


def _log_callback_error(node, error: BaseException) -> None:
    if node is None:
        print(f'callback raised {type(error).__name__}: {error}', file=sys.stderr)
        return
    node.get_logger().error(f'a callback raised {type(error).__name__}: {error} '
                            '(still running)', throttle_duration_sec=1.0)


def use_large_frame_transport(environ=os.environ) -> Optional[str]:
    """
    Point Fast DDS at ``config/fastdds_large_frames.xml`` unless a profile file is set.

    Returns the file now in use (None for another RMW or no file found). Call before
    ``rclpy.init``: Fast DDS reads it when the process's participant is created.
    """
    if environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp') != 'rmw_fastrtps_cpp':
        return None
    if not environ.get('FASTRTPS_DEFAULT_PROFILES_FILE'):
        try:
            environ['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(
                find_config_file('fastdds_large_frames.xml'))
        except FileNotFoundError:
            return None
    return environ['FASTRTPS_DEFAULT_PROFILES_FILE']


def spin_node(make_node: Callable[[], Any], num_threads: int, args=None,
              on_start: Optional[Callable[[Any], None]] = None,
              drain_timeout: float = 1.5, large_frames: bool = False) -> None:
    """
    Create the node, run ``on_start(node)``, spin until SIGINT/SIGTERM, then clean up.

    A configuration error from the node's constructor exits 2 with one line on stderr.
    """
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'node'
    if large_frames:
        use_large_frame_transport()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stop = StopRequest()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    node = None
    # num_threads=1: a SingleThreadedExecutor (the policy node: short callbacks, inference on
    # its own thread; rclpy's MultiThreadedExecutor resubmits queued tasks in a loop when a
    # callback holds the GIL long)
    executor = (SingleThreadedExecutor() if num_threads == 1
                else MultiThreadedExecutor(num_threads=num_threads))
    startup_error: Optional[BaseException] = None
    try:
        try:
            node = make_node()
        except STARTUP_ERRORS as error:
            startup_error = error
        if node is not None:
            executor.add_node(node)
            if on_start is not None:
                on_start(node)
            _spin(executor, node, stop)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stop.cleaning_up = True
        _clean_up(executor, node, drain_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    faulthandler.cancel_dump_traceback_later()
    if startup_error is not None:
        print(startup_error_line(program, startup_error), file=sys.stderr, flush=True)
        sys.exit(EXIT_STARTUP_ERROR)


def _spin(executor, node, stop: StopRequest) -> None:
    context = executor.context
    while not stop.event.is_set() and context.ok():
        try:
            executor.spin_once(timeout_sec=SPIN_PERIOD)
        except (KeyboardInterrupt, ExternalShutdownException):
            raise
        except Exception as error:  # noqa: B902 -- a failing callback must not end the node
            _log_callback_error(node, error)


def _clean_up(executor, node, drain_timeout: float) -> None:
    if node is not None:
        hook = getattr(node, 'on_process_exit', None)
        if hook is not None:
            try:
                hook()
            except Exception as error:  # noqa: B902 -- keep cleaning up
                _log_callback_error(node, error)
        try:
            errors = drain(executor, drain_timeout)
        except TimeoutError as error:
            # destroying the node under a running callback is what breaks: leave at once
            node.get_logger().warning(f'{error}; exiting without waiting for them')
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        for error in errors:
            _log_callback_error(node, error)
    executor.shutdown(timeout_sec=0.0)
    if node is not None:
        node.destroy_node()
    rclpy.try_shutdown()
