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
Real-rclpy test harness: nodes as separate processes over real DDS, and a test-side node.

Each node runs as its installed console script (``.venv/bin/executor_node`` ...) with exactly
the arguments the launch files pass: ``--ros-args -r __node:=<name> [-r __ns:=/ns]
--params-file config/<file>.yaml -p name:=value -r from:=to``. Every test gets its own
``ROS_DOMAIN_ID`` (taken from ``PI05_TEST_DOMAIN_IDS``, e.g. ``100-139``, and locked with a file
lock so parallel runs never share one) and localhost-only discovery.

    graph = RosGraph(domain_id, log_dir)          # conftest's ``ros_graph`` fixture does this
    executor = graph.start_node('executor_node', params_file='demo.yaml',
                                params={'rate_hz': 50.0}, name='pi05_executor')
    graph.wait_for_services('/pi05_executor', ['engage_policy'])
    states = graph.collect(JointState, '/joint_states')
    states.wait_for(5, timeout=5.0)
    result = executor.stop()                      # SIGINT: ShutdownResult(code, seconds, log)

rclpy is imported lazily (inside :class:`RosGraph`): this module imports without ROS.
"""

from dataclasses import dataclass
import fcntl
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'config'
DOMAIN_ENV = 'PI05_TEST_DOMAIN_IDS'
DEFAULT_DOMAINS = '100-139'
NODE_MODULES = {'policy_node': 'pi05_ros.nodes.policy_node',
                'executor_node': 'pi05_ros.nodes.executor_node',
                'sim_robot_node': 'pi05_ros.nodes.sim_robot_node'}
# rcl/rclpy/Fast DDS lines that mean something went wrong at shutdown or in a callback
ERROR_PATTERNS = (r'\[ERROR\]', r'\[FATAL\]', r'Traceback \(most recent call last\)',
                  r'Destroyable', r'Failed to publish log message', r'never retrieved',
                  r'InvalidHandle')


class DomainError(RuntimeError):
    """No free ROS_DOMAIN_ID left in the configured range."""


def parse_domain_range(text: str) -> List[int]:
    """``'100-139'`` or ``'100,101,105-107'`` -> the domain ids (0..232), in order."""
    ids: List[int] = []
    for part in text.replace(' ', '').split(','):
        if not part:
            continue
        low, _, high = part.partition('-')
        first, last = int(low), int(high or low)
        if not 0 <= first <= last <= 232:
            raise ValueError(f'{DOMAIN_ENV}: expected ids in 0..232 like 100-139, got {text!r}')
        ids.extend(range(first, last + 1))
    if not ids:
        raise ValueError(f'{DOMAIN_ENV}: expected ids like 100-139, got {text!r}')
    return ids


class DomainLease:
    """One ROS_DOMAIN_ID held with an exclusive file lock until :meth:`release`."""

    def __init__(self, domain_id: int, lock_file):
        self.domain_id = domain_id
        self._lock_file = lock_file

    def release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


_next_domain_index = [0]


def allocate_domain(ids: Optional[Sequence[int]] = None) -> DomainLease:
    """Lock the next free domain id of ``$PI05_TEST_DOMAIN_IDS`` (round robin in this process)."""
    if ids is None:
        ids = parse_domain_range(os.environ.get(DOMAIN_ENV, DEFAULT_DOMAINS))
    lock_dir = Path(tempfile.gettempdir()) / 'pi05_ros_test_domains'
    lock_dir.mkdir(exist_ok=True)
    for attempt in range(len(ids)):
        domain_id = ids[(_next_domain_index[0] + attempt) % len(ids)]
        lock_file = open(lock_dir / f'{domain_id}.lock', 'w')
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            continue
        _next_domain_index[0] = (_next_domain_index[0] + attempt + 1) % len(ids)
        return DomainLease(domain_id, lock_file)
    raise DomainError(f'{DOMAIN_ENV}: every domain id in {ids[0]}..{ids[-1]} is in use')


def ros_environment(domain_id: int, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Return a node process's environment: its domain, localhost discovery, unbuffered output."""
    env = dict(os.environ if base is None else base)
    env.update(ROS_DOMAIN_ID=str(domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               PYTHONUNBUFFERED='1', RCUTILS_COLORIZED_OUTPUT='0')
    # Jazzy warns that ROS_LOCALHOST_ONLY is deprecated and then ignores the range: leave it out
    env.pop('ROS_LOCALHOST_ONLY', None)
    env.pop('ROS_STATIC_PEERS', None)
    return env


def parameter_text(value: Any) -> str:
    """Format a ``-p name:=value`` value as rcl parses it: YAML bools, numbers, strings, lists."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(parameter_text(v) for v in value) + ']'
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def node_in_process(ros_context, node_class, params: Dict[str, Any]):
    """Create ``node_class`` in this process with ``-p`` overrides, as on the command line."""
    args = ['--ros-args']
    for name, value in params.items():
        args += ['-p', f'{name}:={parameter_text(value)}']
    node = node_class(context=ros_context(args))
    ros_context.made_nodes.append(node)
    return node


def params_file_path(params_file: Union[str, Path]) -> Path:
    """``'demo.yaml'`` -> config/demo.yaml; a path (absolute or with a folder) as given."""
    path = Path(params_file)
    if not path.is_absolute() and len(path.parts) == 1:
        path = CONFIG / path
    if not path.is_file():
        raise FileNotFoundError(f'parameter file not found: {path}')
    return path


def ros_arguments(name: Optional[str] = None, namespace: Optional[str] = None,
                  params_file: Optional[Union[str, Path]] = None,
                  params: Optional[Dict[str, Any]] = None,
                  remaps: Optional[Union[Dict[str, str], Iterable[Tuple[str, str]]]] = None,
                  params_files: Sequence[Union[str, Path]] = ()) -> List[str]:
    """Return the ``--ros-args ...`` list launch_ros builds for a Node action (same order)."""
    args = ['--ros-args']
    if name:
        args += ['-r', f'__node:={name}']
    if namespace:
        args += ['-r', f'__ns:={namespace if namespace.startswith("/") else "/" + namespace}']
    files = ([params_file] if params_file is not None else []) + list(params_files)
    for path in files:
        args += ['--params-file', str(params_file_path(path))]
    for key, value in (params or {}).items():
        args += ['-p', f'{key}:={parameter_text(value)}']
    items = remaps.items() if isinstance(remaps, dict) else (remaps or ())
    for source, target in items:
        args += ['-r', f'{source}:={target}']
    return args


def node_command(executable: str) -> List[str]:
    """
    Return the console script next to this Python (``.venv/bin/<x>``), else ``python -m``.

    A path to a ``.py`` file runs with this Python.
    """
    if executable.endswith('.py'):
        return [sys.executable, executable]
    script = Path(sys.executable).parent / executable
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which(executable)
    if found:
        return [found]
    if executable in NODE_MODULES:
        return [sys.executable, '-m', NODE_MODULES[executable]]
    raise FileNotFoundError(f'node executable not found: {executable}')


def error_lines(text: str, patterns: Sequence[str] = ERROR_PATTERNS) -> List[str]:
    """Return the lines of a node's output that report an error (see ``ERROR_PATTERNS``)."""
    expression = re.compile('|'.join(patterns))
    return [line for line in text.splitlines() if expression.search(line)]


@dataclass
class ShutdownResult:
    """How a node process ended: exit code, seconds from the signal to exit, its whole log."""

    code: Optional[int]
    seconds: float
    log: str

    @property
    def errors(self) -> List[str]:
        return error_lines(self.log)


class NodeProcess:
    """A node started as its own process; stdout+stderr go to ``<log_dir>/<label>.log``."""

    def __init__(self, command: List[str], env: Dict[str, str], log_path: Path,
                 label: str):
        self.command = command
        self.label = label
        self.log_path = log_path
        self._log = open(log_path, 'wb')
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=str(REPO), start_new_session=True)
        self.result: Optional[ShutdownResult] = None
        self._signalled_at: Optional[float] = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """Wait until a line of the log matches ``pattern``; AssertionError with the log if not."""
        expression = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = expression.search(self.log_text())
            if match:
                return match
            if not self.alive() or time.monotonic() > deadline:
                state = 'running' if self.alive() else f'exited {self.process.returncode}'
                raise AssertionError(f'{self.label} ({state}): no log line matching '
                                     f'{pattern!r} in {timeout} s; log:\n{self.log_text()}')
            time.sleep(0.05)

    def wait_exit(self, timeout: float = 30.0) -> ShutdownResult:
        """Wait for the process to end by itself (e.g. refused parameters)."""
        start = time.monotonic()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'{self.label} still running after {timeout} s; log:\n'
                                 f'{self.log_text()}')
        self.result = ShutdownResult(code, time.monotonic() - start, self.log_text())
        self._log.close()
        return self.result

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> ShutdownResult:
        """
        Send ``sig`` and wait; ShutdownResult(exit code, seconds to exit, log text).

        A process still running after ``timeout`` is killed (code None is never returned: the
        code is then -SIGKILL), so a hung node cannot hang the test run.
        """
        if self.result is not None:
            return self.result
        if not self.alive() and self._signalled_at is None:
            return self.wait_exit(0.0)
        if self._signalled_at is None:
            self.signal(sig)
        start = self._signalled_at
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # spin_node: every thread's stack to the log
            time.sleep(1.0)
            self.process.kill()
            code = self.process.wait()
        self.result = ShutdownResult(code, time.monotonic() - start, self.log_text())
        self._log.close()
        return self.result

    def signal(self, sig: int = signal.SIGINT) -> None:
        """Send ``sig`` without waiting (:meth:`stop` then waits, timed from this signal)."""
        self._signalled_at = time.monotonic()
        self.process.send_signal(sig)

    def kill(self) -> ShutdownResult:
        """SIGKILL: a node that dies without any cleanup."""
        if self.result is None and self.alive():
            self.signal(signal.SIGKILL)
        return self.stop(signal.SIGKILL, timeout=5.0)


class Collector:
    """Messages received on one topic by the test node, with waits."""

    def __init__(self):
        self.messages: List[Any] = []
        self.times: List[float] = []
        self._condition = threading.Condition()

    def add(self, msg) -> None:
        with self._condition:
            self.messages.append(msg)
            self.times.append(time.monotonic())
            self._condition.notify_all()

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def last(self):
        return self.messages[-1] if self.messages else None

    def clear(self) -> None:
        with self._condition:
            self.messages.clear()
            self.times.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0,
                 predicate: Optional[Callable[[Any], bool]] = None) -> List[Any]:
        """Wait for ``count`` messages (matching ``predicate`` if given); return those matching."""
        deadline = time.monotonic() + timeout

        def matching():
            return [m for m in self.messages if predicate is None or predicate(m)]

        with self._condition:
            while len(matching()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f'{len(matching())} of {count} messages in '
                                         f'{timeout} s')
                self._condition.wait(min(remaining, 0.1))
            return matching()


def latched_qos():
    """Reliable, transient local, depth 1: the QoS of ``~/mode``, ``~/prompt``..."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def sensor_qos():
    from rclpy.qos import qos_profile_sensor_data
    return qos_profile_sensor_data


class RosGraph:
    """
    A test-side rclpy context + node in one domain, spun in a thread; starts node processes.

    :meth:`close` stops every node process it started (SIGINT, then SIGKILL) and shuts the
    context down. Node processes inherit the domain and localhost discovery.
    """

    def __init__(self, domain_id: int, log_dir: Union[str, Path], node_name: str = 'test_graph'):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        self.domain_id = domain_id
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = ros_environment(domain_id)
        self.processes: List[NodeProcess] = []
        # rcl reads the discovery range from the environment at init
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        os.environ.pop('ROS_LOCALHOST_ONLY', None)
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(node_name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinning = True
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self._lock = threading.Lock()

    def _spin(self) -> None:
        while self._spinning and self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: B902 -- context shut down while spinning
                if not self._spinning or not self.context.ok():
                    return
                raise

    # --- node processes -------------------------------------------------------------------

    def start_node(self, executable: str, name: Optional[str] = None,
                   namespace: Optional[str] = None,
                   params_file: Optional[Union[str, Path]] = None,
                   params: Optional[Dict[str, Any]] = None,
                   remaps: Optional[Union[Dict[str, str], Iterable[Tuple[str, str]]]] = None,
                   extra_args: Sequence[str] = (), label: Optional[str] = None,
                   env: Optional[Dict[str, str]] = None) -> NodeProcess:
        """Start ``executable --ros-args ...`` (see :func:`ros_arguments`) in this domain."""
        args = ros_arguments(name=name, namespace=namespace, params_file=params_file,
                             params=params, remaps=remaps)
        label = label or f'{(namespace or "").strip("/").replace("/", "_")}{name or executable}'
        label = label.strip('_') or executable
        index = sum(1 for p in self.processes if p.label.startswith(label))
        log_path = self.log_dir / (f'{label}.log' if not index else f'{label}.{index}.log')
        process_env = dict(self.env)
        process_env.update(env or {})
        process = NodeProcess(node_command(executable) + list(extra_args) + args, process_env,
                              log_path, label)
        self.processes.append(process)
        return process

    def stop_all(self, timeout: float = 10.0, sig: int = signal.SIGINT,
                 processes: Optional[Sequence[NodeProcess]] = None
                 ) -> Dict[str, ShutdownResult]:
        """
        Signal every node process still running (or ``processes``), all at once.

        Returns the results by label, each exit timed on its own from its own signal.
        """
        running = [p for p in (self.processes if processes is None else processes)
                   if p.result is None]
        for process in running:
            if process.alive():
                process.signal(sig)
        waiters = [threading.Thread(target=p.stop, kwargs={'timeout': timeout})
                   for p in running]  # one waiter each: every exit is timed on its own
        for waiter in waiters:
            waiter.start()
        for waiter in waiters:
            waiter.join()
        return {p.label: p.stop(timeout=timeout) for p in running}

    def close(self) -> None:
        self.stop_all()
        self._spinning = False
        self._thread.join(timeout=2.0)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()

    # --- topics ---------------------------------------------------------------------------

    def collect(self, msg_type, topic: str, qos=10) -> Collector:
        """Subscribe and keep every message received on ``topic``."""
        collector = Collector()
        with self._lock:
            self.node.create_subscription(msg_type, topic, collector.add, qos)
        return collector

    def publisher(self, msg_type, topic: str, qos=10):
        with self._lock:
            return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``publisher`` is matched by ``count`` subscriptions."""
        self._wait(lambda: publisher.get_subscription_count() >= count, timeout,
                   f'{publisher.topic_name}: fewer than {count} subscribers')

    def wait_for_publishers(self, topic: str, count: int = 1, timeout: float = 10.0) -> None:
        self._wait(lambda: self.node.count_publishers(topic) >= count, timeout,
                   f'{topic}: fewer than {count} publishers')

    def every(self, period: float, callback: Callable[[], None]):
        """Call ``callback`` every ``period`` seconds on the test node (a timer; cancel it)."""
        with self._lock:
            return self.node.create_timer(period, callback)

    def publisher_qos(self, topic: str) -> List[Any]:
        """Return the QoS profiles the publishers of ``topic`` offer (from the graph)."""
        return [info.qos_profile for info in self.node.get_publishers_info_by_topic(topic)]

    def topic_types(self) -> Dict[str, List[str]]:
        return dict(self.node.get_topic_names_and_types())

    # --- services -------------------------------------------------------------------------

    def service_names(self) -> Dict[str, List[str]]:
        return dict(self.node.get_service_names_and_types())

    def wait_for_services(self, node: str, names: Iterable[str] = (),
                          timeout: float = 20.0) -> None:
        """
        Wait until ``<node>/<name>`` exists for each name (and get_parameters, always).

        ``node`` is the fully qualified node name (``/pi05_executor``, ``/robot1/sim_robot``).
        """
        wanted = {f'{node}/{name}' for name in list(names) + ['get_parameters']}
        self._wait(lambda: wanted <= set(self.service_names()), timeout,
                   f'services missing: {sorted(wanted - set(self.service_names()))}',
                   fail_on_exit=True)

    def wait_for_node(self, node: str, timeout: float = 20.0) -> None:
        """Wait until the node's parameter services are up (it finished its constructor)."""
        self.wait_for_services(node, (), timeout)

    def call(self, srv_type, name: str, request=None, timeout: float = 10.0):
        """Call a service and return its response; AssertionError on timeout."""
        with self._lock:
            client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise AssertionError(f'service {name} not available in {timeout} s')
            future = client.call_async(srv_type.Request() if request is None else request)
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            if not done.wait(timeout):
                raise AssertionError(f'service {name}: no answer in {timeout} s')
            return future.result()
        finally:
            with self._lock:
                self.node.destroy_client(client)

    def trigger(self, name: str, timeout: float = 10.0):
        from std_srvs.srv import Trigger
        return self.call(Trigger, name, timeout=timeout)

    def set_bool(self, name: str, value: bool, timeout: float = 10.0):
        from std_srvs.srv import SetBool
        return self.call(SetBool, name, SetBool.Request(data=value), timeout=timeout)

    # --- parameters -----------------------------------------------------------------------

    def list_parameters(self, node: str) -> List[str]:
        from rcl_interfaces.srv import ListParameters
        return list(self.call(ListParameters, f'{node}/list_parameters').result.names)

    def get_parameters(self, node: str, names: Sequence[str]) -> Dict[str, Any]:
        """``{name: python value}``; an empty dict when rclpy answers [] (an unset name)."""
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python
        response = self.call(GetParameters, f'{node}/get_parameters',
                             GetParameters.Request(names=list(names)))
        values = [parameter_value_to_python(v) for v in response.values]
        return dict(zip(names, values)) if values else {}

    def describe_parameters(self, node: str, names: Sequence[str]) -> Dict[str, Any]:
        from rcl_interfaces.srv import DescribeParameters
        response = self.call(DescribeParameters, f'{node}/describe_parameters',
                             DescribeParameters.Request(names=list(names)))
        return {d.name: d for d in response.descriptors}

    def set_parameters(self, node: str, values: Dict[str, Any]) -> List[Any]:
        """Set parameters at run time; the SetParametersResult per parameter."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter
        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
        return list(self.call(SetParameters, f'{node}/set_parameters', request).results)

    # --- helpers --------------------------------------------------------------------------

    def now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def _wait(self, condition: Callable[[], bool], timeout: float, message: str,
              fail_on_exit: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            exited = [p.label for p in self.processes if p.result is None and not p.alive()]
            if time.monotonic() > deadline or (fail_on_exit and exited):
                message = message() if callable(message) else message
                if exited:
                    message += f' (exited: {", ".join(exited)})'
                    timeout = round(time.monotonic() - deadline + timeout, 1)
                logs = '\n'.join(f'--- {p.label} ({"running" if p.alive() else "exited"}):\n'
                                 f'{p.log_text()[-3000:]}' for p in self.processes)
                raise AssertionError(f'{message} after {timeout} s\n{logs}')
            time.sleep(0.05)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0,
                   message: Union[str, Callable[[], str]] = 'condition not met') -> None:
        """Poll ``condition`` every 50 ms; AssertionError (with node logs) after ``timeout``."""
        self._wait(condition, timeout, message)
