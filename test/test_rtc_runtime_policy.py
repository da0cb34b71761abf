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

"""Real-time chunking through Policy.infer on the golden `tiny` network (demo: delta actions)."""

import json
import shutil

import numpy as np
from pi05_ros.observation import Observation
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.rtc import RtcSettings
from pi05_ros.policy.runtime import Policy
import pytest
import torch

CAMERAS = ('cam_high', 'cam_left_wrist', 'cam_right_wrist')
MS = 1_000_000


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def policy(golden_dir, tmp_path_factory):
    """Load the golden `tiny` network (H = 50, 10 steps) as a demo-robot checkpoint."""
    directory = tmp_path_factory.mktemp('tiny_rtc_ckpt')
    for name in ('model.safetensors', 'config.json'):
        shutil.copy(golden_dir / 'tiny' / name, directory)
    shutil.copy(golden_dir / 'tokenizer' / 'tokenizer.model', directory)
    (directory / 'assets' / 'demo').mkdir(parents=True)
    stats = {'q01': [-1.0] * 7, 'q99': [1.0] * 7, 'mean': [0.0] * 7, 'std': [1.0] * 7}
    (directory / 'assets' / 'demo' / 'norm_stats.json').write_text(
        json.dumps({'norm_stats': {'state': stats, 'actions': stats}}))
    return Policy.from_checkpoint(directory, load_profile('demo'), warmup=False)


def observation(stamp_ns, state, seed=0):
    rng = np.random.default_rng(seed)
    images = {c: rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for c in CAMERAS}
    return Observation(images=images, state=state, prompt='pick the cube', stamp_ns=stamp_ns)


def noise(seed):
    return np.random.default_rng(seed).standard_normal((50, 32)).astype(np.float32)


def test_guided_chunk_continues_the_previous_one_from_the_new_state(policy):
    """
    Continue the running chunk in absolute targets, from where the robot moved to.

    Four rows after the first chunk's observation the robot has moved: the second chunk's first
    d rows, in absolute joint targets, are the first chunk's rows at the same times.
    """
    runtime = policy.rtc_runtime(RtcSettings(enabled=True, execution_horizon=10,
                                             schedule='ones', guidance_weight_max=20.0,
                                             warmup_cycles=0))
    dt = policy.profile.control_dt_ns
    state0 = np.linspace(-0.3, 0.3, 7)
    first = runtime.infer(policy, observation(0, state0), noise(1))
    assert not first.rtc.guided and first.rtc.reason == 'no previous chunk'
    assert first.model_actions.shape == (50, 32)
    runtime.record_delay(0, 120 * MS)  # 3 rows
    stamp1 = 4 * dt
    state1 = first.positions[3] + 0.05  # measured: near the target of row 3, not on it
    second = runtime.infer(policy, observation(stamp1, state1, seed=1), noise(2))
    plain = policy.infer(observation(stamp1, state1, seed=1), noise(2))
    assert second.rtc.guided and second.rtc.delay_rows == 3
    assert plain.rtc is None
    d = second.rtc.delay_rows
    target = first.positions[4:4 + d]  # the same times: stamp1 + (j + 1) dt
    gap = np.abs(plain.positions[:d] - target).max()
    error = np.abs(second.positions[:d] - target).max()
    print(f'frozen rows vs the running chunk: guided {error:.4f}, plain {gap:.4f}')
    assert gap > 0.5
    assert error < 0.05 * gap
    # rows past H - s are not pulled: they still differ from the running chunk
    assert np.abs(second.positions[-5:] - first.positions[-5:]).max() > 0.1


def test_weight_zero_request_is_plain_sampling(policy):
    runtime = policy.rtc_runtime(RtcSettings(enabled=True, warmup_cycles=0))
    state = np.zeros(7)
    first = runtime.infer(policy, observation(0, state), noise(1))
    runtime.record_delay(0, 100 * MS)
    state = first.positions[3]  # where the first chunk took the robot
    plan = runtime.plan(4 * policy.profile.control_dt_ns, state)
    assert plan.request is not None
    zero = type(plan.request)(plan.request.prefix_actions, plan.request.delay,
                              plan.request.execution_horizon, 'exp', 0.0)
    obs = observation(4 * policy.profile.control_dt_ns, state)
    guided_off = policy.infer(obs, noise(3), rtc=zero)
    plain = policy.infer(obs, noise(3))
    assert np.array_equal(guided_off.model_actions, plain.model_actions)
