"""Mixed precision behind one small object: bf16 autocast on CUDA or CPU, fp16 (with loss scaling) on CUDA.

Weights and optimizer state stay fp32 in every mode (autocast only runs chosen ops in the lower precision);
bf16 needs no GradScaler because it has fp32's exponent range.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any

import torch


class PrecisionError(ValueError):
    """``train.amp`` asks for a precision the training device cannot run."""


AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_bf16_native() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX tiles); otherwise bf16 is emulated."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def cpu_bf16_warning() -> str:
    """The one-line warning given when bf16 autocast is asked for on a CPU without native bf16."""
    return (f"train.amp=\"bf16\" on a CPU without AVX512-BF16 or AMX (capability "
            f"{torch.backends.cpu.get_cpu_capability()}): bf16 is emulated and likely slower than amp=\"none\"")


class Precision:
    """``autocast()`` for forward passes and ``step(loss, optimizer)`` for backward + update."""

    def __init__(self, amp: str, device: torch.device):
        if amp not in AMP_DTYPES:
            raise PrecisionError(f"unknown train.amp {amp!r} (expected one of {sorted(AMP_DTYPES)})")
        if amp == "fp16" and device.type != "cuda":
            raise PrecisionError(f"train.amp=\"fp16\" needs a CUDA device (got {device.type}); "
                             f"use amp=\"bf16\" or amp=\"none\"")
        if amp == "bf16" and device.type not in ("cuda", "cpu"):
            raise PrecisionError(f"train.amp=\"bf16\" needs a CUDA device or the CPU (got {device.type}); "
                             f"use amp=\"none\"")
        if amp == "bf16" and device.type == "cpu" and not cpu_bf16_native():
            warnings.warn(cpu_bf16_warning(), RuntimeWarning, stacklevel=2)
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
