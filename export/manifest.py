"""The bundle manifest (docs/bundle.md) from what the exporter declares and the export measured.

Graph entries carry whatever scope the family's exporter gives each graph (``domain``, ``direction`` or
neither); domains and directions are the exporter's. The sha256 fields are filled in by the writer.
"""
from __future__ import annotations

import datetime as dt
import platform
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch

from desktop.runtime.bundle import Direction, Domain
from trainer.provenance import hardware

from .data import DatasetImages
from .family_exporter import ExportGraph, ExportKey, ImageSizes
from .source import ExportSource

NORMALIZATION = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}


def array_file(role: str, domain: str | None) -> str:
    """The bundle file name of an array, e.g. ``a_style_mean.npy`` or ``cluster_styles.npy``."""
    return f"{domain}_{role}.npy" if domain else f"{role}.npy"


def bundle_manifest(*, family: str, name: str, title: str, license: str, source: ExportSource,
                    data: DatasetImages, image_sizes: ImageSizes, family_fields: dict[str, Any],
                    domains: list[Domain], directions: list[Direction], graphs: list[ExportGraph],
                    precisions: list[str], arrays: dict[ExportKey, np.ndarray],
                    verification: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a bundle holding ``graphs`` at each of ``precisions`` and ``arrays``."""
    return {
        "schema_version": 1,
        "name": name,
        "title": title,
        "family": family,
        "untrained": source.untrained,
        **({"student_of": source.student_of} if source.student_of else {}),
        "domains": [{"id": d.id, "name": d.name} for d in domains],
        "directions": [{"id": d.id, "source": d.source, "target": d.target} for d in directions],
        "image": {"train_size": data.size, "sizes": image_sizes.manifest(),
                  "normalization": NORMALIZATION, "channel_order": "RGB", "layout": "NCHW"},
        **family_fields,
        "graphs": [{"role": g.role, **g.manifest_scope(), "precision": p, "file": g.file_name(p), "sha256": "",
                    "inputs": [s.manifest() for s in g.inputs], "outputs": [s.manifest() for s in g.outputs]}
                   for p in precisions for g in graphs],
        "arrays": [{"role": role, **({"domain": domain} if domain else {}), "file": array_file(role, domain),
                    "sha256": "", "shape": list(a.shape), "dtype": str(a.dtype)}
                   for (role, domain), a in arrays.items()],
        "verification": verification,
        "provenance": provenance(source, data),
        "license": license,
    }


def provenance(source: ExportSource, data: DatasetImages) -> dict[str, Any]:
    """Where the bundle comes from: dataset, training, config, export date, machine and software."""
    return {
        "dataset": source.data.get("dataset", data.name),
        "images": source.data.get("images", data.train_counts()),
        "domains": data.domain_names,
        "iterations": source.iteration,
        "checkpoint": source.checkpoint.name if source.checkpoint else None,
        "ema": source.ema,
        "untrained": source.untrained,
        "config": source.shareable_config(),
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "hardware": hardware(),
        "training": source.training,
        "software": {"python": platform.python_version(), "torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
    }
