"""Exponential moving average of a module's weights (used for samples and export when enabled)."""
from __future__ import annotations

import copy

import torch
from torch import nn


@torch.no_grad()
def follow(average: nn.Module, module: nn.Module, decay: float) -> None:
    """Move the floating-point entries of ``average`` towards those of ``module`` (same architecture):
    ``decay * average + (1 - decay) * module``."""
    pairs = [(e, c) for e, c in zip(average.state_dict().values(), module.state_dict().values())
             if e.is_floating_point()]
    torch._foreach_lerp_([e for e, _ in pairs], [c.detach() for _, c in pairs], 1.0 - decay)


class Ema:
    """A frozen copy of ``module`` whose floating tensors follow ``decay * ema + (1 - decay) * current``."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    def update(self, module: nn.Module) -> None:
        """Move the average towards ``module``'s current weights (floating-point entries only)."""
        follow(self.module, module, self.decay)
