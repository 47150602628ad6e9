"""A first-in first-out memory of recent code vectors kept as module buffers, so that checkpoints, exact resume
and travel checkpoints carry it: TUNIT's MoCo key queue, MUNIT's memory of encoded styles for the style-prior term."""
from __future__ import annotations

import torch
from torch import nn


class KeyQueue(nn.Module):
    """A first-in first-out queue of the ``size`` newest style keys [size, dim], as buffers (so checkpoints,
    resume and travel keep it): a ring with its write position ``head`` and fill ``count``."""

    keys: torch.Tensor
    head: torch.Tensor
    count: torch.Tensor

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.register_buffer("keys", torch.zeros(size, dim))
        self.register_buffer("head", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.keys.shape[0]

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        """Enqueue ``keys`` [B, dim] in order; the oldest entries beyond ``size`` are dropped."""
        keys = keys.detach().to(self.keys.dtype)[-self.size:]
        n, head = keys.shape[0], int(self.head)
        index = (head + torch.arange(n, device=self.keys.device)) % self.size
        self.keys[index] = keys
        self.head.fill_((head + n) % self.size)
        self.count.fill_(min(int(self.count) + n, self.size))

    def contents(self) -> torch.Tensor:
        """The queued keys, oldest first, [count, dim]."""
        count = int(self.count)
        if count < self.size:
            return self.keys[:count]
        return torch.roll(self.keys, -int(self.head), dims=0)
