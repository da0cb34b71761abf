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

"""config/*.yaml: every parameter exists, has the declared type, and the nodes start with it."""

from pathlib import Path

from pi05_ros.control.executor_params import flatten
import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[1] / 'config'
PARAM_FILES = sorted(CONFIG.glob('*.yaml'))
NODE_KEYS = {'/**/pi05_policy': 'pi05_policy', '/**/pi05_executor': 'pi05_executor',
             '/**/sim_robot': 'sim_robot'}


def load(path):
    data = yaml.safe_load(path.read_text())
    return {NODE_KEYS[key]: flatten(section['ros__parameters']) for key, section in data.items()}


def specs_of(node_name):
    from pi05_ros.nodes.executor_node import EXECUTOR_PARAMETERS
    from pi05_ros.nodes.policy_node import POLICY_PARAMETERS
    from pi05_ros.nodes.sim_robot_node import SIM_ROBOT_PARAMETERS
    table = {'pi05_policy': POLICY_PARAMETERS, 'pi05_executor': EXECUTOR_PARAMETERS,
             'sim_robot': SIM_ROBOT_PARAMETERS}[node_name]
    return {spec.name: spec for spec in table}


def test_every_profile_has_a_parameter_file():
    names = {p.stem for p in PARAM_FILES}
    assert {'droid', 'aloha', 'libero', 'generic', 'demo'} <= names


@pytest.mark.parametrize('path', PARAM_FILES, ids=[p.stem for p in PARAM_FILES])
def test_parameters_are_declared_with_matching_types(path):
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.policy_node import camera_parameters
    from pi05_ros.nodes.params import DOUBLE_ARRAY, STRING_ARRAY
    from pi05_ros.policy.profiles import load_profile
    sections = load(path)
    assert set(sections) >= {'pi05_policy', 'pi05_executor'}
    for node_name, values in sections.items():
        specs = specs_of(node_name)
        if node_name == 'pi05_policy':
            profile = load_profile(values['profile'], joint_names=values.get('joint_names'))
            for camera in profile.cameras:
                specs.update({s.name: s for s in camera_parameters(camera.name, camera.topic)})
        unknown = sorted(set(values) - set(specs))
        assert not unknown, f'{path.name} {node_name}: undeclared parameters {unknown}'
        for name, value in values.items():
            default = specs[name].default
            if default == STRING_ARRAY:
                assert all(isinstance(v, str) for v in value), name
            elif default == DOUBLE_ARRAY:
                assert all(isinstance(v, float) for v in value), name
            elif isinstance(default, list):
                assert all(type(v) is type(default[0]) for v in value), name
            else:
                assert type(value) is type(default), f'{path.name} {node_name}.{name}'


def start_in_process(ros_context, path, node_class):
    """Create ``node_class`` in a real rclpy context given ``--params-file path``."""
    context = ros_context(['--ros-args', '--params-file', str(path)])
    node = node_class(context=context)
    ros_context.made_nodes.append(node)
    return node


@pytest.mark.parametrize('path', PARAM_FILES, ids=[p.stem for p in PARAM_FILES])
def test_nodes_start_with_the_parameter_file(ros_context, path):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from pi05_ros.nodes.policy_node import PolicyNode
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    sections = load(path)
    policy = start_in_process(ros_context, path, PolicyNode)
    executor = start_in_process(ros_context, path, ExecutorNode)
    policy_profile = sections['pi05_policy']['profile']
    assert policy.get_parameter('profile').value == policy_profile
    assert executor.params['profile'] == policy_profile
    for name, value in sections['pi05_executor'].items():  # what rcl read from the file
        assert executor.get_parameter(name).value == value, name
    if 'sim_robot' in sections:
        from pi05_ros.policy.profiles import load_profile
        robot = start_in_process(ros_context, path, SimRobotNode)
        assert robot.joint_names == executor.joint_names
        cameras = {'/' + c.topic.lstrip('/') for c in load_profile(policy_profile).cameras}
        assert {pub.topic_name for pub in robot.camera_pubs} == cameras
        [command] = [sub.topic_name for sub in robot.subscriptions]
        assert executor.command_pub.topic_name == command


def test_every_parameter_is_documented():
    pytest.importorskip('rclpy')
    readme = (CONFIG.parent / 'README.md').read_text()
    for node_name in NODE_KEYS.values():
        missing = [name for name in specs_of(node_name) if f'| `{name}` |' not in readme]
        assert not missing, f'README.md lacks {node_name} parameters {missing}'


def test_readme_says_which_parameters_change_at_run_time():
    pytest.importorskip('rclpy')
    readme = (CONFIG.parent / 'README.md').read_text()
    for node_name in NODE_KEYS.values():
        for name, spec in specs_of(node_name).items():
            change = 'dynamic' if spec.dynamic else 'read-only'
            rows = [line for line in readme.splitlines() if line.startswith(f'| `{name}` |')]
            assert any(f'| {change} |' in row for row in rows), (node_name, name, change)


def test_shared_executor_defaults_are_the_nodes():
    pytest.importorskip('rclpy')
    from pi05_ros.control.executor_params import EXECUTOR_DEFAULTS
    from pi05_ros.nodes.params import DOUBLE_ARRAY
    specs = specs_of('pi05_executor')
    for name, default in EXECUTOR_DEFAULTS.items():
        declared = specs[name].default
        assert default == (None if declared == DOUBLE_ARRAY else declared), name


@pytest.mark.parametrize('path', PARAM_FILES, ids=[p.stem for p in PARAM_FILES])
def test_replay_reads_the_executor_settings_the_node_uses(ros_context, path):
    """pi05-replay maps the same section with plain YAML: same limits, settings and rate."""
    import numpy as np
    from pi05_ros.control.executor_params import executor_settings, read_node_parameters
    from pi05_ros.nodes.executor_node import ExecutorNode
    node = start_in_process(ros_context, path, ExecutorNode)
    settings = executor_settings(read_node_parameters(path), node.joint_names)
    assert settings.config == node.executor_config
    assert settings.mode_config == node.mode_config
    assert settings.rate_hz == node.params['rate_hz']
    if node.limits is not None:  # limits.source: parameters
        for field in ('lower', 'upper', 'max_velocity', 'max_acceleration'):
            np.testing.assert_array_equal(getattr(settings.limits, field),
                                          getattr(node.limits, field))
