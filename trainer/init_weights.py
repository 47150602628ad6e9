"""``i2i-train --init``: start a new run from another checkpoint's weights.

The new run begins at iteration 0 with fresh optimisers and schedules; only weights move. Each module takes the
source's EMA copy when it kept one (the smoothed weights a bundle is made of), else its trained copy. A tensor of
the same shape is copied; a convolution kernel whose size changed (say a student's 5x5 decoder convs made 3x3)
is centre-cropped or zero-padded; everything else stays freshly initialised and is listed. Frozen parameters (a
student's copy of its teacher's style encoders) keep the values they were given. EMA copies start equal to the
initialised models. Any checkpoint serves: full, travel, slim, or one rebuilt from a bundle by ``export.recover``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .config import ConfigError
from .families import TrainingFamily
from .provenance import inherited_record
from .slim import read_source


@dataclass
class InitReport:
    """What :func:`init_from_checkpoint` did, tensor by tensor (``module.tensor`` names)."""

    source: Path
    training: dict[str, Any] = field(default_factory=dict)  # the new run's starting ``training`` record
    copied: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        line = f"init from {self.source}: {len(self.copied)} tensors copied"
        if self.resized:
            line += f", {len(self.resized)} kernels resized ({', '.join(self.resized)})"
        if self.fresh:
            shown = ", ".join(self.fresh[:6]) + (", ..." if len(self.fresh) > 6 else "")
            line += f", {len(self.fresh)} left fresh ({shown})"
        return line


def fit_kernel(source: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """``source`` made ``shape``: as is, or a conv kernel ``[out, in, kh, kw]`` centre-cropped or zero-padded
    to the new kernel size; None when the channels (or anything else) differ."""
    if source.shape == shape:
        return source
    if source.dim() != 4 or len(shape) != 4 or source.shape[:2] != shape[:2]:
        return None
    pads: list[int] = []
    for have, want in ((source.shape[3], shape[3]), (source.shape[2], shape[2])):  # F.pad: last dim first
        if (have - want) % 2:
            return None
        pads += [(want - have) // 2] * 2  # negative pads crop
    return F.pad(source, pads)


def _load_into(name: str, module: nn.Module, weights: dict[str, torch.Tensor] | None, report: InitReport) -> None:
    state = module.state_dict()
    frozen = {key for key, param in module.named_parameters() if not param.requires_grad}
    for key, target in state.items():
        label = f"{name}.{key}"
        if key in frozen:
            continue
        source = None if weights is None or key not in weights else fit_kernel(weights[key], target.shape)
        if source is None:
            report.fresh.append(label)
            continue
        if source.shape != weights[key].shape:  # type: ignore[index]
            report.resized.append(f"{label} {tuple(weights[key].shape[2:])}->{tuple(target.shape[2:])}")  # type: ignore[index]
        else:
            report.copied.append(label)
        state[key] = source.to(target.dtype)
    module.load_state_dict(state)


def init_from_checkpoint(family: TrainingFamily, source: Path) -> InitReport:
    """Load ``source``'s weights (a checkpoint file or a run folder: its newest) into ``family`` as described
    above; raise ConfigError when it is no checkpoint of this family."""
    path, ckpt = read_source(Path(source), "--init")
    if ckpt.get("family") != family.name:
        raise ConfigError(f"--init {path} is a {ckpt.get('family')!r} checkpoint, the config trains {family.name!r}")
    averaged, trained = ckpt.get("ema") or {}, ckpt.get("models") or {}
    report = InitReport(path, inherited_record(ckpt, path.name))
    models = family.models()
    for name, module in models.items():
        _load_into(name, module, averaged.get(name) or trained.get(name), report)
    for name, average in family.ema_models().items():
        average.load_state_dict(models[name].state_dict())
    return report
