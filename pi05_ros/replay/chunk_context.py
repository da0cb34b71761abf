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
What the policy saw at a chunk: the worst chunks, their camera frames and the prompt timeline.

The frames are read back from the bag after the replay (only the few the report shows), by the
stamp the observation used: the header stamp, or the bag time when it is zero or
``use_header_stamps`` is off, as the replay stamped them.
"""

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import cv2
import numpy as np

from pi05_ros.messages import header_stamp_ns, message_to_rgb
from pi05_ros.replay.bag_io import BagReader

THUMBNAIL_WIDTH = 320  # pixels; height keeps the aspect ratio
SEARCH_NS = 2_000_000_000  # a frame is looked for within +-2 s of bag time around its stamp


def worst_chunks(per_chunk_mae: Sequence[Optional[float]], count: int = 3,
                 separation: int = 1) -> List[int]:
    """
    Return the ``count`` chunks with the largest MAE, worst first (None: never worst).

    Chosen chunks are at least ``separation`` indices apart (the chunks of one horizon see the
    same motion), so each shows another moment of the bag.
    """
    scored = sorted((-float(v), i) for i, v in enumerate(per_chunk_mae)
                    if v is not None and np.isfinite(v))
    chosen: List[int] = []
    for _, i in scored:
        if len(chosen) == count:
            break
        if all(abs(i - j) >= separation for j in chosen):
            chosen.append(i)
    return chosen


def prompt_timeline(times_s: Sequence[float], prompts: Sequence[str]) -> List[Dict[str, object]]:
    """
    Consecutive chunks with the same prompt as one segment.

    Returns ``from_s`` (first chunk's observation time), ``to_s`` (the last one's), ``prompt``
    and ``chunks`` (how many were inferred with it), in time order.
    """
    segments: List[Dict[str, object]] = []
    for time_s, prompt in zip(times_s, prompts):
        if segments and segments[-1]['prompt'] == prompt:
            segments[-1]['to_s'] = float(time_s)
            segments[-1]['chunks'] += 1
        else:
            segments.append({'from_s': float(time_s), 'to_s': float(time_s), 'prompt': prompt,
                             'chunks': 1})
    return segments


def thumbnail(rgb: np.ndarray, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """Downscale an (H, W, 3) RGB frame to ``width`` pixels wide (never up)."""
    height, frame_width = rgb.shape[:2]
    if frame_width <= width:
        return np.ascontiguousarray(rgb)
    size = (width, max(1, int(round(height * width / frame_width))))
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB frame."""
    ok, data = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),  # OpenCV takes BGR
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError('thumbnail: OpenCV could not encode a JPEG')
    return data.tobytes()


def read_frames(bag_path: Path, camera_topics: Mapping[str, str],
                wanted: Mapping[int, Mapping[str, int]], use_header_stamps: bool = True,
                width: int = THUMBNAIL_WIDTH) -> Dict[int, Dict[str, np.ndarray]]:
    """
    Return thumbnails of the frames each wanted chunk saw.

    ``wanted`` maps a chunk index to {camera: frame stamp}. A frame not found within
    ``SEARCH_NS`` of its stamp is left out.
    """
    found: Dict[int, Dict[str, np.ndarray]] = {}
    with BagReader(bag_path) as reader:
        for index, stamps in wanted.items():
            for camera, stamp_ns in stamps.items():
                topic = camera_topics.get(camera)
                if topic is None:
                    continue
                for message in reader.messages([topic], start_ns=stamp_ns - SEARCH_NS,
                                               stop_ns=stamp_ns + SEARCH_NS):
                    stamp = header_stamp_ns(message.msg) if use_header_stamps else 0
                    if (stamp if stamp > 0 else message.time_ns) == stamp_ns:
                        found.setdefault(index, {})[camera] = thumbnail(
                            message_to_rgb(message.msg), width)
                        break
    return found


def worst_chunk_entries(metrics: Mapping, chunk_inputs: Sequence, start_ns: int,
                        count: int = 3) -> List[Dict[str, object]]:
    """
    Describe the ``count`` chunks with the largest prediction MAE, one horizon apart.

    Each: ``rank``, chunk ``index``, observation ``time_s`` (from the replay start), its MAE,
    RMSE and rows with truth, each baseline's MAE on the same chunk, the ``prompt`` and the
    ``camera_stamps_s`` of the frames it saw. ``chunk_inputs``: the record's ChunkInputs.
    """
    per_chunk = metrics.get('prediction', {}).get('per_chunk', {})
    scored = metrics.get('baselines') or {}
    entries = []
    separation = int(scored.get('overlap_block', 1))
    for rank, i in enumerate(worst_chunks(per_chunk.get('mae', []), count, separation),
                             start=1):
        seen = chunk_inputs[i]
        entries.append({
            'rank': rank, 'index': i, 'time_s': per_chunk['time_s'][i],
            'mae': per_chunk['mae'][i], 'rmse': per_chunk['rmse'][i],
            'rows_with_truth': per_chunk.get('rows_with_truth', [None] * (i + 1))[i],
            'baselines_mae': {name: scored[name]['prediction']['per_chunk']['mae'][i]
                              for name in scored.get('names', [])
                              if scored[name]['prediction'].get('per_chunk')},
            'prompt': seen.prompt,
            'camera_stamps_s': {c: (s - start_ns) / 1e9
                                for c, s in seen.camera_stamps_ns.items()},
        })
    return entries
