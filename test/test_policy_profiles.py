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

"""Robot profiles: shipped layouts, action spaces and conversions, validation errors."""

import numpy as np
from pi05_ros.policy.images import IMAGE_SLOTS
from pi05_ros.policy.profiles import (actions_to_robot, check_state, load_profile,
                                      profile_from_dict, ProfileError, shipped_profiles,
                                      state_to_model)
import pytest
import yaml

ALOHA_FLIP = np.array([1, -1, -1, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, 1], dtype=np.float64)
ALOHA_ARMS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
ALOHA_GRIPPERS = [6, 13]


def test_every_shipped_profile_loads_with_consistent_layouts():
    assert {'demo', 'droid', 'aloha', 'libero', 'generic'} <= set(shipped_profiles())
    for name in shipped_profiles():
        joints = ['a', 'b', 'c'] if name == 'generic' else None
        profile = load_profile(name, joint_names=joints)
        assert profile.name == name
        assert set(profile.action_dims) == set(profile.joint_names)
        assert set(profile.state_dims) <= set(profile.state_names)
        assert all(c.slot in IMAGE_SLOTS for c in profile.cameras)
        assert profile.control_dt_ns > 0 and profile.chunk_rows > 0


@pytest.mark.parametrize('name,joints,space,asset,rows,dt_ns,prompt_format', [
    ('demo', 7, 'delta', 'demo', 50, 50_000_000, 'state'),
    ('droid', 8, 'velocity', 'droid', 15, 66_666_667, 'state'),
    ('aloha', 14, 'delta', 'trossen', 50, 20_000_000, 'state'),
    ('libero', 7, 'absolute', 'physical-intelligence/libero', 10, 50_000_000, 'text'),
])
def test_shipped_profile_facts(name, joints, space, asset, rows, dt_ns, prompt_format):
    profile = load_profile(name)
    assert len(profile.joint_names) == joints
    assert profile.action_space == space and profile.asset_id == asset
    assert profile.chunk_rows == rows and profile.control_dt_ns == dt_ns
    assert profile.prompt_format == prompt_format


def test_demo_has_three_cameras_one_per_slot_and_delta_actions_on_every_joint():
    profile = load_profile('demo')
    assert sorted(c.slot for c in profile.cameras) == sorted(IMAGE_SLOTS)
    state = np.linspace(-0.5, 0.5, 7)
    assert np.array_equal(state_to_model(profile, state), state)
    actions = np.random.default_rng(0).normal(size=(50, 32))
    out = actions_to_robot(profile, actions, state, state)
    assert np.array_equal(out, actions[:, :7] + state)


def aloha_gripper_to_pi(x):
    linear = x * (0.05800 - 0.01844) + 0.01844
    angle = np.arcsin(np.clip((0.022 ** 2 + linear ** 2 - 0.036 ** 2) / (2 * 0.022 * linear),
                              -1, 1))
    return (angle - 0.5476) / (1.6296 - 0.5476)


def test_aloha_state_flips_joints_and_converts_grippers():
    profile = load_profile('aloha')
    state = np.random.default_rng(1).uniform(-1, 1, 14)
    state[ALOHA_GRIPPERS] = [0.3, 0.8]
    model = state_to_model(profile, state)
    assert model[ALOHA_ARMS] == pytest.approx(ALOHA_FLIP[ALOHA_ARMS] * state[ALOHA_ARMS])
    assert model[1] == -state[1] and model[9] == -state[9] and model[3] == state[3]
    assert model[ALOHA_GRIPPERS] == pytest.approx(aloha_gripper_to_pi(state[ALOHA_GRIPPERS]))


def test_aloha_actions_are_deltas_on_arms_and_absolute_grippers():
    profile = load_profile('aloha')
    rng = np.random.default_rng(2)
    state = rng.uniform(-1, 1, 14)
    state[ALOHA_GRIPPERS] = [0.2, 0.9]
    model_actions = rng.normal(size=(50, 32))  # unnormalized model output, padded to 32
    out = actions_to_robot(profile, model_actions, state, state_to_model(profile, state))
    assert out.shape == (50, 14)
    # Arms: pi-space delta + pi-space state, flipped back == flip * delta + robot state.
    expected_arms = ALOHA_FLIP[ALOHA_ARMS] * model_actions[:, ALOHA_ARMS] + state[ALOHA_ARMS]
    assert out[:, ALOHA_ARMS] == pytest.approx(expected_arms, abs=1e-12)
    # Grippers: absolute, PI gripper value -> ALOHA normalized joint command.
    expected_grippers = (model_actions[:, ALOHA_GRIPPERS] + 0.5476 + 0.6213) / (1.4910 + 0.6213)
    assert out[:, ALOHA_GRIPPERS] == pytest.approx(expected_grippers, abs=1e-12)


def test_droid_velocities_are_clipped_and_integrated_gripper_is_absolute():
    profile = load_profile('droid')
    state = np.array([0.1, -0.2, 0.3, -1.5, 0.0, 1.2, 0.7, 0.4])
    actions = np.zeros((15, 32))
    actions[:, :7] = 0.5
    actions[:, 3] = 3.0  # clipped to 1.0
    actions[:, 7] = np.linspace(-0.5, 1.5, 15)  # gripper, clipped to [0, 1]
    out = actions_to_robot(profile, actions, state, state_to_model(profile, state))
    steps = np.arange(1, 16)
    step_rad = 0.2  # DROID: 0.2 rad per unit velocity per 15 Hz tick
    assert out[:, 0] == pytest.approx(0.1 + step_rad * 0.5 * steps, abs=1e-6)
    assert out[:, 3] == pytest.approx(-1.5 + step_rad * 1.0 * steps, abs=1e-6)
    assert out[:, 7] == pytest.approx(np.clip(np.linspace(-0.5, 1.5, 15), 0, 1))


def test_libero_uses_text_prompt_eef_state_and_rotated_cameras():
    profile = load_profile('libero')
    assert len(profile.state_names) == 8 and len(profile.joint_names) == 7
    assert all(c.rotate_180 for c in profile.cameras)
    state = np.arange(8.0)
    actions = np.random.default_rng(3).normal(size=(10, 32))
    assert np.array_equal(actions_to_robot(profile, actions, state, state), actions[:, :7])


def test_generic_needs_joint_names_and_follows_their_order():
    with pytest.raises(ProfileError, match='joint_names'):
        load_profile('generic')
    profile = load_profile('generic', joint_names=['shoulder', 'elbow', 'wrist'])
    assert profile.joint_names == ('shoulder', 'elbow', 'wrist')
    actions = np.random.default_rng(4).normal(size=(50, 32))
    assert np.array_equal(actions_to_robot(profile, actions, np.zeros(3), np.zeros(3)),
                          actions[:, :3])


def test_joint_names_argument_renames_a_profile_consistently():
    names = [f'j{i}' for i in range(14)]
    profile = load_profile('aloha', joint_names=names)
    assert profile.joint_names == tuple(names)
    assert profile.action_mask == tuple(names[i] for i in ALOHA_ARMS)
    assert profile.state_convert == {'j6': 'aloha_gripper_to_pi', 'j13': 'aloha_gripper_to_pi'}
    with pytest.raises(ProfileError, match='has 14 joints'):
        load_profile('aloha', joint_names=['a', 'b'])


def test_overrides_and_yaml_path(tmp_path):
    assert load_profile('demo', chunk_rows=25).chunk_rows == 25
    data = yaml.safe_load(open(load_profile('demo').source))
    data['name'] = 'mine'
    path = tmp_path / 'mine.yaml'
    path.write_text(yaml.safe_dump(data))
    assert load_profile(str(path)).name == 'mine'


def test_state_checks_name_the_field():
    profile = load_profile('demo')
    with pytest.raises(ValueError, match=r'state: expected shape \(7,\)'):
        check_state(profile, np.zeros(6))
    with pytest.raises(ValueError, match=r"non-finite \['joint_3'\]"):
        check_state(profile, np.array([0, 0, np.nan, 0, 0, 0, 0.0]))


def base_profile(**changes):
    data = yaml.safe_load(open(load_profile('demo').source))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.mark.parametrize('changes,field', [
    ({'action': {'space': 'torque'}}, 'action.space'),
    ({'action': {'space': 'delta', 'mask': ['elbow']}}, 'action.mask'),
    ({'action': {'space': 'absolute', 'mask': ['joint_1']}}, 'action.mask'),
    ({'action': {'sign': [1, -1]}}, 'action.sign'),
    ({'action': {'convert': {'joint_1': 'nonsense'}}}, 'action.convert.joint_1'),
    ({'action': {'clip': {'joint_1': [1.0, -1.0]}}}, 'action.clip.joint_1'),
    ({'action': {'velocity_scale': -1}}, 'action.velocity_scale'),
    ({'state': {'dims': ['joint_1', 'nope']}}, 'state.dims'),
    ({'chunk_rows': 0}, 'chunk_rows'),
    ({'control_dt': -0.1}, 'control_dt'),
    ({'asset_id': ''}, 'asset_id'),
    ({'prompt_format': 'fast'}, 'prompt_format'),
    ({'normalization': 'minmax'}, 'normalization'),
    ({'joint_names': ['a', 'a']}, 'joint_names'),
    ({'cameras': [{'name': 'c', 'slot': 'top_rgb', 'topic': '/c'}]}, r'cameras\[0\].slot'),
    ({'cameras': []}, 'cameras'),
    ({'surprise': 1}, 'unknown keys'),
])
def test_invalid_fields_are_named(changes, field):
    with pytest.raises(ProfileError, match=field):
        profile_from_dict(base_profile(**changes))


def test_unknown_profile_lists_the_shipped_ones():
    with pytest.raises(ProfileError, match='shipped profiles: .*droid'):
        load_profile('no_such_robot')
