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
SigLIP vision tower (pre-LN ViT, no pooling head) as PaliGemma uses it.

Submodule names follow HF's SiglipVisionTransformer so openpi state_dict keys load directly.
"""

from pi05_ros.model.config import VisionConfig
import torch
from torch import nn
import torch.nn.functional as F


class SiglipEmbeddings(nn.Module):
    """Non-overlapping patch convolution plus a learned position embedding."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.patch_embedding = nn.Conv2d(cfg.num_channels, cfg.hidden_size,
                                         kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.position_embedding = nn.Embedding(cfg.tokens_per_image, cfg.hidden_size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # pixels: [N, C, S, S] -> patches [N, D, S/p, S/p] -> tokens [N, P, D]
        patches = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype))
        tokens = patches.flatten(2).transpose(1, 2)
        return tokens + self.position_embedding.weight


class SiglipAttention(nn.Module):
    """Unmasked multi-head self-attention (SDPA, as openpi runs SigLIP)."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.out_proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, p, d = x.shape
        # [N, P, D] -> [N, heads, P, head_dim]
        q, k, v = (proj(x).view(n, p, self.num_heads, self.head_dim).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v, scale=self.head_dim ** -0.5)
        return self.out_proj(out.transpose(1, 2).reshape(n, p, d))


class SiglipMLP(nn.Module):

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate='tanh'))


class SiglipEncoderLayer(nn.Module):
    """x + Attn(LN1(x)), then x + MLP(LN2(x))."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.self_attn = SiglipAttention(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.mlp = SiglipMLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class SiglipVisionTransformer(nn.Module):
    """Images [N, C, S, S] in [-1, 1] -> token features [N, (S/p)^2, hidden]."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.embeddings = SiglipEmbeddings(cfg)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(
            SiglipEncoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.post_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(pixels)
        x = x.to(self.post_layernorm.weight.dtype)  # patch embedding may stay float32 in bf16
        for layer in self.encoder.layers:
            x = layer(x)
        return self.post_layernorm(x)
