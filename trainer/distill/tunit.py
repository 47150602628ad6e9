"""TUNIT's distillation hook: the teacher translates each image towards the style of another image of the batch
(the reference-guided output), the student translates it with the same style code. The student's guiding
network is the teacher's, copied and frozen: the same clusters, the same style codes and cluster styles."""
from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from ..families.tunit_losses import hinge_fake, hinge_real, r1_penalty
from ..models.blocks import ConvBlock
from ..models.tunit import GuidingNetwork, TunitDiscriminator, TunitGenerator
from .hook import DistillHook, DistillPair, layer_features


class TunitDistill(DistillHook):
    """One pair, ``reference``, towards a shuffled batch's styles; features: the teacher's content encoder after
    each convolution and at its end; the student's discriminator (hinge, ``loss.r1_w`` x R1) at the references'
    clusters."""

    frozen = ("guide",)
    frozen_hint = "model.guide_width, model.output_k and model.style_dim"

    def __init__(self, student, teacher, config):
        super().__init__(student, teacher, config)
        models, teacher_models = student.models(), teacher.models()
        self.gen = cast(TunitGenerator, models["gen"])
        self.dis = cast(TunitDiscriminator, models["dis"])
        self.teacher_gen = cast(TunitGenerator, teacher_models["gen"])
        self.guide = cast(GuidingNetwork, teacher_models["guide"])
        self.r1_w = float(config["loss"]["r1_w"])

    def pairs(self, images: list[torch.Tensor]) -> list[DistillPair]:
        x = images[0]  # the second view is not used
        ref = x[torch.randperm(len(x), device=x.device)]
        with torch.no_grad():
            style = self.guide.style(ref)  # = the student's frozen copy's code
            clusters = self.guide.clusters(ref).argmax(1)
            wanted = self.teacher_gen.decode(self.teacher_gen.encode(x), style)
        return [DistillPair("reference", self.gen.decode(self.gen.encode(x), style), wanted, ref, clusters)]

    def features(self, image: torch.Tensor, target: Any) -> list[torch.Tensor]:
        return layer_features(self.teacher_gen.content_encoder.model, image, (ConvBlock,))

    def discriminators(self) -> list[nn.Module]:
        return [self.dis]

    def discriminator_loss(self, pair: DistillPair) -> torch.Tensor:
        real = pair.real.detach().requires_grad_(True)
        real_logits = self.dis(real, pair.target)
        adv = hinge_real(real_logits) + hinge_fake(self.dis(pair.student, pair.target))
        return adv + self.r1_w * r1_penalty(real_logits, real)

    def adversarial_loss(self, pair: DistillPair) -> torch.Tensor:
        return -self.dis(pair.student, pair.target).float().mean()
