"""Unpaired training data: one image per domain per sample, a deterministic order that resumes exactly,
and a sampler that shards by rank under DistributedDataParallel.

Sample ``p`` (a global position, counted across epochs) takes, for each domain, entry ``p mod n`` of that
epoch's permutation (seeded by (seed, domain, epoch)) and augments it with a generator seeded by
(seed, domain, p). So the data seen at any iteration depends only on the seed and the position, not on
worker count or on where a run was interrupted.
"""
from __future__ import annotations

import signal
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from i2i_common.images import ImageReadError

from i2i_common.datasets import DatasetError, ImageDomain
from .transforms import eval_transform, load_rgb, train_transform


@lru_cache(maxsize=8)
def _permutation(seed: int, domain: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, domain, epoch]).permutation(n)


class UnpairedDataset(Dataset):
    """Position -> ``{"images": [tensor per domain], "skipped": [unreadable paths met]}``.

    An unreadable file is replaced by the next file of the same epoch's order and named in ``skipped``.
    """

    def __init__(self, domains: Sequence[ImageDomain], load_size: int, size: int, flip: bool, seed: int):
        self.files = [d.train for d in domains]
        for domain, files in zip(domains, self.files):
            if not files:
                raise DatasetError(f"domain {domain.name!r} has no training images")
        self.load_size, self.size, self.flip, self.seed = load_size, size, flip, seed

    def __len__(self) -> int:
        return max(len(f) for f in self.files)

    def _load(self, d: int, position: int, skipped: list[str]) -> torch.Tensor:
        files = self.files[d]
        n = len(files)
        epoch, offset = divmod(position, n)
        order = _permutation(self.seed, d, epoch, n)
        rng = np.random.default_rng([self.seed, d, position])
        for k in range(n):
            path = files[order[(offset + k) % n]]
            try:
                image = load_rgb(path)
            except ImageReadError:
                skipped.append(str(path))
                continue
            return train_transform(image, self.load_size, self.size, self.flip, rng)
        raise DatasetError(f"no readable image in {Path(files[0]).parent} ({n} files tried)")

    def __getitem__(self, position: int) -> dict[str, Any]:
        skipped: list[str] = []
        images = [self._load(d, int(position), skipped) for d in range(len(self.files))]
        return {"images": images, "skipped": skipped}


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack each domain's images into a batch; concatenate the skipped-file lists."""
    domains = len(samples[0]["images"])
    return {"images": [torch.stack([s["images"][d] for s in samples]) for d in range(domains)],
            "skipped": [p for s in samples for p in s["skipped"]]}


class ShardedInfiniteSampler(Sampler[int]):
    """Endless positions ``start*world + rank``, then ``+world`` each: ranks never share a position.
    ``start`` is how many samples this rank already consumed (iteration x batch size when resuming)."""

    def __init__(self, start: int = 0, rank: int = 0, world_size: int = 1):
        self.start, self.rank, self.world_size = start, rank, world_size

    def __iter__(self) -> Iterator[int]:
        k = self.start
        while True:
            yield k * self.world_size + self.rank
            k += 1


@dataclass
class SkipReport:
    """Unreadable training files met so far: each warned about once, counted for the final report."""

    files: set[str] = field(default_factory=set)

    def add(self, paths: Sequence[str]) -> None:
        for path in paths:
            if path not in self.files:
                self.files.add(path)
                warnings.warn(f"skipping unreadable training image: {path}", RuntimeWarning, stacklevel=2)

    def summary(self) -> str:
        if not self.files:
            return "no unreadable training images"
        return f"{len(self.files)} unreadable training image(s) skipped: " + ", ".join(sorted(self.files))


def _ignore_interrupts(worker_id: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which saves a checkpoint before anything stops
    (``timeout``, Slurm and systemd send SIGTERM to the whole process group, workers included)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def train_loader(domains: Sequence[ImageDomain], data_cfg: dict[str, Any], batch_size: int, seed: int, start: int,
                 rank: int = 0, world_size: int = 1, pin_memory: bool = False) -> DataLoader:
    """An endless loader of unpaired batches that starts at sample ``start`` of this rank."""
    dataset = UnpairedDataset(domains, data_cfg["load_size"], data_cfg["size"], data_cfg["flip"], seed)
    workers = int(data_cfg.get("workers", 0))
    return DataLoader(dataset, batch_size=batch_size, sampler=ShardedInfiniteSampler(start, rank, world_size),
                      num_workers=workers, collate_fn=collate, pin_memory=pin_memory,
                      worker_init_fn=_ignore_interrupts if workers else None,
                      persistent_workers=workers > 0, prefetch_factor=2 if workers else None,
                      # its own generator: starting the loader must not consume the global torch RNG
                      generator=torch.Generator().manual_seed(seed))


def fixed_images(files: Sequence[Path], count: int, load_size: int, size: int) -> torch.Tensor:
    """The first ``count`` readable images of ``files`` through the deterministic eval transform."""
    tensors = []
    for path in files:
        if len(tensors) == count:
            break
        try:
            tensors.append(eval_transform(load_rgb(path), load_size, size))
        except ImageReadError:
            continue
    if not tensors:
        raise DatasetError(f"no readable image among {len(files)} files for the sample grid")
    return torch.stack(tensors)
