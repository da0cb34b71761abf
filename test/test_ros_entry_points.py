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

"""The node executables on a machine without ROS 2: one line saying how to get it, exit 1."""

import ast
import importlib.util
from pathlib import Path
import subprocess
import sys

from pi05_ros.ros_entry_points import missing_ros, ROS_MODULES
import pytest

REPO = Path(__file__).resolve().parents[1]
NODES = ('policy_node', 'executor_node', 'sim_robot_node')
# imported at interpreter start (PYTHONPATH): rclpy cannot be imported, as without ROS 2
HIDE_RCLPY = """
import sys


class HideRclpy:
    def find_spec(self, name, path=None, target=None):
        if name == 'rclpy' or name.startswith('rclpy.'):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None


sys.meta_path.insert(0, HideRclpy())
"""


def node_scripts() -> dict:
    """Return console script name -> 'module:function' for the nodes, as setup.py declares."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == 'console_scripts':
                    pairs = (ast.literal_eval(v).split('=') for v in value.elts)
                    return {name.strip(): target.strip() for name, target in pairs
                            if name.strip() in NODES}
    raise AssertionError('setup.py declares no console_scripts')


@pytest.mark.parametrize('script', NODES)
def test_node_without_rclpy_prints_one_line_saying_how_to_get_ros(script, tmp_path):
    (tmp_path / 'sitecustomize.py').write_text(HIDE_RCLPY)
    module, function = node_scripts()[script].split(':')
    code = f'import sys\nfrom {module} import {function}\nsys.exit({function}())\n'
    env = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(tmp_path), 'HOME': str(tmp_path)}
    result = subprocess.run([sys.executable, '-c', code, '--ros-args'], capture_output=True,
                            text=True, timeout=120, env=env, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr
    assert lines[0].startswith(f'{script}: ROS 2 is not importable here (rclpy: ')
    assert "pip install 'pi05_ros[ros]'" in lines[0] and 'source a ROS 2 install' in lines[0]
    assert result.stdout == ''


def test_missing_ros_names_the_module_that_does_not_import():
    assert missing_ros(['json', 'no_such_ros_package.msg']).startswith(
        "no_such_ros_package.msg: No module named 'no_such_ros_package'")


def test_every_ros_module_the_nodes_need_imports_where_rclpy_does():
    if importlib.util.find_spec('rclpy') is None:
        pytest.skip('no ROS 2 here')
    assert missing_ros(ROS_MODULES) is None
