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

"""The package as ROS users and pip users see it: manifest, entry points, ROS-free imports."""

import ast
import configparser
from pathlib import Path
import re
import subprocess
import sys

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

REQUIRED_EXEC_DEPENDS = {
    'rclpy', 'std_msgs', 'std_srvs', 'sensor_msgs', 'trajectory_msgs', 'builtin_interfaces',
    'diagnostic_msgs', 'lifecycle_msgs', 'launch', 'launch_ros', 'ros2launch', 'python3-numpy',
    'python3-opencv',
}
REQUIRED_TEST_DEPENDS = {
    'ament_copyright', 'ament_flake8', 'ament_pep257', 'ament_xmllint', 'python3-pytest',
    'launch_testing', 'launch_testing_ros', 'python3-hypothesis', 'python3-catkin-pkg',
}
# pip requirement of setup.py -> rosdep key in package.xml (`rosdep install` + `colcon test`)
ROSDEP_KEYS = {
    'numpy': 'python3-numpy', 'torch': 'python3-pytorch-pip', 'opencv-python-headless':
    'python3-opencv', 'pillow': 'python3-pil', 'pyyaml': 'python3-yaml',
    'rosbags': 'python3-rosbags-pip', 'matplotlib': 'python3-matplotlib', 'tqdm': 'python3-tqdm',
    'safetensors': 'python3-safetensors-pip', 'sentencepiece': 'python3-sentencepiece-pip',
    'ruckig': 'python3-ruckig-pip', 'pytest': 'python3-pytest',
    'hypothesis': 'python3-hypothesis', 'openpi-client': 'python3-openpi-client-pip',
    'msgpack': 'python3-msgpack', 'websockets': 'python3-websockets-pip',
}
NOT_ROSDEP = {'setuptools'}  # ament_python's build tool
ROSDISTRO_PIP_KEYS = {'python3-pytorch-pip', 'python3-rosbags-pip'}  # defined in ros/rosdistro


def _console_scripts():
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == 'console_scripts':
                    return [ast.literal_eval(v) for v in value.elts]
    raise AssertionError('setup.py declares no console_scripts')


def test_package_xml_is_valid_format_3_with_required_dependencies():
    catkin_pkg = pytest.importorskip('catkin_pkg.package')
    package = catkin_pkg.parse_package(str(REPO / 'package.xml'))
    package.validate()
    assert package.package_format == 3
    assert package.name == 'pi05_ros'
    assert [str(lic) for lic in package.licenses] == ['Apache-2.0']
    assert package.get_build_type() == 'ament_python'
    assert REQUIRED_EXEC_DEPENDS <= {d.name for d in package.exec_depends}
    assert REQUIRED_TEST_DEPENDS <= {d.name for d in package.test_depends}


def _setup_requirements(name: str) -> list:
    """Project names in setup.py's install_requires or extras_require[name]."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == 'install_requires' and not name:
            entries = ast.literal_eval(node.value)
        elif isinstance(node, ast.Dict) and name:
            table = {k.value: v for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant)}
            if name not in table:
                continue
            entries = ast.literal_eval(table[name])
        else:
            continue
        return [re.split(r'[<>=!\[; ]', entry, maxsplit=1)[0].lower() for entry in entries]
    raise AssertionError(f'setup.py: no requirements {name!r}')


@pytest.mark.parametrize('extra', ['', 'test'])
def test_every_pip_requirement_has_a_rosdep_key_in_package_xml(extra):
    catkin_pkg = pytest.importorskip('catkin_pkg.package')
    package = catkin_pkg.parse_package(str(REPO / 'package.xml'))
    declared = {d.name for d in (package.test_depends if extra else package.exec_depends)}
    missing = [f'{r} -> {ROSDEP_KEYS.get(r, "?")}' for r in _setup_requirements(extra)
               if r not in NOT_ROSDEP and ROSDEP_KEYS.get(r) not in declared]
    assert missing == []


def test_pip_rosdep_keys_not_in_rosdistro_are_defined_in_rosdep_yaml():
    catkin_pkg = pytest.importorskip('catkin_pkg.package')
    package = catkin_pkg.parse_package(str(REPO / 'package.xml'))
    keys = {d.name for d in package.exec_depends + package.test_depends
            if d.name.endswith('-pip')} - ROSDISTRO_PIP_KEYS
    rules = yaml.safe_load((REPO / 'rosdep.yaml').read_text())
    assert keys <= set(rules)
    for key in keys:
        assert rules[key]['ubuntu']['pip']['packages'], key


def test_setup_cfg_installs_scripts_where_ros2_run_looks():
    config = configparser.ConfigParser()
    config.read(REPO / 'setup.cfg')
    assert config['develop']['script_dir'] == '$base/lib/pi05_ros'
    assert config['install']['install_scripts'] == '$base/lib/pi05_ros'


@pytest.mark.parametrize('script', _console_scripts(), ids=lambda s: s.split('=')[0].strip())
def test_every_console_script_points_at_a_main_function(script):
    name, target = (part.strip() for part in script.split('='))
    module, function = target.split(':')
    path = REPO / (module.replace('.', '/') + '.py')
    assert path.is_file(), f'console script {name}: {path} does not exist'
    defined = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert function in defined, f'console script {name}: {module} defines no {function}()'


def test_launch_files_are_valid_python_with_a_launch_description():
    launch_files = sorted((REPO / 'launch').glob('*.launch.py'))
    assert {p.name for p in launch_files} >= {'policy.launch.py', 'demo.launch.py'}
    for path in launch_files:
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert 'generate_launch_description' in functions, path.name


def test_parameter_files_are_ros_parameter_yaml():
    files = sorted((REPO / 'config').glob('*.yaml'))
    assert files, 'config/ has no parameter files'
    for path in files:
        document = yaml.safe_load(path.read_text())
        assert isinstance(document, dict), path.name
        for node_name, section in document.items():
            assert 'ros__parameters' in section, f'{path.name}: {node_name} has no ros__parameters'


def _module_level_skips(path: Path) -> list:
    """Module-level pytest.importorskip / pytest.skip calls of a test file, as 'file:line'."""
    found, pending = [], list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue  # runs per test, not at import
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ('importorskip', 'skip')
                and isinstance(node.func.value, ast.Name) and node.func.value.id == 'pytest'):
            found.append(f'{path.name}:{node.lineno}')
        pending.extend(ast.iter_child_nodes(node))
    return sorted(found)


def test_no_test_module_can_skip_the_whole_folder():
    # launch_testing's pytest plugin imports every test module while collecting test/; a
    # Skipped raised at import time there skips the whole folder (pytest exit 5), so optional
    # dependencies are skipped per test (pytest.mark.skipif or importorskip inside the test)
    offenders = [hit for path in sorted((REPO / 'test').glob('*.py'))
                 for hit in _module_level_skips(path)]
    assert offenders == []


def test_ros_free_modules_import_without_rclpy():
    code = (
        'import sys, importlib, pkgutil\n'
        'import pi05_ros\n'
        'for m in pkgutil.walk_packages(pi05_ros.__path__, "pi05_ros."):\n'
        '    if not m.name.startswith("pi05_ros.nodes."):\n'
        '        importlib.import_module(m.name)\n'
        'bad = [m for m in ("rclpy", "sensor_msgs", "launch_ros") if m in sys.modules]\n'
        'assert not bad, bad\n'
    )
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
