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

"""``pi05-replay`` end to end: the demo, exit codes and clean error messages."""

import json
import re

import numpy as np
from pi05_ros.replay import cli
import pytest
import torch


@pytest.fixture(autouse=True)
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_demo_writes_a_report_and_says_where(tmp_path, capsys):
    out = tmp_path / 'report'
    code = cli.main(['--demo', '--demo-frames', '6', '--storage', 'sqlite3', '-o', str(out),
                     '--no-progress', '--output-bag', str(tmp_path / 'predicted')])
    printed = capsys.readouterr().out
    assert code == 0
    assert str(out / 'index.html') in printed
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['prediction']['num_chunks'] >= 2
    assert metrics['run']['profile'] == 'demo'
    page = (out / 'index.html').read_text()
    for image in re.findall(r'<img src="([^"]+)"', page):
        assert (out / image).is_file()
    assert (tmp_path / 'predicted' / 'metadata.yaml').is_file()
    assert (out / 'demo_inputs' / 'demo_bag_sqlite3' / 'metadata.yaml').is_file()
    # executed as the live demo executor node: config/demo.yaml's pi05_executor section
    run = metrics['run']
    assert run['params_file'].endswith('config/demo.yaml')
    assert run['executor']['limits']['joint_1'] == {
        'lower': -6.0, 'upper': 6.0, 'max_velocity': 2.0, 'max_acceleration': 10.0,
        'max_jerk': 2000.0}
    assert run['executor']['interpolation'] == 'cubic' and run['executor']['rate_hz'] == 100.0
    assert run['executor_rate_hz'] == 100.0
    assert metrics['executed']['chunks_refused'] == []  # the demo's chunks are accepted
    assert 'Executor (as the live node)' in page and 'demo.yaml' in page
    assert 'rad (m for prismatic joints)' in page and 'MAE (rad)' in page


def output_bag_commands(path):
    """Read (times ns, positions, velocities) of the executed commands in an output bag."""
    from pi05_ros.replay.bag_io import BagReader
    from pi05_ros.replay.evaluate import OUTPUT_COMMAND_TOPIC
    with BagReader(path) as reader:
        messages = list(reader.messages([OUTPUT_COMMAND_TOPIC]))
    return (np.array([m.time_ns for m in messages], dtype=np.int64),
            np.array([m.msg.position for m in messages]),
            np.array([m.msg.velocity for m in messages]))


@pytest.mark.parametrize('delay', [None, '0.15'])
def test_demo_output_bag_has_no_executed_tick_above_any_limit(tmp_path, capsys, delay):
    """Issue 12: 71 of 598 ticks of this run were above 10 rad/s² (23.0 with 150 ms)."""
    out = tmp_path / 'report'
    argv = ['--demo', '-o', str(out), '--no-progress', '--output-bag', str(tmp_path / 'bag')]
    assert cli.main(argv + ([] if delay is None else ['--inference-delay', delay])) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / 'metrics.json').read_text())
    checked = metrics['executed']['limits']
    assert checked['ticks'] == metrics['executed']['num_commands'] >= 590
    assert checked['ticks_above_any'] == 0
    for check in checked['checks']:
        assert check['ticks_above'] == 0 and check['limit'] is not None
    assert 'none above the limits: ' in printed
    page = (out / 'index.html').read_text()
    assert 'none above the limits' in page and 'Executed ticks against the limits' in page
    delay_info = metrics['run']['inference_delay']
    if delay is None:
        assert delay_info['source'] == 'measured'
        assert delay_info['ms'] == pytest.approx(metrics['latency_ms']['total']['p50'])
        assert 'measured model latency' in page
    else:
        assert delay_info == {**delay_info, 'source': 'given', 'ms': 150.0}
        assert '--inference-delay 0.15' in page
    # independently, from what the output bag holds: demo.yaml's 2 rad/s, 10 rad/s², 2000 rad/s³
    times, positions, velocities = output_bag_commands(tmp_path / 'bag')
    assert times.size == checked['ticks']
    dt = np.diff(times) / 1e9
    fd_velocity = np.diff(positions, axis=0) / dt[:, None]
    fd_acceleration = np.diff(fd_velocity, axis=0) / dt[1:, None]
    fd_jerk = np.diff(fd_acceleration, axis=0) / dt[2:, None]
    assert np.abs(velocities).max() <= 2.0 * (1 + 1e-9)
    assert np.abs(fd_velocity).max() <= 2.0 * (1 + 1e-9)
    assert np.abs(fd_acceleration).max() <= 10.0 * (1 + 1e-9)
    assert np.abs(fd_jerk).max() <= 2000.0 * (1 + 1e-9)
    assert np.abs(positions).max() <= 6.0


def test_inference_delay_options(capsys):
    def delay(*argv):
        return cli.inference_delay_ms(cli.build_parser().parse_args(['bag', *argv]))

    assert delay() is None  # the measured model latency
    assert delay('--inference-delay', '0.15') == pytest.approx(150.0)
    assert delay('--inference-delay-ms', '40') == 40.0
    assert delay('--inference-delay', '0') == 0.0  # allowed: 'no delay'
    with pytest.raises(ValueError, match='--inference-delay: expected a number >= 0'):
        delay('--inference-delay', '-0.1')
    with pytest.raises(SystemExit):
        delay('--inference-delay', '0.1', '--inference-delay-ms', '100')
    assert 'not allowed with' in capsys.readouterr().err


def test_missing_arguments_are_a_short_usage_error(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith('usage: pi05-replay BAG --checkpoint')
    assert '--checkpoint' in lines[1] and lines[1].endswith('see pi05-replay --help')
    assert '--inference-delay-ms' not in err  # not the full option list


def test_broken_bag_is_one_clear_line_not_a_traceback(tmp_path, capsys):
    bag = tmp_path / 'broken'
    bag.mkdir()
    (bag / 'metadata.yaml').write_text('rosbag2_bagfile_information: {version: 8}\n')
    code = cli.main([str(bag), '--checkpoint', str(tmp_path), '--profile', 'demo',
                     '--no-progress'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert 'Traceback' not in err
    assert err.startswith('pi05-replay: error:')
    assert str(bag) in err
    assert err.count('\n') == 1


def test_missing_topic_is_one_line_naming_bag_and_topic(tmp_path, capsys):
    from pi05_ros.policy.profiles import load_profile
    from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag

    profile = load_profile('demo')
    cameras = {c.name: c.topic for c in profile.cameras}
    cameras['cam_high'] = '/other_camera/image_raw'  # the profile's /cam_high topic is absent
    bag = write_demo_bag(tmp_path / 'bag', DemoBagSpec(
        joint_names=tuple(profile.joint_names), camera_topics=cameras, camera_frames=2))
    code = cli.main([str(bag), '--checkpoint', str(tmp_path / 'no_checkpoint'), '--profile',
                     'demo', '--no-progress'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err.count('\n') == 1 and 'Traceback' not in err
    # before the checkpoint is looked at; the topic is named once
    assert f"{bag}: camera topic '/cam_high/image_raw' is not in the bag" in err
    assert err.count('/cam_high/image_raw') == 1
    assert '/other_camera/image_raw (sensor_msgs/msg/Image)' in err  # what the bag has


def test_bad_camera_argument_names_the_option(capsys):
    with pytest.raises(ValueError, match='--camera'):
        cli.parse_cameras(['cam_high'])


def test_ctrl_c_writes_a_partial_report_and_exits_130(tmp_path, monkeypatch, capsys):
    replay = cli.run_replay

    def replay_interrupted_after_two_chunks(*args, **kwargs):
        def press_ctrl_c(replayer):
            if len(replayer.record.chunks) == 2:
                raise KeyboardInterrupt
        return replay(*args, on_inference=press_ctrl_c, **kwargs)

    monkeypatch.setattr(cli, 'run_replay', replay_interrupted_after_two_chunks)
    out = tmp_path / 'report'
    code = cli.main(['--demo', '--demo-frames', '10', '-o', str(out), '--no-progress'])
    assert code == cli.EXIT_INTERRUPTED
    assert 'partial report' in capsys.readouterr().err
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['run']['interrupted'] is True
    assert metrics['prediction']['num_chunks'] == 2
    assert 'PARTIAL REPORT' in (out / 'index.html').read_text()


def settings_for(*argv, profile='demo'):
    from pi05_ros.policy.profiles import load_profile
    args = cli.build_parser().parse_args(['bag', '--profile', profile, *argv])
    return cli.executor_settings_from_args(args, load_profile(profile))


def test_executor_settings_come_from_the_profiles_parameter_file():
    settings, path = settings_for()
    assert path is not None and path.name == 'demo.yaml'
    assert settings.limits.max_velocity.tolist() == [2.0] * 7
    assert settings.config.max_chunk_age_s == 5.0 and settings.config.chunk_timeout_s == 10.0
    # explicit overrides: one value or one per joint, and the executor options
    settings, _ = settings_for('--max-velocity', '0.5', '--max-acceleration',
                               '1,2,3,4,5,6,7', '--interpolation', 'linear',
                               '--blend-window', '1.5', '--executor-rate', '50')
    assert settings.limits.max_velocity.tolist() == [0.5] * 7
    assert settings.limits.max_acceleration.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert settings.config.interpolation == 'linear'
    assert settings.config.blend_window_s == 1.5 <= settings.config.max_blend_window_s
    assert settings.rate_hz == 50.0
    with pytest.raises(ValueError, match='--max-velocity: expected 1 or 7 values'):
        settings_for('--max-velocity', '1,2')
    with pytest.raises(ValueError, match='--max-acceleration: expected a number'):
        settings_for('--max-acceleration', 'fast')


def test_explicit_params_file_and_the_fallback(tmp_path):
    params = tmp_path / 'robot.yaml'
    params.write_text('/**/pi05_executor:\n  ros__parameters:\n    rate_hz: 250.0\n'
                      '    limits: {lower: [-1.0], upper: [1.0], max_velocity: [0.3]}\n'
                      '    executor: {max_first_row_deviation: 0.05}\n')
    settings, path = settings_for('--params-file', str(params))
    assert path == params and settings.rate_hz == 250.0
    assert settings.limits.max_velocity.tolist() == [0.3] * 7
    assert settings.config.max_first_row_deviation == 0.05
    settings, path = settings_for('--params-file', '')  # built-in defaults
    assert path is None and settings.limits.max_velocity.tolist() == [2.0] * 7
    assert settings.limits.upper.tolist() == [float('inf')] * 7
    profile_yaml = str(cli.find_config_file('profiles/demo.yaml'))
    assert settings_for(profile=profile_yaml)[1] is None  # a profile path: no config/<name>.yaml
    params.write_text('/**/pi05_policy:\n  ros__parameters: {profile: demo}\n')
    with pytest.raises(ValueError, match='no pi05_executor section'):
        settings_for('--params-file', str(params))
    with pytest.raises(FileNotFoundError, match='--params-file'):
        settings_for('--params-file', str(tmp_path / 'missing.yaml'))
    params.write_text('/**/pi05_executor:\n  ros__parameters: {limits: {source: urdf}}\n')
    with pytest.raises(ValueError, match='pass --urdf'):
        settings_for('--params-file', str(params))


def test_asset_id_selects_other_norm_stats(tmp_path, capsys):
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from pi05_ros.policy.profiles import load_profile
    from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag

    profile = load_profile('demo')
    bag = write_demo_bag(tmp_path / 'bag', DemoBagSpec(
        joint_names=tuple(profile.joint_names),
        camera_topics={c.name: c.topic for c in profile.cameras}, camera_frames=4))
    checkpoint = make_demo_checkpoint(tmp_path / 'ckpt', profile='demo', seed=0)
    (checkpoint / 'assets' / profile.asset_id).rename(checkpoint / 'assets' / 'converted')
    argv = [str(bag), '--checkpoint', str(checkpoint), '--profile', 'demo', '--no-progress',
            '--threads', '1', '--max-inferences', '1', '-o', str(tmp_path / 'out')]
    assert cli.main(argv) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "'converted'" in err and '--asset-id' in err and err.count('\n') == 1
    assert cli.main(argv + ['--asset-id', 'converted']) == 0
