"""Adversarial losses over multi-scale discriminator outputs, one entry per GAN type."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch.nn import functional as F

Outputs = Sequence[torch.Tensor]


class GanLoss(NamedTuple):
    """``discriminator(fake_outputs, real_outputs)`` and ``generator(fake_outputs)``, summed over scales."""

    discriminator: Callable[[Outputs, Outputs], torch.Tensor]
    generator: Callable[[Outputs], torch.Tensor]


def _sum(values) -> torch.Tensor:
    return torch.stack(list(values)).sum()


GAN_LOSSES: dict[str, GanLoss] = {
    # least squares (Mao et al.): real -> 1, fake -> 0, generator pushes fakes to 1
    "lsgan": GanLoss(
        discriminator=lambda fake, real: _sum((f.float() ** 2).mean() + ((r.float() - 1) ** 2).mean()
                                              for f, r in zip(fake, real)),
        generator=lambda fake: _sum(((f.float() - 1) ** 2).mean() for f in fake)),
    # hinge (as in NVlabs/imaginaire's MUNIT)
    "hinge": GanLoss(
        discriminator=lambda fake, real: _sum(F.relu(1 + f.float()).mean() + F.relu(1 - r.float()).mean()
                                              for f, r in zip(fake, real)),
        generator=lambda fake: _sum(-f.float().mean() for f in fake)),
}


def gan_loss(kind: str) -> GanLoss:
    """The losses of GAN type ``kind`` (``lsgan`` or ``hinge``)."""
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown loss.gan_type {kind!r} (expected one of {sorted(GAN_LOSSES)})")
    return GAN_LOSSES[kind]


def lsgan_towards(outputs: Outputs, target: float) -> torch.Tensor:
    """Least squares of every logit map in ``outputs`` towards ``target`` (1 real, 0 fake), summed over the maps
    (U-GAT-IT's patch and CAM logits)."""
    return _sum(F.mse_loss(o.float(), torch.full_like(o.float(), target)) for o in outputs)


def prior_moment_penalty(codes: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
    """How far the codes ``codes`` [B, D] (and the ``memory`` [K, D] of earlier ones) are from N(0, I) in their
    first two moments: the squared norm of their mean plus the squared Frobenius distance of their (unbiased)
    covariance to the identity. With a single code there is no covariance: only the mean term counts.

    The memory is detached, so only ``codes`` get gradients; they are scaled by (B + K) / B, which makes them an
    unbiased estimate of the gradient as if every pooled code had been computed in this step (without the scale,
    a memory of 64 codes and batch 1 would leave the live code 1/65 of the pull)."""
    pool = codes.float() if memory is None else torch.cat([codes.float(), memory.detach().float()])
    mean = pool.mean(0)
    penalty = mean.pow(2).sum()
    if pool.shape[0] > 1:
        centred = pool - mean
        cov = centred.T @ centred / (pool.shape[0] - 1)
        penalty = penalty + (cov - torch.eye(pool.shape[1], device=pool.device)).pow(2).sum()
    scale = pool.shape[0] / codes.shape[0]
    return penalty.detach() + scale * (penalty - penalty.detach())
