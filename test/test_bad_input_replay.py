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

"""Issue 15: pi05-replay on real rosbag2 bags, a bad --device or -o, weights that do not fit."""

from pathlib import Path

from pi05_ros.policy.profiles import load_profile
from pi05_ros.replay import cli
from pi05_ros.replay.bag_io import BagReader
from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag
import pytest
import torch

REAL_BAGS = Path(__file__).resolve().parents[2] / 'shared' / 'real_bags'
BAGS = sorted(p.name for p in REAL_BAGS.iterdir() if (p / 'metadata.yaml').is_file()) \
    if REAL_BAGS.is_dir() else []
SERVICE_EVENT_TOPICS = ('/test_service1/_service_event', '/test_service2/_service_event')


def replay(argv, capsys):
    code = cli.main(argv + ['--no-progress'])
    return code, capsys.readouterr().err


def test_the_real_bags_are_there():
    if not REAL_BAGS.is_dir():
        pytest.skip(f'the shared rosbag2 bags are not next to this checkout ({REAL_BAGS})')
    assert len(BAGS) == 8, f'expected the 8 rosbag2 bags in {REAL_BAGS}'


@pytest.mark.parametrize('name', BAGS)
def test_replay_on_every_real_bag_names_the_missing_topics_in_one_line(tmp_path, capsys, name):
    bag = REAL_BAGS / name
    with BagReader(bag) as reader:
        have = dict(reader.topics)
    code, err = replay([str(bag), '--checkpoint', str(tmp_path / 'none'), '--profile', 'demo',
                        '-o', str(tmp_path / 'out')], capsys)
    assert code == cli.EXIT_ERROR
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    assert err.startswith(f'pi05-replay: error: {bag}: camera topics ') and \
        'are not in the bag; the bag has: ' in err, err
    for camera in load_profile('demo').cameras:
        assert repr('/' + camera.topic.lstrip('/')) in err
    for topic, msgtype in have.items():
        assert f'{topic} ({msgtype})' in err
    assert not (tmp_path / 'out').exists()  # nothing written for a bag that cannot be replayed


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_service_event_bag_opens_and_says_which_topics_it_skipped(capsys, storage):
    bag = REAL_BAGS / f'bag_with_topics_and_service_events_{storage}'
    if not bag.is_dir():
        pytest.skip(f'{bag} not present')
    with BagReader(bag) as reader:
        assert sorted(reader.skipped_topics) == list(SERVICE_EVENT_TOPICS)
        assert all('test_msgs/srv/BasicTypes_Event' in why
                   for why in reader.skipped_topics.values())
        assert {'/test_topic1', '/test_topic2', '/events/write_split'} <= set(reader.topics)
        messages = list(reader.messages(['/test_topic1', '/test_topic2']))
        assert messages and all(m.msgtype == 'test_msgs/msg/Strings' for m in messages)
        with pytest.raises(ValueError, match=f"'{SERVICE_EVENT_TOPICS[0]}' is in the bag but "
                           'cannot be read; .*skipped, as they cannot be read: '
                           f'{SERVICE_EVENT_TOPICS[0]} '):
            reader.require_topics([SERVICE_EVENT_TOPICS[0]])


def test_device_torch_cannot_use_is_refused_before_anything_runs(tmp_path, capsys):
    device = f'cuda:{torch.cuda.device_count()}' if torch.cuda.is_available() else 'cuda'
    for bad, expected in ((device, f'--device {device}: '), ('tpu', "--device 'tpu': expected")):
        code, err = replay([str(tmp_path / 'no_bag'), '--checkpoint', str(tmp_path), '--profile',
                            'demo', '--device', bad], capsys)
        assert code == cli.EXIT_ERROR and err.count('\n') == 1, err
        assert err.startswith(f'pi05-replay: error: {expected}'), err
        assert 'AssertionError' not in err and 'Traceback' not in err


def test_output_directory_that_cannot_be_created_fails_first(tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    output = blocker / 'report'
    code, err = replay([str(tmp_path / 'no_bag'), '--checkpoint', str(tmp_path), '--profile',
                        'demo', '-o', str(output)], capsys)
    assert code == cli.EXIT_ERROR and err.count('\n') == 1, err
    assert err == (f'pi05-replay: error: --output {output}: {blocker} is not a directory, so '
                   'the report directory cannot be created there\n')


def test_checkpoint_without_config_json_is_refused_from_the_header(tmp_path, capsys):
    from pi05_ros.policy.demo_assets import make_demo_checkpoint

    profile = load_profile('demo')
    bag = write_demo_bag(tmp_path / 'bag', DemoBagSpec(
        joint_names=tuple(profile.joint_names),
        camera_topics={c.name: '/' + c.topic.lstrip('/') for c in profile.cameras},
        joint_states_topic='/' + profile.joint_states_topic.lstrip('/'), camera_frames=2))
    checkpoint = make_demo_checkpoint(tmp_path / 'ckpt', profile='demo', seed=0)
    (checkpoint / 'config.json').unlink()
    code, err = replay([str(bag), '--checkpoint', str(checkpoint), '--profile', 'demo',
                        '-o', str(tmp_path / 'out')], capsys)
    assert code == cli.EXIT_ERROR and err.count('\n') == 1, err
    assert err.startswith(f'pi05-replay: error: {checkpoint}/model.safetensors: checkpoint ')
    assert err.rstrip().endswith(f'{checkpoint} has no config.json, so the released PI0.5 '
                                 'architecture was assumed: add the config.json the weights '
                                 'belong to')
