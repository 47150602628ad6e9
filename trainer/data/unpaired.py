"""The unpaired recipe (MUNIT's): one image per domain per sample, in a deterministic order that resumes exactly.

Sample ``p`` (a global position, counted across epochs) takes, for each domain, entry ``p mod n`` of that
epoch's permutation (seeded by (seed, domain, epoch)) and augments it with a generator seeded by
(seed, domain, p). So the data seen at any iteration depends only on the seed and the position, not on
worker count or on where a run was interrupted.
"""
from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from i2i_common.datasets import DatasetError, DatasetLayout, ImageDomain, require_domains
from i2i_common.images import ImageReadError

from .stream import StreamPosition, TrainingData, endless_loader, first_readable
from .transforms import ImageTransform, ShortSideCrop, load_rgb


@lru_cache(maxsize=8)
def permutation(seed: int, domain: int, epoch: int, n: int) -> np.ndarray:
    """The order of a domain's ``n`` images in ``epoch`` (seeded by (seed, domain, epoch))."""
    return np.random.default_rng([seed, domain, epoch]).permutation(n)


class UnpairedDataset(Dataset):
    """Position -> ``{"images": [tensor per domain], "skipped": [unreadable paths met]}``.

    An unreadable file is replaced by the next file of the same epoch's order and named in ``skipped``.
    """

    def __init__(self, domains: Sequence[ImageDomain], transform: ImageTransform, seed: int):
        self.files = [d.train for d in domains]
        for domain, files in zip(domains, self.files, strict=True):
            if not files:
                raise DatasetError(f"domain {domain.name!r} has no training images")
        self.transform, self.seed = transform, seed

    def __len__(self) -> int:
        return max(len(f) for f in self.files)

    def _load(self, d: int, position: int, skipped: list[str]) -> torch.Tensor:
        files = self.files[d]
        n = len(files)
        epoch, offset = divmod(position, n)
        order = permutation(self.seed, d, epoch, n)
        rng = np.random.default_rng([self.seed, d, position])
        for k in range(n):
            path = files[order[(offset + k) % n]]
            try:
                image = load_rgb(path)
            except ImageReadError:
                skipped.append(str(path))
                continue
            return self.transform.train(image, rng)
        raise DatasetError(f"no readable image in {Path(files[0]).parent} ({n} files tried)")

    def __getitem__(self, position: int) -> dict[str, Any]:
        skipped: list[str] = []
        images = [self._load(d, int(position), skipped) for d in range(len(self.files))]
        return {"images": images, "skipped": skipped}


def fixed_images(files: Sequence[Path], count: int, load_size: int, size: int) -> torch.Tensor:
    """The first ``count`` readable images of ``files`` through MUNIT's deterministic eval transform."""
    return first_readable(files, count, ShortSideCrop(load_size, size).eval)


def unpaired_data(layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition, domains: int,
                  transform: ImageTransform | None = None) -> TrainingData:
    """The recipe: ``domains`` domains of ``layout`` (checked), batches of one image per domain through
    ``transform`` (default :class:`ShortSideCrop` from ``[data]``), the first ``train.sample_rows`` test
    images of each domain (train images where there are no test ones) as fixed samples; the record names the
    domains ``a``, ``b``, ... in layout order."""
    data_cfg = config["data"]
    require_domains(layout, domains)
    transform = transform or ShortSideCrop.from_config(data_cfg)
    dataset = UnpairedDataset(layout.domains, transform, position.seed)
    fixed, record = unpaired_samples(layout, config, transform)
    return TrainingData(endless_loader(dataset, position, int(data_cfg.get("workers", 0))), fixed, record)


def unpaired_samples(layout: DatasetLayout, config: Mapping[str, Any],
                     transform: ImageTransform) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """What both unpaired recipes hand the loop besides batches: the first ``train.sample_rows`` test images
    of each domain (train images where there are no test ones) through ``transform.eval``, and the record
    (domains ``a``, ``b``, ... in layout order)."""
    ids = string.ascii_lowercase[:len(layout.domains)]
    fixed = [first_readable(d.test or d.train, int(config["train"]["sample_rows"]), transform.eval)
             for d in layout.domains]
    record = {"dataset": layout.name, "layout": layout.kind,
              "images": {i: len(d.train) for i, d in zip(ids, layout.domains, strict=True)},
              "domains": {i: d.name for i, d in zip(ids, layout.domains, strict=True)}}
    return fixed, record
