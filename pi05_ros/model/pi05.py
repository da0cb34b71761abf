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
PI0.5: PaliGemma (SigLIP + Gemma) prefix, Gemma action expert with adaRMSNorm, flow matching.

Sampling: the prefix (3 x 256 image tokens + prompt tokens) runs once through the VLM into a KV
cache; then `num_steps` Euler steps integrate the velocity field from t=1 (noise) to t=0
(actions), each step running only the action tokens through the expert against the cache.
With real-time chunking (`pi05_ros.model.rtc`) each step's velocity is guided toward the
previous chunk by one extra backward pass through the action tokens only.
"""

import dataclasses
import math
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from pi05_ros.model import rtc
from pi05_ros.model.config import PI05Config
from pi05_ros.model.gemma import (
    GemmaModel, joint_layer, KV, KVBuffer, MASK_FILL, prefix_kv_only, RoPE, rope_cos_sin,
    TowerModulation)
from pi05_ros.model.siglip import SiglipVisionTransformer
import torch
from torch import nn
import torch.nn.functional as F

NUMERICS = ('pytorch', 'jax')
TIME_MIN_PERIOD = 4e-3
TIME_MAX_PERIOD = 4.0

# Parameters openpi keeps in float32 when the model runs in bfloat16 (spec section 2.3), matched
# as substrings of names under `paligemma_with_expert.`; top-level projections stay float32 too.
FLOAT32_PARAMS = (
    'vision_tower.vision_model.embeddings.patch_embedding',
    'vision_tower.vision_model.embeddings.position_embedding',
    'input_layernorm', 'post_attention_layernorm', 'model.norm',
)


class InputError(ValueError):
    """A model input has the wrong shape, dtype or value range."""


@dataclasses.dataclass
class PrefixCache:
    """
    The VLM keys/values of the prefix (RoPE applied), one static buffer per layer.

    buffers[l] holds [B, kv_heads, P + reserve, head_dim]: the P prefix tokens, then room for
    the action tokens of each denoising step. pad_mask [B, P] bool; num_valid [B] int64.
    """

    buffers: List[KVBuffer]
    pad_mask: torch.Tensor
    num_valid: torch.Tensor

    @property
    def length(self) -> int:
        return self.pad_mask.shape[1]

    def prefix_kv(self) -> List[KV]:
        """Per layer (k, v) [B, kv_heads, P, head_dim] of the prefix tokens."""
        p = self.length
        return [(b.keys[:, :, :p], b.values[:, :, :p]) for b in self.buffers]

    def detached(self) -> 'PrefixCache':
        """
        Return the same storage without autograd history (no copy).

        A step run with autograd writes its action keys/values into the buffers; the next
        step's backward must not reach back through them into the previous step.
        """
        return PrefixCache([KVBuffer(b.keys.detach(), b.values.detach()) for b in self.buffers],
                           self.pad_mask, self.num_valid)


@dataclasses.dataclass
class EulerStep:
    """One Euler step: x_next = x_t + dt * v_t at flow time `time` (float32 0-dim tensor)."""

    time: torch.Tensor
    x_t: torch.Tensor
    v_t: torch.Tensor
    x_next: torch.Tensor


def euler_times(num_steps: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """Return openpi's float32 time accumulation: dt = -1/N; t = 1, 1+dt, ... while t >= -dt/2."""
    dt = torch.tensor(-1.0 / num_steps, dtype=torch.float32)
    t = torch.tensor(1.0, dtype=torch.float32)
    times = []
    while t >= -dt / 2:
        times.append(t)
        t = t + dt
    return dt, times


def sample_training_time(batch: int, device: torch.device,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """
    Draw openpi's training times [B] float32: Beta(1.5, 1) * 0.999 + 0.001, in (0.001, 1].

    Beta(a, 1) has CDF x^a, so U^(1/a) with U ~ U(0, 1) is an exact sample (and takes a
    generator, which torch's Beta distribution does not).
    """
    source = device if generator is None else generator.device
    u = torch.rand(batch, generator=generator, dtype=torch.float32, device=source)
    return (u.pow(1 / 1.5) * 0.999 + 0.001).to(device)


def make_attention_mask(pad: torch.Tensor, ar: torch.Tensor) -> torch.Tensor:
    """
    Apply openpi's block rule: q sees k iff cumsum(ar)[k] <= cumsum(ar)[q], both valid.

    pad [B, L] bool, ar [B, L] (1 starts a new causal block) -> additive bias [B, 1, L, L] f32.
    """
    blocks = torch.cumsum(ar.to(torch.int64), dim=1)
    allowed = blocks[:, None, :] <= blocks[:, :, None]
    allowed = allowed & pad[:, None, :] & pad[:, :, None]
    return _mask_bias(allowed)


def suffix_masks(batch: int, horizon: int, device: torch.device
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    Pad and ar masks [B, H] bool of the action tokens: all valid; ar = [1, 0, ..., 0].

    The single 1 starts a new block: prefix tokens never see the actions, while the action
    tokens see every valid prefix token and each other (the prefix's ar mask is all 0).
    """
    pad = torch.ones(batch, horizon, dtype=torch.bool, device=device)
    ar = torch.zeros_like(pad)
    ar[:, 0] = True
    return pad, ar


def _mask_bias(allowed: torch.Tensor) -> torch.Tensor:
    """Map bool [B, Lq, Lk] -> float32 [B, 1, Lq, Lk]: 0 where allowed, MASK_FILL elsewhere."""
    zero = torch.zeros((), dtype=torch.float32, device=allowed.device)
    fill = torch.full((), MASK_FILL, dtype=torch.float32, device=allowed.device)
    return torch.where(allowed, zero, fill)[:, None]


class PI05Model(nn.Module):
    """The PI0.5 network with openpi's parameter names (openpi checkpoints load directly)."""

    def __init__(self, config: PI05Config, numerics: str = 'pytorch') -> None:
        super().__init__()
        if numerics not in NUMERICS:
            raise ValueError(f'numerics must be one of {NUMERICS}, got {numerics!r}')
        self.config = config
        self.numerics = numerics
        width = config.action_expert.width
        pwe = nn.Module()
        pwe.paligemma = nn.Module()
        pwe.paligemma.model = nn.Module()
        pwe.paligemma.model.vision_tower = nn.Module()
        pwe.paligemma.model.vision_tower.vision_model = SiglipVisionTransformer(config.vision)
        pwe.paligemma.model.multi_modal_projector = nn.Module()
        pwe.paligemma.model.multi_modal_projector.linear = nn.Linear(
            config.vision.hidden_size, config.vlm.width)
        pwe.paligemma.model.language_model = GemmaModel(config.vlm, config.vocab_size)
        pwe.gemma_expert = nn.Module()
        pwe.gemma_expert.model = GemmaModel(config.action_expert)
        self.paligemma_with_expert = pwe
        self.action_in_proj = nn.Linear(config.action_dim, width)
        self.action_out_proj = nn.Linear(width, config.action_dim)
        self.time_mlp_in = nn.Linear(width, width)
        self.time_mlp_out = nn.Linear(width, width)

    # --- the towers, by what they are -----------------------------------------------------------

    @property
    def vision(self) -> SiglipVisionTransformer:
        return self.paligemma_with_expert.paligemma.model.vision_tower.vision_model

    @property
    def projector(self) -> nn.Linear:
        return self.paligemma_with_expert.paligemma.model.multi_modal_projector.linear

    @property
    def vlm(self) -> GemmaModel:
        return self.paligemma_with_expert.paligemma.model.language_model

    @property
    def expert(self) -> GemmaModel:
        return self.paligemma_with_expert.gemma_expert.model

    # --- precision ------------------------------------------------------------------------------

    def to_precision(self, dtype: torch.dtype) -> 'PI05Model':
        """float32: everything float32. bfloat16: openpi's split (spec 2.3), in place."""
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f'dtype must be torch.float32 or torch.bfloat16, got {dtype}')
        for name, param in self.named_parameters():
            keep = (not name.startswith('paligemma_with_expert.')
                    or any(part in name for part in FLOAT32_PARAMS))
            param.data = param.data.to(torch.float32 if keep else dtype)
        return self

    def rope(self, positions: torch.Tensor) -> RoPE:
        """Return RoPE tables for positions [B, L] (the VLM's rotary embedding serves both)."""
        vlm = self.vlm
        return rope_cos_sin(positions, vlm.cfg.head_dim, vlm.cfg.rope_theta, vlm.compute_dtype)

    # --- prefix: images + prompt ----------------------------------------------------------------

    def embed_images(self, images: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """
        Every camera through SigLIP + projector: -> [B, n_cams * 256, W_vlm].

        images[slot]: [B, S, S, 3] float in [-1, 1], channels-last. Masked cameras are encoded
        too (they are excluded by the attention mask), as openpi does.
        """
        keys = self.config.image_keys
        b = images[keys[0]].shape[0]
        pixels = torch.cat([images[k].permute(0, 3, 1, 2) for k in keys])  # [n*B, 3, S, S]
        tokens = self.projector(self.vision(pixels))  # [n*B, P, W]
        p, w = tokens.shape[1:]
        return tokens.view(len(keys), b, p, w).transpose(0, 1).reshape(b, len(keys) * p, w)

    def embed_prompt(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embed tokens [B, L] -> [B, L, W_vlm], scaled by sqrt(W_vlm)."""
        return self.vlm.embed_tokens(tokens) * math.sqrt(self.config.vlm.width)

    def embed_prefix(self, images: Mapping[str, torch.Tensor],
                     image_masks: Mapping[str, torch.Tensor], tokens: torch.Tensor,
                     token_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """-> prefix embeddings [B, n_cams*256 + L, W_vlm], pad mask [B, n_cams*256 + L]."""
        image_tokens = self.embed_images(images)
        per_image = self.config.vision.tokens_per_image
        image_pad = torch.cat([image_masks[k][:, None].expand(-1, per_image)
                               for k in self.config.image_keys], dim=1)
        prompt = self.embed_prompt(tokens)
        embs = torch.cat((image_tokens, prompt.to(image_tokens.dtype)), dim=1)
        return embs, torch.cat((image_pad, token_mask), dim=1)

    def fill_prefix_cache(self, prefix_embs: torch.Tensor, prefix_pad: torch.Tensor,
                          reserve: Optional[int] = None) -> PrefixCache:
        """
        Run the prefix through the VLM (bidirectional among valid tokens) -> its KV cache.

        `reserve` (default action_horizon) extra slots per layer hold the action tokens'
        keys/values during denoising.
        """
        vlm = self.vlm
        b, p = prefix_pad.shape
        capacity = p + (self.config.action_horizon if reserve is None else reserve)
        bias = make_attention_mask(prefix_pad, torch.zeros_like(prefix_pad))
        positions = torch.cumsum(prefix_pad, dim=1) - 1
        rope = self.rope(positions)
        x = prefix_embs.to(vlm.compute_dtype)  # [B, P, W_vlm]
        shape = (b, vlm.cfg.num_kv_heads, capacity, vlm.cfg.head_dim)
        buffers = [KVBuffer.empty(shape, x.dtype, x.device) for _ in vlm.layers]
        for layer, buffer in zip(vlm.layers[:-1], buffers):
            (x,) = joint_layer([layer], [x], [(None, None)], rope, bias, (buffer, 0))
        prefix_kv_only(vlm.layers[-1], x, rope, buffers[-1])
        return PrefixCache(buffers, prefix_pad, prefix_pad.sum(dim=1))

    # --- time conditioning ----------------------------------------------------------------------

    def time_embedding(self, time: torch.Tensor) -> torch.Tensor:
        """
        Sin-cos embedding of flow time [B] -> [B, W_expert] float32 (sin half, cos half).

        numerics 'pytorch': computed in float64 then cast (openpi PyTorch); 'jax': float32.
        """
        dtype = torch.float64 if self.numerics == 'pytorch' else torch.float32
        half = self.config.action_expert.width // 2
        fraction = torch.linspace(0.0, 1.0, half, dtype=dtype, device=time.device)
        period = TIME_MIN_PERIOD * (TIME_MAX_PERIOD / TIME_MIN_PERIOD) ** fraction
        scaling = 1.0 / period * 2 * math.pi
        angle = scaling[None, :] * time.to(dtype)[:, None]  # [B, W/2]
        return torch.cat((torch.sin(angle), torch.cos(angle)), dim=1).to(torch.float32)

    def adarms_condition(self, time: torch.Tensor) -> torch.Tensor:
        """Flow time [B] -> adaRMS condition silu(mlp_out(silu(mlp_in(sincos(t))))) [B, W]."""
        x = F.silu(self.time_mlp_in(self.time_embedding(time)))
        return F.silu(self.time_mlp_out(x))

    # --- action tokens --------------------------------------------------------------------------

    def expert_velocity(self, x_t: torch.Tensor, cache: PrefixCache,
                        modulation: TowerModulation, rope: RoPE, mask_bias: torch.Tensor
                        ) -> torch.Tensor:
        """Run action tokens x_t [B, H, A] through the expert against the cache -> v [B, H, A]."""
        expert = self.expert
        x = self.action_in_proj(x_t).to(expert.compute_dtype)  # [B, H, W_expert]
        for layer, layer_mod, buffer in zip(expert.layers, modulation.layers, cache.buffers):
            (x,) = joint_layer([layer], [x], [layer_mod], rope, mask_bias,
                               (buffer, cache.length))
        x, _ = expert.norm(x, modulation.final)
        return self.action_out_proj(x.float())

    def suffix_attention(self, cache: PrefixCache, horizon: int) -> Tuple[RoPE, torch.Tensor]:
        """Return RoPE tables and mask bias [B, 1, H, P+H] for H action tokens after the prefix."""
        b, p = cache.pad_mask.shape
        device = cache.pad_mask.device
        positions = cache.num_valid[:, None] + torch.arange(horizon, device=device)  # [B, H]
        # each action token sees every valid prefix token and every action token
        allowed = torch.cat((cache.pad_mask[:, None, :].expand(b, horizon, p),
                             torch.ones(b, horizon, horizon, dtype=torch.bool, device=device)),
                            dim=2)  # [B, H, P + H]
        return self.rope(positions), _mask_bias(allowed)

    def denoise_trajectory(self, cache: PrefixCache, noise: torch.Tensor,
                           num_steps: Optional[int] = None,
                           guidance: Optional[rtc.PrefixGuidance] = None
                           ) -> Iterator[EulerStep]:
        """
        Yield every Euler step from t=1 (x = noise) towards t=0, as openpi integrates.

        The adaRMS modulations of all time values are computed before the first step. With
        `guidance` (from `prefix_guidance`) v_t is the RTC-guided velocity; the prefix cache is
        not recomputed, only the action tokens run with autograd.
        """
        num_steps = self._check_num_steps(num_steps)
        b, horizon, _ = noise.shape
        room = cache.buffers[0].keys.shape[2] - cache.length
        if horizon > room:
            raise InputError(f'noise has horizon {horizon} but the prefix cache reserves {room} '
                             'action slots (fill_prefix_cache(..., reserve=horizon))')
        dt, times = euler_times(num_steps)
        dt = dt.to(noise.device)
        times = [t.to(noise.device) for t in times]
        modulations = [self.expert.modulations(self.adarms_condition(t.expand(b)))
                       for t in times]
        rope, mask_bias = self.suffix_attention(cache, horizon)
        x_t = noise
        for t, modulation in zip(times, modulations):
            if guidance is None:
                v_t = self.expert_velocity(x_t, cache, modulation, rope, mask_bias)
            else:
                v_t = guidance.velocity(
                    lambda x: self.expert_velocity(x, cache.detached(), modulation, rope,
                                                   mask_bias), x_t, t)
            x_next = x_t + dt * v_t
            yield EulerStep(t, x_t, v_t, x_next)
            x_t = x_next

    @torch.no_grad()
    def sample_actions(self, images: Mapping[str, torch.Tensor],
                       image_masks: Optional[Mapping[str, torch.Tensor]],
                       tokens: torch.Tensor, token_mask: torch.Tensor,
                       noise: Optional[torch.Tensor] = None, num_steps: Optional[int] = None,
                       generator: Optional[torch.Generator] = None, *,
                       prefix_actions: Optional[torch.Tensor] = None, delay: int = 0,
                       execution_horizon: Optional[int] = None, schedule: str = 'exp',
                       guidance_weight_max: float = 10.0) -> torch.Tensor:
        """
        Flow-matching sample: -> actions [B, action_horizon, action_dim] float32.

        images[slot] [B, S, S, 3] float in [-1, 1]; image_masks[slot] bool [B] (None: all
        present); tokens int64 [B, L]; token_mask bool [B, L]; noise float32 [B, H, A] (drawn
        from `generator` when None); num_steps defaults to config.num_steps.
        Real-time chunking (see `prefix_guidance`): with prefix_actions, the sample continues
        the previous chunk; None or guidance_weight_max 0 is plain sampling.
        """
        image_masks = self.check_inputs(images, image_masks, tokens, token_mask)
        b = tokens.shape[0]
        noise = self._noise(noise, b, tokens.device, generator)
        guidance = self.prefix_guidance(prefix_actions, delay, execution_horizon, schedule,
                                        guidance_weight_max, b)
        cache = self.fill_prefix_cache(*self.embed_prefix(images, image_masks, tokens,
                                                          token_mask))
        for step in self.denoise_trajectory(cache, noise, num_steps, guidance):
            pass
        return step.x_next

    def prefix_guidance(self, prefix_actions: Optional[torch.Tensor], delay: int,
                        execution_horizon: Optional[int], schedule: str,
                        guidance_weight_max: float, batch: int
                        ) -> Optional[rtc.PrefixGuidance]:
        """
        Check the real-time-chunking arguments -> the guidance (None: plain sampling).

        prefix_actions float32 [B, R, A], H - s <= R <= H: the previous chunk's rows from its
        row s on, in the model's normalized action frame (rows from H - s on are ignored);
        delay d: rows that execute before this chunk arrives (weight 1); execution_horizon s:
        rows executed from each chunk, d <= s <= H - d; schedule: one of rtc.SCHEDULES;
        guidance_weight_max: beta >= 0, the clip of the guidance weight.
        """
        horizon, dim = self.config.action_horizon, self.config.action_dim
        _check_number('guidance_weight_max', guidance_weight_max, 0.0)
        if prefix_actions is None or guidance_weight_max == 0:
            return None
        if torch.is_inference_mode_enabled():
            raise InputError('prefix_actions: RTC guidance needs autograd (a VJP per step); '
                             'sample outside torch.inference_mode() (torch.no_grad() is fine)')
        if schedule not in rtc.SCHEDULES:
            raise InputError(f'schedule must be one of {rtc.SCHEDULES}, got {schedule!r}')
        _check_int('delay', delay, 0, horizon // 2)
        _check_int('execution_horizon', execution_horizon, max(delay, 1), horizon - delay,
                   f' (delay <= execution_horizon <= action_horizon - delay, delay={delay}, '
                   f'action_horizon={horizon})')
        end = horizon - execution_horizon
        rows = (prefix_actions.shape[1] if isinstance(prefix_actions, torch.Tensor)
                and prefix_actions.dim() == 3 else -1)
        if not end <= rows <= horizon:
            raise InputError(f'prefix_actions must be a float32 tensor [B, R, {dim}] with '
                             f'{end} <= R <= {horizon} rows (action_horizon - '
                             f'execution_horizon up to action_horizon), got '
                             f'{_describe(prefix_actions)}')
        _check_tensor('prefix_actions', prefix_actions, (batch, rows, dim), torch.float32)
        if not torch.isfinite(prefix_actions).all():
            raise InputError('prefix_actions must be finite')
        target = F.pad(prefix_actions, (0, 0, 0, horizon - rows))  # [B, H, A]
        weights = rtc.prefix_weights(delay, end, horizon, schedule)
        return rtc.PrefixGuidance(target, weights.to(prefix_actions.device),
                                  float(guidance_weight_max))

    # --- training -------------------------------------------------------------------------------

    def training_velocity(self, images: Mapping[str, torch.Tensor],
                          image_masks: Mapping[str, torch.Tensor], tokens: torch.Tensor,
                          token_mask: torch.Tensor, x_t: torch.Tensor, time: torch.Tensor
                          ) -> torch.Tensor:
        """One joint pass (prefix and action tokens together) -> v_t [B, H, A] float32."""
        vlm, expert = self.vlm, self.expert
        prefix_embs, prefix_pad = self.embed_prefix(images, image_masks, tokens, token_mask)
        b, horizon = x_t.shape[:2]
        suffix_embs = self.action_in_proj(x_t)  # [B, H, W_expert]
        modulation = expert.modulations(self.adarms_condition(time))
        suffix_pad, suffix_ar = suffix_masks(b, horizon, prefix_pad.device)
        pad = torch.cat((prefix_pad, suffix_pad), dim=1)  # [B, P + H]
        ar = torch.cat((torch.zeros_like(prefix_pad), suffix_ar), dim=1)
        bias = make_attention_mask(pad, ar)  # [B, 1, P + H, P + H]
        positions = torch.cumsum(pad, dim=1) - 1
        rope = self.rope(positions)
        xs = [prefix_embs.to(vlm.compute_dtype), suffix_embs.to(expert.compute_dtype)]
        for vlm_layer, expert_layer, layer_mod in zip(vlm.layers, expert.layers,
                                                      modulation.layers):
            xs = joint_layer([vlm_layer, expert_layer], xs, [(None, None), layer_mod], rope,
                             bias)
        suffix_out, _ = expert.norm(xs[1], modulation.final)
        return self.action_out_proj(suffix_out[:, -horizon:].float())

    def compute_loss(self, images: Mapping[str, torch.Tensor],
                     image_masks: Optional[Mapping[str, torch.Tensor]], tokens: torch.Tensor,
                     token_mask: torch.Tensor, actions: torch.Tensor,
                     noise: Optional[torch.Tensor] = None, time: Optional[torch.Tensor] = None,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """
        Flow-matching loss, elementwise [B, H, A]: (u_t - v_t)^2 with u_t = noise - actions.

        x_t = time * noise + (1 - time) * actions; time [B] float32 in (0, 1]. As in openpi's
        training forward, noise ~ N(0, 1) and time ~ Beta(1.5, 1) * 0.999 + 0.001 are drawn
        (from `generator`) when not given.
        """
        image_masks = self.check_inputs(images, image_masks, tokens, token_mask)
        b = tokens.shape[0]
        shape = (b, self.config.action_horizon, self.config.action_dim)
        _check_tensor('actions', actions, shape, torch.float32)
        noise = self._noise(noise, b, tokens.device, generator)
        if time is None:
            time = sample_training_time(b, tokens.device, generator)
        _check_tensor('time', time, (b,), torch.float32)
        t = time[:, None, None]
        x_t = t * noise + (1 - t) * actions
        u_t = noise - actions
        v_t = self.training_velocity(images, image_masks, tokens, token_mask, x_t, time)
        return F.mse_loss(u_t, v_t, reduction='none')

    # --- input checks ---------------------------------------------------------------------------

    def check_inputs(self, images: Mapping[str, torch.Tensor],
                     image_masks: Optional[Mapping[str, torch.Tensor]], tokens: torch.Tensor,
                     token_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raise InputError naming the bad tensor; return the image masks (all True if None)."""
        cfg = self.config
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
            raise InputError(f'tokens must be an int64 tensor [B, L], got '
                             f'{_describe(tokens)}')
        b, length = tokens.shape
        if length > cfg.max_token_len:
            raise InputError(f'tokens has {length} tokens, more than max_token_len '
                             f'{cfg.max_token_len}: expected shape [{b}, <={cfg.max_token_len}]')
        _check_tensor('tokens', tokens, (b, length), torch.int64)
        _check_tensor('token_mask', token_mask, (b, length), torch.bool)
        if length and (int(tokens.min()) < 0 or int(tokens.max()) >= cfg.vocab_size):
            raise InputError(f'tokens must be ids in [0, {cfg.vocab_size}), got '
                             f'[{int(tokens.min())}, {int(tokens.max())}]')
        size = cfg.vision.image_size
        masks = {}
        for key in cfg.image_keys:
            if key not in images:
                raise InputError(f'images is missing camera slot {key!r} (expected slots '
                                 f'{list(cfg.image_keys)}; give absent cameras a black image '
                                 'and mask False)')
            image = images[key]
            shape = (b, size, size, cfg.vision.num_channels)
            if (not isinstance(image, torch.Tensor) or not image.is_floating_point()
                    or tuple(image.shape) != shape):
                raise InputError(f'images[{key!r}] must be a float tensor of shape '
                                 f'{list(shape)} (channels-last, values in [-1, 1]), got '
                                 f'{_describe(image)}')
            if image_masks is None:
                masks[key] = torch.ones(b, dtype=torch.bool, device=tokens.device)
            elif key not in image_masks:
                raise InputError(f'image_masks is missing camera slot {key!r}')
            else:
                _check_tensor(f'image_masks[{key!r}]', image_masks[key], (b,), torch.bool)
                masks[key] = image_masks[key]
        unknown = sorted(set(images) - set(cfg.image_keys))
        if unknown:
            raise InputError(f'images has unknown camera slots {unknown}; expected '
                             f'{list(cfg.image_keys)}')
        return masks

    def _noise(self, noise: Optional[torch.Tensor], batch: int, device: torch.device,
               generator: Optional[torch.Generator]) -> torch.Tensor:
        shape = (batch, self.config.action_horizon, self.config.action_dim)
        if noise is None:
            source = device if generator is None else generator.device
            noise = torch.randn(shape, generator=generator, dtype=torch.float32, device=source)
            return noise.to(device)
        _check_tensor('noise', noise, shape, torch.float32)
        return noise

    def _check_num_steps(self, num_steps: Optional[int]) -> int:
        num_steps = self.config.num_steps if num_steps is None else num_steps
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise InputError(f'num_steps must be a positive int, got {num_steps!r}')
        return num_steps


def _check_tensor(name: str, value: object, shape: Tuple[int, ...], dtype: torch.dtype
                  ) -> None:
    if (not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(shape)
            or value.dtype != dtype):
        raise InputError(f'{name} must be a {dtype} tensor of shape {list(shape)}, got '
                         f'{_describe(value)}')


def _check_int(name: str, value: object, low: int, high: int, why: str = '') -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f'{name} must be an int in [{low}, {high}]{why}, got {value!r}')


def _check_number(name: str, value: object, low: float) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value < low):
        raise InputError(f'{name} must be a finite number >= {low}, got {value!r}')


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f'{value.dtype} tensor of shape {list(value.shape)}'
    return type(value).__name__
