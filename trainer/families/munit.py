"""MUNIT training (official ``MUNIT_Trainer``): per iteration a discriminator update, then a generator update.

Generator loss = gan_w * adversarial + recon_x_w * image reconstruction + recon_s_w * style reconstruction
+ recon_c_w * content reconstruction + recon_x_cyc_w * style-augmented cycle (all L1 except the GAN terms).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from i2i_common.datasets import DatasetLayout

from ..data import StreamPosition, TrainingData, unpaired_recipe
from ..distill.munit import MunitDistill
from ..ema import Ema
from ..losses import gan_loss
from ..models.munit import MODEL_DEFAULTS, MunitGenerator, build_discriminator, build_generator
from .base import Placement, TrainingFamily

LOSS_DEFAULTS = {"gan_type": "lsgan", "gan_w": 1.0, "recon_x_w": 10.0, "recon_s_w": 1.0, "recon_c_w": 1.0,
                 "recon_x_cyc_w": 0.0}
# the paper's step decay (lr x 0.5 every 100k iterations) and the random-style columns of the sample grid
TRAIN_DEFAULTS = {"lr_step": 100_000, "lr_gamma": 0.5, "sample_styles": 3}
# every loss is the sum over the two domains; recon_cyc only when loss.recon_x_cyc_w > 0
LOGGED_VALUES = ("dis_total", "gen_total", "gen_adv", "recon_x", "recon_s", "recon_c")
PLOT_PANELS = {
    "adversarial": ("dis_total", "gen_adv"),
    "reconstruction (L1, unweighted)": ("recon_x", "recon_s", "recon_c", "recon_cyc"),
    "generator total (weighted)": ("gen_total",),
}


class _GeneratorPair(nn.Module):
    """Everything the generator update computes, in one forward (what DDP synchronises)."""

    def __init__(self, gen_a: MunitGenerator, gen_b: MunitGenerator):
        super().__init__()
        self.gen_a, self.gen_b = gen_a, gen_b

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor, s_a: torch.Tensor, s_b: torch.Tensor,
                cycle: bool) -> dict[str, torch.Tensor]:
        c_a, s_a_prime = self.gen_a.encode(x_a)
        c_b, s_b_prime = self.gen_b.encode(x_b)
        out = {"c_a": c_a, "c_b": c_b,
               "x_a_recon": self.gen_a.decode(c_a, s_a_prime), "x_b_recon": self.gen_b.decode(c_b, s_b_prime),
               "x_ba": self.gen_a.decode(c_b, s_a), "x_ab": self.gen_b.decode(c_a, s_b)}
        out["c_b_recon"], out["s_a_recon"] = self.gen_a.encode(out["x_ba"])
        out["c_a_recon"], out["s_b_recon"] = self.gen_b.encode(out["x_ab"])
        if cycle:
            out["x_aba"] = self.gen_a.decode(out["c_a_recon"], s_a_prime)
            out["x_bab"] = self.gen_b.decode(out["c_b_recon"], s_b_prime)
        return out


class _DiscriminatorPair(nn.Module):
    """Both discriminators on fakes and reals, in one forward (what DDP synchronises)."""

    def __init__(self, dis_a: nn.Module, dis_b: nn.Module):
        super().__init__()
        self.dis_a, self.dis_b = dis_a, dis_b

    def forward(self, real_a, fake_a, real_b, fake_b):
        return self.dis_a(fake_a), self.dis_a(real_a), self.dis_b(fake_b), self.dis_b(real_b)


class MunitFamily(TrainingFamily):
    """Two generators (one per domain) and two multi-scale discriminators, Adam + step decay."""

    name = "munit"
    num_domains = 2
    generator_names = ("gen_a", "gen_b")
    loss_defaults = LOSS_DEFAULTS
    model_defaults = MODEL_DEFAULTS
    train_defaults = TRAIN_DEFAULTS
    progress_keys = ("dis_total", "gen_total", "recon_x")
    plot_panels = PLOT_PANELS
    distill = MunitDistill

    @classmethod
    def make_data(cls, layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
        """The unpaired recipe: one image of each domain per sample (short side, random crop, flip), from the
        JPEG files or, with ``data.cache``, from the uint8 cache."""
        return unpaired_recipe(layout, config, position, cls.num_domains)

    def __init__(self, config: Mapping[str, Any], placement: Placement):
        self.placement = placement
        self.loss_cfg = config["loss"]
        self._logged = LOGGED_VALUES + (("recon_cyc",) if self.loss_cfg["recon_x_cyc_w"] > 0 else ())
        self.gan = gan_loss(self.loss_cfg["gan_type"])
        model_cfg, train = config["model"], config["train"]
        self.style_dim = int(model_cfg["style_dim"])
        self.gen_a, self.gen_b = (placement.place(build_generator(model_cfg)) for _ in range(2))
        self.dis_a, self.dis_b = (placement.place(build_discriminator(model_cfg)) for _ in range(2))
        self.gen_pair = placement.distribute(_GeneratorPair(self.gen_a, self.gen_b))
        self.dis_pair = placement.distribute(_DiscriminatorPair(self.dis_a, self.dis_b))
        if train["compile"]:  # the training forwards, in place: the modules and their state_dict keys stay
            self.gen_pair.compile()
            self.dis_pair.compile()
        self.gen_opt = placement.adam([self.gen_a, self.gen_b], train)
        self.dis_opt = placement.adam([self.dis_a, self.dis_b], train)
        self.gen_sched = torch.optim.lr_scheduler.StepLR(self.gen_opt, train["lr_step"], train["lr_gamma"])
        self.dis_sched = torch.optim.lr_scheduler.StepLR(self.dis_opt, train["lr_step"], train["lr_gamma"])
        decay = float(train.get("ema", 0.0))
        self.ema = {"gen_a": Ema(self.gen_a, decay), "gen_b": Ema(self.gen_b, decay)} if decay > 0 else {}
        # fixed random styles for the sample grids: the same every time a run (or its resume) starts
        styles = torch.Generator().manual_seed(int(train["seed"]))
        self.sample_styles = torch.randn(int(train["sample_styles"]), self.style_dim, generator=styles)

    @property
    def logged_values(self) -> tuple[str, ...]:
        return self._logged

    # ---- state
    def models(self) -> dict[str, nn.Module]:
        return {"gen_a": self.gen_a, "gen_b": self.gen_b, "dis_a": self.dis_a, "dis_b": self.dis_b}

    def ema_models(self) -> dict[str, nn.Module]:
        return {name: ema.module for name, ema in self.ema.items()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"gen": self.gen_opt, "dis": self.dis_opt}

    def schedulers(self) -> dict[str, Any]:
        return {"gen": self.gen_sched, "dis": self.dis_sched}

    # ---- training
    def _random_styles(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.placement.device
        return (torch.randn(batch, self.style_dim, device=device),
                torch.randn(batch, self.style_dim, device=device))

    def _dis_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        self.dis_opt.zero_grad(set_to_none=True)
        s_a, s_b = self._random_styles(x_a.shape[0])
        with torch.no_grad(), self.placement.precision.autocast():
            x_ba = self.gen_a.decode(self.gen_b.content_encoder(x_b), s_a)
            x_ab = self.gen_b.decode(self.gen_a.content_encoder(x_a), s_b)
        with self.placement.precision.autocast():
            fake_a, real_a, fake_b, real_b = self.dis_pair(x_a, x_ba.detach(), x_b, x_ab.detach())
            loss = self.loss_cfg["gan_w"] * (self.gan.discriminator(fake_a, real_a)
                                             + self.gan.discriminator(fake_b, real_b))
        self.placement.precision.step("dis", loss, self.dis_opt)
        return loss

    def _gen_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self.loss_cfg
        self.gen_opt.zero_grad(set_to_none=True)
        s_a, s_b = self._random_styles(x_a.shape[0])
        cycle = w["recon_x_cyc_w"] > 0
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(False)
        with self.placement.precision.autocast():
            o = self.gen_pair(x_a, x_b, s_a, s_b, cycle)
            terms = {
                "gen_adv": self.gan.generator(self.dis_a(o["x_ba"])) + self.gan.generator(self.dis_b(o["x_ab"])),
                "recon_x": F.l1_loss(o["x_a_recon"], x_a) + F.l1_loss(o["x_b_recon"], x_b),
                "recon_s": F.l1_loss(o["s_a_recon"], s_a) + F.l1_loss(o["s_b_recon"], s_b),
                "recon_c": F.l1_loss(o["c_a_recon"], o["c_a"]) + F.l1_loss(o["c_b_recon"], o["c_b"]),
            }
            if cycle:
                terms["recon_cyc"] = F.l1_loss(o["x_aba"], x_a) + F.l1_loss(o["x_bab"], x_b)
            weights = {"gen_adv": w["gan_w"], "recon_x": w["recon_x_w"], "recon_s": w["recon_s_w"],
                       "recon_c": w["recon_c_w"], "recon_cyc": w["recon_x_cyc_w"]}
            total = sum(weights[k] * v.float() for k, v in terms.items())
        self.placement.precision.step("gen", total, self.gen_opt)
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(True)
        return {"gen_total": total, **terms}

    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        x_a, x_b = images
        dis_loss = self._dis_update(x_a, x_b)
        gen_terms = self._gen_update(x_a, x_b)
        for sched in (self.dis_sched, self.gen_sched):
            sched.step()
        for name, ema in self.ema.items():
            ema.update(getattr(self, name))
        values = torch.stack([dis_loss.detach().float()] + [v.detach().float() for v in gen_terms.values()])
        return dict(zip(["dis_total", *gen_terms], values.tolist(), strict=True))

    # ---- samples
    @torch.no_grad()
    def sample_grid(self, fixed: list[torch.Tensor]) -> torch.Tensor:
        """Per direction, one row per fixed input: input | reconstruction | translations with the fixed
        random styles | reference image (from the target domain) | translation with its style."""
        gens = self.ema_models() or {"gen_a": self.gen_a, "gen_b": self.gen_b}
        device = self.placement.device
        x_a, x_b = (x.to(device) for x in fixed)
        blocks = []
        for x, ref, src, dst in ((x_a, x_b, gens["gen_a"], gens["gen_b"]), (x_b, x_a, gens["gen_b"], gens["gen_a"])):
            n = min(len(x), len(ref))
            x, ref = x[:n], ref[:n]
            content, style = src.encode(x)
            columns = [x, src.decode(content, style)]
            for s in self.sample_styles.to(device):
                columns.append(dst.decode(content, s.expand(n, -1)))
            columns += [ref, dst.decode(content, dst.style_encoder(ref))]
            rows = torch.cat([torch.cat(list(row), dim=2) for row in zip(*columns, strict=True)], dim=1)
            blocks.append(rows)
        gap = torch.ones(3, 4, blocks[0].shape[2], device=device)
        return torch.cat([blocks[0], gap, blocks[1]], dim=1).float().cpu()
