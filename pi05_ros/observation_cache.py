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
Latest-value observation cache, shared by the live policy node and rosbag replay.

Subscriptions (or the bag reader) call ``put_*`` from any thread; they only store the message and
its stamp. The inference thread calls :meth:`ObservationCache.assemble`, which checks every
source's age, the skew between cameras and the prompt, converts images (each frame at most once)
and returns an :class:`~pi05_ros.observation.Observation`, or raises :class:`ObservationNotReady`
whose ``reasons`` are human-readable lines for ``/diagnostics``.

Joint states are merged per joint: a robot whose arm and gripper publish separate JointState
messages works, and each joint's value is as old as the last message that carried it.

Camera skew is a property of the stamps: the newest frames are used when their stamps agree
(within ``max_skew_ns``); otherwise the newest set of recent frames (``frame_history`` per
camera) whose stamps agree is used, so a frame lost on one camera costs one frame of age
instead of the observation. Only when no such set exists is the cycle refused for skew.
"""

from collections import deque

from dataclasses import dataclass
import threading
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from pi05_ros.messages.images import message_to_rgb
from pi05_ros.messages.joints import named_values
from pi05_ros.observation import Observation

JOINT_STATES = 'joint_states'  # source name of the joint states in max_age_ns and stamps

# What a malformed message can raise while it is converted.
_CONVERSION_ERRORS = (ValueError, TypeError, AttributeError, cv2.error)


class ObservationNotReady(RuntimeError):
    """No observation can be assembled now; ``reasons`` says why, one line per problem."""

    def __init__(self, reasons: Sequence[str],
                 ages_ns: Optional[Mapping[str, Optional[int]]] = None):
        self.reasons: List[str] = list(reasons)
        # every source's age at the time of the failed assemble (None: nothing received)
        self.ages_ns: Dict[str, Optional[int]] = dict(ages_ns or {})
        super().__init__('; '.join(self.reasons))


@dataclass(frozen=True)
class _Frame:
    """The newest message of one camera, as it arrived."""

    msg: Any
    stamp_ns: int
    seq: int  # increases with every put_image, so a frame is converted once


@dataclass(frozen=True)
class _Converted:
    seq: int
    rgb: Optional[np.ndarray]  # (H, W, 3) uint8, read-only; None when conversion failed
    error: Optional[str]


def _seconds(ns: int) -> str:
    return f'{ns / 1e9:.2f} s'


def _positive_ns(value: Any, name: str) -> int:
    if isinstance(value, float) or not hasattr(value, '__index__') or int(value) <= 0:
        raise ValueError(f'{name}: expected a positive integer number of nanoseconds, '
                         f'got {value!r}')
    return int(value)


def _unique_names(names: Iterable[str], field: str, allow_empty: bool) -> Tuple[str, ...]:
    names = tuple(str(n) for n in names)
    if not names and not allow_empty:
        raise ValueError(f'{field}: expected at least one name, got none')
    if len(set(names)) != len(names):
        raise ValueError(f'{field}: expected unique names, got {list(names)}')
    return names


class ObservationCache:
    """
    Newest image per camera, newest value per joint and the current prompt.

    ``max_age_ns`` is one limit for every source, or a mapping with a limit for each camera name
    and for ``'joint_states'``. ``max_skew_ns`` bounds the spread of the camera stamps used in one
    observation (None: unchecked). A camera in ``optional_cameras`` that has no fresh, valid
    frame is left out of the observation instead of blocking it (the policy then fills its slot
    with a masked black image). The prompt is latched: ``default_prompt`` until ``put_prompt``.
    ``frame_history`` recent frames per camera are kept for matching stamps (1, the default:
    newest only, so skewed newest frames are refused).
    """

    def __init__(self, camera_names: Sequence[str], joint_names: Sequence[str],
                 max_age_ns: Union[int, Mapping[str, int]], max_skew_ns: Optional[int] = None,
                 default_prompt: str = '', allow_empty_prompt: bool = False,
                 optional_cameras: Iterable[str] = (), frame_history: int = 1):
        self.camera_names = _unique_names(camera_names, 'camera_names', allow_empty=True)
        self.joint_names = _unique_names(joint_names, 'joint_names', allow_empty=False)
        self.optional_cameras = frozenset(optional_cameras)
        unknown = sorted(self.optional_cameras - set(self.camera_names))
        if unknown:
            raise ValueError(f'optional_cameras: {unknown} are not in camera_names '
                             f'{list(self.camera_names)}')
        self.max_age_ns = self._max_ages(max_age_ns)
        self.max_skew_ns = None if max_skew_ns is None else _positive_ns(max_skew_ns,
                                                                         'max_skew_ns')
        self.default_prompt = str(default_prompt).strip()
        self.allow_empty_prompt = bool(allow_empty_prompt)
        if isinstance(frame_history, bool) or not isinstance(frame_history, int) \
                or frame_history < 1:
            raise ValueError(f'frame_history: expected an integer >= 1, got {frame_history!r}')
        self.frame_history = frame_history
        self._joint_index = {name: i for i, name in enumerate(self.joint_names)}
        self._lock = threading.Lock()
        self.reset()

    def _max_ages(self, max_age_ns: Union[int, Mapping[str, int]]) -> Dict[str, int]:
        sources = self.camera_names + (JOINT_STATES,)
        if not isinstance(max_age_ns, Mapping):
            limit = _positive_ns(max_age_ns, 'max_age_ns')
            return {source: limit for source in sources}
        missing = [s for s in sources if s not in max_age_ns]
        unknown = sorted(set(max_age_ns) - set(sources))
        if missing or unknown:
            raise ValueError(f'max_age_ns: expected one limit for each of {list(sources)}; '
                             f'missing {missing}, unknown {unknown}')
        return {s: _positive_ns(max_age_ns[s], f'max_age_ns[{s!r}]') for s in sources}

    def reset(self) -> None:
        """Forget every message and go back to the default prompt."""
        with self._lock:
            self._frames: Dict[str, _Frame] = {}
            self._history: Dict[str, Deque[_Frame]] = {}  # newest last
            self._converted: Dict[str, _Converted] = {}
            self._seq = 0
            num_joints = len(self.joint_names)
            self._joint_position = np.full(num_joints, np.nan)  # (J,)
            self._joint_stamp_ns = np.zeros(num_joints, dtype=np.int64)  # (J,)
            self._joint_seen = np.zeros(num_joints, dtype=bool)  # (J,)
            self._joint_error: Optional[str] = None
            self._prompt = self.default_prompt
            self._prompt_received = False
            self.conversions = 0  # images converted so far (each frame at most once)

    # --- inputs: cheap, called from subscription threads ---------------------------------

    def put_image(self, camera: str, msg: Any, stamp_ns: int) -> None:
        """Keep ``msg`` (Image or CompressedImage) as ``camera``'s newest frame; no conversion."""
        if camera not in self.camera_names:
            raise ValueError(f'camera: expected one of {list(self.camera_names)}, '
                             f'got {camera!r}')
        with self._lock:
            self._seq += 1
            frame = _Frame(msg, int(stamp_ns), self._seq)
            self._frames[camera] = frame
            self._history.setdefault(camera, deque(maxlen=self.frame_history)).append(frame)

    def put_joint_state(self, msg: Any, stamp_ns: int) -> None:
        """
        Update the profile's joints that ``msg`` carries; other joints are ignored.

        A malformed message does not raise: it is reported by :meth:`assemble` until the next
        good one arrives.
        """
        try:
            values = named_values(msg, 'position')
        except _CONVERSION_ERRORS as error:
            with self._lock:
                self._joint_error = str(error)
            return
        stamp_ns = int(stamp_ns)
        with self._lock:
            self._joint_error = None
            for name, value in values.items():
                i = self._joint_index.get(name)
                if i is not None:
                    self._joint_position[i] = value
                    self._joint_stamp_ns[i] = stamp_ns
                    self._joint_seen[i] = True

    def put_prompt(self, text: str, stamp_ns: int = 0) -> None:
        """Replace the prompt (latched: it does not go stale). An empty text clears it."""
        del stamp_ns  # the prompt has no age; accepted for a uniform put_* signature
        with self._lock:
            self._prompt = str(text).strip()
            self._prompt_received = True

    @property
    def prompt(self) -> str:
        with self._lock:
            return self._prompt

    # --- output: called from the inference thread -------------------------------------------

    def ages_ns(self, now_ns: int) -> Dict[str, Optional[int]]:
        """Age of every source at ``now_ns`` (None: nothing received); for diagnostics."""
        with self._lock:
            return self._ages(self._frames, self._joint_stamp_ns, self._joint_seen, now_ns)

    def _ages(self, frames: Mapping[str, _Frame], joint_stamp_ns: np.ndarray,
              joint_seen: np.ndarray, now_ns: int) -> Dict[str, Optional[int]]:
        ages: Dict[str, Optional[int]] = {
            camera: (int(now_ns) - frames[camera].stamp_ns if camera in frames else None)
            for camera in self.camera_names}
        ages[JOINT_STATES] = (int(now_ns - joint_stamp_ns.min()) if joint_seen.all() else None)
        return ages

    def set_limits(self, max_age_ns: Optional[Union[int, Mapping[str, int]]] = None,
                   max_skew_ns: Optional[int] = None, skew_unchecked: bool = False,
                   default_prompt: Optional[str] = None) -> None:
        """
        Change limits at run time (dynamic parameters); the next :meth:`assemble` uses them.

        ``max_age_ns`` as in the constructor (None: unchanged); ``max_skew_ns`` a new limit,
        or ``skew_unchecked=True`` to stop checking; ``default_prompt`` replaces the default
        (and the current prompt, unless a prompt message was received).
        """
        ages = None if max_age_ns is None else self._max_ages(max_age_ns)
        skew = None if max_skew_ns is None else _positive_ns(max_skew_ns, 'max_skew_ns')
        with self._lock:
            if ages is not None:
                self.max_age_ns = ages
            if skew_unchecked:
                self.max_skew_ns = None
            elif skew is not None:
                self.max_skew_ns = skew
            if default_prompt is not None:
                self.default_prompt = str(default_prompt).strip()
                if not self._prompt_received:
                    self._prompt = self.default_prompt

    def image(self, camera: str) -> Optional[np.ndarray]:
        """
        ``camera``'s newest frame as RGB uint8, converting it now if needed.

        The same read-only array that :meth:`assemble` returns for that frame (each frame is
        converted at most once), so a subscription thread can convert a frame on arrival. None
        when no frame was received or it cannot be converted (``assemble`` says why).
        """
        if camera not in self.camera_names:
            raise ValueError(f'camera: expected one of {list(self.camera_names)}, '
                             f'got {camera!r}')
        with self._lock:
            frame = self._frames.get(camera)
        if frame is None:
            return None
        return self._rgb(camera, frame).rgb

    def _rgb(self, camera: str, frame: _Frame) -> _Converted:
        """``frame`` converted, from the cache or now (outside the lock)."""
        with self._lock:
            cached = self._converted.get(camera)
        if cached is not None and cached.seq == frame.seq:
            return cached
        try:
            rgb = message_to_rgb(frame.msg)
            rgb.flags.writeable = False  # shared by every observation built from this frame
            converted = _Converted(frame.seq, rgb, None)
        except _CONVERSION_ERRORS as error:
            converted = _Converted(frame.seq, None, str(error))
        with self._lock:
            self.conversions += 1
            if self._frames.get(camera) is frame:
                self._converted[camera] = converted
        return converted

    def _camera_problem(self, camera: str, frame: Optional[_Frame], now_ns: int) -> Optional[str]:
        if frame is None:
            return f'camera {camera!r}: no image received yet'
        age_ns = now_ns - frame.stamp_ns
        limit_ns = self.max_age_ns[camera]
        if age_ns > limit_ns:
            return f'camera {camera!r} silent for {_seconds(age_ns)} (max {_seconds(limit_ns)})'
        if -age_ns > limit_ns:
            return (f'camera {camera!r} stamp is {_seconds(-age_ns)} in the future '
                    f'(max {_seconds(limit_ns)})')
        return None

    @staticmethod
    def _skew_problem(stamps_ns: Dict[str, int], max_skew_ns: Optional[int]) -> Optional[str]:
        if max_skew_ns is None or len(stamps_ns) < 2:
            return None
        oldest = min(stamps_ns, key=stamps_ns.get)
        newest = max(stamps_ns, key=stamps_ns.get)
        skew_ns = stamps_ns[newest] - stamps_ns[oldest]
        if skew_ns <= max_skew_ns:
            return None
        return (f'camera skew {skew_ns / 1e9:.3f} s between {oldest!r} and {newest!r} '
                f'(max {max_skew_ns / 1e9:.3f} s)')

    def _matched_images(self, histories: Mapping[str, List[_Frame]], cameras: List[str],
                        max_skew_ns: int, now_ns: int
                        ) -> Optional[Dict[str, Tuple[np.ndarray, int]]]:
        """Return the newest set of recent frames whose stamps agree: {camera: (rgb, stamp)}."""
        stamps = {frame.stamp_ns for camera in cameras for frame in histories.get(camera, ())}
        for oldest in sorted(stamps, reverse=True):  # the set whose oldest frame is newest
            chosen = {}
            for camera in cameras:
                fitting = [f for f in histories.get(camera, ())
                           if oldest <= f.stamp_ns <= oldest + max_skew_ns]
                if not fitting:
                    break
                frame = max(fitting, key=lambda f: f.stamp_ns)
                if self._camera_problem(camera, frame, now_ns) is not None:
                    break
                chosen[camera] = frame
            else:
                converted = {camera: self._rgb(camera, frame) for camera, frame in chosen.items()}
                if any(c.error is not None for c in converted.values()):
                    continue
                return {camera: (converted[camera].rgb, chosen[camera].stamp_ns)
                        for camera in cameras}
        return None

    def _joint_problems(self, position: np.ndarray, stamp_ns: np.ndarray, seen: np.ndarray,
                        error: Optional[str], now_ns: int) -> List[str]:
        if error is not None:
            return [f'joint states: malformed message: {error}']
        if not seen.all():
            missing = [n for n, s in zip(self.joint_names, seen) if not s]
            return [f'joint states: no value received yet for joints {missing}']
        problems = []
        oldest = int(np.argmin(stamp_ns))
        age_ns = now_ns - int(stamp_ns[oldest])
        limit_ns = self.max_age_ns[JOINT_STATES]
        if age_ns > limit_ns:
            problems.append(f'joint states stale: {self.joint_names[oldest]!r} last updated '
                            f'{_seconds(age_ns)} ago (max {_seconds(limit_ns)})')
        elif -age_ns > limit_ns:
            problems.append(f'joint states stamp is {_seconds(-age_ns)} in the future '
                            f'(max {_seconds(limit_ns)})')
        if not np.all(np.isfinite(position)):
            bad = [n for n, v in zip(self.joint_names, position) if not np.isfinite(v)]
            problems.append(f'joint states: non-finite position for joints {bad}')
        return problems

    def _prompt_problem(self, prompt: str, received: bool) -> Optional[str]:
        if prompt or self.allow_empty_prompt:
            return None
        if received:
            return 'empty prompt: the last prompt message was empty'
        return 'empty prompt: no prompt received and default_prompt is empty'

    def assemble(self, now_ns: int) -> Observation:
        """
        Return the observation at ``now_ns``, or raise ObservationNotReady listing why.

        Observation images are read-only arrays shared with the cache (copy before writing);
        ``stamp_ns`` is the newest source stamp and ``source_stamps_ns`` has one stamp per camera
        used and ``'joint_states'`` (the oldest of the profile's joints).
        """
        now_ns = int(now_ns)
        with self._lock:
            frames = dict(self._frames)
            histories = {camera: list(h) for camera, h in self._history.items()}
            joint_position = self._joint_position.copy()
            joint_stamp_ns = self._joint_stamp_ns.copy()
            joint_seen = self._joint_seen.copy()
            joint_error = self._joint_error
            prompt, prompt_received = self._prompt, self._prompt_received
            max_skew_ns = self.max_skew_ns

        reasons: List[str] = []
        images: Dict[str, np.ndarray] = {}
        stamps_ns: Dict[str, int] = {}
        for camera in self.camera_names:
            frame = frames.get(camera)
            problem = self._camera_problem(camera, frame, now_ns)
            if problem is None:
                converted = self._rgb(camera, frame)  # each frame at most once
                if converted.error is None:
                    images[camera] = converted.rgb
                    stamps_ns[camera] = frame.stamp_ns
                else:
                    problem = f'camera {camera!r}: malformed image: {converted.error}'
            if problem is not None and camera not in self.optional_cameras:
                reasons.append(problem)
        skew = self._skew_problem(stamps_ns, max_skew_ns)
        if skew is not None:
            matched = self._matched_images(histories, list(stamps_ns), max_skew_ns, now_ns)
            if matched is not None:
                for camera, (rgb, stamp_ns) in matched.items():
                    images[camera], stamps_ns[camera] = rgb, stamp_ns
                skew = None
        if skew is not None:
            reasons.append(skew)
        reasons += self._joint_problems(joint_position, joint_stamp_ns, joint_seen, joint_error,
                                        now_ns)
        prompt_problem = self._prompt_problem(prompt, prompt_received)
        if prompt_problem is not None:
            reasons.append(prompt_problem)
        if reasons:
            raise ObservationNotReady(
                reasons, self._ages(frames, joint_stamp_ns, joint_seen, now_ns))

        stamps_ns[JOINT_STATES] = int(joint_stamp_ns.min())
        return Observation(images=images, state=joint_position, prompt=prompt,
                           stamp_ns=max(stamps_ns.values()), source_stamps_ns=stamps_ns)
