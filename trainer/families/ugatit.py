"""U-GAT-IT training (official PyTorch port, ``UGATIT.train``): per iteration a discriminator update, then a
generator update, then rho clipped to [0, 1].

Discriminator loss = adv_w * LSGAN on the patch and CAM logits of the global and local discriminators of
both domains. Generator loss = adv_w * the same terms for the translations + cycle_w * cycle L1 +
identity_w * identity L1 (each generator on its own target domain) + cam_w * CAM BCE (the translation's
CAM logit labelled 1, the identity pass's 0). The learning rate decays linearly to 0 over the second half.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from i2i_common.datasets import DatasetLayout

from ..config_error import ConfigError
from ..data import StreamPosition, TrainingData, unpaired_recipe
from ..distill.ugatit import UgatitDistill
from ..ema import Ema
from ..losses import lsgan_towards
from ..models.ugatit import MODEL_DEFAULTS, UgatitGenerator, build_discriminators, build_generator
from .base import Placement, TrainingFamily

LOSS_DEFAULTS = {"adv_w": 1.0, "cycle_w": 10.0, "identity_w": 10.0, "cam_w": 1000.0}
# the official augmentation: flip, resize to 286/256 of the crop, random crop
DATA_DEFAULTS = {"load_size": 286, "size": 256}
# the paper's 1M iterations, the learning rate decaying linearly from half way
TRAIN_DEFAULTS = {"iterations": 1_000_000, "decay_start": 0.5}
# every loss is the sum over the two domains (adversarial: over both discriminators, patch and CAM logits)
LOGGED_VALUES = ("dis_total", "gen_total", "gen_adv", "cycle", "identity", "cam")
PLOT_PANELS = {
    "adversarial (LSGAN, patch + CAM)": ("dis_total", "gen_adv"),
    "reconstruction (L1, unweighted)": ("cycle", "identity"),
    "generator CAM (BCE, unweighted)": ("cam",),
    "generator total (weighted)": ("gen_total",),
}
# the grid's heatmap colours, from cold (unattended) to hot: blue, cyan, yellow, red
_HEAT_STOPS = torch.tensor([[0.0, 0.0, 0.6], [0.0, 0.8, 1.0], [1.0, 0.9, 0.0], [0.9, 0.0, 0.0]])


def linear_decay(iterations: int, decay_start: float):
    """The schedule factor: 1 until ``decay_start * iterations``, then linear to 0 at ``iterations``."""
    start = int(iterations * decay_start)
    span = max(1, iterations - start)
    return lambda it: 1.0 if it < start else max(0.0, (iterations - it) / span)


def _cam_bce(logit: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logit.float(), torch.full_like(logit.float(), target))


class _Discriminators(nn.Module):
    """A domain's global and local discriminators: ``forward(x)`` -> their four logit maps (patch, CAM each)."""

    def __init__(self, model_cfg: Mapping[str, Any]):
        super().__init__()
        self.global_dis, self.local_dis = build_discriminators(model_cfg)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        g_patch, g_cam, _ = self.global_dis(x)
        l_patch, l_cam, _ = self.local_dis(x)
        return [g_patch, g_cam, l_patch, l_cam]


class _GeneratorPass(nn.Module):
    """Everything the generator update computes, in one forward (what DDP synchronises)."""

    def __init__(self, gen_a2b: UgatitGenerator, gen_b2a: UgatitGenerator):
        super().__init__()
        self.gen_a2b, self.gen_b2a = gen_a2b, gen_b2a

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        x_ab, cam_ab, _ = self.gen_a2b(x_a)
        x_ba, cam_ba, _ = self.gen_b2a(x_b)
        x_aa, cam_aa, _ = self.gen_b2a(x_a)
        x_bb, cam_bb, _ = self.gen_a2b(x_b)
        return {"x_ab": x_ab, "x_ba": x_ba, "x_aba": self.gen_b2a(x_ab)[0], "x_bab": self.gen_a2b(x_ba)[0],
                "x_aa": x_aa, "x_bb": x_bb, "cam_ab": cam_ab, "cam_ba": cam_ba, "cam_aa": cam_aa, "cam_bb": cam_bb}


class _DiscriminatorPass(nn.Module):
    """Both domains' discriminators on reals and fakes, in one forward (what DDP synchronises)."""

    def __init__(self, dis_a: _Discriminators, dis_b: _Discriminators):
        super().__init__()
        self.dis_a, self.dis_b = dis_a, dis_b

    def forward(self, real_a, fake_a, real_b, fake_b):
        return self.dis_a(real_a), self.dis_a(fake_a), self.dis_b(real_b), self.dis_b(fake_b)


def heat_colours(heatmap: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Heatmaps [B, 1, h, w] -> colour images [B, 3, H, W] in [-1, 1], each normalised to its own range."""
    low = heatmap.amin(dim=(2, 3), keepdim=True)
    high = heatmap.amax(dim=(2, 3), keepdim=True)
    h = ((heatmap - low) / (high - low).clamp_min(1e-8)).float()
    h = F.interpolate(h, size=size, mode="bilinear", align_corners=False)[:, 0].clamp(0, 1)
    stops = _HEAT_STOPS.to(h.device)
    pos = h * (len(stops) - 1)
    index = pos.floor().long().clamp(max=len(stops) - 2)
    frac = (pos - index)[..., None]
    rgb = stops[index] * (1 - frac) + stops[index + 1] * frac
    return rgb.permute(0, 3, 1, 2) * 2 - 1


class UgatitFamily(TrainingFamily):
    """Two generators (a2b, b2a), a global and a local discriminator per domain, Adam + linear decay."""

    name = "ugatit"
    num_domains = 2
    generator_names = ("gen_a2b", "gen_b2a")
    loss_defaults = LOSS_DEFAULTS
    model_defaults = MODEL_DEFAULTS
    data_defaults = DATA_DEFAULTS
    train_defaults = TRAIN_DEFAULTS
    progress_keys = ("dis_total", "gen_total", "cam")
    plot_panels = PLOT_PANELS
    distill = UgatitDistill
    logged_values = LOGGED_VALUES

    @classmethod
    def make_data(cls, layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
        """The unpaired recipe (one image of each domain per sample: resize, random crop, flip). The official
        loader resizes to a square; for the square images of the shipped datasets that is the same crop."""
        return unpaired_recipe(layout, config, position, cls.num_domains)

    def __init__(self, config: Mapping[str, Any], placement: Placement):
        self.placement = placement
        self.weights = config["loss"]
        model_cfg, train = config["model"], config["train"]
        if not model_cfg["light"] and model_cfg["img_size"] != config["data"]["size"]:
            raise ConfigError(f"the full U-GAT-IT generator is built for model.img_size = {model_cfg['img_size']} "
                             f"but data.size is {config['data']['size']}: set them equal, or model.light = true")
        self.gen_a2b, self.gen_b2a = (placement.place(build_generator(model_cfg)) for _ in range(2))
        self.dis_a, self.dis_b = (placement.place(_Discriminators(model_cfg)) for _ in range(2))
        self.gen_pass = placement.distribute(_GeneratorPass(self.gen_a2b, self.gen_b2a))
        self.dis_pass = placement.distribute(_DiscriminatorPass(self.dis_a, self.dis_b))
        if train["compile"]:  # the training forwards, in place: the modules and their state_dict keys stay
            self.gen_pass.compile()
            self.dis_pass.compile()
        self.gen_opt = placement.adam([self.gen_a2b, self.gen_b2a], train)
        self.dis_opt = placement.adam([self.dis_a, self.dis_b], train)
        factor = linear_decay(int(train["iterations"]), float(train["decay_start"]))
        self.gen_sched = torch.optim.lr_scheduler.LambdaLR(self.gen_opt, factor)
        self.dis_sched = torch.optim.lr_scheduler.LambdaLR(self.dis_opt, factor)
        decay = float(train["ema"])
        self.ema = ({name: Ema(getattr(self, name), decay) for name in self.generator_names} if decay > 0 else {})

    # ---- state
    def models(self) -> dict[str, nn.Module]:
        return {"gen_a2b": self.gen_a2b, "gen_b2a": self.gen_b2a, "dis_a": self.dis_a, "dis_b": self.dis_b}

    def ema_models(self) -> dict[str, nn.Module]:
        return {name: ema.module for name, ema in self.ema.items()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"gen": self.gen_opt, "dis": self.dis_opt}

    def schedulers(self) -> dict[str, Any]:
        return {"gen": self.gen_sched, "dis": self.dis_sched}

    # ---- training
    def _dis_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        precision = self.placement.precision
        self.dis_opt.zero_grad(set_to_none=True)
        with torch.no_grad(), precision.autocast():
            x_ab, x_ba = self.gen_a2b(x_a)[0], self.gen_b2a(x_b)[0]
        with precision.autocast():
            real_a, fake_a, real_b, fake_b = self.dis_pass(x_a, x_ba, x_b, x_ab)
            loss = self.weights["adv_w"] * (lsgan_towards(real_a + real_b, 1.0)
                                            + lsgan_towards(fake_a + fake_b, 0.0))
        precision.step("dis", loss, self.dis_opt)
        return loss

    def _gen_update(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        w, precision = self.weights, self.placement.precision
        self.gen_opt.zero_grad(set_to_none=True)
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(False)
        with precision.autocast():
            o = self.gen_pass(x_a, x_b)
            terms = {
                "gen_adv": lsgan_towards(self.dis_a(o["x_ba"]) + self.dis_b(o["x_ab"]), 1.0),
                "cycle": F.l1_loss(o["x_aba"].float(), x_a) + F.l1_loss(o["x_bab"].float(), x_b),
                "identity": F.l1_loss(o["x_aa"].float(), x_a) + F.l1_loss(o["x_bb"].float(), x_b),
                "cam": (_cam_bce(o["cam_ba"], 1.0) + _cam_bce(o["cam_aa"], 0.0)
                        + _cam_bce(o["cam_ab"], 1.0) + _cam_bce(o["cam_bb"], 0.0)),
            }
            total = (w["adv_w"] * terms["gen_adv"] + w["cycle_w"] * terms["cycle"]
                     + w["identity_w"] * terms["identity"] + w["cam_w"] * terms["cam"])
        precision.step("gen", total, self.gen_opt)
        for dis in (self.dis_a, self.dis_b):
            dis.requires_grad_(True)
        self.gen_a2b.clip_rho()
        self.gen_b2a.clip_rho()
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
        """Per direction, one row per fixed input: input | its attention heatmap | translation | cycle back |
        identity pass (the target domain's generator on the input)."""
        gens = self.ema_models() or {"gen_a2b": self.gen_a2b, "gen_b2a": self.gen_b2a}
        device = self.placement.device
        x_a, x_b = (x.to(device) for x in fixed)
        blocks = []
        for x, there, back in ((x_a, gens["gen_a2b"], gens["gen_b2a"]), (x_b, gens["gen_b2a"], gens["gen_a2b"])):
            translated, _, heatmap = there(x)
            columns = [x, heat_colours(heatmap, tuple(x.shape[2:])), translated, back(translated)[0], back(x)[0]]
            blocks.append(torch.cat([torch.cat(list(row), dim=2) for row in zip(*columns, strict=True)], dim=1))
        gap = torch.ones(3, 4, blocks[0].shape[2], device=device)
        return torch.cat([blocks[0], gap, blocks[1]], dim=1).float().cpu()
