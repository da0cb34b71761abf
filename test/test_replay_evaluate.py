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

"""Replay end to end: demo bag, tiny random-weight checkpoint, real policy and executor."""

import copy
import json

import cv2
import numpy as np
from pi05_ros.control.mode_switch import ModeRequest
from pi05_ros.messages import joint_trajectory_to_chunk
from pi05_ros.names import absolute_topic
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.runtime import Policy
from pi05_ros.replay import ros_types
from pi05_ros.replay.bag_io import BagReader, BagWriter, MissingTopicError
from pi05_ros.replay.demo_bag import demo_trajectory, DemoBagSpec, write_demo_bag
from pi05_ros.replay.evaluate import (
    check_bag, OUTPUT_CHUNK_TOPIC, OUTPUT_COMMAND_TOPIC, ReplayInputError, ReplayOptions,
    run_replay)
from pi05_ros.replay.report import write_report
import pytest
from replay_bags import as_humble, as_jazzy
import torch
import yaml

FRAMES = 12  # 1.2 s of bag at 10 fps: 6 inference cycles at 5 Hz


@pytest.fixture(scope='module')
def profile():
    return load_profile('demo')


@pytest.fixture(scope='module')
def policy(tmp_path_factory, profile):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model is fastest on one thread
    checkpoint = make_demo_checkpoint(tmp_path_factory.mktemp('checkpoint'), profile='demo')
    yield Policy.from_checkpoint(checkpoint, profile)
    torch.set_num_threads(threads)


def spec_for(profile, **kwargs) -> DemoBagSpec:
    return DemoBagSpec(joint_names=tuple(profile.joint_names),
                       camera_topics={c.name: c.topic for c in profile.cameras},
                       joint_states_topic=profile.joint_states_topic, camera_frames=FRAMES,
                       **kwargs)


@pytest.fixture(scope='module')
def bags(tmp_path_factory, profile):
    root = tmp_path_factory.mktemp('bags')
    return {storage: write_demo_bag(root / storage, spec_for(profile), storage=storage)
            for storage in ('mcap', 'sqlite3')}


def options(**kwargs) -> ReplayOptions:
    kwargs.setdefault('truth_topic', '/position_controller/commands')
    # a fixed delay: the default (the measured latency) depends on this machine's load
    kwargs.setdefault('inference_delay_ms', 0.0)
    return ReplayOptions(**kwargs)


def comparable(metrics: dict) -> dict:
    """Metrics without what depends on this machine's speed."""
    metrics = copy.deepcopy(metrics)
    metrics.pop('latency_ms')
    return metrics


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_replay_scores_chunks_against_recorded_commands(bags, profile, policy, storage):
    spec = spec_for(profile)
    result = run_replay(bags[storage], profile, policy, options())
    prediction = result.metrics['prediction']
    assert not result.interrupted
    assert prediction['num_chunks'] == len(result.record.chunks) >= 4
    assert prediction['horizon'] == profile.chunk_rows
    assert prediction['rows_with_truth'] > 0
    # the same errors computed independently from the demo's known command trajectory
    errors = []
    for chunk in result.record.chunks:
        t_s = (chunk.row_times_ns() - spec.start_ns) / 1e9
        inside = t_s <= spec.duration_ns / 1e9
        truth = demo_trajectory(t_s[inside], len(profile.joint_names))
        errors.append(np.abs(chunk.positions[inside] - truth))
    assert prediction['mae'] == pytest.approx(np.mean(np.concatenate(errors)), abs=1e-3)
    executed = result.metrics['executed']
    assert executed['num_commands'] == pytest.approx(100 * spec.duration_ns / 1e9, abs=2)
    assert 'commands' in result.metrics['run']['truth_source']
    assert result.metrics['latency_ms']['total']['count'] == prediction['num_chunks']


def test_same_bag_checkpoint_and_seed_give_identical_metrics(bags, profile, policy):
    first = run_replay(bags['mcap'], profile, policy, options(seed=7))
    second = run_replay(bags['mcap'], profile, policy, options(seed=7))
    assert json.dumps(comparable(first.metrics)) == json.dumps(comparable(second.metrics))
    for a, b in zip(first.record.chunks, second.record.chunks):
        np.testing.assert_array_equal(a.positions, b.positions)
    other = run_replay(bags['mcap'], profile, policy, options(seed=8, max_inferences=1))
    assert not np.array_equal(other.record.chunks[0].positions,
                              first.record.chunks[0].positions)


def test_a_run_cut_short_still_scores_every_row_of_its_chunks(bags, profile, policy):
    full = run_replay(bags['mcap'], profile, policy, options(seed=3))
    limited = run_replay(bags['mcap'], profile, policy, options(seed=3, max_inferences=2))
    window = run_replay(bags['mcap'], profile, policy, options(seed=3, duration_s=0.41))
    full_chunk_mae = full.metrics['prediction']['per_chunk']['mae']
    assert limited.metrics['run']['replayed_s'] < 0.5
    assert limited.metrics['prediction']['per_chunk']['mae'] == full_chunk_mae[:2]
    assert window.metrics['prediction']['per_chunk']['mae'] == full_chunk_mae[:2]
    # observation stamps: the cycles at 0.2 s and 0.4 s (the cache stamps with assembly time)
    assert full.metrics['prediction']['per_chunk']['time_s'][:2] == pytest.approx([0.2, 0.4])


def test_interrupt_leaves_a_valid_partial_report(bags, profile, policy, tmp_path):
    def interrupt_after_two(replayer):
        if len(replayer.record.chunks) == 2:
            raise KeyboardInterrupt

    result = run_replay(bags['mcap'], profile, policy, options(),
                        on_inference=interrupt_after_two)
    assert result.interrupted
    assert result.metrics['prediction']['num_chunks'] == 2
    assert result.metrics['run']['replayed_s'] < 1.0
    write_report(tmp_path, result.metrics, result.series, result.timings)
    assert json.loads((tmp_path / 'metrics.json').read_text())['run']['interrupted'] is True
    assert 'PARTIAL REPORT' in (tmp_path / 'index.html').read_text()


def test_prompt_messages_in_the_bag_are_honoured(bags, profile, policy):
    seen = []
    result = run_replay(bags['mcap'], profile, policy, options(),
                        on_inference=lambda r: seen.append(r.cache.prompt))
    prompts = spec_for(profile).prompts
    assert [p['text'] for p in result.metrics['run']['prompts']] == list(prompts)
    assert seen[0] == prompts[0] and seen[-1] == prompts[1]


def test_simulated_inference_delay(bags, profile, policy):
    result = run_replay(bags['mcap'], profile, policy,
                        options(inference_delay_ms=150.0, max_inferences=3))
    record = result.record
    start = record.start_ns
    cycles = [start + k * 200_000_000 for k in range(1, 4)]  # 5 Hz
    assert record.chunk_available_ns == [t + 150_000_000 for t in cycles]
    decided = [d[0] for d in record.log.decisions]
    assert decided == record.chunk_available_ns[:len(decided)]
    busy = run_replay(bags['mcap'], profile, policy, options(inference_delay_ms=300.0))
    assert busy.metrics['skipped_reasons']['previous inference still running'] >= 2


def test_the_default_delay_is_the_measured_model_latency(bags, profile, policy):
    result = run_replay(bags['mcap'], profile, policy, ReplayOptions(
        truth_topic='/position_controller/commands', inference_rate_hz=2.5))
    record = result.record
    totals = [t.get('total', sum(t.values())) for t in record.timings]
    assert len(totals) >= 2 and all(t > 0 for t in totals)
    # each chunk waits the median measured up to it (its own time included)
    expected = [float(np.median(totals[:k + 1])) for k in range(len(totals))]
    assert record.chunk_delay_ms == pytest.approx(expected)
    for chunk, available, delay_ms in zip(record.chunks, record.chunk_available_ns, expected):
        assert available - chunk.stamp_ns == pytest.approx(delay_ms * 1e6, abs=1)
    delay = result.metrics['run']['inference_delay']
    assert delay['source'] == 'measured' and 'measured model latency' in delay['text']
    assert delay['ms'] == pytest.approx(result.metrics['latency_ms']['total']['p50'])
    assert result.metrics['run']['inference_delay_ms'] == delay['ms']
    none = run_replay(bags['mcap'], profile, policy, options(max_inferences=1))
    assert none.metrics['run']['inference_delay']['source'] == 'none'
    assert 'observation time' in none.metrics['run']['inference_delay']['text']
    assert none.record.chunk_available_ns == [none.record.chunks[0].stamp_ns]
    given = run_replay(bags['mcap'], profile, policy, options(inference_delay_ms=120.0,
                                                              max_inferences=1))
    assert given.metrics['run']['inference_delay']['source'] == 'given'
    assert given.metrics['run']['inference_delay']['ms'] == 120.0
    with pytest.raises(ValueError, match='inference_delay_ms'):
        ReplayOptions(inference_delay_ms=-1.0)


def test_every_executed_tick_is_checked_against_the_limits(bags, profile, policy):
    result = run_replay(bags['mcap'], profile, policy, options(inference_delay_ms=150.0))
    executed = result.metrics['executed']
    checked = executed['limits']
    assert checked['ticks'] == executed['num_commands'] == len(result.record.tick_times_ns)
    assert checked['ticks_above_any'] == 0 and checked['above_times_s'] == []
    assert len(checked['checks']) == 7
    # the same accelerations computed independently from the logged command positions
    times, positions = result.record.log.arrays()
    dt = np.diff(times) / 1e9
    acceleration = np.abs(np.diff(np.diff(positions, axis=0) / dt[:, None], axis=0)
                          / dt[1:, None]).max()
    (fd,) = [c for c in checked['checks']
             if c['quantity'] == 'acceleration' and c['source'] == 'finite differences']
    assert fd['peak'] == pytest.approx(acceleration, rel=1e-6)
    assert fd['peak'] <= fd['limit'] * (1 + 1e-9)


def joint_state_bag(path, profile, ahead_ns):
    """Write the demo bag with every joint state stamped ``ahead_ns`` after its bag time."""
    plain = write_demo_bag(path / 'plain', spec_for(profile))
    with BagReader(plain) as reader, BagWriter(path / 'ahead') as writer:
        for message in reader.messages(list(reader.topics)):
            msg = message.msg
            if message.topic == absolute_topic(profile.joint_states_topic):
                msg = ros_types.joint_state(msg.name, msg.position,
                                            message.time_ns + ahead_ns)
            writer.write(message.topic, message.time_ns, msg)
    return path / 'ahead'


def test_joint_states_reach_the_executor_at_their_bag_time_with_their_header_stamp(
        tmp_path, profile, policy):
    """As the live node: stamped 10 s ahead of arrival (driver clock ahead) is refused."""
    bag = joint_state_bag(tmp_path, profile, ahead_ns=10 * 10**9)
    ahead = run_replay(bag, profile, policy, options(truth_topic=None))
    assert ahead.metrics['executed']['num_commands'] == 0  # never started: no joint state
    with BagReader(bag) as reader:
        states = reader.message_count([absolute_topic(profile.joint_states_topic)])
    assert ahead.metrics['executed']['executor_refusals']['joint_state_from_future'] == states
    # the same bag judged on bag time only runs
    bag_time = run_replay(bag, profile, policy, options(truth_topic=None,
                                                        use_header_stamps=False))
    assert bag_time.metrics['executed']['num_commands'] > 100
    assert 'joint_state_from_future' not in bag_time.metrics['executed']['executor_refusals']
    # a few ms ahead is within the tolerance (future_tolerance_s 0.05)
    slightly = run_replay(joint_state_bag(tmp_path / 'slightly', profile, 10_000_000), profile,
                          policy, options(truth_topic=None, max_inferences=2))
    assert slightly.metrics['executed']['num_commands'] > 0


def test_future_joint_states_are_the_default_truth(bags, profile, policy):
    result = run_replay(bags['mcap'], profile, policy, options(truth_topic=None,
                                                               max_inferences=2))
    assert result.metrics['run']['truth_source'].startswith('future joint states')
    assert result.metrics['prediction']['rows_with_truth'] > 0


def test_topic_selection_and_missing_topics(bags, profile, policy):
    with pytest.raises(MissingTopicError) as err:
        run_replay(bags['mcap'], profile, policy,
                   options(camera_topics={'cam_high': '/camera/missing'}))
    assert '/camera/missing' in str(err.value) and '/cam_left_wrist/image_raw' in str(err.value)
    with pytest.raises(ValueError, match='camera_topics'):
        run_replay(bags['mcap'], profile, policy, options(camera_topics={'nope': '/x'}))
    with pytest.raises(MissingTopicError, match='ground-truth'):
        run_replay(bags['mcap'], profile, policy, options(truth_topic='/commands/none'))
    # a camera remapped to another recorded topic works
    remapped = run_replay(bags['mcap'], profile, policy, options(
        camera_topics={'cam_high': '/cam_left_wrist/image_raw'}, max_inferences=1))
    assert remapped.metrics['run']['topics']['cameras']['cam_high'] == '/cam_left_wrist/image_raw'


def camera_bag(path, profile, frame):
    """20 ticks at 50 Hz of zero joint states and ``frame(camera_name, i, t)`` per camera."""
    names = profile.joint_names
    with BagWriter(path) as writer:
        for i in range(20):
            t = 10**9 + i * 20_000_000
            writer.write('/joint_states', t, ros_types.joint_state(names, np.zeros(len(names)), t))
            for camera in profile.cameras:
                writer.write(camera.topic, t, frame(camera.name, i, t))
    return path


def test_unsupported_image_encoding_names_file_and_topic(tmp_path, profile, policy):
    def frame(camera, i, t):
        encoding = 'bayer_rggb8' if camera == 'cam_left_wrist' else 'mono8'
        return ros_types.image(np.zeros((48, 64), np.uint8), t, encoding=encoding)

    bag = camera_bag(tmp_path / 'bayer', profile, frame)
    for attempt in (lambda: check_bag(bag, profile, options(truth_topic=None)),  # before load
                    lambda: run_replay(bag, profile, policy, options(truth_topic=None))):
        with pytest.raises(ReplayInputError) as err:
            attempt()
        assert str(bag) in str(err.value)
        assert '/cam_left_wrist/image_raw' in str(err.value)
        assert 'bayer_rggb8' in str(err.value)


def test_output_bag_holds_predicted_chunks_and_executed_commands(bags, profile, policy,
                                                                 tmp_path):
    out = tmp_path / 'out_bag'
    result = run_replay(bags['sqlite3'], profile, policy, options(output_bag=out))
    with BagReader(out) as reader:
        assert reader.topics == {OUTPUT_CHUNK_TOPIC: 'trajectory_msgs/msg/JointTrajectory',
                                 OUTPUT_COMMAND_TOPIC: 'sensor_msgs/msg/JointState'}
        chunks = [joint_trajectory_to_chunk(m.msg) for m in reader.messages([OUTPUT_CHUNK_TOPIC])]
        commands = reader.message_count([OUTPUT_COMMAND_TOPIC])
    assert len(chunks) == len(result.record.chunks)
    np.testing.assert_allclose(chunks[-1].positions, result.record.chunks[-1].positions)
    assert commands == result.metrics['executed']['num_commands']


def mode_bag(path, profile, recorded_modes):
    """Demo bag plus a leader stream, operator requests and the live node's mode topic."""
    spec = spec_for(profile)
    names = profile.joint_names
    leader = demo_trajectory(np.array([-spec.tracking_lag_s]), len(names))[0]
    extra = []
    for i in range(60):  # leader at rest where the arm starts, 50 Hz
        t = spec.start_ns + i * 20_000_000
        extra.append((t, '/leader/joint_states', ros_types.joint_state(names, leader, t)))
    for t_s, request in ((0.2, 'teleop'), (0.6, 'engage_policy'), (1.0, 'hold')):
        t = spec.start_ns + int(t_s * 1e9)
        extra.append((t + 1, '/pi05_executor/mode_request',
                      ros_types.string(ModeRequest(t, request).to_text())))
    for t_s, mode in recorded_modes:
        extra.append((spec.start_ns + int(t_s * 1e9) + 2, '/pi05_executor/mode',
                      ros_types.string(mode)))
    return write_demo_bag(path, spec, extra=sorted(extra, key=lambda e: e[0]))


def test_switch_events_in_the_bag_reproduce_the_mode_timeline(tmp_path, profile, policy):
    recorded = ((0.0, 'HOLD'), (0.2, 'TELEOP'), (0.6, 'POLICY'), (1.0, 'HOLD'))
    bag = mode_bag(tmp_path / 'modes', profile, recorded)
    opts = options(mode_topics={'teleop': '/leader/joint_states'})
    first = run_replay(bag, profile, policy, opts).metrics['modes']
    assert first['replayed_modes'] == ['HOLD', 'TELEOP', 'POLICY', 'HOLD']
    assert first['matches_recorded'] is True
    assert [c['time_s'] for c in first['changes']] == pytest.approx([0.2, 0.6, 1.0], abs=0.011)
    assert {s['source'] for s in first['segments']} >= {'teleop', 'hold'}
    second = run_replay(bag, profile, policy, opts).metrics['modes']
    assert second == first

    wrong = mode_bag(tmp_path / 'wrong', profile, ((0.0, 'HOLD'), (0.2, 'TELEOP'), (1.0, 'HOLD')))
    assert run_replay(wrong, profile, policy, opts).metrics['modes']['matches_recorded'] is False


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('distro', [as_humble, as_jazzy], ids=['humble', 'jazzy'])
def test_bags_as_humble_and_jazzy_write_them_replay_identically(
        bags, profile, policy, tmp_path, storage, distro):
    bag = distro(bags[storage], tmp_path / 'bag')
    check_bag(bag, profile, options())
    replayed = run_replay(bag, profile, policy, options(max_inferences=3))
    reference = run_replay(bags[storage], profile, policy, options(max_inferences=3))
    assert replayed.metrics['prediction'] == reference.metrics['prediction']
    assert replayed.metrics['executed'] == reference.metrics['executed']


def test_metadata_that_does_not_match_the_storage_is_an_error_not_an_empty_replay(
        bags, profile, tmp_path):
    bag = as_jazzy(bags['mcap'], tmp_path / 'bag')
    path = bag / 'metadata.yaml'
    metadata = yaml.safe_load(path.read_text())
    for topic in metadata['rosbag2_bagfile_information']['topics_with_message_count']:
        topic['topic_metadata']['offered_qos_profiles'][0]['depth'] = 99  # storage says 5
    path.write_text(yaml.safe_dump(metadata))
    with pytest.raises(ReplayInputError) as err:
        check_bag(bag, profile, options())
    assert str(bag) in str(err.value) and '/cam_high/image_raw' in str(err.value)
    assert 'none could be read' in str(err.value)


@pytest.mark.parametrize('encoding', ['jpeg', 'png'])
def test_compressed_camera_streams_replay(tmp_path, profile, policy, bags, encoding):
    spec = spec_for(profile, encodings={c.name: encoding for c in profile.cameras})
    bag = write_demo_bag(tmp_path / encoding, spec)
    with BagReader(bag) as reader:
        assert {reader.topics[absolute_topic(c.topic)] for c in profile.cameras} == {
            'sensor_msgs/msg/CompressedImage'}
    check_bag(bag, profile, options())
    result = run_replay(bag, profile, policy, options(max_inferences=3))
    assert result.metrics['prediction']['num_chunks'] == 3
    assert result.metrics['skipped_reasons'] == {}
    if encoding == 'png':  # lossless: the policy saw exactly the raw frames
        raw = run_replay(bags['mcap'], profile, policy, options(max_inferences=3))
        assert result.metrics['prediction'] == raw.metrics['prediction']


def test_a_compressed_frame_that_does_not_decode_names_file_and_topic(tmp_path, profile,
                                                                      policy):
    good = cv2.imencode('.jpg', np.zeros((48, 64, 3), np.uint8))[1].tobytes()

    def frame(camera, i, t):
        broken = camera == 'cam_right_wrist' and i > 5
        return ros_types.compressed_image(b'\xff\xd8 not a jpeg' if broken else good, t, 'jpeg')

    bag = camera_bag(tmp_path / 'broken_jpeg', profile, frame)
    check_bag(bag, profile, options(truth_topic=None))  # the first frames are fine
    with pytest.raises(ReplayInputError) as err:
        run_replay(bag, profile, policy, options(truth_topic=None))
    assert str(bag) in str(err.value)
    assert '/cam_right_wrist/image_raw' in str(err.value)
    assert 'do not decode' in str(err.value)


def test_joint_states_split_between_arm_and_gripper_drivers(bags, profile, policy, tmp_path):
    split = tmp_path / 'split'
    arm, gripper = list(profile.joint_names[:-1]), [profile.joint_names[-1]]
    with BagReader(bags['mcap']) as reader, BagWriter(split) as writer:
        for m in reader.messages(list(reader.topics)):
            if m.topic != absolute_topic(profile.joint_states_topic):
                writer.write(m.topic, m.time_ns, m.msg)
                continue
            position = np.asarray(m.msg.position)
            writer.write(m.topic, m.time_ns, ros_types.joint_state(arm, position[:-1], m.time_ns))
            writer.write(m.topic, m.time_ns, ros_types.joint_state(gripper, position[-1:],
                                                                   m.time_ns))
    for truth_topic in (None, '/position_controller/commands'):
        whole = run_replay(bags['mcap'], profile, policy, options(truth_topic=truth_topic))
        result = run_replay(split, profile, policy, options(truth_topic=truth_topic))
        assert result.metrics['executed']['chunks_accepted'] == len(result.record.chunks) > 0
        assert result.metrics['prediction'] == whole.metrics['prediction']
        assert result.metrics['executed'] == whole.metrics['executed']


@pytest.mark.parametrize('stamped', [False, True], ids=['stamp_zero', 'stamped'])
def test_joint_trajectory_commands_are_truth_at_stamp_plus_time_from_start(
        tmp_path, profile, policy, bags, stamped):
    """Recorded JTC goals (0.5 s plans every 0.2 s) give the truth the demo commands give."""
    spec = spec_for(profile)
    names = profile.joint_names
    dt_ns, extra = 50_000_000, []
    for start in range(spec.start_ns, spec.start_ns + spec.duration_ns, 200_000_000):
        offsets = dt_ns * np.arange(0, 11)
        offsets = offsets[start + offsets <= spec.start_ns + spec.duration_ns]  # as recorded
        rows = demo_trajectory((start + offsets - spec.start_ns) / 1e9, len(names))
        points = [ros_types.JointTrajectoryPoint(
            positions=row, velocities=np.zeros(0), accelerations=np.zeros(0),
            effort=np.zeros(0), time_from_start=ros_types.duration(offset))
            for offset, row in zip(offsets, rows)]
        # stamp 0 means "start when received"; a stamp is honoured as the start time
        received = max(start - 30_000_000, spec.start_ns) if stamped else start
        extra.append((received, '/arm_controller/joint_trajectory', ros_types.JointTrajectory(
            header=ros_types.header(start if stamped else 0), joint_names=list(names),
            points=points)))
    bag = write_demo_bag(tmp_path / 'jtc', spec, extra=extra)
    jtc = run_replay(bag, profile, policy,
                     options(truth_topic='/arm_controller/joint_trajectory', max_inferences=4))
    reference = run_replay(bags['mcap'], profile, policy, options(max_inferences=4))
    assert 'JointTrajectory' in jtc.metrics['run']['truth_source']
    # the same truth, up to linear interpolation between 50 ms points of a smooth motion
    jtc_mae = np.array(jtc.metrics['prediction']['per_step']['mae'], dtype=float)
    reference_mae = np.array(reference.metrics['prediction']['per_step']['mae'], dtype=float)
    np.testing.assert_array_equal(np.isnan(jtc_mae), np.isnan(reference_mae))
    assert np.isfinite(reference_mae).sum() >= 10
    np.testing.assert_allclose(jtc_mae, reference_mae, atol=5e-4)


def test_progress_bar_counts_bag_seconds(bags, profile, policy, capsys):
    run_replay(bags['mcap'], profile, policy, options(max_inferences=2), progress=True)
    err = capsys.readouterr().err
    assert 'replay (bag time)' in err and '/1.2 s' in err
