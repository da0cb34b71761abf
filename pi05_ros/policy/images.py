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
Camera images to model inputs, the way openpi does it.

An RGB uint8 image of any size is resized with padding to 224x224 (openpi's
``image_tools.resize_with_pad``: aspect-preserving PIL bilinear resize, black padding split evenly,
the odd pixel going to the bottom/right), then mapped to float32 in [-1, 1] as
``x / 255 * 2 - 1``. An image slot without a camera gets a black image and mask False.

The resize uses PIL itself, so it is bit-identical to openpi's; ``PolicyTransforms`` resizes the
frames of several cameras in a thread pool (PIL releases the GIL while resampling).
"""

from typing import Tuple

import numpy as np
from PIL import Image

MODEL_IMAGE_SIZE = 224
IMAGE_SLOTS = ('base_0_rgb', 'left_wrist_0_rgb', 'right_wrist_0_rgb')


class ImageError(ValueError):
    """A camera image has the wrong dtype, shape or values."""


def check_image(name: str, image: object) -> np.ndarray:
    """Return ``image`` as an (H, W, 3) uint8 array or raise ImageError naming ``name``."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f'images[{name!r}]: expected a numpy array (H, W, 3) uint8 RGB, got '
                         f'{type(image).__name__}')
    if image.dtype != np.uint8:
        raise ImageError(f'images[{name!r}]: expected dtype uint8 (RGB 0..255), got {image.dtype}')
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError(f'images[{name!r}]: expected shape (H, W, 3), got {image.shape}')
    return image


def padded_size(height: int, width: int, target_h: int, target_w: int) -> Tuple[int, int]:
    """Return the (height, width) the image is resized to before padding (openpi's rounding)."""
    ratio = max(width / target_w, height / target_h)
    return int(height / ratio), int(width / ratio)


def resize_with_pad(image: np.ndarray, height: int = MODEL_IMAGE_SIZE,
                    width: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3) uint8, identical to openpi's resize_with_pad."""
    if image.shape[:2] == (height, width):
        return image
    new_h, new_w = padded_size(image.shape[0], image.shape[1], height, width)
    if new_h < 1 or new_w < 1:
        raise ImageError(f'image of shape {image.shape} is too thin to resize with padding to '
                         f'{height}x{width} (it would shrink to {new_h}x{new_w})')
    resized = np.asarray(
        Image.fromarray(np.ascontiguousarray(image)).resize((new_w, new_h),
                                                            resample=Image.BILINEAR))
    out = np.zeros((height, width, 3), dtype=np.uint8)
    top = max(0, int((height - new_h) / 2))
    left = max(0, int((width - new_w) / 2))
    out[top:top + new_h, left:left + new_w] = resized
    return out


def to_model_range(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 3) float32 in [-1, 1] as openpi: x / 255 * 2 - 1 in float32."""
    out = image.astype(np.float32)
    out /= np.float32(255.0)
    out *= np.float32(2.0)
    out -= np.float32(1.0)
    return out


def black_image(height: int = MODEL_IMAGE_SIZE, width: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """Return the model input of an image slot without a camera: all -1 (black)."""
    return np.full((height, width, 3), -1.0, dtype=np.float32)
