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

"""Image preprocessing against openpi_client.image_tools.resize_with_pad (the oracle)."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st
import numpy as np
from pi05_ros.policy.images import (black_image, check_image, ImageError, resize_with_pad,
                                    to_model_range)
import pytest

try:  # a module-level importorskip would skip the whole test/ folder under launch_testing
    from openpi_client import image_tools
except ImportError:
    image_tools = None
needs_openpi_client = pytest.mark.skipif(
    image_tools is None, reason='needs openpi-client (pip install openpi-client)')

SIZES = [(480, 640), (640, 480), (720, 1280), (224, 224), (100, 100), (1, 1), (3, 500),
         (500, 3), (223, 225), (225, 223), (96, 128), (1080, 1920), (300, 301), (57, 449)]


def max_level_difference(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@needs_openpi_client
@pytest.mark.parametrize('height,width', SIZES)
def test_resize_is_bit_identical_to_openpi_client(height, width):
    rng = np.random.default_rng(height * 10007 + width)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    ours = resize_with_pad(image)
    theirs = image_tools.resize_with_pad(image, 224, 224)
    assert ours.shape == (224, 224, 3) and ours.dtype == np.uint8
    assert max_level_difference(ours, theirs) == 0  # same PIL call (the issue allows 1 level)


@needs_openpi_client
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 700), st.integers(1, 700), st.integers(0, 2**31))
def test_resize_matches_oracle_on_random_aspect_ratios(height, width, seed):
    ratio = max(width / 224, height / 224)
    assume(int(height / ratio) >= 1 and int(width / ratio) >= 1)  # else openpi fails too
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert max_level_difference(resize_with_pad(image), image_tools.resize_with_pad(
        image, 224, 224)) == 0


def test_padding_is_black_and_centred():
    image = np.full((100, 200, 3), 255, dtype=np.uint8)  # 2:1 -> 224 x 112, 56 rows pad each side
    out = resize_with_pad(image)
    assert (out[:56] == 0).all() and (out[168:] == 0).all() and (out[56:168] == 255).all()


def test_model_range_is_openpi_float_conversion():
    values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    expected = values.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
    out = to_model_range(values)
    assert out.dtype == np.float32 and np.array_equal(out, expected)
    assert out.min() == -1.0 and out.max() == 1.0


def test_black_image_is_minus_one():
    image = black_image()
    assert image.shape == (224, 224, 3) and image.dtype == np.float32
    assert (image == -1.0).all()


@pytest.mark.parametrize('bad,match', [
    (np.zeros((10, 10, 3), dtype=np.float32), 'dtype uint8'),
    (np.zeros((10, 10), dtype=np.uint8), r'shape \(H, W, 3\)'),
    (np.zeros((10, 10, 4), dtype=np.uint8), r'shape \(H, W, 3\)'),
    ([[0, 0, 0]], 'numpy array'),
])
def test_bad_images_name_the_camera(bad, match):
    with pytest.raises(ImageError, match=f"images\\['base_0_rgb'\\].*{match}"):
        check_image('base_0_rgb', bad)


def test_too_thin_image_is_a_clear_error():
    with pytest.raises(ImageError, match='too thin'):
        resize_with_pad(np.zeros((1, 300, 3), dtype=np.uint8))
