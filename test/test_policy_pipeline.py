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

"""PolicyTransforms.prepare_image: memoized per camera, identical to preparing in preprocess."""

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.images import ImageError, resize_with_pad, to_model_range
from pi05_ros.policy.runtime import Policy
import pytest


@pytest.fixture(scope='module', params=['demo', 'libero'])  # libero rotates its cameras
def policy(request, tmp_path_factory):
    directory = make_demo_checkpoint(tmp_path_factory.mktemp(request.param), request.param)
    policy = Policy.from_checkpoint(directory, request.param, warmup=False, seed=0)
    yield policy
    policy.close()


def frames(policy, seed, read_only=True):
    rng = np.random.default_rng(seed)
    images = {name: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
              for name in policy.profile.camera_names}
    for image in images.values():
        image.flags.writeable = not read_only
    return images


def observation(policy, images):
    state = np.linspace(-0.3, 0.3, len(policy.profile.state_names))
    return Observation(images=images, state=state,
                       prompt='pick up the cube', stamp_ns=0)


def assert_same_inputs(a, b):
    assert a.image_masks == b.image_masks
    for slot in a.images:
        np.testing.assert_array_equal(a.images[slot], b.images[slot])
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.token_mask, b.token_mask)
    np.testing.assert_array_equal(a.normalized_state, b.normalized_state)


def test_prepared_first_gives_the_same_inputs_without_resizing_again(policy):
    transforms = policy.transforms
    cold = transforms.preprocess(observation(policy, frames(policy, 1)))
    images = frames(policy, 1)  # same pixels, new objects: memo misses
    for name, image in images.items():
        assert not transforms.is_prepared(name, image)
        transforms.prepare_image(name, image)
        assert transforms.is_prepared(name, image)
    count = transforms.images_prepared
    warm = transforms.preprocess(observation(policy, images))
    assert transforms.images_prepared == count  # every frame came from the memo
    assert_same_inputs(cold, warm)


def test_prepare_image_matches_openpi_resize_and_rotation(policy):
    transforms = policy.transforms
    for camera in policy.profile.cameras:
        image = frames(policy, 2)[camera.name]
        source = image[::-1, ::-1] if camera.rotate_180 else image
        np.testing.assert_array_equal(transforms.prepare_image(camera.name, image),
                                      to_model_range(resize_with_pad(source)))


def test_new_frame_object_misses_the_memo(policy):
    transforms = policy.transforms
    name = policy.profile.camera_names[0]
    first, second = frames(policy, 3)[name], frames(policy, 4)[name]
    prepared = transforms.prepare_image(name, first)
    count = transforms.images_prepared
    assert transforms.prepare_image(name, first) is prepared
    assert transforms.images_prepared == count
    assert not np.array_equal(transforms.prepare_image(name, second), prepared)
    assert transforms.images_prepared == count + 1


def test_writeable_frames_are_never_served_from_the_memo(policy):
    """A camera driver may refill one buffer in place: the same object is not the same frame."""
    transforms = policy.transforms
    name = policy.profile.camera_names[0]
    buffer = frames(policy, 5, read_only=False)[name]
    before = transforms.prepare_image(name, buffer).copy()
    buffer[:] = 255 - buffer
    after = transforms.prepare_image(name, buffer)
    assert not transforms.is_prepared(name, buffer)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, transforms.prepare_image(name, buffer.copy()))


def test_unknown_camera_and_bad_image_raise(policy):
    with pytest.raises(ImageError, match='not a camera'):
        policy.transforms.prepare_image('nope', np.zeros((4, 4, 3), np.uint8))
    name = policy.profile.camera_names[0]
    with pytest.raises(ImageError, match='dtype'):
        policy.transforms.prepare_image(name, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ImageError, match=rf"images\['{name}'\]: .*too thin"):
        policy.transforms.prepare_image(name, np.zeros((1, 300, 3), np.uint8))
