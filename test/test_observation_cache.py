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

"""ObservationCache: staleness, skew, prompt, malformed inputs, recovery and thread safety."""

import threading
from types import SimpleNamespace

import cv2
import numpy as np
from pi05_ros.observation_cache import ObservationCache, ObservationNotReady
import pytest

S = 1_000_000_000
MS = 1_000_000
CAMERAS = ('base', 'left_wrist', 'right_wrist')
JOINTS = ('j1', 'j2', 'gripper')


def rgb8(value: int, height: int = 4, width: int = 6) -> SimpleNamespace:
    """Make an rgb8 Image whose every byte is ``value``."""
    return SimpleNamespace(height=height, width=width, encoding='rgb8', is_bigendian=0,
                           step=width * 3, data=bytes([value % 256]) * (height * width * 3))


def png(rgb: np.ndarray) -> SimpleNamespace:
    ok, encoded = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    return SimpleNamespace(format='png', data=encoded.tobytes())


def joint_state(names=('gripper', 'extra', 'j2', 'j1'), positions=(0.05, 9.0, 2.0, 1.0)):
    return SimpleNamespace(name=list(names), position=list(positions), velocity=[], effort=[])


def make_cache(**kwargs) -> ObservationCache:
    options = {'camera_names': CAMERAS, 'joint_names': JOINTS, 'max_age_ns': 500 * MS,
               'max_skew_ns': 50 * MS, 'default_prompt': 'pick up the cup'}
    options.update(kwargs)
    return ObservationCache(**options)


def fill(cache: ObservationCache, stamp_ns: int) -> None:
    for i, camera in enumerate(cache.camera_names):
        cache.put_image(camera, rgb8(10 * (i + 1)), stamp_ns + i * MS)
    cache.put_joint_state(joint_state(), stamp_ns)


def reasons_of(cache: ObservationCache, now_ns: int):
    with pytest.raises(ObservationNotReady) as info:
        cache.assemble(now_ns)
    return info.value.reasons


def test_assembles_an_observation_in_profile_terms():
    cache = make_cache()
    fill(cache, 10 * S)
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    cache.put_image('right_wrist', png(rgb), 10 * S + 3 * MS)
    obs = cache.assemble(10 * S + 20 * MS)
    assert set(obs.images) == set(CAMERAS)
    assert obs.images['base'].shape == (4, 6, 3) and np.all(obs.images['left_wrist'] == 20)
    np.testing.assert_array_equal(obs.images['right_wrist'], rgb)
    np.testing.assert_array_equal(obs.state, [1.0, 2.0, 0.05])
    assert obs.prompt == 'pick up the cup'
    assert obs.stamp_ns == 10 * S + 3 * MS  # the newest source
    assert obs.source_stamps_ns == {'base': 10 * S, 'left_wrist': 10 * S + MS,
                                    'right_wrist': 10 * S + 3 * MS, 'joint_states': 10 * S}


def test_silent_camera_blocks_with_a_readable_reason_and_recovers():
    cache = make_cache()
    fill(cache, 10 * S)
    now = 11 * S + 200 * MS
    for camera in ('base', 'right_wrist'):
        cache.put_image(camera, rgb8(1), now - 10 * MS)
    cache.put_joint_state(joint_state(), now)
    assert reasons_of(cache, now) == ["camera 'left_wrist' silent for 1.20 s (max 0.50 s)"]
    cache.put_image('left_wrist', rgb8(2), now)
    assert np.all(cache.assemble(now).images['left_wrist'] == 2)


def test_camera_never_seen():
    cache = make_cache()
    cache.put_joint_state(joint_state(), 0)
    reasons = reasons_of(cache, 0)
    assert reasons == [f'camera {c!r}: no image received yet' for c in CAMERAS]


def test_camera_skew_between_fresh_frames():
    cache = make_cache(max_age_ns=S, frame_history=1)
    fill(cache, 10 * S)
    cache.put_image('left_wrist', rgb8(5), 10 * S + 80 * MS)
    assert reasons_of(cache, 10 * S + 100 * MS) == [
        "camera skew 0.080 s between 'base' and 'left_wrist' (max 0.050 s)"]
    cache.put_image('base', rgb8(5), 10 * S + 70 * MS)
    cache.put_image('right_wrist', rgb8(5), 10 * S + 75 * MS)
    cache.assemble(10 * S + 100 * MS)


def test_a_lost_frame_costs_one_frame_of_age_not_the_observation():
    cache = make_cache(max_age_ns=S, frame_history=4)  # synchronized cameras, stamped alike
    for t in (10 * S, 10 * S + 66 * MS):
        for camera in CAMERAS:
            if not (camera == 'left_wrist' and t > 10 * S):  # left's second frame is lost
                cache.put_image(camera, rgb8(t // MS), t)
    cache.put_joint_state(joint_state(), 10 * S + 90 * MS)
    cache.put_image('base', rgb8(1), 10 * S + 132 * MS)  # and base runs ahead
    observation = cache.assemble(10 * S + 140 * MS)
    assert {c: observation.source_stamps_ns[c] for c in CAMERAS} == {c: 10 * S for c in CAMERAS}
    assert observation.images['base'][0, 0, 0] == (10 * S // MS) % 256  # the matching frame
    cache.put_image('left_wrist', rgb8(2), 10 * S + 100 * MS)  # a newer set within 50 ms
    observation = cache.assemble(10 * S + 140 * MS)
    assert {c: observation.source_stamps_ns[c] - 10 * S for c in CAMERAS} == {
        'base': 66 * MS, 'left_wrist': 100 * MS, 'right_wrist': 66 * MS}


def test_skew_is_refused_when_no_recent_frames_agree():
    cache = make_cache(max_age_ns=S, frame_history=3)
    for k in range(3):  # left runs 200 ms behind the others on every frame
        t = 10 * S + k * 66 * MS
        for camera in CAMERAS:
            cache.put_image(camera, rgb8(k), t - (200 * MS if camera == 'left_wrist' else 0))
    cache.put_joint_state(joint_state(), 10 * S + 140 * MS)
    reasons = reasons_of(cache, 10 * S + 140 * MS)
    assert len(reasons) == 1 and reasons[0].startswith('camera skew 0.200 s'), reasons


def test_skew_unchecked_when_disabled():
    cache = make_cache(max_skew_ns=None)
    fill(cache, 10 * S)
    cache.put_image('left_wrist', rgb8(5), 10 * S + 400 * MS)
    cache.assemble(10 * S + 400 * MS)


def test_stale_joint_states_name_the_oldest_joint():
    cache = make_cache(max_age_ns={'base': S, 'left_wrist': S, 'right_wrist': S,
                                   'joint_states': 100 * MS})
    fill(cache, 10 * S)
    cache.put_joint_state(joint_state(('j1', 'j2'), (1.0, 2.0)), 10 * S + 300 * MS)
    assert reasons_of(cache, 10 * S + 300 * MS) == [
        "joint states stale: 'gripper' last updated 0.30 s ago (max 0.10 s)"]
    cache.put_joint_state(joint_state(('gripper',), (0.01,)), 10 * S + 310 * MS)  # merged
    obs = cache.assemble(10 * S + 320 * MS)
    np.testing.assert_array_equal(obs.state, [1.0, 2.0, 0.01])
    assert obs.source_stamps_ns['joint_states'] == 10 * S + 300 * MS


def test_joint_missing_from_every_message():
    cache = make_cache()
    fill(cache, 0)
    cache.reset()
    for i, camera in enumerate(CAMERAS):
        cache.put_image(camera, rgb8(i), 0)
    cache.put_joint_state(joint_state(('j1', 'j2'), (1.0, 2.0)), 0)
    assert reasons_of(cache, 0) == [
        "joint states: no value received yet for joints ['gripper']"]


def test_malformed_joint_state_blocks_until_a_good_one():
    cache = make_cache()
    fill(cache, 0)
    cache.put_joint_state(joint_state(('j1', 'j2', 'gripper'), (1.0, 2.0)), 0)  # no exception
    (reason,) = reasons_of(cache, 0)
    assert reason.startswith('joint states: malformed message: JointState.position: '
                             'expected one value per name (3), got 2')
    cache.put_joint_state(joint_state(), 0)
    cache.assemble(0)


def test_non_finite_joint_position():
    cache = make_cache()
    fill(cache, 0)
    cache.put_joint_state(joint_state(('j1',), (float('nan'),)), 0)
    assert reasons_of(cache, 0) == ["joint states: non-finite position for joints ['j1']"]


def test_malformed_image_is_reported_and_a_good_frame_recovers():
    cache = make_cache()
    fill(cache, 0)
    broken = rgb8(1)
    broken.data = broken.data[:-3]
    cache.put_image('base', broken, 0)
    cache.put_image('left_wrist', SimpleNamespace(height=4, width=6, encoding='bayer_grbg8',
                                                  is_bigendian=0, step=6, data=bytes(24)), 0)
    reasons = reasons_of(cache, 0)
    assert len(reasons) == 2
    assert reasons[0].startswith(
        "camera 'base': malformed image: Image.data: expected step * height = 18 * 4 = 72 bytes")
    assert reasons[1].startswith("camera 'left_wrist': malformed image: Image.encoding: "
                                 "unsupported encoding 'bayer_grbg8'")
    cache.put_image('base', rgb8(1), 0)
    cache.put_image('left_wrist', rgb8(1), 0)
    cache.assemble(0)


def test_prompt_rules():
    cache = make_cache(default_prompt='  ')
    fill(cache, 0)
    assert reasons_of(cache, 0) == [
        'empty prompt: no prompt received and default_prompt is empty']
    cache.put_prompt('fold the towel', 0)
    assert cache.assemble(0).prompt == 'fold the towel'
    cache.put_prompt('', 0)
    assert reasons_of(cache, 0) == ['empty prompt: the last prompt message was empty']
    permissive = make_cache(default_prompt='', allow_empty_prompt=True)
    fill(permissive, 0)
    assert permissive.assemble(0).prompt == ''


def test_every_problem_is_listed_at_once():
    cache = make_cache(default_prompt='')
    cache.put_image('base', rgb8(1), 0)
    reasons = reasons_of(cache, 2 * S)
    assert reasons == [
        "camera 'base' silent for 2.00 s (max 0.50 s)",
        "camera 'left_wrist': no image received yet",
        "camera 'right_wrist': no image received yet",
        "joint states: no value received yet for joints ['j1', 'j2', 'gripper']",
        'empty prompt: no prompt received and default_prompt is empty']
    assert str(ObservationNotReady(reasons)).count(';') == 4


def test_stamp_far_in_the_future_is_not_trusted():
    cache = make_cache()
    fill(cache, 10 * S)
    assert reasons_of(cache, 9 * S)[0] == (
        "camera 'base' stamp is 1.00 s in the future (max 0.50 s)")


def test_each_frame_is_converted_once_and_images_are_read_only():
    cache = make_cache()
    fill(cache, 0)
    first = cache.assemble(0)
    assert cache.conversions == 3
    second = cache.assemble(MS)
    assert cache.conversions == 3
    assert second.images['base'] is first.images['base']
    with pytest.raises(ValueError):
        first.images['base'][0, 0, 0] = 1
    cache.put_image('base', rgb8(99), MS)
    third = cache.assemble(MS)
    assert cache.conversions == 4 and np.all(third.images['base'] == 99)


def test_image_converts_on_demand_and_assemble_reuses_it():
    cache = make_cache()
    assert cache.image('base') is None
    fill(cache, 0)
    early = cache.image('base')
    assert cache.conversions == 1 and np.all(early == 10) and not early.flags.writeable
    assert cache.image('base') is early and cache.conversions == 1
    assert cache.assemble(0).images['base'] is early
    assert cache.conversions == 3
    broken = rgb8(1)
    broken.data = broken.data[:-3]
    cache.put_image('base', broken, 0)
    assert cache.image('base') is None
    assert reasons_of(cache, 0)[0].startswith("camera 'base': malformed image")
    with pytest.raises(ValueError, match='camera'):
        cache.image('nope')


def test_stale_frames_are_not_converted():
    cache = make_cache()
    fill(cache, 0)
    with pytest.raises(ObservationNotReady):
        cache.assemble(10 * S)
    assert cache.conversions == 0


def test_optional_camera_is_left_out_instead_of_blocking():
    cache = make_cache(optional_cameras=('right_wrist',))
    cache.put_image('base', rgb8(1), 0)
    cache.put_image('left_wrist', rgb8(2), 0)
    cache.put_joint_state(joint_state(), 0)
    obs = cache.assemble(0)
    assert set(obs.images) == {'base', 'left_wrist'}
    assert 'right_wrist' not in obs.source_stamps_ns
    cache.put_image('right_wrist', rgb8(3), 0)
    assert set(cache.assemble(0).images) == set(CAMERAS)


def test_profile_with_fewer_cameras():
    cache = make_cache(camera_names=('base',))
    cache.put_image('base', rgb8(1), 0)
    cache.put_joint_state(joint_state(), 0)
    assert set(cache.assemble(0).images) == {'base'}
    with pytest.raises(ValueError, match=r"camera: expected one of \['base'\], got 'wrist'"):
        cache.put_image('wrist', rgb8(1), 0)


def test_ages_for_diagnostics():
    cache = make_cache()
    cache.put_image('base', rgb8(1), S)
    assert cache.ages_ns(S + 250 * MS) == {'base': 250 * MS, 'left_wrist': None,
                                           'right_wrist': None, 'joint_states': None}


def test_not_ready_carries_the_ages_of_the_same_snapshot():
    cache = make_cache()
    cache.put_image('base', rgb8(1), S)
    cache.put_joint_state(joint_state(), S + 100 * MS)
    with pytest.raises(ObservationNotReady) as info:
        cache.assemble(S + 300 * MS)
    assert info.value.ages_ns == {'base': 300 * MS, 'left_wrist': None, 'right_wrist': None,
                                  'joint_states': 200 * MS}


def test_limits_and_default_prompt_change_at_run_time():
    cache = make_cache(max_age_ns=500 * MS, max_skew_ns=50 * MS, frame_history=1)
    fill(cache, 10 * S)
    cache.put_image('left_wrist', rgb8(5), 10 * S + 80 * MS)
    assert any('camera skew' in r for r in reasons_of(cache, 10 * S + 100 * MS))
    cache.set_limits(max_skew_ns=100 * MS)
    cache.assemble(10 * S + 100 * MS)
    cache.set_limits(max_age_ns=50 * MS)
    assert any('silent' in r for r in reasons_of(cache, 10 * S + 100 * MS))
    cache.set_limits(max_age_ns=S, skew_unchecked=True, default_prompt='  stack the cups ')
    observation = cache.assemble(10 * S + 900 * MS)
    assert observation.prompt == 'stack the cups'
    cache.put_prompt('wipe')
    cache.set_limits(default_prompt='other')  # a received prompt stays
    assert cache.prompt == 'wipe'
    with pytest.raises(ValueError, match='max_skew_ns'):
        cache.set_limits(max_skew_ns=0)


def test_reset_forgets_inputs_and_prompt():
    cache = make_cache()
    fill(cache, 0)
    cache.put_prompt('other task', 0)
    cache.reset()
    assert cache.prompt == 'pick up the cup'
    assert len(reasons_of(cache, 0)) == 4


@pytest.mark.parametrize('kwargs,match', [
    ({'max_age_ns': 0}, 'max_age_ns: expected a positive integer'),
    ({'max_age_ns': 0.5}, 'max_age_ns: expected a positive integer'),
    ({'max_age_ns': {'base': S}}, 'max_age_ns: expected one limit for each of .*missing '
                                  r"\['left_wrist', 'right_wrist', 'joint_states'\]"),
    ({'max_skew_ns': -1}, 'max_skew_ns: expected a positive integer'),
    ({'joint_names': ()}, 'joint_names: expected at least one name'),
    ({'camera_names': ('a', 'a')}, 'camera_names: expected unique names'),
    ({'optional_cameras': ('head',)}, r"optional_cameras: \['head'\] are not in camera_names"),
])
def test_bad_configuration_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cache(**kwargs)


def test_concurrent_puts_and_assembles_stay_consistent():
    """Writers stamp each frame with its pixel value; every observation must pair them right."""
    cache = make_cache(max_age_ns=10 * S, max_skew_ns=10 * S)
    for camera in CAMERAS:
        cache.put_image(camera, rgb8(0), 0)
    cache.put_joint_state(joint_state(JOINTS, (0.0, 0.0, 0.0)), 0)
    errors = []
    stop = threading.Event()

    def camera_writer(camera):
        for stamp in range(1, 400):
            cache.put_image(camera, rgb8(stamp), stamp)

    def joint_writer():
        for stamp in range(1, 400):
            cache.put_joint_state(joint_state(('j1', 'j2', 'gripper'), (stamp, stamp, stamp)),
                                  stamp)

    def reader():
        while not stop.is_set():
            try:
                obs = cache.assemble(400)
            except Exception as error:  # any exception escaping assemble is a failure
                errors.append(error)
                return
            for camera, image in obs.images.items():
                if image[0, 0, 0] != obs.source_stamps_ns[camera] % 256:
                    errors.append(f'{camera}: pixel {image[0, 0, 0]} for stamp '
                                  f'{obs.source_stamps_ns[camera]}')
            if obs.state[0] != obs.source_stamps_ns['joint_states']:
                errors.append(f'state {obs.state} for stamp {obs.source_stamps_ns}')

    writers = [threading.Thread(target=camera_writer, args=(c,)) for c in CAMERAS]
    writers.append(threading.Thread(target=joint_writer))
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    final = cache.assemble(400)
    assert final.source_stamps_ns == {'base': 399, 'left_wrist': 399, 'right_wrist': 399,
                                      'joint_states': 399}
