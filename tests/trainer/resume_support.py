"""The exact-resume check the family tests share: a finished run, copied as if the machine had been lost
before its last checkpoint, resumes to the same logged rows and the same weights."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from trainer.checkpoint import load_checkpoint
from trainer.loop import train
from trainer.metrics import read_metrics


def without_speed(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """Logged rows without the iterations-per-second column (the one value a resume may change)."""
    return [{k: v for k, v in row.items() if k != "it_per_s"} for row in rows]


def assert_resumes_exactly(config: dict[str, Any], data: Path, full: Path, part: Path, checkpoint: Path,
                           rows: list[dict[str, float]]) -> None:
    """Copy the run ``full`` to ``part`` without its final ``checkpoint``, resume it, and check that the last two
    logged rows and every model and EMA tensor equal those of the uninterrupted run."""
    state = load_checkpoint(checkpoint)
    shutil.copytree(full, part)  # the same run, as if the machine had been lost before the last checkpoint
    (part / "checkpoints" / checkpoint.name).unlink()
    torch.manual_seed(12345)  # whatever happened in between, resume restores the RNG states
    train(config, data, part, device="cpu", resume=True, progress=False)
    assert without_speed(read_metrics(part / "metrics.csv"))[-2:] == without_speed(rows)[-2:]  # exactly
    resumed = load_checkpoint(part / "checkpoints" / checkpoint.name)
    for group in ("models", "ema"):
        for name, tensors in state[group].items():
            for key, tensor in tensors.items():
                assert torch.equal(tensor, resumed[group][name][key]), (group, name, key)
