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

"""Relative topic names: profiles and parameter files follow the node namespace."""

from pathlib import Path

from pi05_ros.names import absolute_topic
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def topic_values(document, where=''):
    """Yield (key path, value) of every topic / *_topic string in a YAML document."""
    if isinstance(document, dict):
        for key, value in document.items():
            path = f'{where}.{key}' if where else str(key)
            if isinstance(value, str) and (key == 'topic' or str(key).endswith('_topic')):
                yield path, value
            else:
                yield from topic_values(value, path)
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from topic_values(value, f'{where}[{i}]')


@pytest.mark.parametrize('path', sorted((REPO / 'config').glob('**/*.yaml')),
                         ids=lambda p: str(p.relative_to(REPO / 'config')))
def test_robot_topics_are_relative_so_a_namespace_moves_them(path):
    topics = list(topic_values(yaml.safe_load(path.read_text())))
    assert topics, f'{path.name}: no topics found'
    absolute = [f'{key}: {value}' for key, value in topics if value.startswith('/')]
    assert absolute == []


def test_demo_sim_robot_cameras_are_where_the_demo_profile_reads_them():
    params = yaml.safe_load((REPO / 'config' / 'demo.yaml').read_text())
    sim = params['/**/sim_robot']['ros__parameters']
    profile = yaml.safe_load((REPO / 'config' / 'profiles' / 'demo.yaml').read_text())
    published = {f"{sim['camera_topic_prefix']}{name}/image_raw" for name in sim['camera_names']}
    assert published == {camera['topic'] for camera in profile['cameras']}
    executor = params['/**/pi05_executor']['ros__parameters']
    assert executor['output']['topic'] == sim['command_topic']


def test_absolute_topic_qualifies_relative_names_in_the_namespace():
    assert absolute_topic('joint_states') == '/joint_states'
    assert absolute_topic('cam_high/image_raw', '/robot1') == '/robot1/cam_high/image_raw'
    assert absolute_topic('cam_high/image_raw', '/robot1/') == '/robot1/cam_high/image_raw'
    assert absolute_topic('/clock', '/robot1') == '/clock'


@pytest.mark.parametrize('name,namespace', [('', '/'), ('~/commands', '/'), ('a', 'robot1')])
def test_absolute_topic_refuses_what_is_no_topic_name(name, namespace):
    with pytest.raises(ValueError, match='expected an absolute namespace|expected a relative'):
        absolute_topic(name, namespace)
