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

"""doc/robots.md: its profile loads, and its commands use options and parameters that exist."""

import ast
from pathlib import Path
import re
import shlex

from pi05_ros.policy.profiles import profile_from_dict
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / 'doc' / 'robots.md'


def blocks(language):
    return re.findall(rf'```{language}\n(.*?)```', DOC.read_text(), flags=re.S)


def commands(program):
    """Every ``program ...`` command of the bash blocks, continuation lines joined, split."""
    found = []
    for block in blocks('bash'):
        text = block.replace('\\\n', ' ')
        for line in text.splitlines():
            line = line.split(' #')[0].strip()
            if line.startswith(program + ' ') or line == program:
                found.append(shlex.split(line.replace('<share>', str(REPO))))
    return found


def console_scripts():
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == 'console_scripts':
                    return {ast.literal_eval(v).split('=')[0].strip() for v in value.elts}
    raise AssertionError('setup.py declares no console_scripts')


def test_the_custom_arm_profile_on_the_page_loads():
    profiles = [yaml.safe_load(b) for b in blocks('yaml')]
    profiles = [p for p in profiles if isinstance(p, dict) and 'joint_names' in p]
    assert profiles, 'doc/robots.md shows no profile'
    for data in profiles:
        profile = profile_from_dict(data, source='doc/robots.md')
        assert profile.grippers and profile.limits  # the page shows both


@pytest.mark.parametrize('program', ['pi05-replay', 'pi05-convert'])
def test_cli_commands_parse_with_the_real_parsers(program):
    if program == 'pi05-replay':
        from pi05_ros.replay.cli import build_parser
    else:
        from pi05_ros.policy.convert import build_parser
    found = commands(program)
    assert found, f'no {program} command on the page'
    for argv in found:
        try:
            args = build_parser().parse_args(argv[1:])
        except SystemExit:
            raise AssertionError(f'doc/robots.md: {" ".join(argv)}: {program} refuses it')
        params_file = getattr(args, 'params_file', None)
        if params_file:
            assert Path(params_file).is_file(), params_file


def node_specs(script):
    pytest.importorskip('rclpy')
    from pi05_ros.nodes.aloha_adapter_node import ALOHA_ADAPTER_PARAMETERS
    from pi05_ros.nodes.executor_node import EXECUTOR_PARAMETERS
    from pi05_ros.nodes.franka_adapter_node import FRANKA_ADAPTER_PARAMETERS
    from pi05_ros.nodes.policy_node import POLICY_PARAMETERS
    table = {'franka_adapter_node': FRANKA_ADAPTER_PARAMETERS,
             'aloha_adapter_node': ALOHA_ADAPTER_PARAMETERS,
             'executor_node': EXECUTOR_PARAMETERS, 'policy_node': POLICY_PARAMETERS}[script]
    return {spec.name: spec for spec in table}


def test_ros2_run_commands_name_real_executables_parameters_and_files():
    found = [argv for argv in commands('ros2') if argv[1] == 'run' and argv[2] == 'pi05_ros']
    assert found
    scripts = console_scripts()
    for argv in found:
        script = argv[3]
        assert script in scripts, script
        specs = node_specs(script)
        for flag, value in zip(argv, argv[1:]):
            if flag == '-p':
                assert value.split(':=')[0] in specs, f'{script}: -p {value}'
            if flag == '--params-file':
                assert Path(value).is_file(), value


def test_launch_service_and_param_commands_exist():
    from pi05_ros.launch_arguments import POLICY_ARGUMENTS
    arguments = {name for name, _, _ in POLICY_ARGUMENTS}
    ros2 = commands('ros2')
    launches = [argv for argv in ros2 if argv[1:3] == ['launch', 'pi05_ros']]
    assert launches
    for argv in launches:
        assert argv[3] == 'policy.launch.py'
        for item in argv[4:]:
            name, _, value = item.partition(':=')
            assert name in arguments, item
            if name == 'params_file':
                assert Path(value).is_file(), value
    services = {'engage_policy': 'std_srvs/srv/SetBool', 'hold': 'std_srvs/srv/Trigger',
                'teleop': 'std_srvs/srv/Trigger'}
    calls = [argv for argv in ros2 if argv[1:3] == ['service', 'call']]
    assert {argv[3].rsplit('/', 1)[-1] for argv in calls} >= {'engage_policy', 'hold'}
    for argv in calls:
        node, _, service = argv[3].rpartition('/')
        assert node == '/pi05_executor' and services[service] == argv[4], argv
    sets = [argv for argv in ros2 if argv[1:3] == ['param', 'set']]
    assert sets
    specs = node_specs('executor_node')
    for argv in sets:
        assert argv[3] == '/pi05_executor' and specs[argv[4]].dynamic, argv


@pytest.mark.parametrize('script', ['franka_adapter_node', 'aloha_adapter_node'])
def test_every_adapter_parameter_is_documented_as_declared(script):
    pytest.importorskip('rclpy')  # the nodes' parameter module types values for rclpy
    from pi05_ros.nodes.params import documentation_rows
    rows = documentation_rows(list(node_specs(script).values())).splitlines()
    text = DOC.read_text()
    missing = [row for row in rows if row not in text]
    assert missing == []


def test_the_readme_links_the_page_on_its_first_screen():
    first_screen = '\n'.join((REPO / 'README.md').read_text().splitlines()[:20])
    assert '(doc/robots.md)' in first_screen
