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

"""
The launch files without ROS: one shared argument table (ast), the demo checkpoint's cleanup.

Where launch_ros exists the descriptions are loaded too.
"""

import ast
import importlib.util
from pathlib import Path

from pi05_ros.launch_arguments import (argument_table, as_bool, DEMO_DEFAULTS, POLICY_ARGUMENTS,
                                       policy_overrides)
from pi05_ros.policy.demo_assets import (make_temporary_demo_checkpoint,
                                         NotATemporaryCheckpoint, remove_temporary_demo_checkpoint)
import pytest

LAUNCH = Path(__file__).resolve().parents[1] / 'launch'
ISSUE_ARGUMENTS = {'params_file', 'checkpoint_dir', 'tokenizer_path', 'prompt', 'device',
                   'dtype', 'use_sim_time', 'namespace', 'autostart', 'backend', 'remote_uri'}
NAMES = [name for name, _, _ in POLICY_ARGUMENTS]


def table_call(path: Path) -> ast.Call:
    """Return the call building a launch file's module-level ARGUMENTS table."""
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                and node.module == 'pi05_ros.launch_arguments' for alias in node.names}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == 'ARGUMENTS'):
            assert isinstance(node.value, ast.Call), f'{path.name}: ARGUMENTS is not shared'
            assert node.value.func.id == 'argument_table' and 'argument_table' in imported
            return node.value
    raise AssertionError(f'{path.name}: no ARGUMENTS table')


def declared_names(path: Path) -> list:
    """Return the literal names of DeclareLaunchArgument calls (none: all come from ARGUMENTS)."""
    return [node.args[0].value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and getattr(node.func, 'id', '') ==
            'DeclareLaunchArgument' and node.args and isinstance(node.args[0], ast.Constant)]


def test_policy_launch_takes_every_argument_the_docs_name():
    assert ISSUE_ARGUMENTS == set(NAMES) and len(NAMES) == len(set(NAMES))


@pytest.mark.parametrize('name', ['policy.launch.py', 'demo.launch.py'])
def test_both_launch_files_declare_the_shared_table_only(name):
    call = table_call(LAUNCH / name)
    assert [getattr(a, 'id', None) for a in call.args] == (
        ['DEMO_DEFAULTS'] if name == 'demo.launch.py' else [])
    assert declared_names(LAUNCH / name) == []


def test_demo_takes_the_policy_arguments_with_demo_defaults():
    demo = argument_table(DEMO_DEFAULTS)
    assert [row[0] for row in demo] == NAMES
    defaults = {name: default for name, default, _ in demo}
    assert defaults['params_file'] == 'demo.yaml' and defaults['device'] == 'cpu'
    assert defaults['checkpoint_dir'] == '' and defaults['autostart'] == 'true'
    assert {name: d for name, d, _ in POLICY_ARGUMENTS}['params_file'] == 'droid.yaml'
    with pytest.raises(ValueError, match=r"no such argument \['nope'\]"):
        argument_table({'nope': ('', '')})


def test_demo_forwards_every_argument_to_policy_launch():
    text = (LAUNCH / 'demo.launch.py').read_text()
    assert 'launch_arguments=values.items()' in text and "'policy.launch.py'" in text
    assert 'sim_robot_node' in text


def test_policy_overrides_set_only_what_was_given():
    values = {name: default for name, default, _ in POLICY_ARGUMENTS}
    assert policy_overrides(values) == {'use_sim_time': False, 'autostart': True}
    values.update(prompt='open the drawer', device='cuda', use_sim_time='True', autostart='0')
    assert policy_overrides(values) == {'default_prompt': 'open the drawer', 'device': 'cuda',
                                        'use_sim_time': True, 'autostart': False}
    with pytest.raises(ValueError, match="launch argument autostart: expected 'true' or 'false'"):
        as_bool('autostart', 'maybe')


def test_demo_registers_the_checkpoint_cleanup_at_shutdown():
    tree = ast.parse((LAUNCH / 'demo.launch.py').read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert {'OnShutdown', 'RegisterEventHandler', 'remove_temporary_demo_checkpoint',
            'make_temporary_demo_checkpoint'} <= names


def test_temporary_demo_checkpoint_is_removed_and_nothing_else(tmp_path):
    checkpoint = make_temporary_demo_checkpoint('demo')
    try:
        assert (checkpoint / 'model.safetensors').is_file()
        assert (checkpoint / 'assets' / 'demo' / 'norm_stats.json').is_file()
    finally:
        assert remove_temporary_demo_checkpoint(checkpoint) is True
    assert not checkpoint.exists()
    assert remove_temporary_demo_checkpoint(checkpoint) is False  # shutdown twice: no error
    users = tmp_path / 'my_checkpoint'
    users.mkdir()
    (users / 'model.safetensors').write_bytes(b'weights')
    with pytest.raises(NotATemporaryCheckpoint, match='not a temporary demo checkpoint'):
        remove_temporary_demo_checkpoint(users)
    assert (users / 'model.safetensors').read_bytes() == b'weights'


@pytest.mark.parametrize('name', ['policy.launch.py', 'demo.launch.py'])
def test_launch_description_loads_where_launch_ros_exists(name):
    pytest.importorskip('launch_ros')
    spec = importlib.util.spec_from_file_location(name.replace('.', '_'), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert [a.name for a in description.get_launch_arguments()] == NAMES
