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
The host-side transforms around the network (numpy only), shared by the live node and replay.

``preprocess``: Observation -> ModelInputs (openpi's order: robot inputs -> normalize state ->
resize images -> tokenize prompt with the discretized normalized state).
``prepare_image``: one camera frame -> its model input, memoized per camera, so a frame prepared
when it arrives (the live node does it in the camera callback) is not prepared again.
``postprocess``: model actions (H, action_dim) -> absolute joint targets (chunk_rows, J)
(unnormalize -> delta/velocity -> sign flips and unit conversions, see profiles.py).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.images import (black_image, check_image, IMAGE_SLOTS, ImageError,
                                    resize_with_pad, to_model_range)
from pi05_ros.policy.normalize import Normalizer
from pi05_ros.policy.profiles import actions_to_robot, RobotProfile, state_to_model
from pi05_ros.policy.tokenizer import PromptTokenizer


@dataclass(frozen=True)
class ModelInputs:
    """One observation, ready for the network (no batch axis)."""

    # slot -> (224, 224, 3) float32 in [-1, 1]; may be shared with the prepare_image memo and
    # with other ModelInputs of the same frame: do not write into it
    images: Dict[str, np.ndarray]
    image_masks: Dict[str, bool]  # slot -> camera present
    tokens: np.ndarray  # (max_token_len,) int64
    token_mask: np.ndarray  # (max_token_len,) bool
    state: np.ndarray  # (S,) robot state, validated, float64
    model_state: np.ndarray  # (len(state_dims),) model-space state before normalization
    normalized_state: np.ndarray  # what the prompt discretizes


class PolicyTransforms:
    """
    Robot profile + normalization + tokenizer: the pure parts of a policy.

    :param profile: the robot profile.
    :param normalizer: state/action normalization from the checkpoint's stats.
    :param tokenizer: the prompt tokenizer (its ``max_len`` is the model's token budget).
    :param image_slots: the model's image slots in prefix order.
    :param allow_missing_cameras: a profile camera absent from an observation becomes a black image
        with mask False instead of an error.
    :param image_threads: threads resizing camera frames in parallel (0: resize inline).

    Frames are prepared by :meth:`prepare_image`, which remembers the last frame of each camera:
    preparing a frame before ``preprocess`` (from another thread, e.g. when it arrives) saves
    that work in ``preprocess`` and gives the same ModelInputs.
    """

    def __init__(self, profile: RobotProfile, normalizer: Normalizer, tokenizer: PromptTokenizer,
                 image_slots: Sequence[str] = IMAGE_SLOTS, allow_missing_cameras: bool = False,
                 image_threads: int = 3):
        if tokenizer.prompt_format != profile.prompt_format:
            raise ValueError("tokenizer.prompt_format: expected the profile's "
                             f'{profile.prompt_format!r}, got {tokenizer.prompt_format!r}')
        unknown = [c.slot for c in profile.cameras if c.slot not in image_slots]
        if unknown:
            raise ValueError(f'profile {profile.name!r} cameras: slots {unknown} are not model '
                             f'image slots {list(image_slots)}')
        for key, count in (('state', len(profile.state_dims)),
                           ('actions', len(profile.action_dims))):
            if normalizer.dim(key) < count:
                raise ValueError(
                    f'{normalizer.source}: norm_stats.{key} has {normalizer.dim(key)} dims, '
                    f'profile {profile.name!r} needs {count}')
        self.profile = profile
        self.normalizer = normalizer
        self.tokenizer = tokenizer
        self.image_slots = tuple(image_slots)
        self.allow_missing_cameras = allow_missing_cameras
        self._executor = ThreadPoolExecutor(image_threads) if image_threads > 0 else None
        self._cameras = {camera.name: camera for camera in profile.cameras}
        # camera -> (source frame, its model input). The source is kept so that its id cannot
        # be reused; a dict item assignment is atomic, so any thread may fill it.
        self._prepared: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self.images_prepared = 0  # resizes done so far (memo misses); approximate across threads

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def prepare_image(self, camera: str, image: np.ndarray) -> np.ndarray:
        """
        One camera's (H, W, 3) uint8 RGB frame -> its (224, 224, 3) float32 model input.

        Rotated if the profile says so, resized with padding as openpi, mapped to [-1, 1]. The
        result for the camera's last frame is remembered by the identity of ``image`` when
        ``image`` is read-only (as the observation cache's frames are): a writeable array may
        be refilled in place, so it is prepared on every call. Thread-safe; do not write into
        the result. Raises ImageError for an unknown camera or a bad image.
        """
        memo = self._prepared.get(camera)
        if memo is not None and memo[0] is image and not image.flags.writeable:
            return memo[1]  # the frame cannot have changed: read-only, kept alive by the memo
        spec = self._cameras.get(camera)
        if spec is None:
            raise ImageError(f'images[{camera!r}]: not a camera of profile '
                             f'{self.profile.name!r} {list(self.profile.camera_names)}')
        source = check_image(camera, image)
        if spec.rotate_180:
            source = source[::-1, ::-1]
        try:
            prepared = to_model_range(resize_with_pad(source))
        except ImageError as err:
            raise ImageError(f'images[{camera!r}]: {err}') from None
        self.images_prepared += 1
        if not image.flags.writeable:
            self._prepared[camera] = (image, prepared)
        return prepared

    def is_prepared(self, camera: str, image: np.ndarray) -> bool:
        """Tell whether ``prepare_image(camera, image)`` would return a remembered result."""
        memo = self._prepared.get(camera)
        return memo is not None and memo[0] is image and not image.flags.writeable

    def camera_images(self, images: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Return the profile's cameras present in ``images`` (camera -> checked frame)."""
        if not isinstance(images, dict):
            raise ImageError(f'images: expected a dict camera name -> (H, W, 3) uint8, got '
                             f'{type(images).__name__}')
        present: Dict[str, np.ndarray] = {}
        for camera in self.profile.cameras:
            image = images.get(camera.name)
            if image is None:
                if not self.allow_missing_cameras:
                    raise ImageError(
                        f'images[{camera.name!r}]: missing; profile {self.profile.name!r} expects '
                        f'cameras {list(self.profile.camera_names)}, got {sorted(images)}')
                continue
            present[camera.name] = check_image(camera.name, image)
        return present

    def _prepare_all(
            self, observation: Observation) -> Tuple[Dict[str, np.ndarray], Dict[str, bool]]:
        """Every model slot's input and mask; frames not prepared yet are resized in parallel."""
        present = self.camera_images(observation.images)
        names = list(present)

        def prepare(name: str) -> np.ndarray:
            return self.prepare_image(name, present[name])

        missing = [n for n in names if not self.is_prepared(n, present[n])]
        if self._executor is not None and len(missing) > 1:
            prepared = dict(zip(names, self._executor.map(prepare, names)))
        else:
            prepared = {name: prepare(name) for name in names}
        by_slot = {self._cameras[name].slot: image for name, image in prepared.items()}
        images = {s: by_slot[s] if s in by_slot else black_image() for s in self.image_slots}
        masks = {s: s in by_slot for s in self.image_slots}
        return images, masks

    def preprocess(self, observation: Observation) -> ModelInputs:
        """Observation -> ModelInputs; bad inputs raise ValueError naming the field."""
        if not isinstance(observation.prompt, str):
            raise ValueError(f'prompt: expected a str, got {type(observation.prompt).__name__}')
        model_state = state_to_model(self.profile, observation.state)
        normalized = self.normalizer.normalize('state', model_state)
        prompt_state = normalized if self.profile.prompt_format == 'state' else None
        tokens, token_mask = self.tokenizer.tokenize(observation.prompt, prompt_state)
        images, masks = self._prepare_all(observation)
        return ModelInputs(images=images, image_masks=masks, tokens=tokens,
                           token_mask=token_mask,
                           state=np.asarray(observation.state, dtype=np.float64),
                           model_state=model_state, normalized_state=normalized)

    def postprocess(self, model_actions: np.ndarray, inputs: ModelInputs) -> np.ndarray:
        """(H, action_dim) model output -> (chunk_rows, J) absolute targets in joint order."""
        actions = np.asarray(model_actions, dtype=np.float64)
        rows = self.profile.chunk_rows
        if actions.ndim != 2 or actions.shape[0] < rows:
            raise ValueError(f'model actions: expected shape (>= chunk_rows={rows}, A), '
                             f'got {actions.shape}')
        actions = self.normalizer.unnormalize('actions', actions[:rows])
        return actions_to_robot(self.profile, actions, inputs.state, inputs.model_state)
