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

"""A custom arm's profile YAML: one clear error per field, gripper maps, the limits ceiling."""

import copy

import numpy as np
from pi05_ros.control.limits import JointLimits
from pi05_ros.policy.profiles import (actions_to_robot, cap_limits, cap_limits_by_profile,
                                      load_profile, ProfileError, state_to_model)
import pytest
import yaml

ARM = ['shoulder_pan', 'shoulder_lift', 'elbow', 'wrist_flex', 'wrist_roll']
JOINTS = ARM + ['gripper']
# what doc/robots.md shows for a custom 5-joint arm with a parallel gripper
CUSTOM = {
    'name': 'my_arm',
    'joint_names': JOINTS,
    'control_dt': 0.05,
    'chunk_rows': 50,
    'asset_id': 'my_arm',
    'cameras': [{'name': 'base', 'slot': 'base_0_rgb', 'topic': 'base_camera/image_raw'},
                {'name': 'wrist', 'slot': 'left_wrist_0_rgb', 'topic': 'wrist_camera/image_raw'}],
    'action': {'space': 'delta', 'mask': ARM},
    'grippers': {'gripper': {'open': 0.0, 'closed': 0.04}},
    'limits': {'lower': [-3.0, -2.0, -2.5, -2.0, -3.0, 0.0],
               'upper': [3.0, 2.0, 2.5, 2.0, 3.0, 0.04],
               'max_velocity': 1.0, 'max_acceleration': 4.0, 'max_jerk': 50.0},
}


def write(tmp_path, data, name='my_arm.yaml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def edited(**changes):
    """Return CUSTOM with dotted-path changes; a value of ``KeyError`` removes the key."""
    data = copy.deepcopy(CUSTOM)
    for dotted, value in changes.items():
        *parents, key = dotted.split('__')
        target = data
        for parent in parents:
            target = target.setdefault(parent, {}) if not parent.isdigit() else target[int(parent)]
        if value is KeyError:
            target.pop(key, None)
        else:
            target[key] = value
    return data


def test_the_custom_profile_loads_from_a_path(tmp_path):
    path = write(tmp_path, CUSTOM)
    profile = load_profile(str(path))
    assert profile.joint_names == tuple(JOINTS) and profile.source == str(path)
    assert [(c.name, c.slot) for c in profile.cameras] == [('base', 'base_0_rgb'),
                                                           ('wrist', 'left_wrist_0_rgb')]
    assert profile.action_mask == tuple(ARM) and profile.asset_id == 'my_arm'
    assert profile.grippers == {'gripper': (0.0, 0.04)}
    assert profile.limits['max_velocity'] == (1.0,) * 6
    assert profile.limits['upper'][-1] == 0.04


# (change, field the message names, what it says is expected)
FIELD_ERRORS = [
    ({'name': ''}, '.name:', 'expected a non-empty string'),
    ({'joint_names': ['a', 'a']}, '.joint_names:', 'names must be unique'),
    ({'joint_names': None}, '.joint_names:', 'pi05-replay --joint-names'),
    ({'state_names': 'all'}, '.state_names:', 'expected a list of non-empty names'),
    ({'joint_states_topic': ''}, '.joint_states_topic:', 'expected a topic name'),
    ({'control_dt': 0}, '.control_dt:', 'expected a positive number of seconds'),
    ({'chunk_rows': 0}, '.chunk_rows:', 'expected a positive integer'),
    ({'asset_id': ''}, '.asset_id:', 'assets/<asset_id>/norm_stats.json'),
    ({'prompt_format': 'json'}, '.prompt_format:', "expected one of ['state', 'text']"),
    ({'normalization': 'minmax'}, '.normalization:', 'expected one of'),
    ({'default_prompt': 3}, '.default_prompt:', 'expected a string'),
    ({'cameras': []}, '.cameras:', 'expected a non-empty list of {name, slot, topic}'),
    ({'cameras__0__slot': 'top'}, '.cameras[0].slot:', "['base_0_rgb', 'left_wrist_0_rgb'"),
    ({'cameras__1__slot': 'base_0_rgb'}, '.cameras slots:', 'names must be unique'),
    ({'cameras__0__topic': ''}, '.cameras[0].topic:', 'expected a non-empty string'),
    ({'cameras__0__rotate_180': 'yes'}, '.cameras[0].rotate_180:', 'expected true or false'),
    ({'cameras__0__fps': 30}, '.cameras[0]:', "unknown keys ['fps']"),
    ({'state__dims': ['hip']}, '.state.dims:', "['hip'] not in state_names"),
    ({'state__sign': [1, 1]}, '.state.sign:', 'expected 6 values, each 1 or -1'),
    ({'state__convert': {'gripper': 'inches'}}, '.state.convert.gripper:', 'expected one of'),
    ({'state__scale': 2}, '.state:', "unknown keys ['scale']"),
    ({'action__dims': ARM}, '.action.dims:', "joints ['gripper'] have no model action dim"),
    ({'action__space': 'torque'}, '.action.space:', "['absolute', 'delta', 'velocity']"),
    ({'action__mask': ['hip']}, '.action.mask:', "['hip'] not in action.dims"),
    ({'action__velocity_scale': -1}, '.action.velocity_scale:', 'expected a positive number'),
    ({'action__sign': [2] * 6}, '.action.sign:', 'expected 6 values, each 1 or -1'),
    ({'action__clip': {'elbow': [1, 0]}}, '.action.clip.elbow:', 'low < high'),
    ({'grippers': [0.0, 0.04]}, '.grippers:', 'expected a mapping joint -> {open: X'),
    ({'grippers': {'hand': {'open': 0, 'closed': 1}}}, '.grippers:',
     "['hand'] not in the state/action dims"),
    ({'grippers__gripper': {'open': 0.0}}, '.grippers.gripper:', '{open: X, closed: Y}'),
    ({'grippers__gripper': {'open': 0.04, 'closed': 0.04}}, '.grippers.gripper:',
     'two different finite numbers'),
    ({'grippers__gripper': {'open': 0.0, 'closed': 0.04},
      'state__convert': {'gripper': 'aloha_gripper_to_pi'}}, '.grippers.gripper:',
     'also has a named conversion'),
    ({'action__space': 'velocity', 'action__mask': JOINTS}, '.grippers:',
     'velocity-integrated'),
    ({'limits': 1.0}, '.limits:', 'expected a mapping with some of'),
    ({'limits__speed': 1.0}, '.limits:', "unknown keys ['speed']"),
    ({'limits__max_velocity': [1.0, 2.0]}, '.limits.max_velocity:',
     'expected a number > 0 or 6 of them (one per joint: shoulder_pan, '),
    ({'limits__max_acceleration': -4.0}, '.limits.max_acceleration:', 'a number > 0'),
    ({'limits__max_jerk': 'high'}, '.limits.max_jerk:', 'a number > 0 or 6 of them'),
    ({'limits__lower': 'low'}, '.limits.lower:', 'expected a number or 6 of them'),
    ({'limits__upper': [3.0, 2.0, 2.5, 2.0, 3.0, -1.0]}, '.limits:',
     "lower < upper on every joint, not on ['gripper']"),
    ({'joints': JOINTS}, ': unknown keys', "['joints'] (allowed:"),
]


@pytest.mark.parametrize('change, field, expected', FIELD_ERRORS,
                         ids=[next(iter(c)) for c, _, _ in FIELD_ERRORS])
def test_each_field_error_names_the_file_the_field_and_what_is_expected(
        tmp_path, change, field, expected):
    path = write(tmp_path, edited(**change))
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    message = str(error.value)
    assert isinstance(error.value, ValueError) and '\n' not in message
    assert message.startswith(f'profile {path}')
    assert field in message and expected in message, message


def test_gripper_map_turns_robot_units_into_0_open_1_closed_and_back(tmp_path):
    profile = load_profile(str(write(tmp_path, CUSTOM)))
    state = np.array([0.1, -0.2, 0.3, -0.4, 0.5, 0.03])  # gripper 30 mm of 40 mm closed
    model = state_to_model(profile, state)
    assert model[:5] == pytest.approx(state[:5]) and model[5] == pytest.approx(0.75)
    actions = np.zeros((4, 32))
    actions[:, :5] = 0.01  # arm deltas
    actions[:, 5] = [0.0, 0.5, 1.0, 0.25]  # absolute gripper in model units
    out = actions_to_robot(profile, actions, state, model)
    assert out[:, :5] == pytest.approx(np.tile(state[:5] + 0.01, (4, 1)))
    assert out[:, 5] == pytest.approx([0.0, 0.02, 0.04, 0.01])


def test_gripper_map_follows_a_joint_rename(tmp_path):
    names = ['j1', 'j2', 'j3', 'j4', 'j5', 'hand']
    profile = load_profile(str(write(tmp_path, CUSTOM)), joint_names=names)
    assert profile.grippers == {'hand': (0.0, 0.04)} and profile.action_mask == tuple(names[:5])


def limits(names, velocity, lower=-10.0, upper=10.0, jerk=None):
    num = len(names)
    return JointLimits(tuple(names), np.full(num, lower), np.full(num, upper),
                       np.asarray(velocity, dtype=np.float64), np.full(num, 8.0), jerk)


def test_profile_limits_cap_the_parameters_limits_joint_by_joint(tmp_path):
    profile = load_profile(str(write(tmp_path, CUSTOM)))
    names = list(reversed(JOINTS))  # the executor's own joint order
    velocity = [0.5, 2.0, 2.0, 2.0, 0.2, 2.0]
    capped = cap_limits(limits(names, velocity), profile)
    assert capped.joint_names == tuple(names)
    assert list(capped.max_velocity) == [min(v, 1.0) for v in velocity]
    assert list(capped.max_acceleration) == [4.0] * 6  # 8.0 capped
    assert list(capped.max_jerk) == [50.0] * 6  # none in the parameters: the profile's
    assert capped.upper[0] == 0.04 and capped.lower[0] == 0.0  # gripper, reversed order
    assert capped.upper[-1] == 3.0 and capped.lower[-1] == -3.0  # shoulder_pan
    # a profile without limits changes nothing
    plain = load_profile(str(write(tmp_path, edited(limits=KeyError), 'plain.yaml')))
    original = limits(JOINTS, [2.0] * 6)
    assert cap_limits(original, plain) is original


def test_cap_by_profile_file_renames_one_to_one_when_the_executor_renames(tmp_path):
    path = write(tmp_path, CUSTOM)
    names = ['j1', 'j2', 'j3', 'j4', 'j5', 'hand']
    capped = cap_limits_by_profile(limits(names, [3.0] * 6), str(path))
    assert list(capped.max_velocity) == [1.0] * 6 and capped.upper[-1] == 0.04
    with pytest.raises(ProfileError, match='has 6 joints'):
        cap_limits_by_profile(limits(['a', 'b'], [1.0, 1.0]), str(path))
    # a shipped profile without limits: unchanged, whatever the names
    demo = limits(['x'], [9.0])
    assert cap_limits_by_profile(demo, 'demo') is demo
