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
The PI0.5 policy node (managed / lifecycle): cameras + joint states + prompt -> action chunks.

configure
    loads the robot profile and the checkpoint, warms the model up, creates the observation cache
    and the subscriptions (they start filling the cache right away).
activate / deactivate
    start / stop inference and publishing of ``~/action_chunk`` (with ``rtc.enabled``, each
    chunk's real-time-chunking status goes out on ``~/action_chunk_rtc`` just before it).
cleanup / shutdown
    drop the subscriptions, the timer and the model.

Threads. The node spins a SingleThreadedExecutor: its callbacks only store messages into the
:class:`~pi05_ros.observation_cache.ObservationCache`, answer services and tick. Inference runs
on its own thread (:class:`~pi05_ros.nodes.inference_worker.CycleWorker`), ticked by the
``inference_rate_hz`` timer, at most one cycle at a time (a tick during a cycle starts the next
cycle when that one ends; a further tick is a skipped period). With rclpy's
MultiThreadedExecutor a long, GIL-heavy inference callback made the spin thread resubmit
queued tasks in a loop (thousands queued), so camera takes ran seconds late.

Cameras are subscribed best effort with KEEP_LAST depth 1: whenever a frame is taken it is the
newest one (sensor-data QoS keeps 5, and a late take then returns a frame up to 5 periods old,
a different one per camera: "camera skew" between cameras that carry the same stamps). When
the newest frames' stamps disagree (a frame lost), the newest set of the last
``FRAME_HISTORY`` frames per camera whose stamps agree is used; only when none does is the
cycle refused for camera skew. While active, a camera callback converts and resizes a frame
that arrives shortly before the next cycle (``prepare_frames_on_arrival``), so the cycle finds
it ready; earlier frames, which a newer one replaces before the cycle, are not converted.

A cycle that cannot build an observation (silent camera, stale joint states, malformed image,
empty prompt) publishes no chunk and says why on ``/diagnostics``; nothing a message contains
can raise out of a callback, and a ChangeState request that is not valid in the current state
is answered ``success=false``. Ages (``age_ms.*``) are taken when the observation is assembled,
on the receipt clock. Diagnostics are published on every inference cycle and once per
``diagnostics_period`` in every lifecycle state, so a failed configure is visible too.
Rates, timeouts, the default prompt and the observation limits are dynamic parameters.
"""

from collections import deque
import time
from typing import Any, Deque, Dict, List, Optional

from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from pi05_ros.messages.rtc import rtc_status_fields
from pi05_ros.messages.stamps import stamp_to_ns
from pi05_ros.messages.trajectory import chunk_to_joint_trajectory, JointTrajectoryTypes
from pi05_ros.nodes.diagnostics import diagnostic_array, ERROR, OK, WARN
from pi05_ros.nodes.inference_worker import CycleWorker
from pi05_ros.nodes.lifecycle import guard_change_state
from pi05_ros.nodes.params import (above_zero, at_least_zero, declare_parameters,
                                   ParameterError, ParamSpec, positive, read_parameter,
                                   STRING_ARRAY, watch_parameters)
from pi05_ros.nodes.spin import spin_node
from pi05_ros.observation_cache import JOINT_STATES, ObservationCache, ObservationNotReady
from pi05_ros.policy.devices import check_device
from pi05_ros.policy.rtc import RTC_PARAMETERS, settings_from_parameters
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Header, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

NODE_NAME = 'pi05_policy'
TRANSPORTS = {'raw': Image, 'compressed': CompressedImage}
# best effort (matches every camera driver), only the newest frame is kept: a take that comes
# late still returns the newest frame, never one of a backlog
CAMERA_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                        reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)
# a frame that arrives this many of its camera's frame intervals before the next cycle (or
# closer) is prepared on arrival; earlier ones would be replaced before the cycle uses them
PREPARE_LEAD_INTERVALS = 1.5
# recent frames kept per camera: when the newest stamps disagree (a frame lost on one camera),
# the newest set of recent frames whose stamps agree is used instead of refusing the cycle
FRAME_HISTORY = 4
# frame_rate_hz.<camera> in /diagnostics counts the frames received in this window
FRAME_RATE_WINDOW_NS = 3 * 10**9
# deactivate / cleanup wait this long for a running inference cycle to finish [s]
CYCLE_STOP_TIMEOUT = 10.0
# at process exit (SIGINT): a cycle still running then finishes without publishing [s]
EXIT_STOP_TIMEOUT = 1.0

POLICY_PARAMETERS = (
    ParamSpec('profile', 'droid',
              'Robot profile: a name in config/profiles/ or a path to a profile YAML.'),
    ParamSpec('checkpoint_dir', '', 'PI0.5 checkpoint directory (required to configure).'),
    ParamSpec('backend', 'local',
              "Inference: 'local' (in this process) or 'remote' (an openpi-protocol policy "
              'server at remote.uri: pi05-serve or openpi serve_policy.py).'),
    ParamSpec('remote.uri', 'ws://localhost:8000', 'Policy server of the remote backend.'),
    ParamSpec('remote.timeout', 2.0,
              'Remote backend: seconds to wait for a response (then no chunk; reconnects with '
              'backoff).', validate=above_zero),
    ParamSpec('remote.api_key', '',
              "Remote backend: sent as 'Authorization: Api-Key <key>' (pi05-serve --api-key, "
              'or a proxy in front of openpi serve_policy.py); empty: no key.'),
    ParamSpec('tokenizer_path', '',
              'PaliGemma SentencePiece model (empty: the one next to the checkpoint).'),
    ParamSpec('device', 'cpu', "Torch device: 'cpu', 'cuda', 'cuda:1', ... One this torch "
              'cannot use fails configure with one line (on a CPU build: how to install a CUDA '
              'one).'),
    ParamSpec('dtype', 'float32', "Model dtype: 'float32' or 'bfloat16'."),
    ParamSpec('torch_threads', 0,
              'torch.set_num_threads for CPU inference (0: leave torch the default).'),
    ParamSpec('num_steps', 0, 'Flow-matching denoising steps (0: the checkpoint default, 10).'),
    ParamSpec('default_prompt', '',
              "Prompt used until a message arrives on ~/prompt (empty: the profile's).",
              dynamic=True),
    ParamSpec('inference_rate_hz', 5.0, 'Inference cycles per second (at most one at a time).',
              dynamic=True, validate=above_zero),
    ParamSpec('warmup_iterations', 1, 'Inferences on a synthetic observation at configure.'),
    ParamSpec('autostart', False, 'Configure and activate at startup (no lifecycle manager).'),
    ParamSpec('joint_states_topic', '',
              "JointState topic, joints taken by name (empty: the profile's)."),
    ParamSpec('joint_names', STRING_ARRAY,
              "Joint order of state and actions (unset: the profile's joint names)."),
    ParamSpec('observation.max_image_age', 0.5,
              'A camera whose newest frame is older than this is silent [s].',
              dynamic=True, validate=above_zero),
    ParamSpec('observation.max_joint_state_age', 0.25,
              'Joint states older than this are stale [s].', dynamic=True, validate=above_zero),
    ParamSpec('observation.max_camera_skew', 0.1,
              'Largest spread of camera stamps in one observation [s] (0: unchecked).',
              dynamic=True, validate=at_least_zero),
    ParamSpec('publish_velocities', True,
              'Fill points[k].velocities of ~/action_chunk when the policy provides them.'),
    ParamSpec('frame_id', '', 'header.frame_id of ~/action_chunk.'),
    ParamSpec('prepare_frames_on_arrival', True,
              'While active, convert and resize a camera frame that arrives just before the '
              'next cycle in its callback, so the cycle finds it ready.'),
    ParamSpec('diagnostics_period', 1.0, 'Diagnostics period while not inferring [s].',
              dynamic=True, validate=above_zero),
) + tuple(ParamSpec(name, default, description) for name, default, description in RTC_PARAMETERS)


def camera_parameters(name: str, topic: str) -> tuple:
    """Return the parameters ``cameras.<name>.*`` (declared at configure, from the profile)."""
    return (
        ParamSpec(f'cameras.{name}.topic', topic,
                  f"Image topic of camera {name!r} (default: the profile's; + '/compressed' "
                  'with the compressed transport, as image_transport names it).'),
        ParamSpec(f'cameras.{name}.transport', 'raw',
                  "'raw' (sensor_msgs/Image) or 'compressed' (sensor_msgs/CompressedImage)."),
        ParamSpec(f'cameras.{name}.optional', False,
                  'If true, a silent camera leaves a masked black image instead of blocking.'),
    )


def check_values(specs, values: Dict[str, Any]) -> None:
    """Apply the specs' run-time validators to the start values: ParameterError if one fails."""
    for spec in specs:
        reason = spec.validate(values[spec.name], values) if spec.validate else None
        if reason:
            raise ParameterError(f'parameter {spec.name}: {reason}')


def seconds_to_ns(seconds: float, name: str) -> int:
    """Positive seconds -> integer nanoseconds; ValueError naming the parameter otherwise."""
    if not seconds > 0.0:
        raise ValueError(f'{name}: expected a positive number of seconds, got {seconds}')
    return int(round(seconds * 1e9))


def _now_ms() -> float:
    return time.perf_counter() * 1e3


class CycleStats:
    """Counters and the last cycle's numbers, for diagnostics."""

    def __init__(self):
        self.cycles = 0
        self.chunks_published = 0
        self.cycles_without_chunk = 0
        self.skipped_cycles = 0
        self.frames_prepared_on_arrival = 0
        self.last_cycle_start_ns: Optional[int] = None
        self.no_chunk_reasons: List[str] = []
        self.timing_ms: Dict[str, float] = {}
        self.ages_ms: Dict[str, str] = {}
        self.chunk_age_ms: Optional[float] = None


class PolicyNode(LifecycleNode):
    """Lifecycle node running a PI0.5 policy on live camera and joint-state streams."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        guard_change_state(self)
        self.params = declare_parameters(self, POLICY_PARAMETERS)
        check_values(POLICY_PARAMETERS, self.params)
        watch_parameters(self, POLICY_PARAMETERS, self.params, self._on_parameters_changed)
        self.camera_names: List[str] = []
        self._profile_camera_topics: Dict[str, str] = {}
        # per camera: monotonic receipt times of the frames of the last FRAME_RATE_WINDOW_NS
        self._arrivals_ns: Dict[str, Deque[int]] = {}
        self._worker = CycleWorker(self._inference_cycle, self._on_cycle_error)
        self._inferring = False
        self._policy = None
        self._rtc = None  # RtcRuntime while configured with rtc.enabled
        self._rtc_late: Optional[str] = None  # why the last RTC chunk came late
        self._cache = None
        self._input_subscriptions: list = []
        self._chunk_pub = None
        self._chunk_rtc_pub = None
        self._inference_timer = None
        self._lifecycle_status = 'unconfigured'
        self._error_message: Optional[str] = None
        self.stats = CycleStats()
        self._trajectory_types = JointTrajectoryTypes(
            joint_trajectory=JointTrajectory, joint_trajectory_point=JointTrajectoryPoint,
            header=Header, time=Time, duration=Duration)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diagnostics_timer = self.create_timer(positive(self.params, 'diagnostics_period'),
                                                    self._on_diagnostics_timer)

    # --- lifecycle ----------------------------------------------------------------------------

    def on_configure(self, state) -> TransitionCallbackReturn:
        self._error_message = None
        try:
            self._policy = self._load_policy()
            self._rtc = self._make_rtc()
            self._cache = self._make_cache()
            self._create_interfaces()
        except Exception as error:  # noqa: B902 -- any failure is reported, never a crash
            self._fail(f'configure failed: {type(error).__name__}: {error}')
            self._destroy_interfaces()
            self._policy = self._cache = self._rtc = None
            return TransitionCallbackReturn.FAILURE
        self._lifecycle_status = 'inactive'
        identity = self._identity()
        self.get_logger().info(f'configured: {identity.get("checkpoint")} '
                               f'({identity.get("config")}) on {identity.get("device")}')
        self.publish_diagnostics()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        self.stats.last_cycle_start_ns = None
        if self._rtc is not None:
            self._rtc.reset('activated')  # nothing of ours runs: the first chunk is plain
        self._worker.start()
        self._inferring = True
        self._lifecycle_status = 'active'
        self.get_logger().info('active: publishing action chunks')
        return result

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_inference()
        self._lifecycle_status = 'inactive'
        self.get_logger().info('inactive: no more action chunks')
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._stop_inference()
        self._destroy_interfaces()
        self._policy = self._cache = self._rtc = None
        self._lifecycle_status = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._stop_inference()
        self._destroy_interfaces()
        self._policy = self._cache = self._rtc = None
        self._lifecycle_status = 'finalized'
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state) -> TransitionCallbackReturn:
        self._stop_inference()
        self._destroy_interfaces()
        self._policy = self._cache = self._rtc = None
        self._fail('lifecycle error: cleaned up, back to unconfigured')
        return TransitionCallbackReturn.SUCCESS

    def _stop_inference(self, timeout: float = CYCLE_STOP_TIMEOUT) -> None:
        """No new cycle; wait for the running one (it publishes nothing once inference stops)."""
        self._inferring = False
        if not self._worker.stop(timeout):
            self.get_logger().warning(
                f'an inference cycle is still running after {timeout} s')

    def on_process_exit(self) -> None:
        """Stop inference and timers before the node is destroyed (``spin_node`` calls it)."""
        self._stop_inference(EXIT_STOP_TIMEOUT)
        for timer in (self._inference_timer, self._diagnostics_timer):
            if timer is not None:
                timer.cancel()

    def destroy_node(self) -> None:
        self._stop_inference(EXIT_STOP_TIMEOUT)
        super().destroy_node()

    @property
    def lifecycle_status(self) -> str:
        """'unconfigured', 'inactive', 'active' or 'finalized', as this node sees itself."""
        return self._lifecycle_status

    # --- configure helpers --------------------------------------------------------------------

    def _load_policy(self):
        from pi05_ros.policy.profiles import load_profile
        from pi05_ros.policy.runtime import Policy
        if self.params['backend'] == 'remote':
            return self._load_remote_policy()
        if self.params['backend'] != 'local':
            raise ValueError(f"backend: expected 'local' or 'remote', got "
                             f"{self.params['backend']!r}")
        if not self.params['checkpoint_dir']:
            raise ValueError('checkpoint_dir: expected a checkpoint directory, got an empty '
                             'string')
        check_device(self.params['device'], 'device')
        if self.params['torch_threads'] > 0:
            import torch
            torch.set_num_threads(self.params['torch_threads'])
        profile = load_profile(self.params['profile'], joint_names=self.params['joint_names'])
        self._declare_camera_parameters(profile)
        optional = any(self.params[f'cameras.{c}.optional'] for c in self.camera_names)
        policy = Policy.from_checkpoint(
            self.params['checkpoint_dir'], profile,
            tokenizer_path=self.params['tokenizer_path'] or None,
            device=self.params['device'], dtype=self.params['dtype'], warmup=False,
            num_steps=self.params['num_steps'] or None,
            allow_missing_cameras=optional)
        if self.params['warmup_iterations'] > 0:
            warmup_ms = policy.warmup(runs=self.params['warmup_iterations'])
            self.get_logger().info(f'warm-up inference: {warmup_ms:.1f} ms')
        return policy

    def _make_rtc(self):
        """Return the real-time-chunking runtime when ``rtc.enabled`` (None otherwise)."""
        settings = settings_from_parameters(self.params)
        if not settings.enabled:
            return None
        runtime = self._policy.rtc_runtime(settings)  # remote: the prefix goes to pi05-serve
        if self.params['backend'] == 'local' and self.params['warmup_iterations'] > 0:
            warmup_ms = self._policy.warmup(runs=1, guided=True)
            self.get_logger().info(f'guided (RTC) warm-up inference: {warmup_ms:.1f} ms')
        rows = 1e9 / self.params['inference_rate_hz'] / self._policy.profile.control_dt_ns
        if rows > settings.execution_horizon:
            self.get_logger().warning(
                f'rtc.execution_horizon {settings.execution_horizon} is below the '
                f'{rows:.1f} rows of one inference period: every cycle will be sampled '
                'plainly (late cycle)')
        self.get_logger().info(
            f'real-time chunking: s={settings.execution_horizon}, '
            f'beta={settings.guidance_weight_max}, schedule {settings.schedule}')
        return runtime

    def _load_remote_policy(self):
        """Return a RemotePolicy for ``remote.uri`` (an unreachable server: retried per cycle)."""
        from pi05_ros.policy.profiles import load_profile
        from pi05_ros.policy.remote import RemotePolicy
        profile = load_profile(self.params['profile'], joint_names=self.params['joint_names'])
        self._declare_camera_parameters(profile)
        policy = RemotePolicy(self.params['remote.uri'], profile,
                              timeout=self.params['remote.timeout'],
                              api_key=self.params['remote.api_key'] or None)
        try:
            meta = policy.connect()
            self.get_logger().info(f'remote policy server {policy.uri}: '
                                   f"{meta.get('server', 'openpi')} {meta.get('profile', '')}")
        except ValueError as error:
            self.get_logger().warning(f'remote policy server not reachable yet: {error}')
        return policy

    def _declare_camera_parameters(self, profile) -> None:
        """``cameras.<name>.*`` for each camera of the profile (once; kept across cleanup)."""
        self.camera_names = [camera.name for camera in profile.cameras]
        self._profile_camera_topics = {camera.name: camera.topic for camera in profile.cameras}
        for camera in profile.cameras:
            for spec in camera_parameters(camera.name, camera.topic):
                if not self.has_parameter(spec.name):
                    declare_parameters(self, [spec])
                self.params[spec.name] = read_parameter(self, spec.name)

    def camera_topic(self, camera: str) -> str:
        """
        Return the topic ``camera`` is read from.

        A camera left on its profile topic but switched to the compressed transport reads
        ``<topic>/compressed``, where image_transport publishes it: the raw topic carries
        sensor_msgs/Image, which a CompressedImage subscription could never match.
        """
        topic = self.params[f'cameras.{camera}.topic']
        if (self.params[f'cameras.{camera}.transport'] == 'compressed'
                and topic == self._profile_camera_topics.get(camera)
                and not topic.endswith('/compressed')):
            return topic.rstrip('/') + '/compressed'
        return topic

    def _joint_names(self) -> List[str]:
        return list(self._policy.profile.state_names)

    def _max_ages_ns(self) -> Dict[str, int]:
        image_age = seconds_to_ns(self.params['observation.max_image_age'],
                                  'observation.max_image_age')
        max_age = {name: image_age for name in self.camera_names}
        max_age[JOINT_STATES] = seconds_to_ns(self.params['observation.max_joint_state_age'],
                                              'observation.max_joint_state_age')
        return max_age

    def _max_skew_ns(self) -> Optional[int]:
        skew = self.params['observation.max_camera_skew']
        return seconds_to_ns(skew, 'observation.max_camera_skew') if skew else None

    def _default_prompt(self) -> str:
        return self.params['default_prompt'] or self._policy.profile.default_prompt or ''

    def _make_cache(self):
        return ObservationCache(
            self.camera_names, self._joint_names(), self._max_ages_ns(),
            max_skew_ns=self._max_skew_ns(), default_prompt=self._default_prompt(),
            optional_cameras=[c for c in self.camera_names
                              if self.params[f'cameras.{c}.optional']],
            frame_history=FRAME_HISTORY)

    def _on_parameters_changed(self, names: List[str]) -> Optional[str]:
        """Apply run-time changes of the dynamic parameters (already validated)."""
        if 'inference_rate_hz' in names and self._inference_timer is not None:
            self._inference_timer.timer_period_ns = int(round(
                1e9 / self.params['inference_rate_hz']))
        if 'diagnostics_period' in names:
            self._diagnostics_timer.timer_period_ns = int(round(
                1e9 * self.params['diagnostics_period']))
        cache = self._cache
        if cache is not None and any(n.startswith('observation.') for n in names):
            cache.set_limits(max_age_ns=self._max_ages_ns(), max_skew_ns=self._max_skew_ns(),
                             skew_unchecked=self._max_skew_ns() is None)
        if cache is not None and 'default_prompt' in names:
            cache.set_limits(default_prompt=self._default_prompt())
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{n}={self.params[n]!r}' for n in names))
        return None

    def _create_interfaces(self) -> None:
        for name in self.camera_names:
            transport = self.params[f'cameras.{name}.transport']
            if transport not in TRANSPORTS:
                raise ValueError(f'cameras.{name}.transport: expected one of '
                                 f'{sorted(TRANSPORTS)}, got {transport!r}')
            self._input_subscriptions.append(self.create_subscription(
                TRANSPORTS[transport], self.camera_topic(name),
                self._image_callback(name), CAMERA_QOS))
        # joint states keep sensor-data depth 5: an arm and a gripper may publish separately
        self._input_subscriptions.append(self.create_subscription(
            JointState,
            self.params['joint_states_topic'] or self._policy.profile.joint_states_topic,
            self._on_joint_state, qos_profile_sensor_data))
        latched = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._input_subscriptions.append(self.create_subscription(
            String, '~/prompt', self._on_prompt, latched))
        self._chunk_pub = self.create_lifecycle_publisher(JointTrajectory, '~/action_chunk', 10)
        self._chunk_rtc_pub = self.create_lifecycle_publisher(DiagnosticStatus,
                                                              '~/action_chunk_rtc', 10)
        rate = positive(self.params, 'inference_rate_hz')
        self._inference_timer = self.create_timer(1.0 / rate, self._on_inference_timer)

    def _destroy_interfaces(self) -> None:
        for sub in self._input_subscriptions:
            self.destroy_subscription(sub)
        self._input_subscriptions = []
        if self._inference_timer is not None:
            self.destroy_timer(self._inference_timer)
            self._inference_timer = None
        for publisher in (self._chunk_pub, self._chunk_rtc_pub):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._chunk_pub = self._chunk_rtc_pub = None

    # --- subscriptions: store (and prepare frames) -----------------------------------------------

    def _receipt_stamp_ns(self, msg) -> int:
        """header.stamp in ns, or the receipt time when the stamp is zero."""
        stamp_ns = stamp_to_ns(msg.header.stamp)
        return stamp_ns if stamp_ns > 0 else self._now_ns()

    def _image_callback(self, camera: str):
        def on_image(msg) -> None:
            cache = self._cache
            if cache is None:
                return
            try:
                cache.put_image(camera, msg, self._receipt_stamp_ns(msg))
            except Exception as error:  # noqa: B902 -- never raise out of a callback
                self.get_logger().warning(f'camera {camera!r}: message refused: {error}',
                                          throttle_duration_sec=2.0)
                return
            interval_ns = self._note_arrival(camera)
            if self._inferring and self.params['prepare_frames_on_arrival']:
                if self._cycle_due_before_next_frame(interval_ns):
                    self._prepare_frame(cache, camera)
        return on_image

    def _note_arrival(self, camera: str) -> Optional[int]:
        """Record that a frame of ``camera`` arrived; return the time since its previous one."""
        now_ns = time.monotonic_ns()
        arrivals = self._arrivals_ns.setdefault(camera, deque())
        last_ns = arrivals[-1] if arrivals else None
        arrivals.append(now_ns)
        while arrivals[0] < now_ns - FRAME_RATE_WINDOW_NS:
            arrivals.popleft()
        return None if last_ns is None else now_ns - last_ns

    def _cycle_due_before_next_frame(self, interval_ns: Optional[int]) -> bool:
        """Tell whether the next cycle will likely use the frame that just arrived."""
        timer = self._inference_timer
        if interval_ns is None or timer is None:
            return True
        until_next_ns = timer.time_until_next_call()
        if until_next_ns is None:
            return False
        return until_next_ns <= PREPARE_LEAD_INTERVALS * interval_ns

    def frame_rates_hz(self) -> Dict[str, float]:
        """Frames received per second by each camera over the last few seconds (0: silent)."""
        now_ns = time.monotonic_ns()
        rates = {}
        for camera, arrivals in list(self._arrivals_ns.items()):
            recent = [t for t in list(arrivals) if t >= now_ns - FRAME_RATE_WINDOW_NS]
            span_ns = recent[-1] - recent[0] if len(recent) > 1 else 0
            rates[camera] = (len(recent) - 1) * 1e9 / span_ns if span_ns > 0 else 0.0
        return rates

    def _prepare_frame(self, cache, camera: str) -> None:
        """Convert and resize ``camera``'s newest frame now, so the next cycle finds it ready."""
        transforms = getattr(self._policy, 'transforms', None)
        if transforms is None:
            return
        try:
            rgb = cache.image(camera)
            if rgb is not None:
                transforms.prepare_image(camera, rgb)
                self.stats.frames_prepared_on_arrival += 1
        except Exception:  # noqa: B902 -- assemble / preprocess report it in the cycle
            pass

    def _on_joint_state(self, msg) -> None:
        cache = self._cache
        if cache is None:
            return
        try:
            cache.put_joint_state(msg, self._receipt_stamp_ns(msg))
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.get_logger().warning(f'joint states: message refused: {error}',
                                      throttle_duration_sec=2.0)

    def _on_prompt(self, msg) -> None:
        cache = self._cache
        if cache is None:
            return
        try:
            cache.put_prompt(msg.data, self._now_ns())
            self.get_logger().info(f'prompt: {msg.data!r}')
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.get_logger().warning(f'prompt refused: {error}', throttle_duration_sec=2.0)

    # --- inference ----------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _count_missed_periods(self, now_ns: int) -> None:
        """Periods that passed without a tick (the timer itself was late)."""
        period_ns = 1e9 / self.params['inference_rate_hz']
        last = self.stats.last_cycle_start_ns
        if last is not None and now_ns - last > 1.5 * period_ns:
            self.stats.skipped_cycles += int(round((now_ns - last) / period_ns)) - 1
        self.stats.last_cycle_start_ns = now_ns

    def _on_inference_timer(self) -> None:
        """Executor thread: tick the inference thread (after the running cycle, if any)."""
        if not self._inferring:
            return
        self._count_missed_periods(self._now_ns())
        if not self._worker.tick():
            self.stats.skipped_cycles += 1  # one cycle runs and another waits: skip this one

    def _inference_cycle(self) -> None:
        """Inference thread: one cycle, then diagnostics."""
        if not self._inferring or self._cache is None:
            return
        try:
            self.run_cycle(self._now_ns())
        except Exception as error:  # noqa: B902 -- reported, never raised
            if not self._inferring:
                return  # deactivated or exiting meanwhile: the node may be going away
            self._no_chunk([f'inference failed: {type(error).__name__}: {error}'])
            self.get_logger().error(f'inference failed: {error}', throttle_duration_sec=2.0)
        if self._inferring:
            self._publish_diagnostics_logged()

    def _on_cycle_error(self, error: BaseException) -> None:
        self.get_logger().error(f'inference thread: {type(error).__name__}: {error}',
                                throttle_duration_sec=2.0)

    def run_cycle(self, now_ns: int) -> bool:
        """
        One inference cycle, assembling the observation at ``now_ns``: True if a chunk went out.

        ``age_ms.*`` are the ages of the sources at ``now_ns`` (the observation time, on the
        receipt clock); ``latency_ms.newest_frame_to_publish_ms`` is from the newest camera
        stamp used to the chunk's publication.
        """
        self.stats.cycles += 1
        cache, policy = self._cache, self._policy
        timing: Dict[str, float] = {}
        start = _now_ms()
        try:
            observation = cache.assemble(now_ns)
        except ObservationNotReady as not_ready:
            self.stats.ages_ms = _ages_text(not_ready.ages_ns)
            self._no_chunk(not_ready.reasons)
            return False
        timing['node_assemble_ms'] = _now_ms() - start
        ages = {source: now_ns - stamp for source, stamp in
                observation.source_stamps_ns.items()}
        mark = _now_ms()
        rtc = self._rtc
        chunk = policy.infer(observation) if rtc is None else rtc.infer(policy, observation)
        timing['policy_infer_ms'] = _now_ms() - mark
        mark = _now_ms()
        msg = chunk_to_joint_trajectory(chunk, self._trajectory_types,
                                        frame_id=self.params['frame_id'],
                                        include_velocities=self.params['publish_velocities'])
        timing['node_to_msg_ms'] = _now_ms() - mark
        if not self._inferring:  # deactivated (or exiting) while inferring: no chunk
            return False
        mark = _now_ms()
        if chunk.rtc is not None:  # first: the executor matches it to the chunk by stamp
            fields = rtc_status_fields(chunk.stamp_ns, chunk.rtc)
            fields['values'] = [KeyValue(key=k, value=v) for k, v in fields['values']]
            self._chunk_rtc_pub.publish(DiagnosticStatus(**fields))
        self._chunk_pub.publish(msg)
        published_ns = self._now_ns()
        if rtc is not None:  # observation to publication: the delay the next d comes from
            self._rtc_late = rtc.record_delay(chunk.stamp_ns, published_ns)
        timing['node_publish_ms'] = _now_ms() - mark
        timing['cycle_ms'] = _now_ms() - start
        camera_stamps = [stamp for source, stamp in observation.source_stamps_ns.items()
                         if source != JOINT_STATES]
        if camera_stamps:
            timing['newest_frame_to_publish_ms'] = (published_ns - max(camera_stamps)) / 1e6
        timing.update({f'policy.{k}': float(v) for k, v in dict(chunk.timing_ms).items()})
        self.stats.timing_ms = timing
        self.stats.ages_ms = _ages_text(ages)
        self.stats.chunk_age_ms = (published_ns - chunk.stamp_ns) / 1e6
        self.stats.chunks_published += 1
        self.stats.no_chunk_reasons = []
        return True

    def _no_chunk(self, reasons: List[str]) -> None:
        self.stats.cycles_without_chunk += 1
        self.stats.no_chunk_reasons = list(reasons)
        self.get_logger().warning('no chunk: ' + '; '.join(reasons), throttle_duration_sec=2.0)

    def _fail(self, message: str) -> None:
        self._error_message = message
        self._lifecycle_status = 'unconfigured'
        self.get_logger().error(message)
        self.publish_diagnostics()

    # --- diagnostics --------------------------------------------------------------------------

    def _identity(self) -> Dict[str, str]:
        return {} if self._policy is None else dict(self._policy.model_identity)

    def _on_diagnostics_timer(self) -> None:
        if not self._inferring:  # while inferring, every cycle publishes them
            self._publish_diagnostics_logged()

    def _publish_diagnostics_logged(self) -> None:
        try:
            self.publish_diagnostics()
        except Exception as error:  # noqa: B902 -- never raise out of a callback
            self.get_logger().error(f'diagnostics failed: {error}', throttle_duration_sec=5.0)

    def diagnostics_values(self) -> Dict[str, Any]:
        stats = self.stats
        values: Dict[str, Any] = {
            'lifecycle_state': self._lifecycle_status,
            'checkpoint_dir': self.params['checkpoint_dir'],
            'profile': self.params['profile'],
            'device': self.params['device'], 'dtype': self.params['dtype'],
            'cycles': stats.cycles, 'chunks_published': stats.chunks_published,
            'cycles_without_chunk': stats.cycles_without_chunk,
            'skipped_cycles': stats.skipped_cycles,
            'frames_prepared_on_arrival': stats.frames_prepared_on_arrival,
            'no_chunk_reason': '; '.join(stats.no_chunk_reasons) or 'none',
            'error': self._error_message or 'none',
        }
        values.update({f'model.{k}': v for k, v in self._identity().items()})
        if stats.chunk_age_ms is not None:
            values['chunk_age_at_publish_ms'] = stats.chunk_age_ms
        values.update({f'age_ms.{k}': v for k, v in stats.ages_ms.items()})
        values.update({f'frame_rate_hz.{k}': v for k, v in self.frame_rates_hz().items()})
        values.update({f'latency_ms.{k}': v for k, v in stats.timing_ms.items()})
        rtc = self._rtc
        if rtc is None:
            values['rtc.enabled'] = False
        else:
            values.update(rtc.status())
            values['rtc.last_late'] = self._rtc_late or 'none'
        return values

    def publish_diagnostics(self) -> None:
        """Publish one DiagnosticArray with the node's state, latencies and reasons."""
        if self._error_message:
            level, message = ERROR, self._error_message
        elif self.stats.no_chunk_reasons:
            level, message = WARN, 'no chunk: ' + '; '.join(self.stats.no_chunk_reasons)
        else:
            level, message = OK, self._lifecycle_status
        self._diagnostics_pub.publish(diagnostic_array(
            self.get_clock().now().to_msg(), f'{self.get_name()}: policy',
            self.get_fully_qualified_name(), level, message, self.diagnostics_values()))


def _ages_text(ages_ns: Dict[str, Optional[int]]) -> Dict[str, str]:
    return {k: ('never' if v is None else f'{v / 1e6:.1f}') for k, v in ages_ns.items()}


def _autostart(node: PolicyNode) -> None:
    """Configure and activate now when ``autostart`` is true (no lifecycle manager needed)."""
    if read_parameter(node, 'autostart'):
        node.trigger_configure()
        if node.lifecycle_status == 'inactive':
            node.trigger_activate()


def main(args=None) -> None:
    # one executor thread (a SingleThreadedExecutor): callbacks are short, inference has its own
    spin_node(PolicyNode, num_threads=1, args=args, on_start=_autostart, large_frames=True)


if __name__ == '__main__':
    main()
