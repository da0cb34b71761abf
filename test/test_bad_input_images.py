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

"""Issue 15: an Image whose data is a list is checked like bytes and arrays, never wrapped."""

from types import SimpleNamespace

import numpy as np
from pi05_ros.messages import compressed_image_to_rgb, image_to_rgb, ImageConversionError
import pytest


def list_image(values):
    return SimpleNamespace(height=1, width=2, encoding='rgb8', is_bigendian=0, step=6,
                           data=values)


def test_list_in_range_converts_like_bytes():
    values = [0, 1, 2, 253, 254, 255]
    np.testing.assert_array_equal(image_to_rgb(list_image(values)),
                                  image_to_rgb(list_image(bytes(values))))


@pytest.mark.parametrize('values, shown', [
    ([0, 1, 2, 3, 4, 300], '[0, 300]'),
    ([-1, 1, 2, 3, 4, 5], '[-1, 5]'),
    ((256, 0, 0, 0, 0, 0), '[0, 256]'),
])
def test_list_out_of_range_is_refused_naming_the_field(values, shown):
    with pytest.raises(ImageConversionError, match=r'Image\.data: expected byte values 0\.\.255, '
                       r'got values in ' + shown.replace('[', r'\[').replace(']', r'\]')):
        image_to_rgb(list_image(values))


def test_list_of_floats_or_strings_is_refused():
    for values in ([0.5] * 6, ['a'] * 6):
        with pytest.raises(ImageConversionError, match=r'Image\.data: expected a flat sequence of '
                           'integers 0..255'):
            image_to_rgb(list_image(values))


def test_compressed_list_out_of_range_is_refused():
    msg = SimpleNamespace(format='png', data=[137, 80, 78, 71, 999])
    with pytest.raises(ImageConversionError, match=r'CompressedImage\.data: expected byte '
                       'values 0..255'):
        compressed_image_to_rgb(msg)


def test_arrays_of_other_dtypes_are_checked_like_lists_not_reinterpreted():
    values = [0, 1, 2, 253, 254, 255]
    expected = image_to_rgb(list_image(bytes(values)))
    for dtype in (np.int64, np.uint16, np.int32):
        np.testing.assert_array_equal(image_to_rgb(list_image(np.asarray(values, dtype))),
                                      expected)
    with pytest.raises(ImageConversionError, match=r'expected byte values 0\.\.255, got values '
                       r'in \[0, 300\]'):
        image_to_rgb(list_image(np.asarray([0, 1, 2, 3, 4, 300], np.int64)))
    with pytest.raises(ImageConversionError, match='expected a flat sequence of integers'):
        image_to_rgb(list_image(np.full(6, 0.5)))
