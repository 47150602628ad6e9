"""Where an export starts: a training checkpoint (latest of a run, or a given file) or a random init.

Checkpoints are read by the trainer's own reader (``torch.load(weights_only=True)``: tensors and plain
data only, never code).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainer import checkpoint as ckpt_io
from trainer.config import ConfigError, resolve_config

from .onnx_export import ExportError


@dataclass
class ExportSource:
    """Everything the exporter needs from training: config, weights (None = random init), provenance."""

    config: dict[str, Any]
    family: str
    weights: Mapping[str, Mapping[str, torch.Tensor]] | None
    iteration: int = 0
    checkpoint: Path | None = None
    ema: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)  # hardware and seconds (trainer.provenance)
    student_of: str | None = None  # the teacher bundle's name when this is a distilled student

    @property
    def untrained(self) -> bool:
        """True when exporting randomly initialised weights."""
        return self.weights is None

    @property
    def distilled(self) -> bool:
        """True when the config is a distillation run's (it has a ``[distill]`` table)."""
        return "distill" in self.config

    def shareable_config(self) -> dict[str, Any]:
        """The config as the bundle's provenance shows it: a distillation run's teacher path cut to its last part
        (as ``provenance.checkpoint`` is), so that no folder of the training machine ends up in the bundle."""
        if not self.distilled:
            return self.config
        config = copy.deepcopy(self.config)
        config["distill"]["teacher"] = Path(str(config["distill"].get("teacher", ""))).name
        return config


def run_checkpoint(run: Path) -> Path:
    """The newest checkpoint of a run folder (``runs/NAME/checkpoints/ckpt_*.pt``)."""
    found = ckpt_io.latest_checkpoint(Path(run) / "checkpoints")
    if found is None:
        raise ExportError(f"no checkpoint found in {Path(run) / 'checkpoints'} (expected ckpt_NNNNNNNN.pt)")
    return found


def load_checkpoint(path: Path) -> ExportSource:
    """Read a training checkpoint; its EMA generators are used when it has them, and a distilled student's
    ``distill.student_of`` names its teacher."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"checkpoint not found: {path}")
    try:
        ckpt = ckpt_io.load_checkpoint(path)
    except Exception as exc:  # unreadable, truncated, unsafe (pickled code) or not ours
        raise ExportError(f"cannot use checkpoint {path}: {exc}") from exc
    if "family" not in ckpt or "config" not in ckpt:
        raise ExportError(f"{path} is not an i2i Studio training checkpoint (no family/config)")
    ema = bool(ckpt.get("ema"))
    distill = ckpt["config"].get("distill") or {}
    return ExportSource(config=ckpt["config"], family=str(ckpt["family"]),
                        student_of=str(distill.get("student_of") or "") or None,
                        weights=ckpt["ema"] if ema else ckpt.get("models", {}),
                        iteration=int(ckpt.get("iteration", 0)), checkpoint=path, ema=ema,
                        data=dict(ckpt.get("data") or {}), training=dict(ckpt.get("training") or {}))


def random_source(config: Mapping[str, Any]) -> ExportSource:
    """An untrained source: the config's model (defaults filled in) with its random initialisation."""
    try:
        resolved = resolve_config(config)
    except (ConfigError, ValueError, KeyError) as exc:
        raise ExportError(f"unusable config: {exc}") from exc
    return ExportSource(config=resolved, family=str(resolved["model"]["family"]), weights=None)
