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
A tiny random-weight PI0.5 checkpoint for demos and tests (seconds to build, deterministic).

``make_demo_checkpoint(directory)`` writes the openpi PyTorch layout::

    directory/model.safetensors                        random weights (seeded)
    directory/config.json                              golden-format architecture
    directory/assets/<asset_id>/norm_stats.json        stats for the profile's state / actions
    directory/tokenizer.model                          SentencePiece BPE trained on the spot

The network has the real PI0.5 structure at toy size (SigLIP 32 wide, Gemma towers 64 wide), so
every code path of the runtime runs; its actions are meaningless.
"""

import io
import json
from pathlib import Path
import shutil
import tempfile
from typing import Iterator, Union

import numpy as np
from pi05_ros.model.config import GemmaConfig, PI05Config, VisionConfig
from pi05_ros.model.loading import init_random_weights, save_pi05_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.policy.normalize import NormStats, save_norm_stats
from pi05_ros.policy.profiles import load_profile, RobotProfile
import sentencepiece

DEMO_VOCAB = 400  # SentencePiece pieces (with byte fallback)
DEMO_MODEL_VOCAB = 512
DEMO_MAX_TOKEN_LEN = 96
DEMO_DELTA_RANGE = 0.002  # rad: q01/q99 of the demo's delta actions
DEMO_WORDS = ('pick up the red green blue yellow block cube cup bowl plate bin box and place put '
              'it in on into of to a an push pull open close drawer door button stack move left '
              'right top bottom front back towel fold grasp release lift hold wipe table shelf '
              'then').split()


def demo_config(action_horizon: int = 50) -> PI05Config:
    """Return the toy architecture: PI0.5 with 64-wide Gemma towers and a 32-wide SigLIP."""
    vlm = GemmaConfig(width=64, depth=2, mlp_dim=128, num_heads=4, num_kv_heads=1, head_dim=16)
    expert = GemmaConfig(width=64, depth=2, mlp_dim=128, num_heads=4, num_kv_heads=1,
                         head_dim=16, use_adarms=True, adarms_cond_dim=64)
    vision = VisionConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64,
                          num_attention_heads=2)
    return PI05Config(vlm=vlm, action_expert=expert, vision=vision, vocab_size=DEMO_MODEL_VOCAB,
                      action_dim=32, action_horizon=action_horizon,
                      max_token_len=DEMO_MAX_TOKEN_LEN, num_steps=10)


def _corpus() -> Iterator[str]:
    """Deterministic training sentences in PI0.5's prompt format."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        words = ' '.join(rng.choice(DEMO_WORDS, size=int(rng.integers(3, 9))))
        state = ' '.join(str(int(v)) for v in rng.integers(-1, 256, size=int(rng.integers(6, 15))))
        yield f'Task: {words}, State: {state};\nAction: '
        yield words.capitalize()


def train_demo_tokenizer(path: Union[str, Path]) -> Path:
    """
    Train a small BPE SentencePiece model with PaliGemma's special ids.

    Pad 0, eos 1, bos 2, unk 3; split digits, no dummy prefix, identity normalization and byte
    fallback.
    """
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=_corpus(), model_writer=model, vocab_size=DEMO_VOCAB, model_type='bpe',
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, split_digits=True, byte_fallback=True,
        add_dummy_prefix=False, normalization_rule_name='identity',
        user_defined_symbols=['\n'], character_coverage=1.0, num_threads=1,
        minloglevel=2)
    path = Path(path)
    path.write_bytes(model.getvalue())
    return path


def demo_norm_stats(profile: RobotProfile) -> dict:
    """
    Stats for the profile's model dims, centred on 0.

    States span [-1, 1] (q01/q99). Actions span [-1, 1] too, except delta actions, which span
    +-DEMO_DELTA_RANGE: the random network's chunks then stay within a few milliradians of the
    observed state, smooth enough for the executor to accept them.
    """
    def stats(dims: int, half_range: float) -> NormStats:
        return NormStats(mean=np.zeros(dims), std=np.full(dims, half_range / 2),
                         q01=np.full(dims, -half_range), q99=np.full(dims, half_range))
    action_range = DEMO_DELTA_RANGE if profile.action_space == 'delta' else 1.0
    return {'state': stats(len(profile.state_dims), 1.0),
            'actions': stats(len(profile.action_dims), action_range)}


def make_demo_checkpoint(directory: Union[str, Path], profile: Union[str, RobotProfile] = 'demo',
                         seed: int = 0) -> Path:
    """Write a tiny random-weight PI0.5 checkpoint for ``profile`` into ``directory``."""
    if not isinstance(profile, RobotProfile):
        profile = load_profile(profile)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = demo_config(action_horizon=max(50, profile.chunk_rows))
    model = init_random_weights(PI05Model(config), seed)
    save_pi05_weights(model, directory / 'model.safetensors')
    (directory / 'config.json').write_text(json.dumps(config.to_dict(), indent=2))
    assets = directory / 'assets' / profile.asset_id
    assets.mkdir(parents=True, exist_ok=True)
    save_norm_stats(assets / 'norm_stats.json', demo_norm_stats(profile))
    train_demo_tokenizer(directory / 'tokenizer.model')
    return directory


TEMPORARY_MARKER = '.pi05_ros_temporary_demo_checkpoint'


class NotATemporaryCheckpoint(ValueError):
    """A directory asked to be removed is not one make_temporary_demo_checkpoint made."""


def make_temporary_demo_checkpoint(profile: Union[str, RobotProfile] = 'demo',
                                   seed: int = 0) -> Path:
    """
    Write a demo checkpoint into a new temporary directory and return it.

    The directory carries a marker file, so :func:`remove_temporary_demo_checkpoint` removes it
    and nothing else (demo.launch.py calls it at shutdown).
    """
    directory = Path(tempfile.mkdtemp(prefix='pi05_demo_'))
    (directory / TEMPORARY_MARKER).write_text('made by pi05_ros demo.launch.py; removed at '
                                              'shutdown\n')
    return make_demo_checkpoint(directory, profile, seed)


def remove_temporary_demo_checkpoint(directory: Union[str, Path]) -> bool:
    """
    Remove a directory made by :func:`make_temporary_demo_checkpoint`.

    Return False when it is already gone. A directory without the marker (a user's checkpoint)
    is never removed: NotATemporaryCheckpoint names it.
    """
    directory = Path(directory)
    if not directory.exists():
        return False
    if not (directory / TEMPORARY_MARKER).is_file():
        raise NotATemporaryCheckpoint(f'{directory}: not a temporary demo checkpoint (no '
                                      f'{TEMPORARY_MARKER} in it); not removed')
    shutil.rmtree(directory)
    return True
