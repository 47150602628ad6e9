"""Real images for parity checks, calibration, style statistics and fidelity measurements.

The dataset folder is found with the trainer's layout detection and read with its deterministic
eval transform (short side to ``data.load_size``, centre crop ``data.size``), so the exporter sees
images exactly as the trainer's sample grids do. However many domains (image folders) the layout has,
they get the ids ``a``, ``b``, ``c``... in layout order; the family's exporter says which it needs.
"""
from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from i2i_common.datasets import DatasetError, DatasetLayout, ImageDomain, find_layout
from trainer.data import fixed_images

from .onnx_export import ExportError

DATASET_IDS = string.ascii_lowercase


@dataclass
class DatasetImages:
    """A dataset at the model's training size; its domains are identified ``a``, ``b``... in layout order."""

    layout: DatasetLayout
    load_size: int
    size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], root: str | Path | None = None) -> DatasetImages:
        """The dataset named by ``root`` (or the config's ``data.root``), at the config's sizes."""
        data_cfg = config.get("data", {})
        root = root or data_cfg.get("root")
        if not root:
            raise ExportError("no dataset folder: pass --data DIR (real images are needed for parity checks, "
                              "calibration and style statistics)")
        try:
            layout = find_layout(root, data_cfg.get("domain_names") or ())
        except DatasetError as exc:
            raise ExportError(str(exc)) from exc
        if len(layout.domains) > len(DATASET_IDS):
            raise ExportError(f"{root}: {len(layout.domains)} domains, at most {len(DATASET_IDS)} are supported")
        size = int(data_cfg["size"])
        return cls(layout, int(data_cfg.get("load_size", size)), size)

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def domains(self) -> list[str]:
        """The dataset's domain ids, in layout order."""
        return list(DATASET_IDS[:len(self.layout.domains)])

    @property
    def domain_names(self) -> dict[str, str]:
        return {i: d.name for i, d in zip(self.domains, self.layout.domains, strict=True)}

    def _domain(self, domain: str) -> ImageDomain:
        if domain not in self.domains:
            raise ExportError(f"{self.layout.root}: no domain {domain!r} (the {self.layout.kind} layout has "
                              f"{len(self.layout.domains)})")
        return self.layout.domains[self.domains.index(domain)]

    def files(self, domain: str, split: str) -> tuple[Path, ...]:
        """``split`` ("train"/"test") files of ``domain``; the training files when there is no test split."""
        entry = self._domain(domain)
        files = entry.test if split == "test" and entry.test else entry.train
        if not files:
            raise ExportError(f"no images for domain {entry.name!r} in {self.layout.root}")
        return files

    def train_counts(self) -> dict[str, int]:
        return {d: len(self.files(d, "train")) for d in self.domains}

    def batches(self, domain: str, split: str, limit: int, batch: int) -> Iterator[np.ndarray]:
        """Up to ``limit`` images spread evenly over the file list (a pooled, unlabeled folder sorted by name
        would otherwise give only its first group), ``batch`` at a time, in file order; unreadable files are
        skipped."""
        files = spread(self.files(domain, split), limit)
        for start in range(0, len(files), batch):
            chunk = files[start:start + batch]
            try:
                yield fixed_images(chunk, len(chunk), self.load_size, self.size).numpy()
            except DatasetError:
                continue

    def images(self, domain: str, split: str, limit: int) -> np.ndarray:
        """Up to ``limit`` readable images (spread as in :meth:`batches`) as one array."""
        return np.concatenate(list(self.batches(domain, split, limit, limit)))


def spread(files: tuple[Path, ...], limit: int) -> tuple[Path, ...]:
    """``limit`` of ``files`` evenly spaced from the first to the last (all of them when there are no more)."""
    if len(files) <= limit:
        return files
    return tuple(files[int(i)] for i in np.linspace(0, len(files) - 1, max(limit, 0)).round())
