"""The loop is family-neutral: a family brings its own defaults, data recipe and logged values.

A toy family registered for the test (through the one registry, ``TRAINING_FAMILIES``) trains on ONE
unlabeled folder with two augmented views of each image, as TUNIT will, through the real ``train()``:
no line of the loop knows about it. The unpaired recipe takes another transform, as U-GAT-IT's resize will.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from trainer.checkpoint import load_checkpoint
from trainer.config import load_config, resolve_config
from trainer.data import (
    ShortSideCrop,
    StreamPosition,
    TrainingData,
    endless_loader,
    find_layout,
    first_readable,
    load_rgb,
    require_domains,
    to_tensor,
    unpaired_data,
)
from trainer.families import TRAINING_FAMILIES, TrainingFamily
from trainer.loop import train
from trainer.metrics import read_metrics


class TwoViews(Dataset):
    """Position -> ``views`` random crops of one image (the position's file), seeded by (seed, position)."""

    def __init__(self, files, transform: ShortSideCrop, seed: int, views: int):
        self.files, self.transform, self.seed, self.views = files, transform, seed, views

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, position: int) -> dict:
        image = load_rgb(self.files[position % len(self.files)])
        rng = np.random.default_rng([self.seed, position])
        return {"images": [self.transform.train(image, rng) for _ in range(self.views)], "skipped": []}


class TwoViewToy(TrainingFamily):
    """One domain, two views per image, a 3x3 conv that predicts one view from the other."""

    name = "two_view_toy"
    num_domains = 1
    generator_names = ("net",)
    model_defaults = {"width": 3}
    loss_defaults = {"match_w": 1.0}
    data_defaults = {"views": 2}
    train_defaults = {"temperature": 0.5}
    progress_keys = ("match",)

    @classmethod
    def make_data(cls, layout, config, position: StreamPosition) -> TrainingData:
        require_domains(layout, cls.num_domains)
        files = layout.domains[0].train
        transform = ShortSideCrop.from_config(config["data"])
        dataset = TwoViews(files, transform, position.seed, config["data"]["views"])
        fixed = [first_readable(files, config["train"]["sample_rows"], transform.eval)]
        record = {"dataset": layout.name, "layout": layout.kind, "images": {"all": len(files)}}
        return TrainingData(endless_loader(dataset, position, config["data"]["workers"]), fixed, record)

    def __init__(self, config, placement):
        self.placement, self.weight = placement, config["loss"]["match_w"]
        self.net = placement.place(nn.Conv2d(3, config["model"]["width"], 3, padding=1))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config["train"]["lr"])
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, 1000)

    @property
    def logged_values(self) -> tuple[str, ...]:
        return ("match", "spread")

    def models(self):
        return {"net": self.net}

    def ema_models(self):
        return {}

    def optimizers(self):
        return {"net": self.opt}

    def schedulers(self):
        return {"net": self.sched}

    def train_step(self, images):
        first, second = images
        self.opt.zero_grad(set_to_none=True)
        match = self.weight * F.mse_loss(self.net(first), second)
        match.backward()
        self.opt.step()
        self.sched.step()
        return {"match": float(match.detach()), "spread": float((first - second).abs().mean())}

    @torch.no_grad()
    def sample_grid(self, fixed):
        x = fixed[0].to(self.placement.device)
        return torch.cat([torch.cat(list(x), 2), torch.cat(list(self.net(x).clamp(-1, 1)), 2)], 1).cpu()


@pytest.fixture
def toy_family(monkeypatch):
    monkeypatch.setitem(TRAINING_FAMILIES, TwoViewToy.name, TwoViewToy)
    return TwoViewToy


def toy_config(**train: int) -> dict:
    return {"model": {"family": "two_view_toy"}, "data": {"load_size": 36, "size": 32, "workers": 0},
            "train": {"iterations": 3, "log_every": 1, "sample_rows": 2, "checkpoint_every": 2,
                      "sample_every": 100, **train}}


def test_family_defaults_complete_the_generic_ones(toy_family):
    resolved = resolve_config(toy_config())
    assert resolved["data"]["views"] == 2 and resolved["train"]["temperature"] == 0.5
    assert resolved["model"] == {"family": "two_view_toy", "width": 3} and resolved["loss"] == {"match_w": 1.0}
    assert not {"lr_step", "lr_gamma", "sample_styles"} & set(resolved["train"])  # MUNIT's stay MUNIT's
    assert {"lr_step", "lr_gamma", "sample_styles"} <= set(resolve_config(load_config("munit_cpu"))["train"])


def test_a_one_folder_two_view_family_trains_and_resumes_exactly(toy_family, one_folder, tmp_path):
    full = tmp_path / "full"
    result = train(toy_config(), one_folder, full, device="cpu", progress=False)
    assert result.iteration == 3 and set(result.last_losses) == {"match", "spread"}
    assert (full / "metrics.csv").read_text(encoding="utf-8").splitlines()[0] == "iteration,match,spread,lr,it_per_s"
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt["family"] == "two_view_toy" and set(ckpt["models"]) == {"net"}
    assert ckpt["data"] == {"dataset": "pets", "layout": "unlabeled", "images": {"all": 8}}
    grid = cv2.imread(str(full / "samples" / "sample_00000003.png"))
    assert grid.shape == (64, 64, 3)  # the family's grid of its fixed images: 2 rows of input | output
    assert load_config(full / "config.toml")["data"]["views"] == 2

    part = tmp_path / "part"
    train(toy_config(iterations=2), one_folder, part, device="cpu", progress=False)
    train(toy_config(), one_folder, part, device="cpu", resume=True, progress=False)
    rows = [{k: v for k, v in row.items() if k != "it_per_s"} for row in read_metrics(part / "metrics.csv")]
    assert rows == [{k: v for k, v in row.items() if k != "it_per_s"} for row in read_metrics(full / "metrics.csv")]


def test_a_value_the_family_did_not_declare_is_an_error(toy_family, one_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(TwoViewToy, "logged_values", property(lambda self: ("match",)))
    with pytest.raises(ValueError, match=r"\['spread'\] are not among the declared columns"):
        train(toy_config(), one_folder, tmp_path / "run", device="cpu", progress=False)


class SquareResize:
    """Another pipeline for the unpaired recipe: the whole image squeezed to ``size`` x ``size``."""

    def __init__(self, size: int):
        self.size = size

    def train(self, image, rng):
        return to_tensor(cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA))

    def eval(self, image):
        return self.train(image, None)


def test_the_unpaired_recipe_takes_another_transform(tiny_cat2dog):
    layout = find_layout(tiny_cat2dog)
    config = {"data": {"workers": 0}, "train": {"sample_rows": 1}}
    data = unpaired_data(layout, config, StreamPosition(batch_size=2, seed=1), 2, transform=SquareResize(24))
    batch = next(iter(data.batches))
    assert [tuple(x.shape) for x in batch["images"]] == [(2, 3, 24, 24), (2, 3, 24, 24)]
    expected = SquareResize(24).eval(load_rgb(layout.domains[0].test[0]))
    torch.testing.assert_close(data.fixed[0][0], expected)
