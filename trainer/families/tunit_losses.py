"""TUNIT's guiding-network objectives: the contrastive (InfoNCE) loss over the MoCo key queue
(:class:`trainer.code_queue.KeyQueue`), IIC mutual information between the cluster distributions of two views,
and the hinge/R1 terms of its GAN."""
from __future__ import annotations

import torch
from torch.nn import functional as F

IIC_EPS = 1e-10  # probabilities below this are raised to it before the logarithms (the official guard)


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
