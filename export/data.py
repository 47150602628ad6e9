"""Real images for parity checks, calibration, style statistics and fidelity measurements.

The dataset folder is found with the trainer's layout detection and read with its deterministic
eval transform (short side to ``data.load_size``, centre crop ``data.size``), so the exporter sees
images exactly as the trainer's sample grids do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from trainer.data import DatasetError, DatasetLayout, find_layout, fixed_images

from .onnx_export import ExportError

DOMAIN_IDS = ("a", "b")


@dataclass
class DatasetImages:
    """A two-domain dataset at the model's training size; domains get the bundle ids ``a`` and ``b``."""

    layout: DatasetLayout
    load_size: int
    size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], root: str | Path | None = None) -> "DatasetImages":
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
        if len(layout.domains) != len(DOMAIN_IDS):
            raise ExportError(f"{root}: expected 2 domains, found {len(layout.domains)} ({layout.kind} layout)")
        size = int(data_cfg["size"])
        return cls(layout, int(data_cfg.get("load_size", size)), size)

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def domains(self) -> list[str]:
        return list(DOMAIN_IDS)

    @property
    def domain_names(self) -> dict[str, str]:
        return {i: d.name for i, d in zip(DOMAIN_IDS, self.layout.domains)}

    def files(self, domain: str, split: str) -> tuple[Path, ...]:
        """``split`` ("train"/"test") files of ``domain``; the training files when there is no test split."""
        entry = self.layout.domains[DOMAIN_IDS.index(domain)]
        files = entry.test if split == "test" and entry.test else entry.train
        if not files:
            raise ExportError(f"no images for domain {entry.name!r} in {self.layout.root}")
        return files

    def train_counts(self) -> dict[str, int]:
        return {d: len(self.files(d, "train")) for d in DOMAIN_IDS}

    def batches(self, domain: str, split: str, limit: int, batch: int) -> Iterator[np.ndarray]:
        """Up to ``limit`` images, ``batch`` at a time, in file order; unreadable files are skipped."""
        files = self.files(domain, split)[:limit]
        for start in range(0, len(files), batch):
            chunk = files[start:start + batch]
            try:
                yield fixed_images(chunk, len(chunk), self.load_size, self.size).numpy()
            except DatasetError:
                continue

    def images(self, domain: str, split: str, limit: int) -> np.ndarray:
        """The first ``limit`` readable images as one array."""
        return np.concatenate(list(self.batches(domain, split, limit, limit)))
