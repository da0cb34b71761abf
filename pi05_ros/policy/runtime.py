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
The in-process policy: an Observation in, an ActionChunk of absolute joint targets out.

    policy = Policy.from_checkpoint('ckpt/pi05_droid', 'droid', device='cuda', dtype='bfloat16')
    chunk = policy.infer(observation)   # chunk.positions (chunk_rows, J), chunk.timing_ms

Stages (each timed in ``chunk.timing_ms``): ``preprocess`` (images, state, prompt; numpy),
``prefix`` (SigLIP + VLM prefix pass filling the KV cache), ``denoise`` (the Euler flow steps of
the action expert), ``postprocess`` (unnormalize, delta / velocity, unit conversions); ``model`` =
prefix + denoise and ``total``.
"""

from dataclasses import dataclass
import logging
from pathlib import Path
import time
from typing import Dict, Mapping, Optional, Tuple, Union

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk, RtcInfo
from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import load_pi05_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.observation import Observation
from pi05_ros.policy.checkpoint import check_weights, open_checkpoint, sha256_file
from pi05_ros.policy.images import black_image
from pi05_ros.policy.normalize import Normalizer
from pi05_ros.policy.pipeline import ModelInputs, PolicyTransforms
from pi05_ros.policy.profiles import load_profile, RobotProfile
from pi05_ros.policy.rtc import GuidanceRequest, RtcRuntime, RtcSettings
from pi05_ros.policy.tokenizer import PromptTokenizer
import torch

DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16}
logger = logging.getLogger(__name__)
logger.propagate = True  # as in tokenizer.py: survive launch's LaunchLogger class


@dataclass(frozen=True)
class ModelBatch:
    """Network inputs with a batch axis, on the model's device."""

    images: Dict[str, torch.Tensor]  # slot -> [B, S, S, 3] float32 in [-1, 1]
    image_masks: Dict[str, torch.Tensor]  # slot -> [B] bool
    tokens: torch.Tensor  # [B, L] int64
    token_mask: torch.Tensor  # [B, L] bool


def to_batch(inputs: ModelInputs, device: Union[str, torch.device]) -> ModelBatch:
    """One ModelInputs -> a batch of one on ``device``."""
    return ModelBatch(
        images={k: torch.from_numpy(v)[None].to(device) for k, v in inputs.images.items()},
        image_masks={k: torch.tensor([bool(v)], device=device)
                     for k, v in inputs.image_masks.items()},
        tokens=torch.from_numpy(inputs.tokens)[None].to(device),
        token_mask=torch.from_numpy(inputs.token_mask)[None].to(device))


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@torch.no_grad()
def run_model(model: PI05Model, batch: ModelBatch, noise: torch.Tensor,
              num_steps: Optional[int] = None, rtc: Optional[GuidanceRequest] = None
              ) -> Tuple[torch.Tensor, Dict[str, float]]:
    """
    Run the network: prefix pass, then the Euler denoising -> (actions [B, H, A], timing ms).

    ``noise`` [B, H, A] float32 is x at t=1. Same result as ``model.sample_actions``; split so the
    prefix and the denoising are timed separately. ``rtc``: real-time chunking, the guided
    sampling toward ``rtc.prefix_actions`` (H, A) (``sample_actions(prefix_actions=...)``).
    """
    device = noise.device
    masks = model.check_inputs(batch.images, batch.image_masks, batch.tokens, batch.token_mask)
    _sync(device)
    start = time.perf_counter()
    cache = model.fill_prefix_cache(*model.embed_prefix(batch.images, masks, batch.tokens,
                                                        batch.token_mask))
    _sync(device)
    prefix_done = time.perf_counter()
    guidance = None
    if rtc is not None:
        prefix = torch.from_numpy(np.ascontiguousarray(rtc.prefix_actions, dtype=np.float32))
        prefix = prefix.to(device).expand(noise.shape[0], -1, -1)  # [B, H, A]
        guidance = model.prefix_guidance(prefix, rtc.delay, rtc.execution_horizon,
                                         rtc.schedule, rtc.guidance_weight_max, noise.shape[0])
    actions = noise
    for step in model.denoise_trajectory(cache, noise, num_steps, guidance):
        actions = step.x_next
    _sync(device)
    end = time.perf_counter()
    return actions, {'prefix': (prefix_done - start) * 1e3, 'denoise': (end - prefix_done) * 1e3}


def describe_config(config: PI05Config) -> str:
    """Return a one-line architecture summary for diagnostics."""
    vlm, expert, vision = config.vlm, config.action_expert, config.vision
    return (f'vlm {vlm.width}x{vlm.depth} (mlp {vlm.mlp_dim}), expert {expert.width}x'
            f'{expert.depth} (mlp {expert.mlp_dim}), heads {vlm.num_heads}/{vlm.num_kv_heads}x'
            f'{vlm.head_dim}, siglip {vision.hidden_size}x{vision.num_hidden_layers}, vocab '
            f'{config.vocab_size}, H={config.action_horizon}, A={config.action_dim}, '
            f'L={config.max_token_len}, steps={config.num_steps}')


class Policy:
    """
    PI0.5 on one robot: transforms + network + diagnostics.

    Build it with :meth:`from_checkpoint`; the constructor takes ready parts (tests, custom
    loading). ``seed`` makes the noise reproducible when ``infer`` is not given noise.
    """

    def __init__(self, model: PI05Model, transforms: PolicyTransforms,
                 device: Union[str, torch.device] = 'cpu', num_steps: Optional[int] = None,
                 identity: Optional[Mapping[str, str]] = None,
                 weights_path: Optional[Path] = None, seed: Optional[int] = None):
        self.model = model
        self.transforms = transforms
        self.profile: RobotProfile = transforms.profile
        self.config: PI05Config = model.config
        self.device = torch.device(device)
        self.num_steps = num_steps
        if self.profile.chunk_rows > self.config.action_horizon:
            raise ValueError(f'profile {self.profile.name!r}: chunk_rows '
                             f"{self.profile.chunk_rows} exceeds the model's action_horizon "
                             f'{self.config.action_horizon}')
        if transforms.tokenizer.max_len != self.config.max_token_len:
            raise ValueError(f"tokenizer.max_len: expected the model's max_token_len "
                             f'{self.config.max_token_len}, got {transforms.tokenizer.max_len}')
        if transforms.tokenizer.vocab_size > self.config.vocab_size:
            raise ValueError(f'tokenizer: {transforms.tokenizer.vocab_size} pieces exceed the '
                             f'model vocab_size {self.config.vocab_size}')
        self._identity = dict(identity or {})
        self._weights_path = weights_path
        self._generator = torch.Generator(device=self.device)
        if seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(int(seed))

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: Union[str, Path],
                        profile: Union[str, Path, RobotProfile],
                        tokenizer_path: Optional[Union[str, Path]] = None, device: str = 'cpu',
                        dtype: str = 'float32', numerics: str = 'pytorch',
                        num_steps: Optional[int] = None, warmup: bool = True,
                        prompt_overflow: str = 'error', allow_missing_cameras: bool = False,
                        seed: Optional[int] = None) -> 'Policy':
        """
        Load a checkpoint directory for a robot profile (name, YAML path or RobotProfile).

        ``dtype`` 'float32' or 'bfloat16' (openpi's mixed precision); ``numerics`` 'pytorch'
        (openpi PyTorch) or 'jax'; ``prompt_overflow`` 'error' or 'truncate' (logged).
        """
        if dtype not in DTYPES:
            raise ValueError(f'dtype: expected one of {sorted(DTYPES)}, got {dtype!r}')
        if not isinstance(profile, RobotProfile):
            profile = load_profile(profile)
        ckpt = open_checkpoint(checkpoint_dir, profile.asset_id, tokenizer_path)
        check_weights(ckpt)  # the weights' header against the architecture, before building
        if ckpt.relative_actions and profile.action_space != 'delta':
            raise ValueError(
                f'profile {profile.name!r} action.space: expected delta for LeRobot checkpoint '
                f'{ckpt.path} (config.json use_relative_actions: true, the model predicts '
                f'actions relative to the state), got {profile.action_space!r}; set '
                'action.space: delta and action.mask to the joints not in relative_exclude_joints')
        config = ckpt.config
        normalizer = Normalizer(ckpt.norm_stats, mode=ckpt.norm_mode or profile.normalization,
                                source=ckpt.norm_source, convention=ckpt.norm_convention)
        tokenizer = PromptTokenizer(ckpt.tokenizer, config.max_token_len, profile.prompt_format,
                                    overflow=prompt_overflow)
        transforms = PolicyTransforms(profile, normalizer, tokenizer, config.image_keys,
                                      allow_missing_cameras=allow_missing_cameras)
        start = time.perf_counter()
        model = PI05Model(config, numerics=numerics)
        load_pi05_weights(model, ckpt.weights)
        model.to_precision(DTYPES[dtype])
        model = model.to(device).eval()
        logger.info('loaded %s (%s) in %.1f s', ckpt.weights, describe_config(config),
                    time.perf_counter() - start)
        identity = {
            'checkpoint': str(ckpt.path), 'layout': ckpt.layout, 'config': describe_config(config),
            'profile': profile.name, 'asset_id': profile.asset_id, 'norm_stats': ckpt.norm_source,
            'normalization': f'{normalizer.mode} ({normalizer.convention})',
            'tokenizer': str(ckpt.tokenizer), 'device': str(device), 'dtype': dtype,
            'numerics': numerics,
        }
        policy = cls(model, transforms, device, num_steps, identity, ckpt.weights, seed)
        if warmup:
            policy.warmup()
        return policy

    @property
    def noise_shape(self) -> Tuple[int, int]:
        """(action_horizon, action_dim): the shape of ``infer``'s noise."""
        return self.config.action_horizon, self.config.action_dim

    @property
    def model_identity(self) -> Dict[str, str]:
        """Checkpoint path, config summary, sha256 of model.safetensors (computed once), ..."""
        if self._weights_path is not None and 'weights_sha256' not in self._identity:
            self._identity['weights_sha256'] = sha256_file(self._weights_path)
        return dict(self._identity)

    def warmup(self, runs: int = 1, guided: bool = False) -> float:
        """
        Run the network on black images and a BOS-only prompt; returns the last time in ms.

        ``guided``: through the real-time-chunking path (autograd, one VJP per step), so that
        the first guided cycle of a run is not a cold start either.
        """
        size = self.config.vision.image_size
        slots = self.config.image_keys
        tokens = np.zeros(self.config.max_token_len, dtype=np.int64)
        tokens[0] = 2
        mask = np.zeros(self.config.max_token_len, dtype=bool)
        mask[0] = True
        state = np.zeros(len(self.profile.state_names))
        inputs = ModelInputs({s: black_image(size, size) for s in slots},
                             dict.fromkeys(slots, True), tokens, mask, state, state, state)
        rtc = None
        if guided:  # a zero prefix, one frozen row: any valid request exercises the path
            horizon, dim = self.noise_shape
            s = max(1, horizon // 4)
            rtc = GuidanceRequest(np.zeros((horizon, dim), np.float32), 1, s, 'exp', 1.0)
        elapsed = 0.0
        for _ in range(runs):
            _, timing = run_model(self.model, to_batch(inputs, self.device), self._noise(None),
                                  self.num_steps, rtc)
            elapsed = timing['prefix'] + timing['denoise']
        logger.info('warm-up inference: %.1f ms', elapsed)
        return elapsed

    def _noise(self, noise: Optional[np.ndarray]) -> torch.Tensor:
        shape = (1, self.config.action_horizon, self.config.action_dim)
        if noise is None:
            return torch.randn(shape, generator=self._generator, device=self.device,
                               dtype=torch.float32)
        array = np.asarray(noise, dtype=np.float32)
        if array.shape == shape[1:]:
            array = array[None]
        if array.shape != shape or not np.all(np.isfinite(array)):
            raise ValueError(f'noise: expected finite values of shape {shape[1:]}, '
                             f'got {array.shape}')
        return torch.from_numpy(array).to(self.device)

    def rtc_runtime(self, settings: RtcSettings) -> RtcRuntime:
        """Return a real-time-chunking runtime for this policy (RtcConfigError if unusable)."""
        return RtcRuntime(settings, self.profile, self.transforms.normalizer,
                          self.config.action_horizon, self.config.action_dim)

    def preprocess(self, observation: Observation) -> ModelInputs:
        """Observation -> ModelInputs (numpy; see PolicyTransforms.preprocess)."""
        return self.transforms.preprocess(observation)

    def infer(self, observation: Observation, noise: Optional[np.ndarray] = None,
              rtc: Optional[GuidanceRequest] = None) -> ActionChunk:
        """
        Observation -> ActionChunk of ``chunk_rows`` absolute targets in the profile's joints.

        ``noise`` (action_horizon, action_dim) fixes the flow's starting point (replay, tests).
        ``rtc`` (:class:`~pi05_ros.policy.rtc.GuidanceRequest`, from
        :class:`~pi05_ros.policy.rtc.RtcRuntime`): sample with real-time-chunking guidance
        toward the previous chunk; the chunk then carries ``rtc`` (delay rows, guided). The
        chunk's ``model_actions`` is the network's raw output, for the next cycle's prefix.
        """
        start = time.perf_counter()
        inputs = self.transforms.preprocess(observation)
        batch = to_batch(inputs, self.device)
        noise_tensor = self._noise(noise)
        preprocessed = time.perf_counter()
        actions, model_ms = run_model(self.model, batch, noise_tensor, self.num_steps, rtc)
        model_done = time.perf_counter()
        model_actions = actions[0].float().cpu().numpy()  # (H, A)
        positions = self.transforms.postprocess(model_actions, inputs)
        end = time.perf_counter()
        timing = {
            'preprocess': (preprocessed - start) * 1e3,
            'prefix': model_ms['prefix'],
            'denoise': model_ms['denoise'],
            'model': (model_done - preprocessed) * 1e3,
            'postprocess': (end - model_done) * 1e3,
            'total': (end - start) * 1e3,
        }
        return ActionChunk(positions=positions, stamp_ns=int(observation.stamp_ns),
                           dt_ns=self.profile.control_dt_ns, joint_names=self.profile.joint_names,
                           timing_ms=timing, model_actions=model_actions,
                           rtc=None if rtc is None else RtcInfo(rtc.delay, True))

    def close(self) -> None:
        self.transforms.close()
