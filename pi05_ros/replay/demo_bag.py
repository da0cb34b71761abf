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
A synthetic recording for the replay demo: three cameras, joint states, a prompt, commands.

The arm follows a smooth sum-of-sines trajectory; the recorded command leads the measured joint
state by ``tracking_lag_s`` (as a position controller would). Cameras show a fixed per-camera
background with a bright square whose position follows the first two joints, so frames change
with the motion.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from pi05_ros.replay import ros_types
from pi05_ros.replay.bag_io import BagWriter, PathLike

IMAGE_HEIGHT, IMAGE_WIDTH = 480, 640
SQUARE = 64  # side of the moving square, pixels


@dataclass(frozen=True)
class DemoBagSpec:
    """What the synthetic recording contains. Topics default to the `demo` profile's."""

    joint_names: Tuple[str, ...]
    camera_topics: Dict[str, str]  # camera name -> topic
    joint_states_topic: str = '/joint_states'
    prompt_topic: str = '/pi05_policy/prompt'
    command_topic: str = '/position_controller/commands'
    prompts: Tuple[str, ...] = ('pick up the red block', 'place it in the bin')
    camera_frames: int = 60  # frames per camera
    camera_fps: float = 10.0
    state_rate_hz: float = 50.0
    tracking_lag_s: float = 0.04
    start_ns: int = 1_700_000_000 * 10**9
    # camera -> 'rgb8' | 'bgr8' | 'mono8' (Image) or 'jpeg' | 'png' (CompressedImage)
    encodings: Dict[str, str] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return int(round(self.camera_frames / self.camera_fps * 1e9))


def demo_trajectory(times_s: np.ndarray, num_joints: int) -> np.ndarray:
    """
    (T, J) smooth joint positions: per-joint sums of two sines.

    Amplitude <= 0.33 rad and speed <= 0.44 rad/s, an unhurried arm motion.
    """
    t = np.asarray(times_s, dtype=np.float64)[:, None]  # (T, 1)
    j = np.arange(num_joints, dtype=np.float64)[None, :]  # (1, J)
    return (0.25 * np.sin(2 * np.pi * 0.15 * t + 0.7 * j)
            + 0.08 * np.sin(2 * np.pi * 0.4 * t + 1.3 * j)
            + 0.05 * j)


def camera_background(index: int) -> np.ndarray:
    """(480, 640, 3) uint8 gradient, different per camera."""
    y = np.linspace(0, 255, IMAGE_HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, IMAGE_WIDTH, dtype=np.float32)[None, :]
    channels = [y + 0 * x, x + 0 * y, (x + y) / 2]
    order = np.roll(np.arange(3), index)
    return np.stack([channels[c] for c in order], axis=-1).astype(np.uint8)


def camera_frame(background: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """RGB frame: the background with a white square placed by joints 0 and 1."""
    frame = background.copy()
    u = 0.5 + 0.4 * np.tanh(positions[0])
    v = 0.5 + 0.4 * np.tanh(positions[1] if positions.shape[0] > 1 else 0.0)
    x0 = int(u * (IMAGE_WIDTH - SQUARE))
    y0 = int(v * (IMAGE_HEIGHT - SQUARE))
    frame[y0:y0 + SQUARE, x0:x0 + SQUARE] = 255
    return frame


COMPRESSED_FORMATS = {'jpeg': 'rgb8; jpeg compressed bgr8', 'png': 'rgb8; png compressed bgr8'}


def encode_frame(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Reorder channels of an RGB frame for a raw Image encoding (rgb8, bgr8, mono8)."""
    if encoding == 'rgb8':
        return rgb
    if encoding == 'bgr8':
        return rgb[..., ::-1]
    if encoding == 'mono8':
        return rgb.mean(axis=-1).astype(np.uint8)
    raise ValueError(f'encoding: expected rgb8, bgr8, mono8, jpeg or png for the demo bag, '
                     f'got {encoding!r}')


def frame_message(rgb: np.ndarray, time_ns: int, encoding: str, frame_id: str):
    """Build an Image, or for 'jpeg' / 'png' a CompressedImage as image_transport writes it."""
    if encoding in COMPRESSED_FORMATS:
        ok, data = cv2.imencode('.jpg' if encoding == 'jpeg' else '.png',
                                np.ascontiguousarray(rgb[..., ::-1]))  # OpenCV encodes BGR
        if not ok:
            raise ValueError(f'encoding: OpenCV could not encode a {encoding} frame')
        return ros_types.compressed_image(data.tobytes(), time_ns, COMPRESSED_FORMATS[encoding],
                                          frame_id=frame_id)
    return ros_types.image(encode_frame(rgb, encoding), time_ns, encoding=encoding,
                           frame_id=frame_id)


def _timeline(spec: DemoBagSpec) -> Sequence[Tuple[int, int, str, int]]:
    """Sorted (time_ns, order, kind, index) events: prompts, states, commands, camera frames."""
    events = []
    period_state = int(round(1e9 / spec.state_rate_hz))
    period_cam = int(round(1e9 / spec.camera_fps))
    n_states = spec.duration_ns // period_state + 1
    for i, _ in enumerate(spec.prompts):
        events.append((spec.start_ns + i * spec.duration_ns // len(spec.prompts), 0, 'prompt', i))
    for i in range(n_states):
        events.append((spec.start_ns + i * period_state, 1, 'state', i))
        events.append((spec.start_ns + i * period_state, 2, 'command', i))
    for i in range(spec.camera_frames):
        # cameras start one state period in, so joint states are there first
        events.append((spec.start_ns + period_state + i * period_cam, 3, 'camera', i))
    return sorted(events)


def write_demo_bag(path: PathLike, spec: DemoBagSpec, storage: str = 'mcap',
                   extra: Sequence[Tuple[int, str, object]] = ()) -> Path:
    """
    Write the synthetic recording to a new bag directory ``path``; return it.

    ``extra`` (time_ns, topic, message) are written too, in time order (e.g. mode switches).
    """
    names = tuple(spec.joint_names)
    timeline = list(_timeline(spec)) + [(t, 4, 'extra', i) for i, (t, _, _) in enumerate(extra)]
    backgrounds = {cam: camera_background(i) for i, cam in enumerate(spec.camera_topics)}
    lag_s = spec.tracking_lag_s
    with BagWriter(path, storage=storage) as writer:
        for time_ns, _, kind, index in sorted(timeline):
            t_s = (time_ns - spec.start_ns) / 1e9
            if kind == 'extra':
                writer.write(extra[index][1], time_ns, extra[index][2])
            elif kind == 'prompt':
                writer.write(spec.prompt_topic, time_ns, ros_types.string(spec.prompts[index]))
            elif kind == 'state':
                q = demo_trajectory(np.array([t_s - lag_s]), len(names))[0]
                writer.write(spec.joint_states_topic, time_ns,
                             ros_types.joint_state(names, q, time_ns))
            elif kind == 'command':
                q = demo_trajectory(np.array([t_s]), len(names))[0]
                writer.write(spec.command_topic, time_ns, ros_types.float64_array(q))
            else:
                q = demo_trajectory(np.array([t_s - lag_s]), len(names))[0]
                for cam, topic in spec.camera_topics.items():
                    writer.write(topic, time_ns, frame_message(
                        camera_frame(backgrounds[cam], q), time_ns,
                        spec.encodings.get(cam, 'rgb8'), cam))
    return Path(path)
