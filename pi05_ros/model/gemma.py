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
Gemma decoder pieces shared by the PaliGemma VLM and the action expert.

Both towers run *jointly*: at every layer their queries, keys and values are concatenated along
the sequence (VLM tokens first), attend together under one mask, and are split again for each
tower's output projection and MLP. Submodule names follow HF Gemma (openpi state_dict keys).
"""

from typing import List, Optional, Sequence, Tuple

from pi05_ros.model.config import GemmaConfig
import torch
from torch import nn
import torch.nn.functional as F

# openpi adds this to masked attention logits (not -inf): fully masked rows stay finite.
MASK_FILL = -2.3819763e38

KV = Tuple[torch.Tensor, torch.Tensor]
RoPE = Tuple[torch.Tensor, torch.Tensor]


class RMSNorm(nn.Module):
    """Gemma RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w), statistics in float32."""

    def __init__(self, width: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(width))

    def forward(self, x: torch.Tensor, modulation: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Normalize: -> (normed x in x.dtype, gate=None); `modulation` must be None."""
        normed = _rms_normalize(x.float(), self.eps)
        return (normed * (1.0 + self.weight.float())).type_as(x), None


class AdaRMSNorm(nn.Module):
    """
    Adaptive RMSNorm: a Linear of the condition gives (scale, shift, gate).

    y = norm(x) * (1 + scale) + shift; the caller adds gate * f(y) to the residual.
    The modulation is computed separately (`modulation`) so it can be precomputed once per
    flow-matching time value instead of at every layer call.
    """

    def __init__(self, width: int, cond_dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.dense = nn.Linear(cond_dim, 3 * width)

    def modulation(self, cond: torch.Tensor) -> torch.Tensor:
        """Map cond [B, C] (float32) -> modulation [B, 1, 3W] (float32, the dense's dtype)."""
        return self.dense(cond.to(self.dense.weight.dtype))[:, None, :]

    def forward(self, x: torch.Tensor, modulation: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Modulate x [B, L, W] with [B, 1, 3W] -> (y in x.dtype, gate [B, 1, W] in x.dtype)."""
        scale, shift, gate = torch.chunk(modulation, 3, dim=-1)
        normed = _rms_normalize(x.float(), self.eps)
        normed = normed * (1 + scale.float()) + shift.float()
        return normed.to(x.dtype), gate.to(x.dtype)


def _rms_normalize(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def gated_residual(x: torch.Tensor, y: torch.Tensor, gate: Optional[torch.Tensor]
                   ) -> torch.Tensor:
    """Add the sublayer output: x + y (plain norm) or x + y * gate (adaRMS)."""
    return x + y if gate is None else x + y * gate


class GemmaMLP(nn.Module):
    """down(gelu_tanh(gate(x)) * up(x))."""

    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.width, cfg.mlp_dim, bias=False)
        self.up_proj = nn.Linear(cfg.width, cfg.mlp_dim, bias=False)
        self.down_proj = nn.Linear(cfg.mlp_dim, cfg.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.gelu(self.gate_proj(x), approximate='tanh') * self.up_proj(x))


class GemmaLayer(nn.Module):
    """One decoder layer's weights; the joint computation is `joint_layer`."""

    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_layernorm = _make_norm(cfg)
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(cfg.width, cfg.num_heads * cfg.head_dim, bias=False)
        self.self_attn.k_proj = nn.Linear(cfg.width, cfg.num_kv_heads * cfg.head_dim, bias=False)
        self.self_attn.v_proj = nn.Linear(cfg.width, cfg.num_kv_heads * cfg.head_dim, bias=False)
        self.self_attn.o_proj = nn.Linear(cfg.num_heads * cfg.head_dim, cfg.width, bias=False)
        self.post_attention_layernorm = _make_norm(cfg)
        self.mlp = GemmaMLP(cfg)

    def project_qkv(self, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project h [B, L, W] -> q [B, heads, L, hd], k and v [B, kv_heads, L, hd]."""
        b, n, _ = h.shape
        attn = self.self_attn
        q = attn.q_proj(h).view(b, n, -1, self.cfg.head_dim).transpose(1, 2)
        k = attn.k_proj(h).view(b, n, -1, self.cfg.head_dim).transpose(1, 2)
        v = attn.v_proj(h).view(b, n, -1, self.cfg.head_dim).transpose(1, 2)
        return q, k, v


def _make_norm(cfg: GemmaConfig) -> nn.Module:
    if cfg.use_adarms:
        return AdaRMSNorm(cfg.width, cfg.adarms_cond_dim, cfg.rms_norm_eps)
    return RMSNorm(cfg.width, cfg.rms_norm_eps)


class GemmaModel(nn.Module):
    """A Gemma tower: optional token embedding, decoder layers and final norm."""

    def __init__(self, cfg: GemmaConfig, vocab_size: Optional[int] = None) -> None:
        super().__init__()
        self.cfg = cfg
        if vocab_size is not None:
            self.embed_tokens = nn.Embedding(vocab_size, cfg.width)
        self.layers = nn.ModuleList(GemmaLayer(cfg) for _ in range(cfg.depth))
        self.norm = _make_norm(cfg)

    @property
    def compute_dtype(self) -> torch.dtype:
        """Return the residual stream dtype (the dtype of the attention/MLP weights)."""
        return self.layers[0].self_attn.q_proj.weight.dtype

    def modulations(self, cond: Optional[torch.Tensor]) -> 'TowerModulation':
        """Every adaRMS modulation of this tower for condition `cond` [B, C] (None: plain)."""
        if cond is None:
            return TowerModulation([(None, None)] * len(self.layers), None)
        return TowerModulation(
            [(layer.input_layernorm.modulation(cond),
              layer.post_attention_layernorm.modulation(cond)) for layer in self.layers],
            self.norm.modulation(cond))


class TowerModulation:
    """Per-layer (attention-norm, MLP-norm) modulations and the final-norm modulation."""

    def __init__(self, layers: List[Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]],
                 final: Optional[torch.Tensor]) -> None:
        self.layers = layers
        self.final = final


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype
                 ) -> RoPE:
    """
    Split-halves RoPE tables: positions [B, L] int -> cos, sin [B, 1, L, head_dim] in dtype.

    Frequencies are computed in float32 (and rounded to bf16 when dtype is bf16, as openpi's
    bf16 model stores its inv_freq buffer in bf16).
    """
    exponent = torch.arange(0, head_dim, 2, dtype=torch.int64, device=positions.device)
    inv_freq = 1.0 / (theta ** (exponent.float() / head_dim))  # [hd/2]
    inv_freq = inv_freq.to(dtype).float()
    freqs = positions.float()[:, :, None] * inv_freq[None, None, :]  # [B, L, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [B, L, hd]
    return emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]


def apply_rope(x: torch.Tensor, rope: RoPE) -> torch.Tensor:
    """Rotate x [B, heads, L, hd] with split halves: x*cos + rotate_half(x)*sin."""
    cos, sin = rope
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask_bias: torch.Tensor,
              scale: float) -> torch.Tensor:
    """
    Eager grouped-query attention as openpi computes it.

    q [B, Hq, Lq, hd], k/v [B, Hk, Lk, hd], mask_bias [B, 1, Lq, Lk] float32 (0 or MASK_FILL)
    -> [B, Lq, Hq*hd]. Query head h reads kv head h // (Hq/Hk). Logits in q.dtype, softmax in
    float32, probabilities cast back to q.dtype.
    """
    b, hq, lq, hd = q.shape
    hk, lk = k.shape[1], k.shape[2]
    groups = hq // hk
    q = q.reshape(b, hk, groups * lq, hd)  # heads of one kv group stacked along the sequence
    logits = torch.matmul(q, k.transpose(2, 3)) * scale  # [B, Hk, G*Lq, Lk]
    logits = logits.view(b, hk, groups, lq, lk) + mask_bias[:, :, None]  # -> float32
    probs = torch.softmax(logits, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(probs.view(b, hk, groups * lq, lk), v)  # [B, Hk, G*Lq, hd]
    return out.view(b, hq, lq, hd).transpose(1, 2).reshape(b, lq, hq * hd)


class KVBuffer:
    """
    Static per-layer key/value storage [B, kv_heads, capacity, head_dim] (RoPE applied).

    The prefix writes [0, P) once; every denoising step overwrites [P, P + H) with the action
    tokens' keys/values, so no step allocates or copies the prefix cache.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        self.keys = keys
        self.values = values

    @classmethod
    def empty(cls, shape: Tuple[int, int, int, int], dtype: torch.dtype, device: torch.device
              ) -> 'KVBuffer':
        """Uninitialised buffers of shape [B, kv_heads, capacity, head_dim]."""
        return cls(torch.empty(shape, dtype=dtype, device=device),
                   torch.empty(shape, dtype=dtype, device=device))

    def write(self, start: int, k: torch.Tensor, v: torch.Tensor) -> KV:
        """Store k, v [B, kv_heads, L, hd] at [start, start+L); return keys/values [0, start+L)."""
        end = start + k.shape[2]
        self.keys[:, :, start:end].copy_(k)
        self.values[:, :, start:end].copy_(v)
        return self.keys[:, :, :end], self.values[:, :, :end]


def joint_layer(layers: Sequence[GemmaLayer], xs: Sequence[torch.Tensor],
                modulations: Sequence[Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]],
                rope: RoPE, mask_bias: torch.Tensor,
                cache: Optional[Tuple[KVBuffer, int]] = None) -> List[torch.Tensor]:
    """
    One layer over several towers' token streams attending jointly.

    layers[i] processes xs[i] [B, L_i, W_i] with adaRMS modulations[i] = (attn, mlp) or
    (None, None). rope covers the concatenated new tokens. With cache = (buffer, start) the new
    keys/values are written at `start` and the queries attend to everything before them too.
    Returns the new streams.
    """
    qs, ks, vs, gates = [], [], [], []
    for layer, x, (mod_attn, _) in zip(layers, xs, modulations):
        h, gate = layer.input_layernorm(x, mod_attn)
        q, k, v = layer.project_qkv(h)
        qs.append(q)
        ks.append(k)
        vs.append(v)
        gates.append(gate)
    q = apply_rope(_cat(qs), rope)  # [B, Hq, L, hd]
    k = apply_rope(_cat(ks), rope)  # [B, Hk, L, hd]
    v = _cat(vs)
    if cache is not None:
        buffer, start = cache
        k, v = buffer.write(start, k, v)  # [B, Hk, start + L, hd]
    out = attention(q, k, v, mask_bias, layers[0].cfg.head_dim ** -0.5)  # [B, L, Hq*hd]

    outputs, start = [], 0
    for layer, x, gate, (_, mod_mlp) in zip(layers, xs, gates, modulations):
        end = start + x.shape[1]
        o = layer.self_attn.o_proj(out[:, start:end].to(layer.self_attn.o_proj.weight.dtype))
        x = gated_residual(x, o, gate)
        h, gate_mlp = layer.post_attention_layernorm(x, mod_mlp)
        x = gated_residual(x, layer.mlp(h.to(layer.mlp.up_proj.weight.dtype)), gate_mlp)
        outputs.append(x)
        start = end
    return outputs


def prefix_kv_only(layer: GemmaLayer, x: torch.Tensor, rope: RoPE, buffer: KVBuffer) -> None:
    """Fill the last prefix layer's keys/values only (its attention/MLP output is never read)."""
    h, _ = layer.input_layernorm(x)
    _, k, v = layer.project_qkv(h)
    buffer.write(0, apply_rope(k, rope), v)


def _cat(parts: List[torch.Tensor]) -> torch.Tensor:
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)
