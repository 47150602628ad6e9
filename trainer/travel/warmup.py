"""Learning-rate warm-up after a resume with fresh optimizer state.

Adam's first steps with empty moments move every weight by about the full learning rate (the first update is
``lr * g / |g|``), and its second-moment estimate averages over about ``1 / (1 - beta2)`` steps (1000 for the
shipped ``beta2 = 0.999``): until then the per-weight step sizes are noisy. So a run resumed from a travel
checkpoint scales the scheduled learning rate by ``k / K`` at its k-th optimizer step (k = 1..K), K defaulting
to ``1 / (1 - beta2)``. The schedule itself (step decay) is untouched: the factor is applied only while
``optimizer.step()`` runs (step pre/post hooks), so schedulers see and update the scheduled value.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


def default_warmup(config: Mapping[str, Any]) -> int:
    """K = round(1 / (1 - train.beta2)): about how many steps Adam's second moment needs (1000 for 0.999)."""
    return round(1.0 / (1.0 - float(config["train"]["beta2"])))


class LrWarmup:
    """Linear warm-up over the first ``iterations`` steps of each of ``optimizers`` (0: none); the hooks remove
    themselves once every optimizer has made its ``iterations`` steps."""

    def __init__(self, optimizers: Iterable[torch.optim.Optimizer], iterations: int):
        self.iterations = int(iterations)
        self.steps: dict[int, int] = {}
        self._scheduled: dict[int, list[Any]] = {}
        self._handles = []
        if self.iterations <= 0:
            return
        for optimizer in optimizers:
            self.steps[id(optimizer)] = 0
            self._handles += [optimizer.register_step_pre_hook(self._before),
                              optimizer.register_step_post_hook(self._after)]

    def factor(self, step: int) -> float:
        """The learning-rate factor of (1-based) optimizer step ``step``."""
        return min(1.0, step / self.iterations) if self.iterations > 0 else 1.0

    def _before(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        scale = self.factor(self.steps[id(optimizer)] + 1)
        self._scheduled[id(optimizer)] = [group["lr"] for group in optimizer.param_groups]
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * scale

    def _after(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        for group, lr in zip(optimizer.param_groups, self._scheduled.pop(id(optimizer)), strict=True):
            group["lr"] = lr
        self.steps[id(optimizer)] += 1
        if all(done >= self.iterations for done in self.steps.values()):
            for handle in self._handles:
                handle.remove()
            self._handles = []
