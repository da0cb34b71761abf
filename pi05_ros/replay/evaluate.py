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
Replay evaluation: what the live policy node and executor would have done on a recording.

Messages are read from the bag in bag-time order and fed to the same
:class:`~pi05_ros.observation_cache.ObservationCache`, image conversion,
:class:`~pi05_ros.policy.runtime.Policy` and
:class:`~pi05_ros.control.executor.TrajectoryExecutor` the live nodes use. The bag's clock
drives everything: inference cycles at ``inference_rate_hz`` (at most one at a time), a chunk
computed at ``t`` reaches the executor at ``t + delay``, and the executor ticks at
``executor_rate_hz``. The delay is simulated: by default the measured model latency of the run
(each chunk waits the median of the per-chunk inference times measured up to it), or a fixed
``inference_delay_ms`` (0: no delay). Flow-matching noise is drawn from a generator seeded with
``seed``, so a bag, checkpoint, seed and fixed delay give the same predictions, commands and
error metrics every time (measured latencies differ, of course).

Joint states reach the executor as they reach the live node: stamped with their header stamp
(``use_header_stamps``) and received at their bag time. Every executed tick is checked against
the position, velocity, acceleration and jerk limits
(:func:`pi05_ros.replay.metrics.limit_exceedances`).
"""

from collections import Counter
from dataclasses import dataclass, field, replace
import heapq
import math
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog, log_metrics
from pi05_ros.control.mode_switch import ModeSwitchConfig
from pi05_ros.messages import (
    chunk_to_joint_trajectory, header_stamp_ns, ImageConversionError, JointTrajectoryTypes,
    message_to_rgb)
from pi05_ros.names import absolute_topic
from pi05_ros.observation_cache import JOINT_STATES, ObservationCache, ObservationNotReady
from pi05_ros.policy.rtc import RtcSettings
from pi05_ros.replay import metrics as replay_metrics
from pi05_ros.replay import ros_types, rtc_compare
from pi05_ros.replay.bag_io import BagError, BagMessage, BagReader, BagWriter, describe
from pi05_ros.replay.baselines import ChunkInput, score_baselines
from pi05_ros.replay.chunk_context import prompt_timeline, read_frames, worst_chunk_entries
from pi05_ros.replay.ground_truth import GroundTruth, JOINT_STATE, JointStateMerger, TRUTH_TYPES
from pi05_ros.replay.modes import detect_mode_topics, ModeEventLog, ModeTopics, replay_modes
from pi05_ros.replay.verdict import verdicts

NS_PER_S = 1_000_000_000
STRING = 'std_msgs/msg/String'
IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
OUTPUT_CHUNK_TOPIC = '/replay/action_chunk'
OUTPUT_COMMAND_TOPIC = '/replay/command'


class ReplayInputError(BagError):
    """The bag's content cannot be evaluated (wrong type, unsupported image, ...)."""


@dataclass
class ReplayOptions:
    """Everything that decides a replay run besides the bag, the profile and the policy."""

    camera_topics: Mapping[str, str] = field(default_factory=dict)  # camera -> topic override
    joint_states_topic: Optional[str] = None  # None: the profile's
    prompt_topic: Optional[str] = None  # None: a String topic named '*prompt' if the bag has one
    prompt: Optional[str] = None  # prompt until the bag has one (None: the profile's default)
    truth_topic: Optional[str] = None  # recorded commands; None: future joint states
    inference_rate_hz: float = 5.0
    inference_delay_ms: Optional[float] = None  # None: the measured model latency; 0: none
    executor_rate_hz: float = 100.0
    seed: int = 0
    start_offset_s: float = 0.0
    duration_s: Optional[float] = None
    max_inferences: Optional[int] = None
    max_image_age_s: float = 0.5
    max_joint_state_age_s: float = 0.25
    max_camera_skew_s: Optional[float] = 0.1
    use_header_stamps: bool = True  # False: every source stamped with its bag time
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    mode_config: Optional[ModeSwitchConfig] = None  # None: the ModeSwitchConfig defaults
    max_velocity: float = 2.0  # rad/s, default limits when none are given
    max_acceleration: float = 10.0  # rad/s^2
    output_bag: Optional[Path] = None
    output_bag_storage: str = 'mcap'
    # ModeTopics field -> topic ('' disables); requests / intervention / mode found by name
    mode_topics: Mapping[str, str] = field(default_factory=dict)
    rtc: Optional[RtcSettings] = None  # real-time chunking as the policy node's rtc.* (None: off)

    def __post_init__(self):
        for name in ('inference_rate_hz', 'executor_rate_hz', 'max_image_age_s',
                     'max_joint_state_age_s', 'max_velocity', 'max_acceleration'):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f'{name}: expected a positive number, got {value!r}')
        delay = self.inference_delay_ms
        if delay is not None and not (isinstance(delay, (int, float)) and math.isfinite(delay)
                                      and delay >= 0):
            raise ValueError(f'inference_delay_ms: expected >= 0 or None (the measured model '
                             f'latency), got {delay!r}')
        if self.start_offset_s < 0:
            raise ValueError(f'start_offset_s: expected >= 0, got {self.start_offset_s}')
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f'duration_s: expected a positive number, got {self.duration_s}')


@dataclass(frozen=True)
class ReplayTopics:
    """Which bag topic feeds which input."""

    cameras: Dict[str, str]  # camera name -> topic
    joint_states: str
    prompt: Optional[str]
    truth: Optional[str]  # None: future joint states
    truth_type: str

    def replayed(self) -> List[str]:
        """Every topic the replay reads."""
        topics = list(self.cameras.values()) + [self.joint_states]
        topics += [t for t in (self.prompt, self.truth) if t and t not in topics]
        return topics


def select_topics(reader: BagReader, profile, options: ReplayOptions) -> ReplayTopics:
    """Topics from the profile defaults and the options; MissingTopicError lists the bag's."""
    unknown = sorted(set(options.camera_topics) - set(profile.camera_names))
    if unknown:
        raise ValueError(f'camera_topics: unknown cameras {unknown}; profile {profile.name!r} '
                         f'has {list(profile.camera_names)}')
    # profile topics are relative (node namespace); a bag holds fully qualified names
    cameras = {c.name: absolute_topic(options.camera_topics.get(c.name, c.topic))
               for c in profile.cameras}
    joint_states = absolute_topic(options.joint_states_topic or profile.joint_states_topic)
    reader.require_topics(list(cameras.values()), what='camera')
    reader.require_topics([joint_states], what='joint states')
    bag_types = reader.topics
    for camera, topic in cameras.items():
        if bag_types[topic] not in IMAGE_TYPES:
            raise ReplayInputError(reader.path, f'camera {camera!r}: expected one of '
                                   f'{IMAGE_TYPES}, got {bag_types[topic]}', topic=topic)
    if bag_types[joint_states] != JOINT_STATE:
        raise ReplayInputError(reader.path, f'joint states: expected {JOINT_STATE}, got '
                               f'{bag_types[joint_states]}', topic=joint_states)
    prompt = options.prompt_topic
    if prompt is None:
        candidates = sorted(t for t, m in bag_types.items()
                            if m == STRING and t.rstrip('/').endswith('prompt'))
        prompt = candidates[0] if candidates else None
    elif prompt:
        reader.require_topics([prompt], what='prompt')
        if bag_types[prompt] != STRING:
            raise ReplayInputError(reader.path, f'prompt: expected {STRING}, got '
                                   f'{bag_types[prompt]}', topic=prompt)
    truth = options.truth_topic or None
    truth_type = JOINT_STATE
    if truth:
        reader.require_topics([truth], what='ground-truth')
        truth_type = bag_types[truth]
        if truth_type not in TRUTH_TYPES:
            raise ReplayInputError(reader.path, f'ground truth: expected one of {TRUTH_TYPES}, '
                                   f'got {truth_type}', topic=truth)
    return ReplayTopics(cameras, joint_states, prompt or None, truth, truth_type)


def check_bag(bag_path, profile, options: ReplayOptions) -> ReplayTopics:
    """
    Open the bag, select its topics and convert each camera's first frame.

    Fails fast, before a model is loaded, with the same errors the replay would raise.
    """
    with BagReader(bag_path) as reader:
        select_mode_topics(reader, options)
        topics = select_topics(reader, profile, options)
        needed = list(topics.cameras.values()) + [topics.joint_states]
        needed += [topics.truth] if topics.truth else []
        for topic in _unique(needed):
            first = next(iter(reader.messages([topic])), None)
            if first is None:
                raise ReplayInputError(reader.path, _unreadable(reader.message_count([topic])),
                                       topic=topic)
            if topic in topics.cameras.values():
                _convert_or_raise(reader.path, topic, first.msg)
        return topics


def _unreadable(listed: int) -> str:
    if listed == 0:
        return 'the topic has no messages'
    # rosbags matches storage channels to metadata.yaml topics by type, format and QoS
    return (f'metadata.yaml lists {listed} messages but none could be read: its topic entry '
            '(type, serialization_format, offered_qos_profiles) does not match the storage '
            "file's")


def _convert_or_raise(bag_path: Path, topic: str, msg) -> None:
    try:
        message_to_rgb(msg)
    except (ImageConversionError, ValueError) as err:
        raise ReplayInputError(bag_path, f'cannot convert image: {err}', topic=topic) from err


def default_limits(joint_names, max_velocity: float, max_acceleration: float) -> JointLimits:
    """Limits for a bag without a URDF: unbounded positions, the given velocity/acceleration."""
    n = len(joint_names)
    return JointLimits(tuple(joint_names), np.full(n, -np.inf), np.full(n, np.inf),
                       np.full(n, float(max_velocity)), np.full(n, float(max_acceleration)))


def executor_summary(limits: JointLimits, config: ExecutorConfig,
                     rate_hz: float) -> Dict[str, object]:
    """Return the limits (per joint; None: unbounded/none) and settings the replay used."""
    jerk = limits.max_jerk if limits.max_jerk is not None else [None] * limits.num_joints
    return {
        'rate_hz': rate_hz,
        'interpolation': config.interpolation,
        'blend_window_s': config.blend_window_s,
        'max_blend_window_s': config.max_blend_window_s,
        'max_chunk_age_s': config.max_chunk_age_s,
        'state_timeout_s': config.state_timeout_s,
        'chunk_timeout_s': config.chunk_timeout_s,
        'max_first_row_deviation': np.asarray(config.max_first_row_deviation).tolist(),
        'row_velocity_factor': config.row_velocity_factor,
        'position_limit_margin': config.position_limit_margin,
        'limits': {name: {'lower': float(limits.lower[j]), 'upper': float(limits.upper[j]),
                          'max_velocity': float(limits.max_velocity[j]),
                          'max_acceleration': float(limits.max_acceleration[j]),
                          'max_jerk': None if jerk[j] is None else float(jerk[j])}
                   for j, name in enumerate(limits.joint_names)},
    }


@dataclass
class ReplayRecord:
    """Everything a run produced, kept as it happened (enough for a partial report)."""

    joint_names: Tuple[str, ...]
    dt_ns: int
    chunks: List[ActionChunk] = field(default_factory=list)
    chunk_available_ns: List[int] = field(default_factory=list)
    chunk_delay_ms: List[float] = field(default_factory=list)  # simulated delay of each chunk
    timings: List[Dict[str, float]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    prompts: List[Tuple[int, str]] = field(default_factory=list)
    log: CommandLog = field(default_factory=CommandLog)
    # every command tick() returned, with its accelerations (the log keeps no accelerations)
    tick_times_ns: List[int] = field(default_factory=list)
    tick_states: List[Tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    chunk_inputs: List[ChunkInput] = field(default_factory=list)  # what each chunk saw
    # every joint state passed to the executor: (stamp_ns, received_ns, positions)
    joint_states: List[Tuple[int, int, np.ndarray]] = field(default_factory=list)
    inference_cycles: int = 0
    start_ns: int = 0
    end_ns: int = 0  # the bag time replayed up to
    interrupted: bool = False


class Replayer:
    """
    Feeds bag messages and the simulated clock to cache, policy and executor.

    Call :meth:`feed` with every message in bag-time order, then :meth:`finish`. Internal events
    (executor ticks, inference cycles, chunk deliveries) strictly before a message's time run
    before it is delivered; at equal times a delivery comes before an inference, and both before
    a tick.
    """

    def __init__(self, policy, profile, topics: ReplayTopics, options: ReplayOptions,
                 limits: JointLimits, bag_path: Path, start_ns: int,
                 writer: Optional[BagWriter] = None,
                 on_inference: Optional[Callable[['Replayer'], None]] = None):
        self.policy = policy
        self.profile = profile
        self.topics = topics
        self.options = options
        self.bag_path = bag_path
        self.writer = writer
        self.on_inference = on_inference
        joint_names = tuple(profile.joint_names)
        self.record = ReplayRecord(joint_names, profile.control_dt_ns, start_ns=start_ns,
                                   end_ns=start_ns)
        self.truth = GroundTruth(topics.truth_type, joint_names, measured=topics.truth is None)
        self.cache = ObservationCache(
            profile.camera_names, joint_names,
            max_age_ns={**{c: _ns(options.max_image_age_s) for c in profile.camera_names},
                        JOINT_STATES: _ns(options.max_joint_state_age_s)},
            max_skew_ns=(_ns(options.max_camera_skew_s) if options.max_camera_skew_s else None),
            default_prompt=(options.prompt if options.prompt is not None
                            else (profile.default_prompt or '')))
        self.executor = TrajectoryExecutor(limits, options.executor, log=self.record.log)
        self._joint_merger = JointStateMerger(joint_names)
        self._truth_last: Tuple[Optional[int], int] = (None, 0)  # bag time, messages at it
        self._camera_of_topic = {t: c for c, t in topics.cameras.items()}
        self._checked_formats: Dict[str, str] = {}
        self._rng = np.random.default_rng(options.seed)
        self._noise_shape = policy.noise_shape  # None: a remote server draws its own noise
        self._period_ns = _ns(1.0 / options.inference_rate_hz)
        self._tick_ns = _ns(1.0 / options.executor_rate_hz)
        self._fixed_delay_ms = options.inference_delay_ms  # None: measured
        self._next_infer_ns = start_ns + self._period_ns
        self._next_tick_ns = start_ns + self._tick_ns
        self._deliveries: List[Tuple[int, int, ActionChunk]] = []  # heap of (time, seq, chunk)
        self._busy_until_ns = start_ns
        self._trajectory_types = (JointTrajectoryTypes.from_typestore(ros_types.STORE)
                                  if writer is not None else None)
        # real-time chunking (pi05-replay --rtc): the policy node's runtime, on the bag clock.
        # The recorded robot did not run the replayed chunks, so the state check is off; the
        # replay resets the runtime on the executor's holds and refusals instead.
        self.rtc = (policy.rtc_runtime(replace(options.rtc, max_state_deviation=math.inf))
                    if options.rtc is not None and options.rtc.enabled else None)
        self.chunks_continued = 0  # RTC chunks the executor took without a blend

    # --- messages ---------------------------------------------------------------------------

    def feed(self, message: BagMessage) -> None:
        """Advance the clock to the message's bag time and deliver it."""
        self.advance(message.time_ns, inclusive=False)
        topic, msg = message.topic, message.msg
        try:
            if topic in self._camera_of_topic:
                self._check_image(topic, msg)
                self.cache.put_image(self._camera_of_topic[topic], msg,
                                     self._stamp(msg, message.time_ns))
            if topic == self.topics.joint_states:
                stamp = self._stamp(msg, message.time_ns)
                self.cache.put_joint_state(msg, stamp)
                self._update_executor_state(msg, stamp, message.time_ns)
            if topic == self.topics.prompt:
                self.cache.put_prompt(msg.data, message.time_ns)
                self.record.prompts.append((message.time_ns, str(msg.data)))
            if topic == self.truth_topic:
                self._add_truth(message)
        except (ValueError, TypeError, AttributeError) as err:
            if isinstance(err, BagError):
                raise
            raise ReplayInputError(self.bag_path, f'bad {message.msgtype} message at bag time '
                                   f'{message.time_ns} ns: {describe(err)}', topic=topic) from err

    @property
    def truth_topic(self) -> str:
        return self.topics.truth or self.topics.joint_states

    def _add_truth(self, message: BagMessage) -> None:
        self.truth.add(message.msg, message.time_ns)
        if message.time_ns == self._truth_last[0]:
            self._truth_last = (message.time_ns, self._truth_last[1] + 1)
        else:
            self._truth_last = (message.time_ns, 1)

    def extend_truth(self, reader: BagReader) -> None:
        """
        Read the truth recorded after the replay stopped, up to the last chunk's last row.

        A run cut short by ``duration_s`` or ``max_inferences`` still scores every row of its
        last chunks against what the bag holds.
        """
        if not self.record.chunks:
            return
        end_ns = max(int(c.row_times_ns()[-1]) for c in self.record.chunks)
        last_ns, count_at_last = self._truth_last
        start_ns = self.record.start_ns if last_ns is None else last_ns
        if end_ns <= start_ns:
            return
        for message in reader.messages([self.truth_topic], start_ns=start_ns,
                                       stop_ns=end_ns + 1):
            if message.time_ns == last_ns and count_at_last > 0:
                count_at_last -= 1  # already added before the replay stopped
                continue
            try:
                self._add_truth(message)
            except (ValueError, TypeError, AttributeError) as err:
                raise ReplayInputError(self.bag_path, f'bad {message.msgtype} message at bag '
                                       f'time {message.time_ns} ns: {describe(err)}',
                                       topic=message.topic) from err

    def _stamp(self, msg, bag_time_ns: int) -> int:
        if not self.options.use_header_stamps:
            return int(bag_time_ns)
        stamp = header_stamp_ns(msg)
        return stamp if stamp > 0 else int(bag_time_ns)

    def _check_image(self, topic: str, msg) -> None:
        """Convert a camera's first frame (and any frame of a new format) once, to fail early."""
        fmt = f'{getattr(msg, "encoding", "")}|{getattr(msg, "format", "")}'
        if self._checked_formats.get(topic) == fmt:
            return
        _convert_or_raise(self.bag_path, topic, msg)
        self._checked_formats[topic] = fmt

    def _update_executor_state(self, msg, stamp_ns: int, received_ns: int) -> None:
        """Pass a joint state as the node does: header stamp, received at its bag time."""
        try:
            positions = self._joint_merger.add(msg)  # arm and gripper may come split
        except ValueError:
            return  # malformed: the cache reports it for the next inference
        if positions is not None:
            self.record.joint_states.append((int(stamp_ns), int(received_ns), positions))
            self.executor.update_joint_state(positions, stamp_ns, received_ns)

    # --- simulated clock --------------------------------------------------------------------

    def advance(self, until_ns: int, inclusive: bool) -> None:
        """Run every internal event before ``until_ns`` (and at it, when ``inclusive``)."""
        while True:
            delivery_ns = self._deliveries[0][0] if self._deliveries else math.inf
            t = min(delivery_ns, self._next_infer_ns, self._next_tick_ns)
            if t > until_ns or (t == until_ns and not inclusive):
                break
            if delivery_ns == t:
                _, _, chunk = heapq.heappop(self._deliveries)
                self._deliver(chunk, t)
            elif self._next_infer_ns == t:
                self._next_infer_ns += self._period_ns
                self._infer(t)
            else:
                self._next_tick_ns += self._tick_ns
                self._tick(t)
            self.record.end_ns = t
        self.record.end_ns = max(self.record.end_ns, until_ns)

    def _infer(self, now_ns: int) -> None:
        self.record.inference_cycles += 1
        if now_ns < self._busy_until_ns:
            self.record.skipped['previous inference still running'] += 1
            return
        try:
            observation = self.cache.assemble(now_ns)
        except ObservationNotReady as not_ready:
            self._raise_on_malformed_image(not_ready.reasons)
            for reason in not_ready.reasons:
                self.record.skipped[_reason_kind(reason)] += 1
            return
        noise = (None if self._noise_shape is None else
                 self._rng.standard_normal(self._noise_shape).astype(np.float32))
        chunk = self._policy_chunk(observation, noise)
        self.record.timings.append(dict(chunk.timing_ms))
        delay_ms = self._delay_ms()
        available_ns = now_ns + int(round(delay_ms * 1e6))
        self._busy_until_ns = available_ns
        if self.rtc is not None:  # observation to execution, as the node measures it
            self.rtc.record_delay(chunk.stamp_ns, available_ns)
        self.record.chunks.append(chunk)
        self.record.chunk_inputs.append(ChunkInput(
            np.array(observation.state, dtype=np.float64),
            int(observation.source_stamps_ns.get(JOINT_STATES, observation.stamp_ns)),
            {c: int(s) for c, s in observation.source_stamps_ns.items() if c != JOINT_STATES},
            observation.prompt))
        self.record.chunk_available_ns.append(available_ns)
        self.record.chunk_delay_ms.append(delay_ms)
        heapq.heappush(self._deliveries, (available_ns, len(self.record.chunks), chunk))
        if self.writer is not None:
            self.writer.write(OUTPUT_CHUNK_TOPIC, available_ns,
                              chunk_to_joint_trajectory(chunk, self._trajectory_types))
        if self.on_inference is not None:
            self.on_inference(self)

    def _policy_chunk(self, observation, noise) -> ActionChunk:
        """Infer plainly, or with real-time chunking (plain again after the executor held)."""
        if self.rtc is None:
            return self.policy.infer(observation, noise=noise)
        if self.record.chunks and not self.executor.tracking:
            last = self.executor.last_command
            self.rtc.reset(f'executor {last.reason if last is not None else "not started"}')
        return self.rtc.infer(self.policy, observation, noise)

    def _delay_ms(self) -> float:
        """Return the fixed delay, or the median inference time so far (this chunk's too)."""
        if self._fixed_delay_ms is not None:
            return float(self._fixed_delay_ms)
        return float(np.median([total_ms(t) for t in self.record.timings]))

    def _raise_on_malformed_image(self, reasons: List[str]) -> None:
        for reason in reasons:
            if ': malformed image:' in reason:
                for camera, topic in self.topics.cameras.items():
                    if reason.startswith(f'camera {camera!r}'):
                        raise ReplayInputError(self.bag_path, reason, topic=topic)

    def _deliver(self, chunk: ActionChunk, now_ns: int) -> None:
        decision = self.executor.submit(chunk, now_ns)  # the executor logs its decision
        self.chunks_continued += int(decision.continued)
        if self.rtc is not None and not decision.accepted:  # the next one must not continue it
            self.rtc.reset(f"chunk refused: {decision.reason.split(':', 1)[0]}")

    def _tick(self, now_ns: int) -> None:
        command = self.executor.tick(now_ns)
        if command is None:
            return
        self.record.tick_times_ns.append(command.stamp_ns)
        self.record.tick_states.append((command.positions, command.velocities,
                                        command.accelerations))
        if self.writer is not None:
            self.writer.write(OUTPUT_COMMAND_TOPIC, now_ns, ros_types.joint_state(
                self.record.joint_names, command.positions, now_ns, command.velocities))

    def finish(self, end_ns: int) -> None:
        """Run the clock to the end of the bag (ticks and inferences up to ``end_ns``)."""
        self.advance(end_ns, inclusive=True)


def _reason_kind(reason: str) -> str:
    """Group a not-ready reason by its kind, without the numbers ('camera 'x' silent')."""
    for marker in (' silent', ' stale', ' skew', ': no ', ' in the future', ': malformed',
                   ': non-finite', 'empty prompt'):
        index = reason.find(marker)
        if index >= 0:
            return reason[:index + len(marker)].strip(': ')
    return reason


def _ns(seconds: float) -> int:
    return int(round(float(seconds) * NS_PER_S))


def total_ms(timing: Mapping[str, float]) -> float:
    """Return a chunk's inference time: its 'total' stage, else the sum of its stages."""
    return float(timing['total']) if 'total' in timing else float(sum(timing.values()))


def delay_summary(record: ReplayRecord, fixed_ms: Optional[float]) -> Dict[str, object]:
    """Which simulated inference delay the run used, and where it came from."""
    delays = record.chunk_delay_ms
    if fixed_ms is None:
        totals = [total_ms(t) for t in record.timings]
        used = float(np.median(totals)) if totals else None
        text = ("measured model latency: median of this run's per-chunk inference time"
                + (f' ({len(totals)} chunks; each chunk waited the median measured up to it, '
                   f'{min(delays):.1f} to {max(delays):.1f} ms)' if delays
                   else ' (no chunk was inferred)'))
        return {'ms': used, 'source': 'measured', 'text': text, 'per_chunk_ms': delays}
    if fixed_ms == 0:
        return {'ms': 0.0, 'source': 'none', 'per_chunk_ms': delays,
                'text': 'each chunk reached the executor at its observation time (0 given)'}
    return {'ms': float(fixed_ms), 'source': 'given', 'per_chunk_ms': delays,
            'text': 'given, not measured'}


def limit_summary(record: ReplayRecord, limits: JointLimits,
                  max_listed: int = 100) -> Dict[str, object]:
    """Every executed tick above a limit (:func:`replay_metrics.limit_exceedances`)."""
    num = len(record.joint_names)
    states = [np.array(x).reshape(-1, num) for x in zip(*record.tick_states)] or \
        [np.zeros((0, num))] * 3
    result = replay_metrics.limit_exceedances(np.array(record.tick_times_ns, dtype=np.int64),
                                              *states, limits, t0_ns=record.start_ns)
    times = record.tick_times_ns
    result['above_times_s'] = [(times[k] - record.start_ns) / 1e9
                               for k in result.pop('above_ticks')[:max_listed]]
    return result


# --- metrics --------------------------------------------------------------------------------

def compute_metrics(record: ReplayRecord, truth: GroundTruth,
                    limits: Optional[JointLimits] = None) -> Dict[str, object]:
    """Prediction errors, executed-stream smoothness, limits and error, latency, counters."""
    truth_times, truth_values = truth.series()
    names = record.joint_names
    errors = replay_metrics.chunk_errors(record.chunks, truth_times, truth_values)
    prediction = {'num_chunks': 0}
    if record.chunks:
        prediction = replay_metrics.error_summary(errors, names)
        prediction['per_chunk']['time_s'] = [(c.stamp_ns - record.start_ns) / 1e9
                                             for c in record.chunks]
        # chunks near the end of the bag are scored on their first rows only
        prediction['per_chunk']['rows_with_truth'] = [
            int(n) for n in np.sum(~np.isnan(errors[:, :, 0]), axis=1)]
    result: Dict[str, object] = {
        'prediction': prediction,
        'latency_ms': replay_metrics.latency_summary(record.timings),
        'skipped_reasons': dict(record.skipped),
    }
    command_times, command_positions = record.log.arrays()
    executed: Dict[str, object] = {'num_commands': int(command_times.size)}
    if command_times.size:
        executed['error'] = replay_metrics.stream_error_summary(
            command_times, command_positions, truth_times, truth_values, names)
    if limits is not None:
        executed['limits'] = limit_summary(record, limits)
    if command_times.size >= 4:
        smoothness = log_metrics(record.log).as_dict()
        executed['smoothness'] = {k: _jsonable(v) for k, v in smoothness.items()}
    decisions = record.log.decisions
    executed['chunks_accepted'] = int(sum(1 for d in decisions if d[2]))
    executed['chunks_refused'] = [{'time_s': (d[0] - record.start_ns) / 1e9, 'reason': d[3]}
                                  for d in decisions if not d[2]]
    result['executed'] = executed
    return result


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return [float(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def plot_series(record: ReplayRecord, truth: GroundTruth) -> Dict[str, object]:
    """Collect the arrays :func:`pi05_ros.replay.report.write_report` plots."""
    truth_times, truth_values = truth.series()
    command_times, command_positions = record.log.arrays()
    if command_times.size == 0:
        command_positions = np.zeros((0, len(record.joint_names)))
    return {
        't0_ns': record.start_ns, 'joint_names': record.joint_names,
        'dt_s': record.dt_ns / 1e9,
        'truth_times_ns': truth_times, 'truth_values': truth_values,
        'command_times_ns': command_times, 'command_positions': command_positions,
        'chunk_times_ns': [c.row_times_ns() for c in record.chunks],
        'chunk_positions': [c.positions for c in record.chunks],
    }


# --- the whole run ---------------------------------------------------------------------------

@dataclass
class ReplayResult:
    """A finished (or interrupted) run: its metrics and the arrays for the report."""

    metrics: Dict[str, object]
    series: Dict[str, object]
    timings: List[Dict[str, float]]
    record: ReplayRecord

    @property
    def interrupted(self) -> bool:
        return self.record.interrupted


def run_replay(bag_path, profile, policy, options: Optional[ReplayOptions] = None,
               limits: Optional[JointLimits] = None, progress: bool = False,
               on_inference: Optional[Callable[[Replayer], None]] = None,
               run_info: Optional[Mapping[str, object]] = None) -> ReplayResult:
    """
    Replay ``bag_path`` through ``policy`` (a loaded Policy) and the executor.

    Ctrl-C (KeyboardInterrupt, also when raised by ``on_inference``) stops the run where it is;
    the result then covers the replayed part and ``result.interrupted`` is True. Errors in the
    bag raise :class:`~pi05_ros.replay.bag_io.BagError` naming the file and topic.
    """
    options = options or ReplayOptions()
    limits = limits or default_limits(profile.joint_names, options.max_velocity,
                                      options.max_acceleration)
    with BagReader(bag_path) as reader:
        topics = select_topics(reader, profile, options)
        mode_topics = select_mode_topics(reader, options)
        mode_log = (ModeEventLog(mode_topics, profile.joint_names, topics.joint_states)
                    if mode_topics.has_events else None)
        start_ns = reader.start_ns + _ns(options.start_offset_s)
        stop_ns = reader.end_ns if options.duration_s is None else min(
            reader.end_ns, start_ns + _ns(options.duration_s))
        writer = None
        if options.output_bag is not None:
            writer = BagWriter(options.output_bag, storage=options.output_bag_storage)
            writer.__enter__()
        replayer = Replayer(policy, profile, topics, options, limits, reader.path, start_ns,
                            writer=writer, on_inference=_stop_after(options.max_inferences,
                                                                    on_inference))
        bar = _progress_bar(progress, (stop_ns - start_ns) / 1e9)
        try:
            read = _unique(topics.replayed() + (mode_topics.replayed() if mode_log else []))
            try:
                for message in reader.messages(read, start_ns=start_ns, stop_ns=stop_ns + 1):
                    replayer.feed(message)
                    if mode_log is not None:
                        _add_mode_event(mode_log, message, reader.path)
                    _update_bar(bar, replayer.record)
                replayer.finish(stop_ns)
            except _EnoughInferences:
                pass
            replayer.extend_truth(reader)
            _update_bar(bar, replayer.record)
        except KeyboardInterrupt:
            replayer.record.interrupted = True
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
    record = replayer.record
    metrics = compute_metrics(record, replayer.truth, limits)
    # chunk and joint-state refusals by kind ('joint_state_from_future', 'stale', ...)
    metrics['executed']['executor_refusals'] = dict(replayer.executor.refusals)
    metrics['rtc'] = rtc_compare.run_summary(record.chunks, record.chunk_available_ns,
                                             replayer.rtc, replayer.chunks_continued)
    metrics['baselines'] = score_baselines(record, *replayer.truth.series(), limits,
                                           options.executor, _ns(1.0 / options.executor_rate_hz))
    metrics['verdict'] = verdicts(metrics)
    metrics['prompt_timeline'] = prompt_timeline(
        [(c.stamp_ns - record.start_ns) / 1e9 for c in record.chunks],
        [seen.prompt for seen in record.chunk_inputs])
    metrics['worst_chunks'] = worst_chunk_entries(metrics, record.chunk_inputs, record.start_ns)
    series = plot_series(record, replayer.truth)
    series['worst_frames'] = read_frames(
        reader.path, topics.cameras,
        {w['index']: record.chunk_inputs[w['index']].camera_stamps_ns
         for w in metrics['worst_chunks']}, options.use_header_stamps)
    if mode_log is not None:
        metrics['modes'] = replay_modes(
            mode_log, limits, options.executor, _ns(1.0 / options.executor_rate_hz),
            record.start_ns, record.end_ns,
            predicted=list(zip(record.chunk_available_ns, record.chunks)),
            config=options.mode_config)
    metrics['run'] = {
        **dict(run_info or {}),
        'bag': str(reader.path),
        'profile': profile.name,
        'joint_names': list(profile.joint_names),
        'topics': {'cameras': topics.cameras, 'joint_states': topics.joint_states,
                   'prompt': topics.prompt, 'truth': topics.truth},
        'truth_source': (f'recorded commands on {topics.truth} ({topics.truth_type})'
                         if topics.truth else f'future joint states on {topics.joint_states}'),
        'inference_rate_hz': options.inference_rate_hz,
        'inference_delay_ms': delay_summary(record, options.inference_delay_ms)['ms'],
        'inference_delay': delay_summary(record, options.inference_delay_ms),
        'executor_rate_hz': options.executor_rate_hz,
        'executor': executor_summary(limits, options.executor, options.executor_rate_hz),
        'seed': options.seed,
        'bag_duration_s': (reader.end_ns - reader.start_ns) / 1e9,
        'replayed_s': (record.end_ns - record.start_ns) / 1e9,
        'stopped_at_s': (record.end_ns - reader.start_ns) / 1e9,
        'interrupted': record.interrupted,
        'num_inference_cycles': record.inference_cycles,
        'num_inferences': len(record.chunks),
        'num_skipped_inferences': record.inference_cycles - len(record.chunks),
        'prompts': [{'time_s': (t - reader.start_ns) / 1e9, 'text': text}
                    for t, text in record.prompts],
        'output_bag': None if options.output_bag is None else str(options.output_bag),
    }
    return ReplayResult(metrics, series, record.timings, record)


def select_mode_topics(reader: BagReader, options: ReplayOptions) -> ModeTopics:
    """Mode-switch topics found by name or named in ``options.mode_topics``."""
    named = [t for t in options.mode_topics.values() if t]
    reader.require_topics(named, what='mode')
    return detect_mode_topics(reader.topics, options.mode_topics)


def _add_mode_event(log: ModeEventLog, message: BagMessage, bag_path: Path) -> None:
    try:
        log.add(message)
    except (ValueError, TypeError, AttributeError) as err:
        raise ReplayInputError(bag_path, f'bad {message.msgtype} message at bag time '
                               f'{message.time_ns} ns: {describe(err)}',
                               topic=message.topic) from err


def _unique(topics: List[str]) -> List[str]:
    return list(dict.fromkeys(topics))


class _EnoughInferences(Exception):
    """Internal: max_inferences reached; ends the run normally (not an interruption)."""


def _stop_after(max_inferences: Optional[int], then: Optional[Callable]) -> Optional[Callable]:
    if max_inferences is None:
        return then

    def hook(replayer: Replayer) -> None:
        if then is not None:
            then(replayer)
        if len(replayer.record.chunks) >= max_inferences:
            raise _EnoughInferences()
    return hook


def _progress_bar(enabled: bool, total_s: float):
    if not enabled:
        return None
    from tqdm import tqdm  # only for interactive runs
    return tqdm(total=round(total_s, 2), unit='s', desc='replay (bag time)',
                bar_format='{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]')


def _update_bar(bar, record: ReplayRecord) -> None:
    if bar is not None:
        done_s = round((record.end_ns - record.start_ns) / 1e9, 2)
        if done_s > bar.n:
            bar.update(done_s - bar.n)  # tqdm redraws at most every mininterval
