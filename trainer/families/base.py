"""What the training loop needs from a model family, and where the family's modules live (:class:`Placement`)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from i2i_common.datasets import DatasetLayout

from ..data.stream import StreamPosition, TrainingData
from ..precision import Precision


@dataclass
class Placement:
    """Where and how a family trains: device, precision, channels_last, and whether DDP wraps its modules."""

    device: torch.device
    precision: Precision
    channels_last: bool = False
    distributed: bool = False

    def place(self, module: nn.Module) -> nn.Module:
        """Move ``module`` to the device (channels_last memory format when asked)."""
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def adam_kernel(self) -> dict[str, bool]:
        """Keyword arguments choosing Adam's implementation for the device: the fused kernel on CUDA (one
        launch per step instead of several per parameter), the multi-tensor ``foreach`` one elsewhere."""
        return {"fused": True} if self.device.type == "cuda" else {"foreach": True}

    def place_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Move one batch of images to the device (channels_last when asked)."""
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def distribute(self, module: nn.Module) -> nn.Module:
        """``module`` wrapped in DDP when the run is distributed (its forward is what DDP synchronises)."""
        if not self.distributed:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def adam(self, modules: Iterable[nn.Module], train: Mapping[str, Any]) -> torch.optim.Adam:
        """Adam over the trainable parameters of ``modules`` with the ``[train]`` lr, betas and weight decay."""
        params = [p for m in modules for p in m.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=train["lr"], betas=(train["beta1"], train["beta2"]),
                                weight_decay=train["weight_decay"], **self.adam_kernel())


class TrainingFamily(ABC):
    """Models, optimizers and schedulers of one family, its data, one training step, logs and sample grids.

    State for checkpoints is exposed as dicts of modules/optimizers/schedulers; the loop saves and restores
    them. The class attributes are the family's declarations, read before an instance exists: its config
    defaults, the modules inference needs, and how its logged values are shown.
    """

    name: str
    num_domains: int  # how many image domains the dataset must provide
    # the modules inference needs (what a slim checkpoint keeps); the rest only matter for training
    generator_names: tuple[str, ...] = ()
    # defaults for the config tables: [model] and [loss] are the family's own; [data] and [train] entries
    # complete (or override) the loop's generic ones (trainer.config.DATA_DEFAULTS / TRAIN_DEFAULTS)
    model_defaults: Mapping[str, Any] = {}
    loss_defaults: Mapping[str, Any] = {}
    data_defaults: Mapping[str, Any] = {}
    train_defaults: Mapping[str, Any] = {}
    # logged values shown on the progress bar, and the loss-curve panels (title -> logged values)
    progress_keys: tuple[str, ...] = ()
    plot_panels: Mapping[str, Sequence[str]] = {}
    # what distilling a teacher of this family into a smaller student needs: a trainer.distill.hook.DistillHook
    # subclass (not imported here: the hook module builds on this one); None: the family cannot be distilled
    distill: type | None = None

    @classmethod
    @abstractmethod
    def make_data(cls, layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition) -> TrainingData:
        """The training batches (each ``{"images": [tensor, ...], "skipped": [path, ...]}``, the list being what
        :meth:`train_step` takes), fixed sample images and the checkpoint's data record, from the dataset
        ``layout`` and the resolved ``config``; the stream starts at ``position`` (exact resume, DDP shards).
        A family picks a recipe of ``trainer.data`` (e.g. :func:`trainer.data.unpaired_data`)."""

    @abstractmethod
    def __init__(self, config: Mapping[str, Any], placement: Placement):
        """Build models, optimizers and schedulers from the resolved ``config``."""

    @property
    @abstractmethod
    def logged_values(self) -> tuple[str, ...]:
        """The names :meth:`train_step` returns, in column order: fixed for the run (the CSV header)."""

    @abstractmethod
    def models(self) -> dict[str, nn.Module]:
        """Trainable modules by checkpoint name (unwrapped from DDP)."""

    @abstractmethod
    def ema_models(self) -> dict[str, nn.Module]:
        """EMA copies by checkpoint name; empty when EMA is off."""

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by checkpoint name (the first one's learning rate is logged as ``lr``)."""

    @abstractmethod
    def schedulers(self) -> dict[str, Any]:
        """Learning-rate schedulers by checkpoint name."""

    @abstractmethod
    def train_step(self, images: list[torch.Tensor]) -> dict[str, float]:
        """One iteration on one batch's image list (already on the device); returns :attr:`logged_values`."""

    @abstractmethod
    def sample_grid(self, fixed: list[torch.Tensor]) -> torch.Tensor:
        """An image grid [3, H, W] in [-1, 1] from the fixed sample images of :meth:`make_data`."""
