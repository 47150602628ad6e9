"""What a family gives distillation (its ``TrainingFamily.distill`` hook): the teacher's and the student's outputs
for a batch, the teacher's feature maps (the perceptual term), and its discriminator's losses. The generic step
(:class:`trainer.distill.family.DistillFamily`) names no family."""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from ..families.base import TrainingFamily


@dataclass(frozen=True)
class DistillPair:
    """One output the student must reproduce: ``student`` (with gradients) and ``teacher`` (without) for the same
    input, ``real`` images of where the output lies (what the discriminator compares it with), and ``target``: the
    domain or cluster it lies in, passed back to the hook's discriminator and feature network."""

    name: str
    student: torch.Tensor
    teacher: torch.Tensor
    real: torch.Tensor
    target: Any

    def detached(self) -> DistillPair:
        """The same pair with the student's output cut from its graph (for the discriminator update)."""
        return dataclasses.replace(self, student=self.student.detach())


class DistillHook(ABC):
    """One family's side of distillation, built with the student and the teacher (both of this family; the
    teacher's generators loaded, frozen and in eval mode) and the student's resolved config.

    ``frozen`` names modules (``name.sub.module`` in the family's :meth:`TrainingFamily.models`) that are copied
    from the teacher into the student and frozen there, so that the student keeps the teacher's interface
    (e.g. MUNIT's style encoders: the same style codes); ``frozen_hint`` says which model settings must then
    equal the teacher's. The optimizer names are those of the family's :meth:`TrainingFamily.optimizers`.
    """

    frozen: tuple[str, ...] = ()
    frozen_hint: str = ""
    generator_optimizer: str = "gen"
    discriminator_optimizer: str = "dis"

    def __init__(self, student: TrainingFamily, teacher: TrainingFamily, config: Mapping[str, Any]):
        self.student, self.teacher, self.config = student, teacher, config

    @abstractmethod
    def pairs(self, images: list[torch.Tensor]) -> list[DistillPair]:
        """The teacher's outputs for one batch (the family's image list) and the student's for the same inputs."""

    @abstractmethod
    def features(self, image: torch.Tensor, target: Any) -> list[torch.Tensor]:
        """Feature maps of ``image`` (lying in ``target``) from a network of the teacher, for the perceptual term."""

    @abstractmethod
    def discriminators(self) -> list[nn.Module]:
        """The student's discriminators (frozen while the generator steps)."""

    @abstractmethod
    def discriminator_loss(self, pair: DistillPair) -> torch.Tensor:
        """The family's discriminator loss for one pair: its real images against the student's (detached) output."""

    @abstractmethod
    def adversarial_loss(self, pair: DistillPair) -> torch.Tensor:
        """The family's generator-side adversarial loss of the student's output."""

    def after_generator_step(self) -> None:
        """What the family does to its generators after each step (e.g. U-GAT-IT clips rho); nothing by default."""
        return None


def layer_features(layers: nn.Sequential, x: torch.Tensor, taps: tuple[type[nn.Module], ...]) -> list[torch.Tensor]:
    """The outputs of the layers of ``layers`` that are instances of ``taps``, and its final output."""
    found = []
    for layer in layers:
        x = layer(x)
        if isinstance(layer, taps):
            found.append(x)
    return [*found, x]
