"""TUNIT's guiding-network objectives: the MoCo key queue, the contrastive (InfoNCE) loss over it, IIC mutual
information between the cluster distributions of two views, and the hinge/R1 terms of its GAN."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

IIC_EPS = 1e-10  # probabilities below this are raised to it before the logarithms (the official guard)


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


def contrastive_loss(query: torch.Tensor, key: torch.Tensor, negatives: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """InfoNCE: cross-entropy of picking ``key[i]`` for ``query[i]`` among it and every ``negatives`` row, the
    logits being dot products / ``temperature`` (the official codes are not normalised)."""
    query, key = query.float(), key.detach().float()
    positive = (query * key).sum(1, keepdim=True)
    logits = torch.cat([positive, query @ negatives.detach().float().T], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(query.shape[0], dtype=torch.long, device=query.device))


def iic_loss(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Minus the mutual information of the symmetrised joint distribution of two views' cluster
    probabilities ``p``, ``q`` [B, K] (IIC); its minimum, -log K, is reached by confident, balanced clusters
    on which both views agree."""
    joint = p.float().T @ q.float()
    joint = (joint + joint.T) / 2
    joint = joint / joint.sum()
    marginal_i = joint.sum(1, keepdim=True).clamp_min(IIC_EPS)
    marginal_j = joint.sum(0, keepdim=True).clamp_min(IIC_EPS)
    joint = joint.clamp_min(IIC_EPS)
    return -(joint * (joint.log() - marginal_i.log() - marginal_j.log())).sum()


def hinge_real(logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge term on real images: mean relu(1 - logit)."""
    return F.relu(1.0 - logits.float()).mean()


def hinge_fake(logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge term on translations: mean relu(1 + logit)."""
    return F.relu(1.0 + logits.float()).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: the squared gradient of the real logits' sum w.r.t. the real images, summed, per image."""
    grad, = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return grad.float().pow(2).sum() / real.shape[0]
