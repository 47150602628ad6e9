"""The two-view recipe (TUNIT's): every image of the dataset in one pool, labels ignored; each sample is an image
and an augmented view of it (:func:`trainer.data.augment.second_view`).

The order and the random numbers follow the unpaired recipe's rules (:class:`UnpairedDataset` over one domain):
sample ``p`` is entry ``p mod n`` of the epoch's permutation, augmented by a generator seeded by (seed, 0, p), so
resuming and sharding by rank are exact.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Any

import cv2
import numpy as np
import torch

from i2i_common.datasets import DatasetError, DatasetLayout, ImageDomain

from .augment import second_view
from .stream import StreamPosition, TrainingData, endless_loader, first_readable
from .transforms import to_tensor
from .unpaired import UnpairedDataset


@dataclass(frozen=True)
class TwoViewTransform:
    """The whole image squeezed to ``size`` x ``size`` (the official Resize); for training the image flipped with
    p=0.5 and its second view (grey with probability ``grayscale``), stacked [2, 3, size, size]. Picklable, for
    DataLoader workers."""

    size: int
    flip: bool = True
    grayscale: float = 0.0

    def eval(self, image: np.ndarray) -> torch.Tensor:
        """The image resized to ``size`` x ``size``, [3, size, size] in [-1, 1]."""
        h, w = image.shape[:2]
        interpolation = cv2.INTER_AREA if min(h, w) > self.size else cv2.INTER_CUBIC
        return to_tensor(cv2.resize(image, (self.size, self.size), interpolation=interpolation))

    def train(self, image: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """[first view, second view], the first flipped with p=0.5, the second from the unflipped image."""
        x = self.eval(image)
        first = x.flip(2) if self.flip and rng.random() < 0.5 else x
        return torch.stack([first, second_view(x, rng, self.grayscale)])


class TwoViewDataset(UnpairedDataset):
    """Position -> ``{"images": [image, its second view], "skipped": [...]}`` over one pool of files."""

    def __getitem__(self, position: int) -> dict[str, Any]:
        skipped: list[str] = []
        views = self._load(0, int(position), skipped)
        return {"images": [views[0], views[1]], "skipped": skipped}


def pooled(layout: DatasetLayout) -> ImageDomain:
    """Every domain's train (and test) files in one domain named after the dataset: labels are not used."""
    train = tuple(chain.from_iterable(d.train for d in layout.domains))
    if not train:
        raise DatasetError(f"{layout.root}: no training images")
    # the test images interleaved across domains, so the sample grid shows every domain
    test = tuple(f for group in zip_longest(*(d.test or d.train for d in layout.domains)) for f in group if f)
    return ImageDomain(layout.name, train, test)


def two_view_data(layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
    """The recipe: batches ``[images, second views]`` from every image of ``layout``; the first
    ``train.sample_rows`` test images (interleaved across domains, train images where there are none) as the
    fixed samples; the record counts the pool and names the layout's domains."""
    data_cfg = config["data"]
    if data_cfg["cache"]:
        raise DatasetError("data.cache is not available for the two-view recipe (tunit): set data.cache = false")
    domain = pooled(layout)
    grayscale = float(data_cfg["view_grayscale"])
    if not 0 <= grayscale <= 1:
        raise DatasetError(f"data.view_grayscale must be between 0 and 1, not {grayscale}")
    transform = TwoViewTransform(int(data_cfg["size"]), bool(data_cfg["flip"]), grayscale)
    dataset = TwoViewDataset([domain], transform, position.seed)
    fixed = [first_readable(domain.test, int(config["train"]["sample_rows"]), transform.eval)]
    record = {"dataset": layout.name, "layout": layout.kind, "images": {"all": len(domain.train)},
              "domains": {d.name: len(d.train) for d in layout.domains}}
    return TrainingData(endless_loader(dataset, position, int(data_cfg.get("workers", 0))), fixed, record)
