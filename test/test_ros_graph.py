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

"""The process harness itself (no ROS needed): domain ids, node arguments, error lines."""

import pytest
import ros_graph


def test_domain_ranges_parse_and_refuse_ids_outside_ros():
    assert ros_graph.parse_domain_range('100-102, 105') == [100, 101, 102, 105]
    for text in ('', '300', '5-2', 'a-b'):
        with pytest.raises(ValueError):
            ros_graph.parse_domain_range(text)


def test_allocated_domains_are_exclusive_until_released():
    first = ros_graph.allocate_domain([231, 232])
    second = ros_graph.allocate_domain([231, 232])
    assert {first.domain_id, second.domain_id} == {231, 232}
    with pytest.raises(ros_graph.DomainError):
        ros_graph.allocate_domain([231, 232])
    first.release()
    third = ros_graph.allocate_domain([231, 232])
    assert third.domain_id == first.domain_id
    second.release()
    third.release()


def test_node_arguments_are_the_launch_files():
    args = ros_graph.ros_arguments(
        name='pi05_executor', namespace='robot1', params_file='demo.yaml',
        params={'rate_hz': 50.0, 'autostart': True, 'joint_names': ['a', 'b'],
                'default_prompt': "it's"},
        remaps={'~/action_chunk': 'pi05_policy/action_chunk'})
    assert args == [
        '--ros-args', '-r', '__node:=pi05_executor', '-r', '__ns:=/robot1',
        '--params-file', str(ros_graph.CONFIG / 'demo.yaml'),
        '-p', 'rate_hz:=50.0', '-p', 'autostart:=true', '-p', "joint_names:=['a', 'b']",
        '-p', "default_prompt:='it''s'", '-r', '~/action_chunk:=pi05_policy/action_chunk']
    with pytest.raises(FileNotFoundError):
        ros_graph.ros_arguments(params_file='nope.yaml')


def test_error_lines_are_what_a_clean_shutdown_must_not_print():
    log = '\n'.join([
        '[INFO] [1.0] [x]: fine',
        '[WARN] [1.0] [x]: chunk refused: stale',
        '[ERROR] [1.0] [x]: inference failed: cannot use Destroyable',
        'Failed to publish log message to rosout',
        'The following exception was never retrieved: boom'])
    assert ros_graph.error_lines(log) == log.splitlines()[2:]
