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

"""``pi05-replay`` on a custom 6-joint arm: a profile path, --joint-names, generic's names."""

import json

from pi05_ros.names import absolute_topic
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.profiles import load_profile
from pi05_ros.replay import cli
from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag
import pytest
import torch
import yaml

ARM = ('base_yaw', 'shoulder', 'elbow', 'wrist_pitch', 'wrist_roll', 'gripper')
# a 6-joint arm fine-tuned with delta actions; its gripper joint spans -1 (open) .. 1 (closed)
PROFILE = {
    'name': 'six_joint_arm',
    'joint_names': list(ARM),
    'control_dt': 0.05,
    'chunk_rows': 50,
    'asset_id': 'six_joint_arm',
    'cameras': [{'name': 'base', 'slot': 'base_0_rgb', 'topic': 'base_camera/image_raw'},
                {'name': 'wrist', 'slot': 'left_wrist_0_rgb', 'topic': 'wrist_camera/image_raw'}],
    'action': {'space': 'delta'},
    'grippers': {'gripper': {'open': -1.0, 'closed': 1.0}},
    'limits': {'lower': -3.0, 'upper': 3.0, 'max_velocity': 1.5, 'max_acceleration': 6.0},
}
GENERIC_JOINTS = ('joint_1', 'joint_2', 'joint_3', 'joint_4', 'joint_5', 'joint_6')
URDF = '<robot name="six">' + ''.join(
    f'<joint name="{name}" type="revolute"><limit lower="-3" upper="3" velocity="1.2" '
    'effort="10"/></joint>' for name in GENERIC_JOINTS) + '</robot>'


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def record(tmp_path, profile, joint_names):
    """Write a 2 s bag of ``joint_names`` with the profile's cameras; return it and its spec."""
    spec = DemoBagSpec(joint_names=tuple(joint_names),
                       camera_topics={c.name: absolute_topic(c.topic) for c in profile.cameras},
                       camera_frames=20)
    return write_demo_bag(tmp_path / 'bag', spec), spec


def replay(tmp_path, capsys, bag, spec, *args):
    out = tmp_path / 'report'
    code = cli.main([str(bag), '-o', str(out), '--no-progress', '--threads', '1',
                     '--truth-topic', spec.command_topic, '--max-inferences', '3',
                     '--inference-delay', '0.05', *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ''
    return json.loads((out / 'metrics.json').read_text())


def test_a_profile_path_replays_with_its_gripper_map_and_limits(tmp_path, capsys):
    path = tmp_path / 'six_joint_arm.yaml'
    path.write_text(yaml.safe_dump(PROFILE, sort_keys=False))
    profile = load_profile(str(path))
    bag, spec = record(tmp_path, profile, ARM)
    checkpoint = make_demo_checkpoint(tmp_path / 'checkpoint', profile)
    metrics = replay(tmp_path, capsys, bag, spec, '--checkpoint', str(checkpoint),
                     '--profile', str(path))
    assert metrics['prediction']['num_chunks'] == 3
    assert metrics['executed']['chunks_refused'] == []
    run = metrics['run']
    assert run['profile'] == 'six_joint_arm' and run['params_file'] is None
    # no parameter file: the built-in defaults (2 rad/s, 10 rad/s^2) under the profile's ceiling
    assert run['executor']['limits']['elbow'] == {
        'lower': -3.0, 'upper': 3.0, 'max_velocity': 1.5, 'max_acceleration': 6.0,
        'max_jerk': None}
    assert f"capped by the profile's limits ({path})" in run['limits_source']


def test_joint_names_rename_the_profile_to_the_recorded_joints(tmp_path, capsys):
    path = tmp_path / 'six_joint_arm.yaml'
    path.write_text(yaml.safe_dump(PROFILE, sort_keys=False))
    recorded = ('j0', 'j1', 'j2', 'j3', 'j4', 'hand')  # the robot's own names in the bag
    profile = load_profile(str(path), joint_names=list(recorded))
    bag, spec = record(tmp_path, profile, recorded)
    checkpoint = make_demo_checkpoint(tmp_path / 'checkpoint', profile)
    metrics = replay(tmp_path, capsys, bag, spec, '--checkpoint', str(checkpoint),
                     '--profile', str(path), '--joint-names', ','.join(recorded))
    assert metrics['prediction']['num_chunks'] == 3
    assert sorted(metrics['run']['executor']['limits']) == sorted(recorded)
    assert metrics['run']['executor']['limits']['hand']['max_velocity'] == 1.5


def test_generic_takes_joint_names_from_its_parameter_file(tmp_path, capsys):
    params = yaml.safe_load(open(cli.find_config_file('generic.yaml')))
    assert params['/**/pi05_policy']['ros__parameters']['joint_names'] == list(GENERIC_JOINTS)
    profile = load_profile('generic', joint_names=list(GENERIC_JOINTS))
    bag, spec = record(tmp_path, profile, GENERIC_JOINTS)
    checkpoint = make_demo_checkpoint(tmp_path / 'checkpoint', profile)
    urdf = tmp_path / 'six.urdf'
    urdf.write_text(URDF)  # config/generic.yaml reads the limits from the URDF
    metrics = replay(tmp_path, capsys, bag, spec, '--checkpoint', str(checkpoint),
                     '--profile', 'generic', '--urdf', str(urdf))
    assert metrics['prediction']['num_chunks'] == 3
    run = metrics['run']
    assert run['params_file'].endswith('config/generic.yaml')
    assert list(run['executor']['limits']) == list(GENERIC_JOINTS)
    assert run['executor']['limits']['joint_3']['max_velocity'] == 1.2


def test_generic_without_joint_names_names_the_option_to_pass(tmp_path, capsys):
    profile = load_profile('generic', joint_names=list(GENERIC_JOINTS))
    bag, _ = record(tmp_path, profile, GENERIC_JOINTS)
    code = cli.main([str(bag), '--checkpoint', str(tmp_path / 'none'), '--profile', 'generic',
                     '--params-file', '', '--no-progress'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR and err.count('\n') == 1 and 'Traceback' not in err
    assert 'generic.yaml.joint_names: this profile needs the robot' in err
    assert 'pi05-replay --joint-names a,b,c' in err and 'pass joint_names=[...]' not in err


@pytest.mark.parametrize('text', ['a,,b', 'a,b,a', ''])
def test_bad_joint_names_are_one_line_naming_the_option(tmp_path, capsys, text):
    code = cli.main([str(tmp_path), '--checkpoint', str(tmp_path), '--profile', 'generic',
                     '--joint-names', text, '--no-progress'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR and err.count('\n') == 1
    assert err.startswith('pi05-replay: error: --joint-names: expected distinct')


def test_joint_names_of_another_count_say_how_many_the_profile_has(tmp_path, capsys):
    code = cli.main([str(tmp_path), '--checkpoint', str(tmp_path), '--profile', 'droid',
                     '--joint-names', 'a,b,c', '--no-progress'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR and err.count('\n') == 1
    assert 'has 8 joints' in err and 'got 3' in err


def test_droid_on_an_fr3_replays_with_the_adapter_parameter_file(tmp_path, capsys):
    """config/adapters/droid_fr3.yaml: fr3 joint names and pi05/joint_states, as live."""
    params = cli.find_config_file('adapters/droid_fr3.yaml')
    joints = yaml.safe_load(params.read_text())['/**/pi05_policy']['ros__parameters'][
        'joint_names']
    profile = load_profile('droid', joint_names=joints)
    spec = DemoBagSpec(joint_names=tuple(joints), joint_states_topic='/pi05/joint_states',
                       camera_topics={c.name: absolute_topic(c.topic) for c in profile.cameras},
                       camera_frames=20)
    bag = write_demo_bag(tmp_path / 'bag', spec)
    checkpoint = make_demo_checkpoint(tmp_path / 'checkpoint', profile)
    metrics = replay(tmp_path, capsys, bag, spec, '--checkpoint', str(checkpoint),
                     '--profile', 'droid', '--params-file', str(params))
    assert metrics['prediction']['num_chunks'] == 3
    run = metrics['run']
    assert list(run['executor']['limits']) == joints
    assert run['executor']['limits']['fr3_joint1']['max_velocity'] == 0.3  # the first-run file
