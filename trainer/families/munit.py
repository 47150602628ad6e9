"""MUNIT training (official ``MUNIT_Trainer``): per iteration a discriminator update, then a generator update.

Generator loss = gan_w * adversarial + recon_x_w * image reconstruction + recon_s_w * style reconstruction
+ recon_c_w * content reconstruction + recon_x_cyc_w * style-augmented cycle (all L1 except the GAN terms).

Two additions, off by default (the paper has neither; docs/training.md, "Example-guided training"): the
reference-guided path translates with the style encoded from a real image of the target domain, with its own
adversarial (``ref_adv_w``, both sides), content (``ref_content_w``) and style (``ref_style_w``) terms; the style
prior term (``style_prior_w``) pulls the first two moments of the encoded styles of real images towards N(0, I).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from i2i_common.datasets import DatasetLayout

from ..code_queue import KeyQueue
from ..data import StreamPosition, TrainingData, unpaired_recipe
from ..distill.munit import MunitDistill
from ..ema import Ema
from ..losses import gan_loss, prior_moment_penalty
from ..models.munit import MODEL_DEFAULTS, MunitGenerator, build_discriminator, build_generator
from .base import Placement, TrainingFamily

LOSS_DEFAULTS = {"gan_type": "lsgan", "gan_w": 1.0, "recon_x_w": 10.0, "recon_s_w": 1.0, "recon_c_w": 1.0,
                 "recon_x_cyc_w": 0.0,
                 # the reference-guided path and the style prior term (0 = off); the codes the prior term remembers
                 "ref_adv_w": 0.0, "ref_content_w": 0.0, "ref_style_w": 0.0, "style_prior_w": 0.0,
                 "style_prior_memory": 64}
REFERENCE_WEIGHTS = ("ref_adv_w", "ref_content_w", "ref_style_w")
# the paper's step decay (lr x 0.5 every 100k iterations) and the random-style columns of the sample grid
TRAIN_DEFAULTS = {"lr_step": 100_000, "lr_gamma": 0.5, "sample_styles": 3}
# every loss is the sum over the two domains; recon_cyc only when loss.recon_x_cyc_w > 0, the ref_* terms when
# the reference-guided path is on (dis_ref when ref_adv_w > 0), style_prior when style_prior_w > 0
LOGGED_VALUES = ("dis_total", "gen_total", "gen_adv", "recon_x", "recon_s", "recon_c")
REFERENCE_LOGGED = ("ref_adv", "ref_content", "ref_style")
PLOT_PANELS = {
    "adversarial": ("dis_total", "gen_adv", "dis_ref", "ref_adv"),
    "reconstruction (L1, unweighted)": ("recon_x", "recon_s", "recon_c", "recon_cyc", "ref_content", "ref_style"),
    "style prior (unweighted)": ("style_prior",),
    "generator total (weighted)": ("gen_total",),
}


class _GeneratorPair(nn.Module):
    """Everything the generator update computes, in one forward (what DDP synchronises)."""

    def __init__(self, gen_a: MunitGenerator, gen_b: MunitGenerator):
        super().__init__()
        self.gen_a, self.gen_b = gen_a, gen_b

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor, s_a: torch.Tensor, s_b: torch.Tensor,
                cycle: bool, reference: bool = False) -> dict[str, torch.Tensor]:
        c_a, s_a_prime = self.gen_a.encode(x_a)
        c_b, s_b_prime = self.gen_b.encode(x_b)
        out = {"c_a": c_a, "c_b": c_b, "s_a_prime": s_a_prime, "s_b_prime": s_b_prime,
               "x_a_recon": self.gen_a.decode(c_a, s_a_prime), "x_b_recon": self.gen_b.decode(c_b, s_b_prime),
               **self._cross(c_a, c_b, s_a, s_b, "")}
        if reference:  # the styles of the batch's other real images (rolled by one; batch 1: the image itself)
            out["s_a_ref"], out["s_b_ref"] = s_a_prime.roll(1, 0), s_b_prime.roll(1, 0)
            out.update(self._cross(c_a, c_b, out["s_a_ref"], out["s_b_ref"], "_ref"))
        if cycle:
            out["x_aba"] = self.gen_a.decode(out["c_a_recon"], s_a_prime)
            out["x_bab"] = self.gen_b.decode(out["c_b_recon"], s_b_prime)
        return out

    def _cross(self, c_a: torch.Tensor, c_b: torch.Tensor, s_a: torch.Tensor, s_b: torch.Tensor,
               tag: str) -> dict[str, torch.Tensor]:
        """Both cross-domain translations with the styles ``s_a``, ``s_b`` and their re-encodings, keyed by ``tag``."""
        out = {f"x_ba{tag}": self.gen_a.decode(c_b, s_a), f"x_ab{tag}": self.gen_b.decode(c_a, s_b)}
        out[f"c_b{tag}_recon"], out[f"s_a{tag}_recon"] = self.gen_a.encode(out[f"x_ba{tag}"])
        out[f"c_a{tag}_recon"], out[f"s_b{tag}_recon"] = self.gen_b.encode(out[f"x_ab{tag}"])
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
        w = self.loss_cfg = config["loss"]
        self.reference = any(w[k] > 0 for k in REFERENCE_WEIGHTS)
        self.prior = w["style_prior_w"] > 0
        self._logged = (LOGGED_VALUES + (("recon_cyc",) if w["recon_x_cyc_w"] > 0 else ())
                        + (("dis_ref",) if w["ref_adv_w"] > 0 else ()) + (REFERENCE_LOGGED if self.reference else ())
                        + (("style_prior",) if self.prior else ()))
        self.gan = gan_loss(self.loss_cfg["gan_type"])
        model_cfg, train = config["model"], config["train"]
        self.style_dim = int(model_cfg["style_dim"])
        self.gen_a, self.gen_b = (placement.place(build_generator(model_cfg)) for _ in range(2))
        self.dis_a, self.dis_b = (placement.place(build_discriminator(model_cfg)) for _ in range(2))
        # the style prior term's memory of each domain's recent encoded styles (checkpointed with the models)
        memory = int(w["style_prior_memory"]) if self.prior else 0
        self.style_memory = {f"style_memory_{d}": placement.place(KeyQueue(memory, self.style_dim))
                             for d in "ab"} if memory > 0 else {}
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
        return {"gen_a": self.gen_a, "gen_b": self.gen_b, "dis_a": self.dis_a, "dis_b": self.dis_b,
                **self.style_memory}

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

    def _dis_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self.loss_cfg
        self.dis_opt.zero_grad(set_to_none=True)
        s_a, s_b = self._random_styles(x_a.shape[0])
        reference = w["ref_adv_w"] > 0
        with torch.no_grad(), self.placement.precision.autocast():
            c_a, c_b = self.gen_a.content_encoder(x_a), self.gen_b.content_encoder(x_b)
            x_ba, x_ab = self.gen_a.decode(c_b, s_a), self.gen_b.decode(c_a, s_b)
            if reference:  # with the rolled real styles, as in the generator update; one forward per discriminator
                x_ba = torch.cat([x_ba, self.gen_a.decode(c_b, self.gen_a.style_encoder(x_a).roll(1, 0))])
                x_ab = torch.cat([x_ab, self.gen_b.decode(c_a, self.gen_b.style_encoder(x_b).roll(1, 0))])
        with self.placement.precision.autocast():
            fake_a, real_a, fake_b, real_b = self.dis_pair(x_a, x_ba.detach(), x_b, x_ab.detach())
            (fake_a, ref_a), (fake_b, ref_b) = (_split(f, x_a.shape[0]) for f in (fake_a, fake_b))
            loss = w["gan_w"] * (self.gan.discriminator(fake_a, real_a) + self.gan.discriminator(fake_b, real_b))
            terms = {}
            if reference:
                terms["dis_ref"] = self.gan.discriminator(ref_a, real_a) + self.gan.discriminator(ref_b, real_b)
                loss = loss + w["ref_adv_w"] * terms["dis_ref"]
        self.placement.precision.step("dis", loss, self.dis_opt)
        return {"dis_total": loss, **terms}

    def _gen_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self.loss_cfg
        self.gen_opt.zero_grad(set_to_none=True)
        s_a, s_b = self._random_styles(x_a.shape[0])
        cycle = w["recon_x_cyc_w"] > 0
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(False)
        with self.placement.precision.autocast():
            o = self.gen_pair(x_a, x_b, s_a, s_b, cycle, self.reference)
            terms = {
                "gen_adv": self.gan.generator(self.dis_a(o["x_ba"])) + self.gan.generator(self.dis_b(o["x_ab"])),
                "recon_x": F.l1_loss(o["x_a_recon"], x_a) + F.l1_loss(o["x_b_recon"], x_b),
                "recon_s": F.l1_loss(o["s_a_recon"], s_a) + F.l1_loss(o["s_b_recon"], s_b),
                "recon_c": F.l1_loss(o["c_a_recon"], o["c_a"]) + F.l1_loss(o["c_b_recon"], o["c_b"]),
            }
            if cycle:
                terms["recon_cyc"] = F.l1_loss(o["x_aba"], x_a) + F.l1_loss(o["x_bab"], x_b)
            if self.reference:
                terms.update(self._reference_terms(o))
            if self.prior:
                terms["style_prior"] = sum(
                    prior_moment_penalty(o[f"s_{d}_prime"], self._memory(d, o[f"s_{d}_prime"])) for d in "ab")
            weights = {"gen_adv": w["gan_w"], "recon_x": w["recon_x_w"], "recon_s": w["recon_s_w"],
                       "recon_c": w["recon_c_w"], "recon_cyc": w["recon_x_cyc_w"], "ref_adv": w["ref_adv_w"],
                       "ref_content": w["ref_content_w"], "ref_style": w["ref_style_w"],
                       "style_prior": w["style_prior_w"]}
            total = sum(weights[k] * v.float() for k, v in terms.items())
        self.placement.precision.step("gen", total, self.gen_opt)
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(True)
        return {"gen_total": total, **terms}

    def _reference_terms(self, o: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The reference-guided path's adversarial, content and style reconstruction terms (the reference codes
        are the style targets as they are, not as the generator would like them: detached)."""
        return {
            "ref_adv": self.gan.generator(self.dis_a(o["x_ba_ref"])) + self.gan.generator(self.dis_b(o["x_ab_ref"])),
            "ref_content": F.l1_loss(o["c_a_ref_recon"], o["c_a"]) + F.l1_loss(o["c_b_ref_recon"], o["c_b"]),
            "ref_style": (F.l1_loss(o["s_a_ref_recon"], o["s_a_ref"].detach())
                          + F.l1_loss(o["s_b_ref_recon"], o["s_b_ref"].detach())),
        }

    def _memory(self, domain: str, codes: torch.Tensor) -> torch.Tensor | None:
        """The remembered codes of ``domain`` for the style prior term (None without a memory); ``codes`` join
        them afterwards."""
        memory = self.style_memory.get(f"style_memory_{domain}")
        if memory is None:
            return None
        remembered = memory.contents().clone()
        memory.push(codes)
        return remembered

    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        x_a, x_b = images
        terms = self._dis_update(x_a, x_b)
        terms.update(self._gen_update(x_a, x_b))
        for sched in (self.dis_sched, self.gen_sched):
            sched.step()
        for name, ema in self.ema.items():
            ema.update(getattr(self, name))
        values = torch.stack([terms[k].detach().float() for k in self._logged])
        return dict(zip(self._logged, values.tolist(), strict=True))

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


def _split(outputs: list[torch.Tensor], n: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Multi-scale discriminator outputs of a concatenated batch -> those of its first ``n`` images and of the rest."""
    return [o[:n] for o in outputs], [o[n:] for o in outputs]
