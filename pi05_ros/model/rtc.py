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
Training-free real-time chunking (Black, Galliker, Levine 2025): guided flow sampling.

While chunk k+1 is being sampled the robot keeps executing chunk k, so the first `d` rows
(d = inference delay in control steps) of the new chunk are already committed. At each Euler
step the predicted clean actions are pulled toward Y, the previous chunk's rows that remain
after the `s` executed ones (s = execution horizon), under a soft mask W over the rows:

    x0_hat = x_t - t * v(x_t)                 predicted clean actions (openpi: t=1 noise, 0 data)
    g      = (d x0_hat / d x_t)^T [(Y - x0_hat) * W]     one vector-Jacobian product
    v'     = v - w(t) * g                     (openpi's v = dx/dt points toward noise)

with the paper's guidance weight, in its time tau = 1 - t (tau=0 noise, tau=1 data),

    w = min(beta, (1 - tau) / tau * (tau^2 + (1 - tau)^2) / (1 - tau)^2).

W is 1 on rows [0, d), decays to 0 at row H - s and is 0 from there on (`prefix_weights`).
"""

import dataclasses
import math
from typing import Callable, Tuple

import torch

SCHEDULES = ('exp', 'linear', 'ones', 'zeros')

Denoiser = Callable[[torch.Tensor], torch.Tensor]  # x_t [B, H, A] -> v_t [B, H, A]


def prefix_weights(delay: int, end: int, horizon: int, schedule: str) -> torch.Tensor:
    """
    Soft mask [H] float32 over the chunk rows: 1 on [0, delay), 0 on [end, H).

    Between them: 'linear' c_i = (end - i) / (end - delay + 1); 'exp' c_i (e^c_i - 1) / (e - 1);
    'ones' 1 (hard mask on [0, end)); 'zeros' 0 (hard mask on [0, delay)). delay <= end <= H.
    """
    i = torch.arange(horizon, dtype=torch.float32)
    if schedule == 'ones':
        w = torch.ones(horizon)
    elif schedule == 'zeros':
        w = (i < delay).float()
    else:
        w = ((end - i) / (end - delay + 1)).clamp(0.0, 1.0)
        if schedule == 'exp':
            w = w * torch.expm1(w) / (math.e - 1)
    return torch.where(i < end, w, torch.zeros(()))


def guidance_weight(t: torch.Tensor, max_weight: float) -> torch.Tensor:
    """Return the paper's weight at openpi time t (0-dim float32), clipped at beta = max_weight."""
    tau = 1 - t
    c = (1 - tau) / tau  # inf at tau = 0 (t = 1): clipped to beta
    inv_r2 = (tau ** 2 + (1 - tau) ** 2) / (1 - tau) ** 2
    return torch.clamp(c * inv_r2, max=max_weight)


@dataclasses.dataclass(frozen=True)
class PrefixGuidance:
    """
    What the guided steps pull toward.

    target [B, H, A] float32: the previous chunk's remaining rows in the model's (normalized)
    action frame, zero past the rows it has; weights [H] float32 (`prefix_weights`);
    max_weight: beta > 0.
    """

    target: torch.Tensor
    weights: torch.Tensor
    max_weight: float

    def correction(self, denoise: Denoiser, x_t: torch.Tensor, t: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Run the denoiser once with autograd -> (v_t, g), both [B, H, A] float32.

        g = (d x0_hat / d x_t)^T e with e = (Y - x0_hat) * W, x0_hat = x_t - t v_t.
        """
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)
            v_t = denoise(x)  # [B, H, A]
            x0_hat = x - t * v_t  # [B, H, A]
            error = (self.target - x0_hat.detach()) * self.weights[:, None]  # [B, H, A]
            (g,) = torch.autograd.grad(x0_hat, x, error)
        return v_t.detach(), g

    def velocity(self, denoise: Denoiser, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Guided velocity v' = v - w(t) g [B, H, A] at openpi time t."""
        v_t, g = self.correction(denoise, x_t, t)
        return v_t - guidance_weight(t, self.max_weight) * g
