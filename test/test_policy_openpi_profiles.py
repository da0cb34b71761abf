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
Policy.infer for droid, aloha and libero against openpi's transforms, written out here.

Each reference below follows openpi's own code for that robot, step by step, in openpi's
variable layout (not the profile's): ``droid_policy.DroidInputs/Outputs`` + the DROID client
and environment, ``aloha_policy.AlohaInputs/Outputs`` with ``adapt_to_pi`` + Delta/AbsoluteActions
(``make_bool_mask(6, -1, 6, -1)``), ``libero_policy.LiberoInputs/Outputs`` + the LIBERO client.
Both sides run the same network (the demo checkpoint for that profile) on their own inputs
with the same noise, so any difference in images, masks, tokens or action mapping shows.
"""

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.normalize import load_norm_stats
from pi05_ros.policy.pipeline import ModelInputs
from pi05_ros.policy.runtime import Policy, run_model, to_batch
import pytest
import sentencepiece
import torch

try:  # a module-level importorskip would skip the whole test/ folder under launch_testing
    from openpi_client import image_tools
except ImportError:
    image_tools = None
needs_openpi_client = pytest.mark.skipif(
    image_tools is None, reason='needs openpi-client (pip install openpi-client)')
pytestmark = needs_openpi_client

SLOTS = ('base_0_rgb', 'left_wrist_0_rgb', 'right_wrist_0_rgb')
PROMPT = ' pick_up the\ncube '
ALOHA_FLIP = np.array([1, -1, -1, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, 1], dtype=np.float64)


def make_bool_mask(*dims):  # openpi transforms.make_bool_mask
    result = []
    for dim in dims:
        result.extend([dim > 0] * abs(dim))
    return np.array(result)


def gripper_to_angular(value):  # openpi aloha_policy._gripper_to_angular
    value = value * (0.05800 - 0.01844) + 0.01844
    value = np.arcsin(np.clip((0.022 ** 2 + value ** 2 - 0.036 ** 2) / (2 * 0.022 * value),
                              -1.0, 1.0))
    return (value - 0.5476) / (1.6296 - 0.5476)


def gripper_from_angular(value):  # openpi aloha_policy._gripper_from_angular
    return (value + 0.5476 - -0.6213) / (1.4910 - -0.6213)


class OpenPi:
    """openpi's Normalize / TokenizePrompt / ResizeImages / Unnormalize for one checkpoint."""

    def __init__(self, directory, asset_id, max_len):
        stats = load_norm_stats(directory / 'assets' / asset_id / 'norm_stats.json')
        self.state, self.actions = stats['state'], stats['actions']
        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(directory /
                                                                      'tokenizer.model'))
        self.max_len = max_len

    def normalize_state(self, x):
        q01, q99 = self.state.q01, self.state.q99
        return (x - q01[:x.shape[-1]]) / (q99[:x.shape[-1]] - q01[:x.shape[-1]] + 1e-6) * 2 - 1

    def unnormalize_actions(self, y):
        q01, q99 = self.actions.q01, self.actions.q99
        d = q01.shape[-1]
        return np.concatenate([(y[..., :d] + 1) / 2 * (q99 - q01 + 1e-6) + q01, y[..., d:]],
                              axis=-1)

    def tokenize(self, prompt, state=None):
        cleaned = prompt.strip().replace('_', ' ').replace('\n', ' ')
        if state is None:  # discrete_state_input=False (pi05_libero)
            ids = self.sp.encode(cleaned, add_bos=True) + self.sp.encode('\n')
        else:
            bins = np.digitize(state, bins=np.linspace(-1, 1, 257)[:-1]) - 1
            text = f"Task: {cleaned}, State: {' '.join(map(str, bins))};\nAction: "
            ids = self.sp.encode(text, add_bos=True)
        assert len(ids) <= self.max_len
        tokens = np.zeros(self.max_len, dtype=np.int64)
        tokens[:len(ids)] = ids
        return tokens, np.arange(self.max_len) < len(ids)

    def model_inputs(self, images, masks, prompt, state, with_state=True):
        size = 224
        resized = {k: image_tools.resize_with_pad(v, size, size) for k, v in images.items()}
        floats = {k: (v.astype(np.float32) / 255.0 * 2.0 - 1.0) for k, v in resized.items()}
        normalized = self.normalize_state(state)
        tokens, mask = self.tokenize(prompt, normalized if with_state else None)
        return ModelInputs(floats, masks, tokens, mask, state, state, normalized)


def droid_reference(openpi, obs, run):
    joints, gripper = obs.state[:7], obs.state[7:]
    state = np.concatenate([joints, gripper])  # DroidInputs
    base, wrist = obs.images['exterior_image_1_left'], obs.images['wrist_image_left']
    images = {'base_0_rgb': base, 'left_wrist_0_rgb': wrist,
              'right_wrist_0_rgb': np.zeros_like(base)}
    masks = {'base_0_rgb': True, 'left_wrist_0_rgb': True, 'right_wrist_0_rgb': False}
    actions = openpi.unnormalize_actions(run(openpi.model_inputs(images, masks, PROMPT, state)))
    actions = np.clip(actions[:, :8], -1, 1)  # DroidOutputs; the DROID client clips to [-1, 1]
    # DROID env, joint_velocity: each tick moves v * 0.2 rad (max_joint_delta) from where the
    # arm is; open loop over the chunk that is the running sum. The gripper is a position in
    # [0, 1] (the DROID client also binarizes it at 0.5; pi05_ros keeps it continuous).
    targets = joints + 0.2 * np.cumsum(actions[:, :7], axis=0)
    return np.concatenate([targets, np.clip(actions[:, 7:], 0, 1)], axis=1)


def aloha_reference(openpi, obs, run):
    state = ALOHA_FLIP * obs.state  # _decode_state(adapt_to_pi=True)
    state[[6, 13]] = gripper_to_angular(state[[6, 13]])
    names = {'base_0_rgb': 'cam_high', 'left_wrist_0_rgb': 'cam_left_wrist',
             'right_wrist_0_rgb': 'cam_right_wrist'}
    images = {slot: obs.images[cam] for slot, cam in names.items()}
    actions = openpi.unnormalize_actions(
        run(openpi.model_inputs(images, dict.fromkeys(SLOTS, True), PROMPT, state)))
    mask = make_bool_mask(6, -1, 6, -1)  # AbsoluteActions (Unnormalize'd state)
    actions[..., :14] += np.where(mask, state[:14], 0)
    actions = ALOHA_FLIP * actions[:, :14]  # AlohaOutputs._encode_actions
    actions[:, [6, 13]] = gripper_from_angular(actions[:, [6, 13]])
    return actions


def libero_reference(openpi, obs, run):
    # The LIBERO client rotates both images 180 degrees; LiberoInputs maps them.
    base = np.ascontiguousarray(obs.images['agentview'][::-1, ::-1])
    wrist = np.ascontiguousarray(obs.images['wrist'][::-1, ::-1])
    images = {'base_0_rgb': base, 'left_wrist_0_rgb': wrist,
              'right_wrist_0_rgb': np.zeros_like(base)}
    masks = {'base_0_rgb': True, 'left_wrist_0_rgb': True, 'right_wrist_0_rgb': False}
    actions = openpi.unnormalize_actions(
        run(openpi.model_inputs(images, masks, PROMPT, obs.state, with_state=False)))
    return actions[:, :7]  # LiberoOutputs


@pytest.fixture
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


REFERENCES = {'droid': droid_reference, 'aloha': aloha_reference, 'libero': libero_reference}
STATES = {
    'droid': np.array([0.1, -0.5, 0.2, -2.0, 0.05, 1.8, 0.7, 0.35]),
    'aloha': np.array([0.1, -0.9, 1.1, 0.05, -0.3, 0.2, 0.4,
                       -0.1, -0.8, 1.0, -0.05, 0.3, -0.2, 0.7]),
    'libero': np.array([0.05, -0.02, 1.1, 3.1, 0.1, -0.05, 0.03, -0.03]),
}


@pytest.mark.parametrize('name', sorted(REFERENCES))
def test_infer_equals_openpi_transforms_for_the_profile(name, tmp_path, one_torch_thread):
    directory = make_demo_checkpoint(tmp_path, name)
    policy = Policy.from_checkpoint(directory, name, warmup=False)
    rng = np.random.default_rng(3)
    sizes = [(480, 640), (360, 640), (256, 256)]
    images = {cam: rng.integers(0, 256, sizes[i] + (3,), dtype=np.uint8)
              for i, cam in enumerate(policy.profile.camera_names)}
    obs = Observation(images=images, state=STATES[name], prompt=PROMPT, stamp_ns=5)
    noise = rng.standard_normal((policy.config.action_horizon, 32)).astype(np.float32)
    chunk = policy.infer(obs, noise=noise)

    def run(inputs):
        noise_batch = torch.from_numpy(noise)[None]
        actions, _ = run_model(policy.model, to_batch(inputs, 'cpu'), noise_batch)
        return actions[0].double().numpy()[:policy.profile.chunk_rows]

    openpi = OpenPi(directory, policy.profile.asset_id, policy.config.max_token_len)
    expected = REFERENCES[name](openpi, obs, run)
    assert chunk.positions.shape == expected.shape
    # droid: control_dt 1/15 s is 66_666_667 ns, so 3.0 rad/s * dt is 0.2 rad + 1e-9 per tick
    np.testing.assert_allclose(chunk.positions, expected, rtol=0, atol=1e-8)
