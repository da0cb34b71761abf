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

"""Image / CompressedImage -> RGB: each encoding against raw bytes built here from known pixels."""

import array
from types import SimpleNamespace

import cv2
import numpy as np
from pi05_ros.messages import (
    compressed_image_to_rgb, image_to_rgb, ImageConversionError, images, message_to_rgb,
    rgb_to_compressed_fields, rgb_to_image_fields, SUPPORTED_ENCODINGS)
import pytest
from rosbags.typesys import get_typestore, Stores

HEIGHT, WIDTH = 6, 8
STORE = get_typestore(Stores.ROS2_HUMBLE)


def known_rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def raw_image(pixels: np.ndarray, encoding: str, padding: int = 0, data_type=bytes,
              bigendian: bool = False) -> SimpleNamespace:
    """Make an Image whose rows are ``pixels`` rows (any dtype) then ``padding`` 0xAB bytes."""
    height, width = pixels.shape[:2]
    row_bytes = np.frombuffer(np.ascontiguousarray(pixels).tobytes(), np.uint8).reshape(height, -1)
    padded = np.concatenate([row_bytes, np.full((height, padding), 0xAB, np.uint8)], axis=1)
    data = padded.tobytes()
    if data_type is array.array:
        data = array.array('B', data)
    elif data_type is np.ndarray:
        data = np.frombuffer(data, np.uint8)
    elif data_type is not bytes:
        data = data_type(data)
    return SimpleNamespace(height=height, width=width, encoding=encoding,
                           is_bigendian=int(bigendian), step=padded.shape[1], data=data)


def bt601_yuv(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 3) limited-range BT.601 Y, U(Cb), V(Cr) as float."""
    r, g, b = (rgb[..., i].astype(np.float64) / 255.0 for i in range(3))
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.stack([y, u, v], axis=-1)


def pairwise_rgb() -> np.ndarray:
    """Make a known image whose horizontal pixel pairs are equal (4:2:2 loses nothing)."""
    half = np.random.default_rng(1).integers(30, 220, (HEIGHT, WIDTH // 2, 3), dtype=np.uint8)
    return np.repeat(half, 2, axis=1)


def packed_422(rgb: np.ndarray, order: str) -> np.ndarray:
    """(H, W, 2) uint8 packed 4:2:2 bytes in 'UYVY' or 'YUYV' order."""
    yuv = np.rint(bt601_yuv(rgb)).astype(np.uint8)
    y = yuv[..., 0]
    u, v = yuv[:, 0::2, 1], yuv[:, 0::2, 2]  # pixel pairs share chroma
    out = np.empty((rgb.shape[0], rgb.shape[1] // 2, 4), np.uint8)
    if order == 'UYVY':
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = u, y[:, 0::2], v, y[:, 1::2]
    else:
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = y[:, 0::2], u, y[:, 1::2], v
    return out.reshape(rgb.shape[0], rgb.shape[1], 2)


def with_alpha(pixels: np.ndarray, alpha_value: int) -> np.ndarray:
    alpha = np.full(pixels.shape[:2] + (1,), alpha_value, pixels.dtype)
    return np.concatenate([pixels, alpha], axis=-1)


def eight_bit_cases():
    """Build (encoding, raw pixels, expected RGB) cases without the code under test."""
    rgb = known_rgb()
    gray = rgb[..., 1]
    return [
        ('rgb8', rgb, rgb),
        ('bgr8', rgb[..., ::-1].copy(), rgb),
        ('rgba8', with_alpha(rgb, 7), rgb),
        ('bgra8', with_alpha(rgb[..., ::-1], 7), rgb),
        ('mono8', gray, np.stack([gray] * 3, axis=-1)),
    ]


def sixteen_bit_cases(bigendian: bool):
    values = np.random.default_rng(2).integers(0, 65536, (HEIGHT, WIDTH, 3)).astype(np.uint16)
    expected = np.rint(values.astype(np.float64) * 255.0 / 65535.0).astype(np.uint8)
    dtype = '>u2' if bigendian else '<u2'
    return [(encoding, pixels.astype(dtype), rgb) for encoding, pixels, rgb in [
        ('rgb16', values, expected),
        ('bgr16', values[..., ::-1], expected),
        ('rgba16', with_alpha(values, 1234), expected),
        ('bgra16', with_alpha(values[..., ::-1], 1234), expected),
        ('mono16', values[..., 0], np.stack([expected[..., 0]] * 3, axis=-1)),
    ]]


@pytest.mark.parametrize('padding', [0, 5])
@pytest.mark.parametrize('case', eight_bit_cases(), ids=lambda c: c[0])
def test_8bit_encodings_give_the_known_rgb(case, padding):
    encoding, pixels, expected = case
    rgb = image_to_rgb(raw_image(pixels, encoding, padding))
    assert rgb.dtype == np.uint8 and rgb.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(rgb, expected)


@pytest.mark.parametrize('bigendian', [False, True])
@pytest.mark.parametrize('padding', [0, 6])
@pytest.mark.parametrize('case_index', range(5))
def test_16bit_encodings_scale_to_8bit_honouring_endianness(case_index, padding, bigendian):
    encoding, pixels, expected = sixteen_bit_cases(bigendian)[case_index]
    rgb = image_to_rgb(raw_image(pixels, encoding, padding, bigendian=bigendian))
    np.testing.assert_array_equal(rgb, expected)


def test_16bit_with_the_wrong_endianness_flag_differs():
    encoding, pixels, expected = sixteen_bit_cases(bigendian=True)[0]
    assert not np.array_equal(image_to_rgb(raw_image(pixels, encoding, bigendian=False)),
                              expected)


def test_big_endian_flag_does_not_change_8bit_images():
    rgb = known_rgb()
    np.testing.assert_array_equal(image_to_rgb(raw_image(rgb, 'rgb8', bigendian=True)), rgb)


@pytest.mark.parametrize('padding', [0, 4])
@pytest.mark.parametrize('encoding,order', [('yuv422', 'UYVY'), ('uyvy', 'UYVY'),
                                            ('yuv422_yuy2', 'YUYV'), ('yuyv', 'YUYV')])
def test_yuv422_encodings_match_bt601(encoding, order, padding):
    rgb = pairwise_rgb()
    result = image_to_rgb(raw_image(packed_422(rgb, order), encoding, padding))
    assert result.shape == rgb.shape
    assert np.abs(result.astype(int) - rgb.astype(int)).max() <= 3


def test_uyvy_and_yuyv_are_not_interchangeable():
    rgb = pairwise_rgb()
    wrong = image_to_rgb(raw_image(packed_422(rgb, 'UYVY'), 'yuyv'))
    assert np.abs(wrong.astype(int) - rgb.astype(int)).max() > 20


@pytest.mark.parametrize('data_type', [bytes, bytearray, array.array, np.ndarray, memoryview])
def test_data_container_types(data_type):
    rgb = known_rgb()
    np.testing.assert_array_equal(image_to_rgb(raw_image(rgb, 'bgr8', 3, data_type)),
                                  rgb[..., ::-1])


def test_plain_list_data():
    rgb = known_rgb()
    msg = raw_image(rgb, 'rgb8')
    msg.data = list(msg.data)
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)


def test_rosbags_deserialized_message_converts_and_result_is_independent_writable_memory():
    image_type = STORE.types['sensor_msgs/msg/Image']
    header = STORE.types['std_msgs/msg/Header'](
        stamp=STORE.types['builtin_interfaces/msg/Time'](sec=1, nanosec=2), frame_id='cam')
    rgb = known_rgb()
    fields = vars(raw_image(rgb, 'rgb8', padding=2, data_type=np.ndarray))
    msg = image_type(header=header, **fields)
    raw = STORE.serialize_cdr(msg, image_type.__msgtype__)
    decoded = STORE.deserialize_cdr(raw, image_type.__msgtype__)
    assert not decoded.data.flags.writeable  # rosbags: read-only view on the CDR bytes
    result = image_to_rgb(decoded)
    np.testing.assert_array_equal(result, rgb)
    before = bytes(decoded.data)
    result[:] = 0  # writable, and writing it leaves the message untouched
    assert bytes(decoded.data) == before


def test_encoding_name_is_case_and_space_insensitive():
    rgb = known_rgb()
    np.testing.assert_array_equal(image_to_rgb(raw_image(rgb[..., ::-1].copy(), ' BGR8 ')), rgb)


# --- errors -------------------------------------------------------------------------------


def test_unknown_encoding_names_it_and_lists_supported():
    msg = raw_image(known_rgb(), 'bayer_rggb8')
    with pytest.raises(ImageConversionError, match="'bayer_rggb8'.*rgb8.*yuv422_yuy2"):
        image_to_rgb(msg)


def test_data_shorter_than_step_times_height():
    msg = raw_image(known_rgb(), 'rgb8', padding=2)
    msg.data = msg.data[:-1]
    with pytest.raises(ImageConversionError, match=r'step \* height = 26 \* 6 = 156 .*got 155'):
        image_to_rgb(msg)


def test_longer_data_is_accepted_like_cv_bridge():
    rgb = known_rgb()
    msg = raw_image(rgb, 'rgb8')
    msg.data = msg.data + b'\x00' * 10
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)


def test_step_smaller_than_a_row():
    msg = raw_image(known_rgb(), 'rgba8')
    msg.step = WIDTH * 3
    with pytest.raises(ImageConversionError,
                       match=r'Image.step: .*width \* 4 = 32 .*rgba8.*got 24'):
        image_to_rgb(msg)


def test_wrong_size_for_encoding_is_caught():
    msg = raw_image(known_rgb(), 'rgb8')  # 3 bytes per pixel, declared as 4
    msg.encoding = 'rgba8'
    with pytest.raises(ImageConversionError, match='rgba8'):
        image_to_rgb(msg)


def test_odd_width_for_yuv422():
    msg = raw_image(np.zeros((2, 3, 2), np.uint8), 'yuv422')
    with pytest.raises(ImageConversionError, match='even width.*got 3'):
        image_to_rgb(msg)


def test_empty_image():
    msg = SimpleNamespace(height=0, width=4, encoding='rgb8', is_bigendian=0, step=12, data=b'')
    with pytest.raises(ImageConversionError, match='positive size'):
        image_to_rgb(msg)


def test_unsupported_data_type():
    msg = raw_image(known_rgb(), 'rgb8')
    msg.data = 12345
    with pytest.raises(ImageConversionError, match='Image.data: expected bytes'):
        image_to_rgb(msg)


# --- compressed -----------------------------------------------------------------------------


def smooth_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x + y) * 2 % 256],
                    axis=-1).astype(np.uint8)


def compressed(rgb: np.ndarray, ext: str, fmt: str) -> SimpleNamespace:
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]))  # files hold BGR
    assert ok
    return SimpleNamespace(format=fmt, data=encoded.tobytes())


@pytest.mark.parametrize('fmt', ['jpeg', 'rgb8; jpeg compressed bgr8', 'JPG', ''])
def test_jpeg_decodes_close_to_the_original(fmt):
    rgb = smooth_rgb()
    result = compressed_image_to_rgb(compressed(rgb, '.jpg', fmt))
    assert result.shape == rgb.shape and result.dtype == np.uint8
    assert np.abs(result.astype(int) - rgb.astype(int)).mean() < 3


@pytest.mark.parametrize('fmt', ['png', 'bgr8; png compressed bgr8', ''])
def test_png_decodes_exactly(fmt):
    rgb = known_rgb()
    np.testing.assert_array_equal(compressed_image_to_rgb(compressed(rgb, '.png', fmt)), rgb)


@pytest.mark.parametrize('ext', ['.png', '.jpg'])
def test_decoding_without_opencv_rgb_flag_gives_the_same_pixels(monkeypatch, ext):
    """Older OpenCV (no IMREAD_COLOR_RGB) decodes to BGR and swaps; pixels must not change."""
    msg = compressed(smooth_rgb(), ext, '')
    direct = compressed_image_to_rgb(msg)
    monkeypatch.setattr(images, 'IMREAD_COLOR_RGB', None)
    np.testing.assert_array_equal(compressed_image_to_rgb(msg), direct)


def test_grey_png_becomes_rgb():
    gray = known_rgb()[..., 0]
    ok, encoded = cv2.imencode('.png', gray)
    msg = SimpleNamespace(format='mono8; png compressed mono8', data=array.array('B', encoded))
    np.testing.assert_array_equal(compressed_image_to_rgb(msg), np.stack([gray] * 3, axis=-1))


def test_rosbags_compressed_image():
    image_type = STORE.types['sensor_msgs/msg/CompressedImage']
    header = STORE.types['std_msgs/msg/Header'](
        stamp=STORE.types['builtin_interfaces/msg/Time'](sec=0, nanosec=0), frame_id='')
    rgb = known_rgb()
    raw = compressed(rgb, '.png', 'png')
    msg = image_type(header=header, format='png', data=np.frombuffer(raw.data, np.uint8))
    decoded = STORE.deserialize_cdr(STORE.serialize_cdr(msg, image_type.__msgtype__),
                                    image_type.__msgtype__)
    np.testing.assert_array_equal(message_to_rgb(decoded), rgb)


def test_undecodable_compressed_data():
    msg = SimpleNamespace(format='jpeg', data=b'\xff\xd8 this is not a jpeg')
    with pytest.raises(ImageConversionError, match=r'do not decode as JPEG \(format .jpeg.\)'):
        compressed_image_to_rgb(msg)


def test_truncated_jpeg_does_not_decode_silently_into_garbage_size():
    msg = compressed(smooth_rgb(), '.jpg', 'jpeg')
    msg.data = msg.data[:20]
    with pytest.raises(ImageConversionError, match='do not decode'):
        compressed_image_to_rgb(msg)


def test_empty_compressed_data():
    with pytest.raises(ImageConversionError, match='CompressedImage.data: empty'):
        compressed_image_to_rgb(SimpleNamespace(format='png', data=b''))


@pytest.mark.parametrize('fmt,match', [('theora', 'unsupported format'),
                                       ('16UC1; compressedDepth png', 'depth image')])
def test_unsupported_compressed_formats(fmt, match):
    msg = compressed(known_rgb(), '.png', fmt)
    with pytest.raises(ImageConversionError, match=match):
        compressed_image_to_rgb(msg)


def test_message_to_rgb_dispatches_on_fields():
    rgb = known_rgb()
    np.testing.assert_array_equal(message_to_rgb(raw_image(rgb, 'rgb8')), rgb)
    np.testing.assert_array_equal(message_to_rgb(compressed(rgb, '.png', 'png')), rgb)
    with pytest.raises(ImageConversionError, match='expected a sensor_msgs/Image'):
        message_to_rgb(SimpleNamespace(data=b''))


# --- encoding helpers for synthetic cameras ---------------------------------------------------


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'])
def test_rgb_to_image_fields_round_trips(encoding):
    rgb = known_rgb()
    if encoding == 'mono8':
        rgb = np.stack([rgb[..., 0]] * 3, axis=-1)
    fields = rgb_to_image_fields(rgb, encoding)
    assert fields['encoding'] in SUPPORTED_ENCODINGS
    np.testing.assert_array_equal(image_to_rgb(SimpleNamespace(**fields)), rgb)


def test_rgb_to_compressed_fields_png_round_trips():
    rgb = known_rgb()
    np.testing.assert_array_equal(
        compressed_image_to_rgb(SimpleNamespace(**rgb_to_compressed_fields(rgb, 'png'))), rgb)


def test_rgb_to_image_fields_rejects_non_rgb():
    with pytest.raises(ValueError, match=r'rgb: expected a \(height, width, 3\) uint8'):
        rgb_to_image_fields(np.zeros((4, 4), np.uint8))
