"""Exponential moving average of a module's weights (used for samples and export when enabled)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class Ema:
    """A frozen copy of ``module`` whose floating tensors follow ``decay * ema + (1 - decay) * current``."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Move the average towards ``module``'s current weights (floating-point entries only)."""
        pairs = [(e, c) for e, c in zip(self.module.state_dict().values(), module.state_dict().values())
                 if e.is_floating_point()]
        torch._foreach_lerp_([e for e, _ in pairs], [c.detach() for _, c in pairs], 1.0 - self.decay)
