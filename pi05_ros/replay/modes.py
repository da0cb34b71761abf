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
The teleop / policy / hold mode timeline of a recording, replayed from its switch events.

Switch events recorded in the bag (mode requests, the intervention Bool stream, the teleop
JointState stream, joint states, chunks) become :mod:`pi05_ros.control.mode_switch` events and
run through a fresh :class:`~pi05_ros.control.mode_switch.ModeSwitch`, as the executor node ran
them live. When the bag also holds the node's ``~/mode`` topic, the replayed sequence of modes is
compared with the recorded one.
"""

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import (
    ChunkArrival, InterventionSample, JointStateSample, ModeRequest, ModeSwitch, ModeSwitchConfig,
    replay_mode_timeline, TeleopSample, Tick)
from pi05_ros.messages import header_stamp_ns, joint_trajectory_to_chunk
from pi05_ros.replay.bag_io import BagMessage

STRING = 'std_msgs/msg/String'
BOOL = 'std_msgs/msg/Bool'
JOINT_STATE = 'sensor_msgs/msg/JointState'
JOINT_TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory'
TIME_TOLERANCE_NS = 10_000_000  # beyond one control period: delivery to the bag recorder


@dataclass(frozen=True)
class ModeTopics:
    """Bag topics that carry switch events (None: not recorded)."""

    requests: Optional[str] = None  # String '<request> [<stamp_ns>]' (ModeRequest.to_text)
    intervention: Optional[str] = None  # Bool
    teleop: Optional[str] = None  # JointState targets of the leader
    recorded_mode: Optional[str] = None  # String whose first word is the mode, e.g. 'POLICY'
    chunks: Optional[str] = None  # JointTrajectory chunks the live policy published

    @property
    def has_events(self) -> bool:
        return bool(self.requests or self.intervention or self.teleop)

    def replayed(self) -> List[str]:
        """List the topics to read."""
        return [t for t in (self.requests, self.intervention, self.teleop, self.recorded_mode,
                            self.chunks) if t]


def _by_suffix(bag_topics: Mapping[str, str], msgtype: str, suffix: str) -> Optional[str]:
    found = sorted(t for t, m in bag_topics.items() if m == msgtype and t.endswith(suffix))
    return found[0] if found else None


def detect_mode_topics(bag_topics: Mapping[str, str],
                       overrides: Optional[Mapping[str, str]] = None) -> ModeTopics:
    """
    Mode topics by name (``*/mode_request``, ``*/intervention``, ``*/mode``) or override.

    ``overrides`` maps a :class:`ModeTopics` field to a topic ('' disables it). The teleop and
    chunk topics are only used when named.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(ModeTopics.__dataclass_fields__))
    if unknown:
        raise ValueError(f'mode topics: unknown fields {unknown}')
    detected = {
        'requests': _by_suffix(bag_topics, STRING, '/mode_request'),
        'intervention': _by_suffix(bag_topics, BOOL, '/intervention'),
        'recorded_mode': _by_suffix(bag_topics, STRING, '/mode'),
    }
    for name, topic in overrides.items():
        detected[name] = topic or None
    return ModeTopics(**detected)


class ModeEventLog:
    """Collects mode-switch events from bag messages, in bag order."""

    def __init__(self, topics: ModeTopics, joint_names: Sequence[str], joint_states_topic: str):
        self.topics = topics
        self.joint_names = tuple(joint_names)
        self.joint_states_topic = joint_states_topic
        self.events: List[object] = []
        self.recorded_modes: List[tuple] = []  # (bag time, mode word)
        self.initial_positions: Optional[np.ndarray] = None

    def add(self, message: BagMessage) -> None:
        """Turn one message into an event if it is on a mode topic or the joint states."""
        topic, msg, t = message.topic, message.msg, message.time_ns
        if topic == self.topics.requests:
            self.events.append(ModeRequest.from_text(msg.data, t))
        if topic == self.topics.intervention:
            self.events.append(InterventionSample(t, bool(msg.data)))
        if topic == self.topics.teleop:
            self.events.append(TeleopSample(t, tuple(msg.name), tuple(np.asarray(msg.position)),
                                            _stamp_or_none(msg)))
        if topic == self.topics.recorded_mode:
            words = str(msg.data).split()
            if words:
                self.recorded_modes.append((t, words[0].upper()))
        if topic == self.topics.chunks:
            self.events.append(ChunkArrival(t, joint_trajectory_to_chunk(msg,
                                                                         self.joint_names)))
        if topic == self.joint_states_topic:
            names, positions = tuple(msg.name), tuple(np.asarray(msg.position, np.float64))
            self.events.append(JointStateSample(t, names, positions, _stamp_or_none(msg)))
            if self.initial_positions is None:
                index = {n: i for i, n in enumerate(names)}
                if all(n in index for n in self.joint_names):
                    self.initial_positions = np.array([positions[index[n]]
                                                       for n in self.joint_names])


def _stamp_or_none(msg) -> Optional[int]:
    stamp = header_stamp_ns(msg)
    return stamp if stamp > 0 else None


def replay_modes(log: ModeEventLog, limits: JointLimits, executor_config: ExecutorConfig,
                 tick_ns: int, start_ns: int, end_ns: int,
                 predicted: Sequence[tuple] = (),
                 config: Optional[ModeSwitchConfig] = None) -> Dict[str, object]:
    """
    Run the switch over the recorded events; the mode timeline as JSON-friendly data.

    ``predicted`` (available_ns, chunk) pairs stand in for the live policy's chunks when the bag
    has no chunk topic.
    """
    if log.initial_positions is None:
        return {'error': 'no joint state with every profile joint: no initial command'}
    events: List[object] = list(log.events)
    if not log.topics.chunks:
        events += [ChunkArrival(int(t), chunk) for t, chunk in predicted
                   if isinstance(chunk, ActionChunk)]
    events += [Tick(t) for t in range(start_ns + tick_ns, end_ns + 1, tick_ns)]
    initial = limits.clamp_positions(log.initial_positions)

    def make_switch() -> ModeSwitch:
        return ModeSwitch(limits, TrajectoryExecutor(limits, executor_config), initial,
                          config or ModeSwitchConfig())

    timeline = replay_mode_timeline(events, make_switch)
    changes = [{'time_s': (c.stamp_ns - start_ns) / 1e9, 'from': c.from_mode.value,
                'to': c.to_mode.value, 'cause': c.cause} for c in timeline.changes]
    result: Dict[str, object] = {
        'topics': {k: v for k, v in vars(log.topics).items() if v},
        'changes': changes,
        'segments': [{'start_s': (s.start_ns - start_ns) / 1e9,
                      'end_s': (s.end_ns - start_ns) / 1e9, 'mode': s.mode.value,
                      'source': s.source} for s in timeline.segments],
    }
    if log.recorded_modes:
        result.update(compare_with_recorded(
            log.recorded_modes, [(c.stamp_ns, c.to_mode.value) for c in timeline.changes],
            tick_ns + TIME_TOLERANCE_NS))
    return result


def compare_with_recorded(recorded: Sequence[tuple], replayed: Sequence[tuple],
                          tolerance_ns: int) -> Dict[str, object]:
    """
    Compare the recorded ``~/mode`` messages with the replayed changes, modes and times.

    ``recorded``: (bag time, mode) per message; ``replayed``: (stamp, new mode) per change,
    starting from HOLD. The timelines match when the modes change in the same order and each
    replayed change lies within ``tolerance_ns`` of the recorded one. The replayed ticks are a
    grid from the replay start (the live timer's phase is not in the bag), so a change decided
    at a tick can move by up to one period, and a message reaches the bag a little after it was
    published.
    """
    recorded_changes = _changes(recorded, initial=None)
    replayed_changes = _changes(replayed, initial='HOLD')
    if recorded_changes and recorded_changes[0][1] == 'HOLD':
        recorded_changes = recorded_changes[1:]  # the node's initial HOLD, not a change
    same_order = [m for _, m in recorded_changes] == [m for _, m in replayed_changes]
    offsets = ([(b - a) / 1e9 for (a, _), (b, _) in zip(recorded_changes, replayed_changes)]
               if same_order else [])
    return {
        'recorded_modes': _dedupe([m for _, m in recorded]),
        'replayed_modes': _dedupe(['HOLD'] + [m for _, m in replayed]),
        'change_offsets_s': offsets,
        'matches_recorded': same_order and all(abs(o) * 1e9 <= tolerance_ns for o in offsets),
    }


def _changes(modes: Sequence[tuple], initial: Optional[str]) -> List[tuple]:
    """(time, mode) where the mode differs from the one before (``initial`` at first)."""
    out: List[tuple] = []
    last = initial
    for t, mode in modes:
        if mode != last:
            out.append((t, mode))
            last = mode
    return out


def _dedupe(modes: Sequence[str]) -> List[str]:
    out: List[str] = []
    for mode in modes:
        if not out or out[-1] != mode:
            out.append(mode)
    return out
