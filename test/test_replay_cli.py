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


def test_missing_arguments_are_a_usage_error(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    assert '--checkpoint' in capsys.readouterr().err


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
    assert f"{bag}, topic '/cam_high/image_raw'" in err  # before the checkpoint is looked at
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
