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
