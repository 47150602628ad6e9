"""TUNIT training (official ``train_unsupervised.py``): no domain labels; a guiding network clusters the images
into K pseudo-domains and encodes their styles, a generator translates towards a reference image's style.

Per iteration, on images ``x`` and their second views ``v``:

* guiding network: MoCo (``x``'s style as the query, ``v``'s style from the key encoder, an EMA copy of the
  guiding network, as the positive, the key queue as negatives) + ``iic_w`` x IIC between the cluster
  distributions of ``x`` and ``v``; scaled by ``joint_guide_w`` once the warm-up is over.
* after ``train.warmup_iterations``, also the GAN, with a shuffled batch as references: the discriminator (hinge,
  ``r1_w`` x R1 on the reals) judges the references at their own cluster and the translations of ``x`` towards
  them at the references' cluster; the generator (and the guiding network, a second step) minimises ``adv_w`` x
  the adversarial terms of the translation and of the reconstruction (``x`` with its own style, at ``x``'s
  cluster) + ``rec_w`` x L1 reconstruction + ``style_w`` x the contrastive loss of the translation's style
  against the reference's key.
* the keys of ``v`` join the queue; the key encoder follows the guiding network, and from the end of the
  warm-up the generator's EMA follows the generator (decay ``train.ema`` for both).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from i2i_common.datasets import DatasetLayout

from ..code_queue import KeyQueue
from ..config_error import ConfigError
from ..data import StreamPosition, TrainingData
from ..data.views import two_view_data
from ..distill.tunit import TunitDistill
from ..ema import Ema
from ..models.tunit import MODEL_DEFAULTS, build_discriminator, build_generator, build_guiding_network
from .base import Placement, TrainingFamily
from .tunit_losses import contrastive_loss, hinge_fake, hinge_real, iic_loss, r1_penalty

# the networks' defaults with the widths written out (a resolved config is written back as TOML, which has no
# null): 64, the official width below 256 px; a config at 256 px or more sets ngf = ndf = 32 (the official rule)
FAMILY_MODEL_DEFAULTS = {**MODEL_DEFAULTS, "ngf": 64, "ndf": 64}
LOSS_DEFAULTS = {"adv_w": 1.0, "rec_w": 0.1, "style_w": 0.01, "r1_w": 10.0, "iic_w": 5.0, "joint_guide_w": 0.1,
                 "temperature": 0.07}
# the official Resize((128, 128)): the whole image squeezed to the training side
# view_grayscale: the share of second views also turned grey (0 = the official views; see docs/training.md)
DATA_DEFAULTS = {"load_size": 128, "size": 128, "view_grayscale": 0.0}
# 200 "epochs" of 1000 iterations, the first 65 for the guiding network alone; the guiding network's Adam has
# torch's default betas and weight decay 1e-3 (G and D: RMSprop, train.lr and train.weight_decay)
TRAIN_DEFAULTS = {"iterations": 200_000, "warmup_iterations": 65_000, "batch_size": 32, "beta1": 0.9,
                  "guide_weight_decay": 1e-3, "ema": 0.999, "queue_size": 1024}
LOSS_VALUES = ("guide_total", "moco", "iic", "dis_total", "dis_adv", "r1", "gen_total", "gen_adv", "rec", "style")
PLOTTED_CLUSTERS = 32  # cluster_k columns the loss-curve panel looks for (a run logs K of them)
PLOT_PANELS = {
    "guiding network": ("guide_total", "moco", "iic"),
    "adversarial (hinge) and R1": ("dis_total", "dis_adv", "gen_adv", "r1"),
    "generator (unweighted)": ("rec", "style"),
    "generator total (weighted)": ("gen_total",),
    "cluster sizes in the batch": tuple(f"cluster_{k}" for k in range(PLOTTED_CLUSTERS)),
}


class TunitFamily(TrainingFamily):
    """Guiding network (Adam), generator and discriminator (RMSprop), the key queue, EMA copies of the
    guiding network (the MoCo key encoder) and of the generator."""

    name = "tunit"
    num_domains = 1  # one pool of images; a labelled layout is pooled
    generator_names = ("gen", "guide")
    model_defaults = FAMILY_MODEL_DEFAULTS
    loss_defaults = LOSS_DEFAULTS
    data_defaults = DATA_DEFAULTS
    train_defaults = TRAIN_DEFAULTS
    progress_keys = ("moco", "iic", "gen_total")
    plot_panels = PLOT_PANELS
    distill = TunitDistill

    @classmethod
    def make_data(cls, layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
        """The two-view recipe over every image of the dataset (labels ignored)."""
        return two_view_data(layout, config, position)

    def __init__(self, config: Mapping[str, Any], placement: Placement):
        model_cfg, train = config["model"], config["train"]
        if placement.distributed or train["compile"] or placement.precision.use_scaler:
            raise ConfigError("tunit trains on one process, without train.compile and without fp16 loss scaling "
                              "(train.amp = \"bf16\" or \"none\"); the others are not supported yet")
        if model_cfg["img_size"] != config["data"]["size"]:
            raise ConfigError(f"the TUNIT discriminator is built for model.img_size = {model_cfg['img_size']} "
                              f"but data.size is {config['data']['size']}: set them equal")
        self.placement, self.w = placement, config["loss"]
        self.warmup = int(train["warmup_iterations"])
        self.clusters = int(model_cfg["output_k"])
        self.guide = placement.place(build_guiding_network(model_cfg))
        self.gen = placement.place(build_generator(model_cfg))
        self.dis = placement.place(build_discriminator(model_cfg))
        self.queue = placement.place(KeyQueue(int(train["queue_size"]), int(model_cfg["style_dim"])))
        self.guide_opt = placement.adam([self.guide], {**train, "weight_decay": train["guide_weight_decay"]})
        self.gen_opt, self.dis_opt = (
            torch.optim.RMSprop(m.parameters(), lr=train["lr"], weight_decay=train["weight_decay"])
            for m in (self.gen, self.dis))
        decay = float(train["ema"])
        self.ema = {"gen": Ema(self.gen, decay), "guide": Ema(self.guide, decay)}
        # a constant learning rate (the official one); its scheduler counts the iterations, so the phase is
        # known after a resume or a travel restore
        self.clock = torch.optim.lr_scheduler.LambdaLR(self.guide_opt, lambda it: 1.0)

    @property
    def logged_values(self) -> tuple[str, ...]:
        return LOSS_VALUES + tuple(f"cluster_{k}" for k in range(self.clusters))

    # ---- state
    def models(self) -> dict[str, nn.Module]:
        return {"guide": self.guide, "gen": self.gen, "dis": self.dis, "queue": self.queue}

    def ema_models(self) -> dict[str, nn.Module]:
        return {name: ema.module for name, ema in self.ema.items()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"guide": self.guide_opt, "gen": self.gen_opt, "dis": self.dis_opt}

    def schedulers(self) -> dict[str, Any]:
        return {"guide": self.clock}

    # ---- training
    @torch.no_grad()
    def _keys(self, x: torch.Tensor) -> torch.Tensor:
        """Style keys from the key encoder, normalised by its batch statistics (it runs in training mode, as
        the official ``C_EMA``). Its running statistics are left as they were: they follow the guiding
        network's through the EMA, so the exported (eval-mode) guide normalises clean images with statistics
        of the network it averages, not of the augmented views it was keyed on (the official code copies the
        guiding network's into ``C_EMA`` each epoch, ``copy_norm_params``)."""
        encoder = self.ema["guide"].module
        running = [b.clone() for b in encoder.buffers()]
        encoder.train()
        with self.placement.precision.autocast():
            keys = encoder.style(x).float()
        encoder.eval()
        for buffer, saved in zip(encoder.buffers(), running, strict=True):
            buffer.copy_(saved)
        return keys

    def _guide_update(self, x: torch.Tensor, view: torch.Tensor, keys: torch.Tensor,
                      joint: bool) -> dict[str, torch.Tensor]:
        self.guide_opt.zero_grad(set_to_none=True)
        with self.placement.precision.autocast():
            style, logits = self.guide(x)
            view_logits = self.guide.clusters(view)
            moco = contrastive_loss(style, keys, self.queue.contents(), self.w["temperature"])
            iic = iic_loss(logits.float().softmax(1), view_logits.float().softmax(1))
            total = (moco + self.w["iic_w"] * iic) * (self.w["joint_guide_w"] if joint else 1.0)
        self.placement.precision.step("guide", total, self.guide_opt)
        sizes = torch.bincount(logits.detach().argmax(1), minlength=self.clusters).float()
        return {"guide_total": total, "moco": moco, "iic": iic, "sizes": sizes}

    def _dis_update(self, x: torch.Tensor, ref: torch.Tensor, y_ref: torch.Tensor) -> dict[str, torch.Tensor]:
        precision = self.placement.precision
        self.dis_opt.zero_grad(set_to_none=True)
        with torch.no_grad(), precision.autocast():
            fake = self.gen.decode(self.gen.encode(x), self.guide.style(ref))
        real = ref.detach().requires_grad_(True)
        with precision.autocast():
            real_logits = self.dis(real, y_ref)
            adv = hinge_real(real_logits) + hinge_fake(self.dis(fake.detach(), y_ref))
            r1 = r1_penalty(real_logits, real)
            total = adv + self.w["r1_w"] * r1
        precision.step("dis", total, self.dis_opt)
        return {"dis_total": total, "dis_adv": adv, "r1": r1}

    def _gen_update(self, x: torch.Tensor, ref: torch.Tensor, y_org: torch.Tensor,
                    y_ref: torch.Tensor) -> dict[str, torch.Tensor]:
        precision, w = self.placement.precision, self.w
        self.gen_opt.zero_grad(set_to_none=True)
        self.guide_opt.zero_grad(set_to_none=True)
        ref_keys = self._keys(ref)
        self.dis.requires_grad_(False)
        with precision.autocast():
            content = self.gen.encode(x)
            fake = self.gen.decode(content, self.guide.style(ref))
            rec = self.gen.decode(content, self.guide.style(x))
            adv = -self.dis(fake, y_ref).float().mean() - self.dis(rec, y_org).float().mean()
            rec_l1 = (rec.float() - x).abs().mean()
            style = contrastive_loss(self.guide.style(fake), ref_keys, self.queue.contents(), w["temperature"])
            total = w["adv_w"] * adv + w["rec_w"] * rec_l1 + w["style_w"] * style
        total.backward()  # no loss scaling (refused in __init__): both optimisers step on the same backward
        self.guide_opt.step()
        self.gen_opt.step()
        self.dis.requires_grad_(True)
        return {"gen_total": total, "gen_adv": adv, "rec": rec_l1, "style": style}

    def _gan_step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        order = torch.randperm(x.shape[0], device=x.device)
        ref = x[order]
        with torch.no_grad(), self.placement.precision.autocast():
            y_org = self.guide.clusters(x).argmax(1)
        y_ref = y_org[order]
        return {**self._dis_update(x, ref, y_ref), **self._gen_update(x, ref, y_org, y_ref)}

    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        x, view = images
        if int(self.queue.count) == 0:  # the first batch's own keys seed the queue (official: one batch)
            self.queue.push(self._keys(x))
        joint = self.clock.last_epoch >= self.warmup
        keys = self._keys(view)
        terms = self._guide_update(x, view, keys, joint)
        sizes = terms.pop("sizes")
        zero = torch.zeros((), device=x.device)
        gan = self._gan_step(x) if joint else dict.fromkeys(LOSS_VALUES[3:], zero)
        self.queue.push(keys)
        if joint:
            self.ema["gen"].update(self.gen)
        self.ema["guide"].update(self.guide)
        self.clock.step()
        values = torch.cat([torch.stack([v.detach().float() for v in {**terms, **gan}.values()]), sizes])
        return dict(zip(self.logged_values, values.tolist(), strict=True))

    # ---- samples
    @torch.no_grad()
    def sample_grid(self, fixed: list[torch.Tensor]) -> torch.Tensor:
        """The first row the fixed images as references (after a blank corner); then one row per fixed image:
        the image, then its translations with each reference's style (the diagonal is its reconstruction)."""
        gen, guide = self.ema["gen"].module, self.ema["guide"].module
        x = fixed[0].to(self.placement.device)
        styles = guide.style(x)
        content = gen.encode(x)
        rows = [torch.cat([torch.ones_like(x[0]), *x], dim=2)]
        for i in range(len(x)):
            translated = gen.decode(content[i:i + 1].expand(len(x), -1, -1, -1), styles)
            rows.append(torch.cat([x[i], *translated], dim=2))
        return torch.cat(rows, dim=1).float().cpu()
