"""Mixed precision (CUDA bf16/fp16 autocast, loss scaling for fp16) behind one small object."""
from __future__ import annotations

import contextlib
from typing import Any

import torch

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """``autocast()`` for forward passes and ``step(loss, optimizer)`` for backward + update."""

    def __init__(self, amp: str, device: torch.device):
        if amp not in AMP_DTYPES:
            raise ValueError(f"unknown train.amp {amp!r} (expected one of {sorted(AMP_DTYPES)})")
        if amp != "none" and device.type != "cuda":
            raise ValueError(f"train.amp={amp!r} needs a CUDA device (got {device.type}); use amp=\"none\"")
        self.device = device
        self.dtype = AMP_DTYPES[amp]
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self.use_scaler = amp == "fp16"

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (a no-op without amp)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, name: str, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward ``loss`` and step ``optimizer`` (through a per-optimizer GradScaler for fp16)."""
        if not self.use_scaler:
            loss.backward()
            optimizer.step()
            return
        scaler = self.scalers.setdefault(name, torch.amp.GradScaler(self.device.type))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The GradScaler states by optimizer name (empty unless fp16)."""
        return {name: scaler.state_dict() for name, scaler in self.scalers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for name, scaler_state in state.items():
            self.scalers.setdefault(name, torch.amp.GradScaler(self.device.type)).load_state_dict(scaler_state)
