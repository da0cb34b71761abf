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

"""The launch files: their arguments without ROS (ast), and loading them where launch exists."""

import ast
import importlib.util
from pathlib import Path

import pytest

LAUNCH = Path(__file__).resolve().parents[1] / 'launch'
POLICY_ARGUMENTS = {'params_file', 'checkpoint_dir', 'tokenizer_path', 'prompt', 'device',
                    'dtype', 'use_sim_time', 'namespace'}


def declared_arguments(path: Path) -> set:
    """Names in the module-level ARGUMENTS table of a launch file."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'ARGUMENTS':
            return {row.elts[0].value for row in node.value.elts}
    raise AssertionError(f'{path.name}: no ARGUMENTS table')


def test_policy_launch_takes_every_argument_the_issue_names():
    assert POLICY_ARGUMENTS <= declared_arguments(LAUNCH / 'policy.launch.py')


def test_demo_launch_forwards_what_policy_launch_takes():
    demo = declared_arguments(LAUNCH / 'demo.launch.py')
    assert demo - {'checkpoint_dir'} <= declared_arguments(LAUNCH / 'policy.launch.py')
    assert 'sim_robot_node' in (LAUNCH / 'demo.launch.py').read_text()


@pytest.mark.parametrize('name', ['policy.launch.py', 'demo.launch.py'])
def test_launch_description_loads_where_launch_ros_exists(name):
    pytest.importorskip('launch_ros')
    spec = importlib.util.spec_from_file_location(name.replace('.', '_'), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert declared_arguments(LAUNCH / name) == names
