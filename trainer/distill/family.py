"""The distillation step, the same for every family: a student (the config's family, with its own smaller
``[model]`` settings) learns to reproduce a frozen teacher of that family (``distill.teacher``).

Per iteration the family's hook gives pairs of (student output, teacher output) for the batch; the student's
discriminators take a step on the teacher-free adversarial loss (real images against the student's outputs),
then the student's generators on ``l1_w`` x L1 to the teacher's outputs + ``perceptual_w`` x L1 between the
teacher's feature maps of both + ``adv_w`` x the adversarial loss; a zero ``perceptual_w`` skips the feature maps
(the teacher's network run forward and backward on every output). Checkpoints are ordinary ones of the student's
family (its models, optimizers and schedulers), so a student resumes, travels and exports like any run.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from i2i_common.datasets import DatasetLayout

from ..config import ConfigError, family_class
from ..data import StreamPosition, TrainingData
from ..ema import follow
from ..families import Placement, TrainingFamily
from .hook import DistillPair
from .teacher import adopt_discriminators, adopt_frozen, build_teacher, read_teacher

LOGGED_VALUES = ("dis_total", "gen_total", "l1", "perceptual", "gen_adv")
PLOT_PANELS = {
    "distillation (unweighted)": ("l1", "perceptual"),
    "adversarial": ("dis_total", "gen_adv"),
    "generator total (weighted)": ("gen_total",),
}


def training_family(config: Mapping[str, Any]) -> type[TrainingFamily]:
    """The class that trains ``config``: :class:`DistillFamily` when it has a ``[distill]`` table, else the
    family its ``[model]`` names."""
    if "distill" in config:
        return DistillFamily
    return family_class(config.get("model", {}).get("family", ""))


class DistillFamily(TrainingFamily):
    """A student of the config's family trained on a teacher's outputs; state, data and samples are the
    student family's (``name`` is that family's, so checkpoints are that family's)."""

    name = "distill"  # each instance takes its student's family name
    num_domains = 0
    progress_keys = ("l1", "perceptual", "gen_total")
    plot_panels = PLOT_PANELS
    logged_values = LOGGED_VALUES

    @classmethod
    def make_data(cls, layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
        """The student family's own batches and sample images."""
        return family_class(config["model"]["family"]).make_data(layout, config, position)

    def __init__(self, config: Mapping[str, Any], placement: Placement):
        family_cls = family_class(config["model"]["family"])
        if family_cls.distill is None:
            raise ConfigError(f"family {family_cls.name} has no distillation hook: it cannot be distilled")
        if placement.distributed:
            raise ConfigError("distillation runs in one process (torchrun with several processes is not supported)")
        self.name = family_cls.name
        self.placement, self.weights = placement, config["distill"]
        self.ema_decay = float(config["train"]["ema"])
        self.student = family_cls(config, placement)
        path, ckpt = read_teacher(self.weights["teacher"], family_cls.name)
        self.teacher = build_teacher(family_cls, path, ckpt, placement)
        self.hook = family_cls.distill(self.student, self.teacher, config)
        adopt_frozen(self.student, self.teacher, self.hook.frozen, self.hook.frozen_hint)
        if self.weights["discriminator"] == "teacher":
            adopt_discriminators(self.student, family_cls, path, ckpt)

    # ---- state: the student's
    def models(self) -> dict[str, nn.Module]:
        return self.student.models()

    def ema_models(self) -> dict[str, nn.Module]:
        return self.student.ema_models()

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.student.optimizers()

    def schedulers(self) -> dict[str, Any]:
        return self.student.schedulers()

    # ---- training
    def _perceptual(self, pairs: list[DistillPair]) -> torch.Tensor:
        """Mean L1 between the teacher's feature maps of the student's and of the teacher's outputs."""
        distances = []
        for pair in pairs:
            with torch.no_grad():
                wanted = self.hook.features(pair.teacher, pair.target)
            got = self.hook.features(pair.student, pair.target)
            distances += [F.l1_loss(g.float(), t.float()) for g, t in zip(got, wanted, strict=True)]
        return torch.stack(distances).mean()

    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        precision, w, hook = self.placement.precision, self.weights, self.hook
        optimizers = self.student.optimizers()
        gen_opt, dis_opt = optimizers[hook.generator_optimizer], optimizers[hook.discriminator_optimizer]
        with precision.autocast():
            pairs = hook.pairs(images)
        dis_opt.zero_grad(set_to_none=True)
        with precision.autocast():
            dis_total = w["adv_w"] * torch.stack([hook.discriminator_loss(p.detached()) for p in pairs]).mean()
        precision.step("dis", dis_total, dis_opt)

        gen_opt.zero_grad(set_to_none=True)
        for dis in hook.discriminators():
            dis.requires_grad_(False)
        with precision.autocast():
            terms = {"l1": torch.stack([F.l1_loss(p.student.float(), p.teacher.float()) for p in pairs]).mean(),
                     "perceptual": self._perceptual(pairs) if w["perceptual_w"] else torch.zeros(()),
                     "gen_adv": torch.stack([hook.adversarial_loss(p) for p in pairs]).mean()}
            total = w["l1_w"] * terms["l1"] + w["perceptual_w"] * terms["perceptual"] + w["adv_w"] * terms["gen_adv"]
        precision.step("gen", total, gen_opt)
        for dis in hook.discriminators():
            dis.requires_grad_(True)
        hook.after_generator_step()

        for scheduler in self.student.schedulers().values():
            if scheduler.optimizer in (gen_opt, dis_opt):  # not TUNIT's clock on the (frozen) guiding network's
                scheduler.step()
        models = self.student.models()
        for name, average in self.student.ema_models().items():
            follow(average, models[name], self.ema_decay)
        values = torch.stack([v.detach().float() for v in (dis_total, total, *terms.values())])
        return dict(zip(LOGGED_VALUES, values.tolist(), strict=True))

    # ---- samples
    @torch.no_grad()
    def sample_grid(self, fixed: list[torch.Tensor]) -> torch.Tensor:
        """The teacher's usual grid of the fixed images above the student's (same layout)."""
        teacher, student = self.teacher.sample_grid(fixed), self.student.sample_grid(fixed)
        return torch.cat([teacher, torch.ones(3, 8, teacher.shape[2]), student], dim=1)
