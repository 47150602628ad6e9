"""What a family's data recipe hands the training loop, and the machinery every recipe shares: an endless,
rank-sharded, exactly-resumable DataLoader over a position-indexed dataset, and the unreadable-file report.

A recipe's dataset maps a global sample position to ``{"images": [tensor, ...], "skipped": [path, ...]}``;
what it puts in ``images`` (one image per domain, two views of one image, ...) is the family's business.
Because the data at a position depends only on the seed and the position, resuming at ``start`` and
sharding by rank need nothing else.
"""
from __future__ import annotations

import signal
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from i2i_common.datasets import DatasetError
from i2i_common.images import ImageReadError

from .transforms import load_rgb


@dataclass(frozen=True)
class StreamPosition:
    """Where this process's data stream starts: ``start`` samples of this rank already consumed
    (iteration x batch size when resuming), rank ``rank`` of ``world_size``, batches of ``batch_size``;
    and where it goes: the training ``device`` (``pin_memory`` for CUDA) and the ``run_dir`` (the default
    home of the uint8 data cache)."""

    batch_size: int
    seed: int
    start: int = 0
    rank: int = 0
    world_size: int = 1
    pin_memory: bool = False
    device: torch.device | str = "cpu"
    run_dir: Path | None = None


@dataclass
class TrainingData:
    """A recipe's result: endless ``batches``, the ``fixed`` sample images (one tensor per group, what
    ``sample_grid`` takes) and ``record``, the checkpoint's ``data`` entry (dataset, layout, domains, counts)."""

    batches: Iterable[dict[str, Any]]
    fixed: list[torch.Tensor]
    record: dict[str, Any]


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack each image slot into a batch; concatenate the skipped-file lists."""
    slots = len(samples[0]["images"])
    return {"images": [torch.stack([s["images"][d] for s in samples]) for d in range(slots)],
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


def _ignore_interrupts(worker_id: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which saves a checkpoint before anything stops
    (``timeout``, Slurm and systemd send SIGTERM to the whole process group, workers included)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def endless_loader(dataset: Dataset, position: StreamPosition, workers: int) -> DataLoader:
    """An endless loader of ``dataset``'s positions for this rank, from ``position.start`` on."""
    return DataLoader(dataset, batch_size=position.batch_size,
                      sampler=ShardedInfiniteSampler(position.start, position.rank, position.world_size),
                      num_workers=workers, collate_fn=collate, pin_memory=position.pin_memory,
                      worker_init_fn=_ignore_interrupts if workers else None,
                      persistent_workers=workers > 0, prefetch_factor=2 if workers else None,
                      # its own generator: starting the loader must not consume the global torch RNG
                      generator=torch.Generator().manual_seed(position.seed))


def first_readable(files: Sequence[Path], count: int,
                   transform: Callable[[np.ndarray], torch.Tensor]) -> torch.Tensor:
    """The first ``count`` readable images of ``files`` through ``transform``, stacked (for sample grids)."""
    tensors = []
    for path in files:
        if len(tensors) == count:
            break
        try:
            tensors.append(transform(load_rgb(path)))
        except ImageReadError:
            continue
    if not tensors:
        raise DatasetError(f"no readable image among {len(files)} files for the sample grid")
    return torch.stack(tensors)


@dataclass
class SkipReport:
    """Unreadable training files met so far: each warned about once, counted for the final report."""

    files: set[str] = field(default_factory=set)

    def add(self, paths: Sequence[str]) -> None:
        """Record ``paths`` (a batch's ``skipped``); warn once for each new one."""
        for path in paths:
            if path not in self.files:
                self.files.add(path)
                warnings.warn(f"skipping unreadable training image: {path}", RuntimeWarning, stacklevel=2)

    def summary(self) -> str:
        """One line for the end of the run."""
        if not self.files:
            return "no unreadable training images"
        return f"{len(self.files)} unreadable training image(s) skipped: " + ", ".join(sorted(self.files))
