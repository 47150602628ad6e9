"""MUNIT's distillation hook: per direction the teacher decodes its content of the source image with a random
prior style and with the encoded style of a real target image; the student decodes its own content with the
same two codes. The student's style encoders are the teacher's, copied and frozen: reference styles, the
typical style and style mixing mean the same codes in both, and the student's decoder learns exactly them."""
from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from ..losses import gan_loss
from ..models.blocks import ConvBlock
from ..models.munit import MunitGenerator
from .hook import DistillHook, DistillPair, layer_features

DOMAINS = ("a", "b")


class MunitDistill(DistillHook):
    """Pairs ``a2b_prior``, ``a2b_reference``, ``b2a_prior``, ``b2a_reference``; features: the target domain's
    teacher content encoder after each convolution and at its end; the student's multi-scale discriminators
    with the config's ``loss.gan_type``."""

    frozen = ("gen_a.style_encoder", "gen_b.style_encoder")
    frozen_hint = ("model.style_dim, model.style_n_downsample, model.activation, model.pad_type and "
                   "model.style_enc_dim (the teacher's style encoder width: its style_enc_dim, or its dim)")

    def __init__(self, student, teacher, config):
        super().__init__(student, teacher, config)
        self.gan = gan_loss(config["loss"]["gan_type"])
        models, teacher_models = student.models(), teacher.models()
        self.gens = {d: cast(MunitGenerator, models[f"gen_{d}"]) for d in DOMAINS}
        self.teacher_gens = {d: cast(MunitGenerator, teacher_models[f"gen_{d}"]) for d in DOMAINS}
        self.dis = {d: models[f"dis_{d}"] for d in DOMAINS}

    def pairs(self, images: list[torch.Tensor]) -> list[DistillPair]:
        x = dict(zip(DOMAINS, images, strict=True))
        pairs = []
        for src, dst in zip(DOMAINS, reversed(DOMAINS)):
            source, target, teacher = x[src], x[dst], self.teacher_gens[dst]
            prior = torch.randn(len(source), teacher.style_dim, device=source.device)
            with torch.no_grad():
                content = self.teacher_gens[src].content_encoder(source)
                reference = teacher.style_encoder(target)  # = the student's frozen copy's code
                wanted = (teacher.decode(content, prior), teacher.decode(content, reference))
            own = self.gens[src].content_encoder(source)
            for kind, style, out in zip(("prior", "reference"), (prior, reference), wanted, strict=True):
                pairs.append(DistillPair(f"{src}2{dst}_{kind}", self.gens[dst].decode(own, style), out, target, dst))
        return pairs

    def features(self, image: torch.Tensor, target: Any) -> list[torch.Tensor]:
        return layer_features(self.teacher_gens[target].content_encoder.model, image, (ConvBlock,))

    def discriminators(self) -> list[nn.Module]:
        return list(self.dis.values())

    def discriminator_loss(self, pair: DistillPair) -> torch.Tensor:
        dis = self.dis[pair.target]
        return self.gan.discriminator(dis(pair.student), dis(pair.real))

    def adversarial_loss(self, pair: DistillPair) -> torch.Tensor:
        return self.gan.generator(self.dis[pair.target](pair.student))
