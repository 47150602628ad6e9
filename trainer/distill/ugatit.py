"""U-GAT-IT's distillation hook: per direction the teacher's translation of the source image, the student's of
the same image. Only the image is distilled; the student's attention (CAM) heads learn nothing from the teacher."""
from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from ..losses import lsgan_towards
from ..models.ugatit import UgatitGenerator
from .hook import DistillHook, DistillPair, layer_features

DIRECTIONS = {"a2b": ("a", "b"), "b2a": ("b", "a")}
READS = {src: direction for direction, (src, _) in DIRECTIONS.items()}  # domain -> the generator that reads it


class UgatitDistill(DistillHook):
    """Pairs ``a2b`` and ``b2a``; features: the encoder of the teacher generator that reads the target domain
    (``gen_b2a`` for dog images), after each ReLU and at its end; the student's global and local discriminators
    with LSGAN on their patch and CAM logits."""

    def __init__(self, student, teacher, config):
        super().__init__(student, teacher, config)
        models, teacher_models = student.models(), teacher.models()
        self.gens = {d: cast(UgatitGenerator, models[f"gen_{d}"]) for d in DIRECTIONS}
        self.teacher_gens = {d: cast(UgatitGenerator, teacher_models[f"gen_{d}"]) for d in DIRECTIONS}
        self.dis = {d: models[f"dis_{d}"] for d in ("a", "b")}

    def pairs(self, images: list[torch.Tensor]) -> list[DistillPair]:
        x = dict(zip(("a", "b"), images, strict=True))
        pairs = []
        for direction, (src, dst) in DIRECTIONS.items():
            with torch.no_grad():
                wanted = self.teacher_gens[direction](x[src])[0]
            pairs.append(DistillPair(direction, self.gens[direction](x[src])[0], wanted, x[dst], dst))
        return pairs

    def features(self, image: torch.Tensor, target: Any) -> list[torch.Tensor]:
        return layer_features(self.teacher_gens[READS[target]].down, image, (nn.ReLU,))

    def discriminators(self) -> list[nn.Module]:
        return list(self.dis.values())

    def discriminator_loss(self, pair: DistillPair) -> torch.Tensor:
        dis = self.dis[pair.target]
        return lsgan_towards(dis(pair.real), 1.0) + lsgan_towards(dis(pair.student), 0.0)

    def adversarial_loss(self, pair: DistillPair) -> torch.Tensor:
        return lsgan_towards(self.dis[pair.target](pair.student), 1.0)

    def after_generator_step(self) -> None:
        for gen in self.gens.values():
            gen.clip_rho()
