"""What the training loop needs from a model family."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from ..precision import Precision


@dataclass
class Runtime:
    """Where and how a family trains: device, precision, channels_last, and whether DDP wraps its modules."""

    device: torch.device
    precision: Precision
    channels_last: bool = False
    distributed: bool = False

    def place(self, module: nn.Module) -> nn.Module:
        """Move ``module`` to the device (channels_last memory format when asked)."""
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def place_batch(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class TrainingFamily(ABC):
    """Models, optimizers and schedulers of one family, one training step, and sample grids.

    State for checkpoints is exposed as dicts of modules/optimizers/schedulers; the loop saves and
    restores them. ``num_domains`` is how many image domains the data must provide.
    """

    name: str
    num_domains: int
    # the modules inference needs (what a slim checkpoint keeps); the rest only matter for training
    generator_names: tuple[str, ...] = ()
    # defaults for the config tables this family reads ([model] is checked by the model builder)
    loss_defaults: Mapping[str, Any] = {}
    model_defaults: Mapping[str, Any] = {}

    @abstractmethod
    def __init__(self, config: Mapping[str, Any], runtime: Runtime):
        """Build models, optimizers and schedulers from the resolved ``config``."""

    @abstractmethod
    def models(self) -> dict[str, nn.Module]:
        """Trainable modules by checkpoint name (unwrapped from DDP)."""

    @abstractmethod
    def ema_models(self) -> dict[str, nn.Module]:
        """EMA copies by checkpoint name; empty when EMA is off."""

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by checkpoint name."""

    @abstractmethod
    def schedulers(self) -> dict[str, Any]:
        """Learning-rate schedulers by checkpoint name."""

    @abstractmethod
    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        """One iteration on a batch per domain (already on the device); returns scalar losses."""

    @abstractmethod
    def sample_grid(self, fixed: list[torch.Tensor]) -> torch.Tensor:
        """An image grid [3, H, W] in [-1, 1] from fixed test images per domain (deterministic)."""
