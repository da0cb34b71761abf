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

"""The policy runtime end to end: golden network outputs, openpi's transforms, bad inputs."""

import hashlib
import json
import shutil

import numpy as np
from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import load_pi05_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.observation import Observation
from pi05_ros.policy.demo_assets import make_demo_checkpoint
from pi05_ros.policy.images import ImageError
from pi05_ros.policy.profiles import load_profile
from pi05_ros.policy.runtime import ModelBatch, Policy, run_model
from pi05_ros.policy.tokenizer import PromptTooLongError
import pytest
from safetensors.torch import load_file
import sentencepiece
import torch

try:  # a module-level importorskip would skip the whole test/ folder under launch_testing
    from openpi_client import image_tools
except ImportError:
    image_tools = None
needs_openpi_client = pytest.mark.skipif(
    image_tools is None, reason='needs openpi-client (pip install openpi-client)')

CAMERA_SHAPES = {'cam_high': (480, 640), 'cam_left_wrist': (240, 320),
                 'cam_right_wrist': (300, 200)}


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """
    Use one intra-op thread.

    A shared CI machine oversubscribed by torch's spinning threads is several times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def golden_model(case_dir):
    config = PI05Config.from_dict(json.loads((case_dir / 'config.json').read_text()))
    model = PI05Model(config)
    load_pi05_weights(model, case_dir / 'model.safetensors')
    return model.eval()


@pytest.mark.parametrize('case', ['tiny', 'tiny_sq'])
def test_model_call_path_reproduces_golden_actions(golden_dir, case):
    model = golden_model(golden_dir / case)
    io = load_file(str(golden_dir / case / 'io.safetensors'))
    keys = model.config.image_keys
    batch = ModelBatch({k: io[f'in.image.{k}'] for k in keys},
                       {k: io[f'in.image_mask.{k}'] for k in keys},
                       io['in.tokenized_prompt'], io['in.tokenized_prompt_mask'])
    actions, timing = run_model(model, batch, io['in.noise'])
    assert torch.allclose(actions, io['out.actions'], atol=1e-5, rtol=0)
    assert timing['prefix'] > 0 and timing['denoise'] > 0


def observation(stamp_ns=1_000_000_007, prompt='pick the cube', seed=0, state=None):
    rng = np.random.default_rng(seed)
    images = {name: rng.integers(0, 256, shape + (3,), dtype=np.uint8)
              for name, shape in CAMERA_SHAPES.items()}
    if state is None:
        state = rng.uniform(-0.8, 0.8, 7)
    return Observation(images=images, state=state, prompt=prompt, stamp_ns=stamp_ns)


@pytest.fixture(scope='module')
def golden_checkpoint(golden_dir, tmp_path_factory):
    """Write the golden `tiny` network as an openpi checkpoint for the demo robot (7 joints)."""
    directory = tmp_path_factory.mktemp('tiny_ckpt')
    shutil.copy(golden_dir / 'tiny' / 'model.safetensors', directory)
    shutil.copy(golden_dir / 'tiny' / 'config.json', directory)
    shutil.copy(golden_dir / 'tokenizer' / 'tokenizer.model', directory)
    (directory / 'assets' / 'demo').mkdir(parents=True)
    stats = {'q01': np.linspace(-1.0, -0.5, 7).tolist(), 'q99': np.linspace(0.5, 1.2, 7).tolist(),
             'mean': [0.0] * 7, 'std': [1.0] * 7}
    (directory / 'assets' / 'demo' / 'norm_stats.json').write_text(
        json.dumps({'norm_stats': {'state': stats, 'actions': stats}}))
    return directory, stats


@needs_openpi_client
def test_infer_equals_openpi_transforms_plus_network(golden_dir, golden_checkpoint):
    directory, stats = golden_checkpoint
    profile = load_profile('demo', chunk_rows=20)
    policy = Policy.from_checkpoint(directory, profile, warmup=False)
    obs = observation()
    noise = np.random.default_rng(7).standard_normal((50, 32)).astype(np.float32)
    chunk = policy.infer(obs, noise=noise)

    # openpi, written out independently: quantile-normalize the state, pi05 prompt with the
    # 256-bin state, SentencePiece with BOS, pad to 48; resize_with_pad + x/255*2-1; network;
    # unnormalize the first 7 dims; add the state (the demo's delta actions); keep chunk_rows rows.
    q01, q99 = np.array(stats['q01']), np.array(stats['q99'])
    norm_state = (obs.state - q01) / (q99 - q01 + 1e-6) * 2.0 - 1.0
    bins = np.digitize(norm_state, np.linspace(-1, 1, 257)[:-1]) - 1
    text = f"Task: pick the cube, State: {' '.join(map(str, bins))};\nAction: "
    sp = sentencepiece.SentencePieceProcessor(
        model_file=str(golden_dir / 'tokenizer' / 'tokenizer.model'))
    ids = sp.encode(text, add_bos=True)
    assert len(ids) <= 48
    tokens = torch.zeros(1, 48, dtype=torch.int64)
    tokens[0, :len(ids)] = torch.tensor(ids)
    token_mask = tokens != 0
    slots = {'cam_high': 'base_0_rgb', 'cam_left_wrist': 'left_wrist_0_rgb',
             'cam_right_wrist': 'right_wrist_0_rgb'}
    images = {slot: torch.from_numpy(image_tools.resize_with_pad(obs.images[cam], 224, 224))
              .float()[None] / 255.0 * 2.0 - 1.0 for cam, slot in slots.items()}
    masks = {slot: torch.tensor([True]) for slot in slots.values()}
    model = golden_model(golden_dir / 'tiny')
    raw = model.sample_actions(images, masks, tokens, token_mask,
                               noise=torch.from_numpy(noise)[None])[0].double().numpy()
    expected = (raw[:20, :7] + 1.0) / 2.0 * (q99 - q01 + 1e-6) + q01 + obs.state

    assert chunk.positions.shape == (20, 7)
    np.testing.assert_allclose(chunk.positions, expected, atol=1e-5, rtol=0)
    assert chunk.stamp_ns == obs.stamp_ns and chunk.dt_ns == 50_000_000
    assert chunk.joint_names == profile.joint_names
    assert {'preprocess', 'prefix', 'denoise', 'postprocess', 'model', 'total'} <= set(
        chunk.timing_ms)
    identity = policy.model_identity
    assert identity['weights_sha256'] == hashlib.sha256(
        (directory / 'model.safetensors').read_bytes()).hexdigest()
    assert 'vlm 64x4' in identity['config'] and identity['profile'] == 'demo'


@pytest.fixture(scope='module')
def demo_policy(tmp_path_factory):
    directory = make_demo_checkpoint(tmp_path_factory.mktemp('demo'))
    return Policy.from_checkpoint(directory, 'demo', seed=3, warmup=True)


def test_same_noise_same_chunk_and_seeded_noise_is_reproducible(demo_policy, tmp_path):
    obs = observation(seed=1)
    noise = np.random.default_rng(0).standard_normal((50, 32))
    first = demo_policy.infer(obs, noise=noise)
    second = demo_policy.infer(obs, noise=noise)
    assert np.array_equal(first.positions, second.positions)
    assert first.positions.shape == (50, 7) and np.isfinite(first.positions).all()
    other = demo_policy.infer(obs)  # fresh noise from the policy's generator
    assert not np.array_equal(other.positions, first.positions)


@pytest.mark.parametrize('change,error,match', [
    (lambda o: o.images.pop('cam_left_wrist'), ImageError, r"images\['cam_left_wrist'\]: missing"),
    (lambda o: o.images.__setitem__('cam_high', o.images['cam_high'].astype(np.float32)),
     ImageError, r"images\['cam_high'\]: expected dtype uint8"),
    (lambda o: o.images.__setitem__('cam_high', o.images['cam_high'][..., 0]), ImageError,
     r"images\['cam_high'\]: expected shape"),
    (lambda o: setattr(o, 'state', np.zeros(6)), ValueError, r'state: expected shape \(7,\)'),
    (lambda o: setattr(o, 'state', np.array([0, 0, 0, np.inf, 0, 0, 0.0])), ValueError,
     'state: expected finite'),
    (lambda o: setattr(o, 'prompt', 'stack ' * 80), PromptTooLongError, 'prompt'),
])
def test_bad_inputs_raise_errors_naming_the_field(demo_policy, change, error, match):
    obs = observation()
    change(obs)
    with pytest.raises(error, match=match):
        demo_policy.infer(obs)


def test_bad_noise_shape_is_named(demo_policy):
    with pytest.raises(ValueError, match='noise'):
        demo_policy.infer(observation(), noise=np.zeros((10, 32)))


def test_optional_cameras_give_masked_black_images(demo_policy):
    transforms = demo_policy.transforms
    transforms.allow_missing_cameras = True
    try:
        obs = observation()
        del obs.images['cam_right_wrist']
        inputs = demo_policy.preprocess(obs)
    finally:
        transforms.allow_missing_cameras = False
    assert inputs.image_masks == {'base_0_rgb': True, 'left_wrist_0_rgb': True,
                                  'right_wrist_0_rgb': False}
    assert (inputs.images['right_wrist_0_rgb'] == -1.0).all()


def test_chunk_rows_beyond_the_model_horizon_is_rejected(tmp_path):
    directory = make_demo_checkpoint(tmp_path)
    with pytest.raises(ValueError, match='chunk_rows 60 exceeds'):
        Policy.from_checkpoint(directory, load_profile('demo', chunk_rows=60), warmup=False)


def test_checkpoint_problems_name_the_file_and_field(tmp_path):
    directory = make_demo_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"asset_id 'droid'.*assets present: \['demo'\]"):
        Policy.from_checkpoint(directory, load_profile('demo', asset_id='droid'), warmup=False)
    stats_path = directory / 'assets' / 'demo' / 'norm_stats.json'
    stats = json.loads(stats_path.read_text())
    del stats['norm_stats']['actions']
    stats_path.write_text(json.dumps(stats))
    with pytest.raises(ValueError, match=r'norm_stats.json: norm_stats.actions missing'):
        Policy.from_checkpoint(directory, 'demo', warmup=False)
