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

"""Replay baselines (hold, constant velocity, delayed recording) on bags with known answers."""

import numpy as np
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.runtime import Policy
from pi05_ros.replay import baselines, ros_types
from pi05_ros.replay.bag_io import BagWriter
from pi05_ros.replay.demo_bag import camera_background, camera_frame, frame_message
from pi05_ros.replay.evaluate import ReplayOptions, run_replay
import pytest
import torch

START_NS = 1_700_000_000 * 10**9
VELOCITY = np.array([0.05, -0.1, 0.15, 0.02, -0.03, 0.08, 0.01])  # rad/s, per joint


@pytest.fixture(scope='module')
def profile():
    return load_profile('demo')


@pytest.fixture(scope='module')
def policy(tmp_path_factory, profile):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    checkpoint = make_demo_checkpoint(tmp_path_factory.mktemp('checkpoint'), profile='demo')
    yield Policy.from_checkpoint(checkpoint, profile)
    torch.set_num_threads(threads)


def write_linear_bag(path, profile, seconds=1.2, state_hz=50, camera_fps=10):
    """Joint states moving at constant VELOCITY from 0.1 rad, three cameras, no commands."""
    names = tuple(profile.joint_names)
    backgrounds = [camera_background(i) for i in range(len(profile.cameras))]
    events = [(k * 10**9 // state_hz, 0, k) for k in range(int(seconds * state_hz) + 1)]
    events += [(10**9 // state_hz + k * 10**9 // camera_fps, 1, k)
               for k in range(int(seconds * camera_fps))]
    with BagWriter(path) as writer:
        for offset_ns, kind, _ in sorted(events):
            q = 0.1 + VELOCITY * offset_ns / 1e9
            time_ns = START_NS + offset_ns
            if kind == 0:
                writer.write('/' + profile.joint_states_topic, time_ns,
                             ros_types.joint_state(names, q, time_ns))
            else:
                for camera, background in zip(profile.cameras, backgrounds):
                    writer.write('/' + camera.topic, time_ns, frame_message(
                        camera_frame(background, q), time_ns, 'rgb8', camera.name))
    return path


def test_velocity_is_the_slope_of_the_past_joint_states_only():
    times = np.arange(0, 200_000_000, 20_000_000, dtype=np.int64)  # 10 samples at 50 Hz
    positions = 0.3 + np.outer(times / 1e9, [0.5, -2.0])
    positions[times > 100_000_000] += 7.0  # the future: must not be used
    assert baselines.estimate_velocity(times, positions, 100_000_000) == pytest.approx(
        [0.5, -2.0])
    # a window with one sample falls back to the last two samples
    assert baselines.estimate_velocity(times, positions, 100_000_000, window_ns=1) == \
        pytest.approx([0.5, -2.0])
    assert baselines.estimate_velocity(times[:1], positions[:1], 0).tolist() == [0.0, 0.0]


def test_on_constant_velocity_motion_the_velocity_baseline_is_exact(tmp_path, profile, policy):
    bag = write_linear_bag(tmp_path / 'linear', profile)
    delay_ms = 40.0
    result = run_replay(bag, profile, policy, ReplayOptions(inference_delay_ms=delay_ms))
    scored = result.metrics['baselines']
    record = result.record
    assert len(record.chunks) >= 4
    velocity = scored[baselines.VELOCITY]['prediction']
    assert velocity['mae'] < 1e-9 and velocity['num_chunks'] == len(record.chunks)
    # holding still is wrong by |v| times how far each row lies after the observed state
    expected_hold = []
    for chunk, seen in zip(record.chunks, record.chunk_inputs):
        inside = chunk.row_times_ns() <= START_NS + 1_200_000_000
        ahead_s = (chunk.row_times_ns()[inside] - seen.state_stamp_ns) / 1e9
        expected_hold.append(np.abs(np.outer(ahead_s, VELOCITY)))
    hold = scored[baselines.HOLD]['prediction']
    assert hold['mae'] == pytest.approx(np.concatenate(expected_hold).mean(), rel=1e-9)
    assert hold['per_step']['mae'][0] < hold['per_step']['mae'][5]  # grows along the horizon
    # the recording 40 ms late is wrong by |v| * 40 ms on every row
    delayed = scored[baselines.DELAYED]['prediction']
    assert delayed['mae'] == pytest.approx(np.abs(VELOCITY).mean() * delay_ms / 1e3, rel=1e-6)
    assert scored[baselines.DELAYED]['label'] == 'recording, delayed 40 ms'
    # every baseline is executed too, against the same truth
    for name in baselines.NAMES:
        executed = scored[name]['executed']
        assert executed['num_commands'] == len(record.log.times_ns)
        assert len(executed['per_window']['mae']) == len(record.chunks)
        # checked against the same limits as the policy's stream, tick by tick
        assert executed['limits'] == {'ticks': executed['num_commands'], 'ticks_above_any': 0}


def test_executing_the_policy_chunks_again_reproduces_the_replayed_commands(tmp_path, profile,
                                                                            policy):
    """The baselines' executor run is the replay's own: the same chunks give the same stream."""
    bag = write_linear_bag(tmp_path / 'linear', profile)
    options = ReplayOptions(inference_delay_ms=60.0)
    result = run_replay(bag, profile, policy, options)
    record = result.record
    limits = result.metrics['run']['executor']  # the replay's default limits, as JSON
    assert limits['rate_hz'] == 100.0
    from pi05_ros.replay.evaluate import default_limits
    log = baselines.execute_chunks(
        default_limits(profile.joint_names, options.max_velocity, options.max_acceleration),
        options.executor, record.joint_states,
        list(zip(record.chunk_available_ns, record.chunks)), record.start_ns, record.end_ns,
        10_000_000)
    assert log.times_ns == record.log.times_ns
    np.testing.assert_array_equal(np.array(log.positions), np.array(record.log.positions))
    assert log.decisions == record.log.decisions


def test_overlap_block_counts_the_chunks_in_one_horizon(profile):
    names = tuple(profile.joint_names)
    chunks = [baselines.ActionChunk(np.zeros((50, len(names))), k * 200_000_000, 50_000_000,
                                    names) for k in range(5)]
    assert baselines.overlap_block(chunks) == 13  # 2.5 s horizon / 0.2 s period, rounded up
    assert baselines.overlap_block(chunks[:1]) == 1
