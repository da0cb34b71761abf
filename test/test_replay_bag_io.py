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

"""Bag reading/writing: both storage formats, topic errors, corrupted and truncated bags."""

from pathlib import Path
import sqlite3

import numpy as np
from pi05_ros.messages import message_to_rgb
from pi05_ros.replay import ros_types
from pi05_ros.replay.bag_io import BagError, BagReader, BagWriter, MissingTopicError
from pi05_ros.replay.demo_bag import DemoBagSpec, IMAGE_HEIGHT, IMAGE_WIDTH, write_demo_bag
import pytest
from replay_bags import as_humble, as_jazzy
import yaml

JOINTS = ('j1', 'j2', 'j3')
CAMERAS = {'base': '/cam_high/image_raw', 'wrist': '/cam_wrist/image_raw'}
STORAGES = ('mcap', 'sqlite3')


def small_spec(**kwargs) -> DemoBagSpec:
    return DemoBagSpec(joint_names=JOINTS, camera_topics=CAMERAS, camera_frames=4, **kwargs)


def storage_file(bag: Path) -> Path:
    return next(p for p in bag.iterdir() if p.suffix in ('.mcap', '.db3'))


def joint_state_bag(path: Path, storage: str, count: int = 500) -> Path:
    with BagWriter(path, storage=storage) as writer:
        for i in range(count):
            t = 10**9 + i * 10**7
            writer.write('/joint_states', t,
                         ros_types.joint_state(JOINTS, np.array([i, 1.0, 2.0]), t))
    return path


def read_all(path: Path) -> int:
    with BagReader(path) as reader:
        return sum(1 for _ in reader.messages(list(reader.topics)))


@pytest.mark.parametrize('storage', STORAGES)
def test_demo_bag_round_trips_in_both_storage_formats(tmp_path, storage):
    spec = small_spec()
    bag = write_demo_bag(tmp_path / 'bag', spec, storage=storage)
    with BagReader(bag) as reader:
        assert reader.topics == {
            '/pi05_policy/prompt': 'std_msgs/msg/String',
            '/joint_states': 'sensor_msgs/msg/JointState',
            '/position_controller/commands': 'std_msgs/msg/Float64MultiArray',
            '/cam_high/image_raw': 'sensor_msgs/msg/Image',
            '/cam_wrist/image_raw': 'sensor_msgs/msg/Image',
        }
        assert reader.message_count(['/cam_high/image_raw']) == 4
        images = list(reader.messages(['/cam_high/image_raw']))
        prompts = [m.msg.data for m in reader.messages(['/pi05_policy/prompt'])]
        times = [m.time_ns for m in reader.messages(list(reader.topics))]
    assert prompts == list(spec.prompts)
    assert times == sorted(times)
    first = images[0].msg
    assert (first.height, first.width, first.encoding) == (IMAGE_HEIGHT, IMAGE_WIDTH, 'rgb8')
    assert first.data.size == IMAGE_HEIGHT * IMAGE_WIDTH * 3


@pytest.mark.parametrize('storage', STORAGES)
@pytest.mark.parametrize('distro', [as_humble, as_jazzy], ids=['humble', 'jazzy'])
def test_bags_as_humble_and_jazzy_write_them_are_read(tmp_path, storage, distro):
    spec = small_spec()
    bag = distro(write_demo_bag(tmp_path / 'src', spec, storage=storage), tmp_path / 'bag')
    version = yaml.safe_load((bag / 'metadata.yaml').read_text())[
        'rosbag2_bagfile_information']['version']
    assert version == (5 if distro is as_humble else 9)
    with BagReader(bag) as reader:
        assert reader.message_count(['/cam_high/image_raw']) == 4
        prompts = [m.msg.data for m in reader.messages(['/pi05_policy/prompt'])]
        frame = next(reader.messages(['/cam_wrist/image_raw'])).msg
        states = [m.msg for m in reader.messages(['/joint_states'])]
    assert prompts == list(spec.prompts)
    assert message_to_rgb(frame).shape == (IMAGE_HEIGHT, IMAGE_WIDTH, 3)
    assert list(states[0].name) == list(JOINTS)


@pytest.mark.parametrize('storage', STORAGES)
def test_written_bags_are_humble_compatible(tmp_path, storage):
    bag = joint_state_bag(tmp_path / 'bag', storage, count=3)
    metadata = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert metadata['version'] == 8
    # Humble reads offered_qos_profiles as a string; a YAML list makes it throw
    for topic in metadata['topics_with_message_count']:
        assert isinstance(topic['topic_metadata']['offered_qos_profiles'], str)


def test_missing_topic_error_lists_the_bag_topics(tmp_path):
    bag = write_demo_bag(tmp_path / 'bag', small_spec())
    with BagReader(bag) as reader:
        with pytest.raises(MissingTopicError) as err:
            reader.require_topics(['/cam_high/image_raw', '/no_such/camera'], what='camera')
    message = str(err.value)
    assert '/no_such/camera' in message
    assert str(bag) in message
    for topic in ('/joint_states', '/cam_high/image_raw', '/pi05_policy/prompt'):
        assert topic in message


@pytest.mark.parametrize('storage', STORAGES)
@pytest.mark.parametrize('keep', [0.5, 0.999, 0.0])
def test_truncated_bag_is_an_error_naming_the_file(tmp_path, storage, keep):
    bag = joint_state_bag(tmp_path / 'bag', storage)
    data = storage_file(bag)
    with open(data, 'r+b') as f:
        f.truncate(int(data.stat().st_size * keep))
    with pytest.raises(BagError) as err:
        read_all(bag)
    assert str(bag) in str(err.value)


@pytest.mark.parametrize('storage', STORAGES)
@pytest.mark.parametrize('seed', range(4))
def test_corrupted_bag_is_an_error_naming_file_and_topic(tmp_path, storage, seed):
    bag = joint_state_bag(tmp_path / 'bag', storage)
    data = storage_file(bag)
    rng = np.random.default_rng(seed)
    size = data.stat().st_size
    with open(data, 'r+b') as f:
        f.seek(int(rng.integers(size // 4, size // 2)))
        f.write(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(BagError) as err:
        read_all(bag)
    assert str(bag) in str(err.value)
    if err.value.topic is not None:  # errors while reading messages also name the topic
        assert '/joint_states' in str(err.value)


def test_not_a_bag_is_an_error(tmp_path):
    with pytest.raises(BagError, match='metadata.yaml'):
        BagReader(tmp_path)
    with pytest.raises(BagError, match='no such file'):
        BagReader(tmp_path / 'missing')
    bag = joint_state_bag(tmp_path / 'bag', 'mcap', count=2)
    (bag / 'metadata.yaml').write_text('rosbag2_bagfile_information: [unclosed')
    with pytest.raises(BagError, match='cannot open bag'):
        BagReader(bag)


def test_a_file_inside_a_bag_directory_opens_the_bag(tmp_path):
    bag = joint_state_bag(tmp_path / 'bag', 'mcap', count=5)
    assert read_all(storage_file(bag)) == 5


def test_writer_refuses_an_existing_path_and_unknown_storage(tmp_path):
    with pytest.raises(BagError, match='already exists'):
        BagWriter(tmp_path)
    with pytest.raises(ValueError, match='storage'):
        BagWriter(tmp_path / 'new', storage='rosbag1')


def test_sqlite3_bag_without_message_definitions_reads_like_humble(tmp_path):
    bag = joint_state_bag(tmp_path / 'bag', 'sqlite3', count=3)
    db = sqlite3.connect(storage_file(bag))
    db.execute('DELETE FROM message_definitions')  # Humble's sqlite3 plugin stores none
    db.commit()
    db.close()
    with BagReader(bag) as reader:
        positions = [m.msg.position[0] for m in reader.messages(['/joint_states'])]
    assert positions == [0.0, 1.0, 2.0]
