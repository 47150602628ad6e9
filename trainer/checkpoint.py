"""Checkpoints: plain dicts of tensors and primitives (they load with ``torch.load(weights_only=True)``),
written atomically (temp file + ``os.replace``), the last N kept; RNG states captured and restored."""
from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from i2i_common.atomic import atomic_open

CHECKPOINT_FORMAT = 1
CHECKPOINT_RE = re.compile(r"^ckpt_(\d+)\.pt$")


def checkpoint_path(folder: Path, iteration: int) -> Path:
    """``folder/ckpt_{iteration:08d}.pt``."""
    return Path(folder) / f"ckpt_{iteration:08d}.pt"


def list_checkpoints(folder: Path) -> list[Path]:
    """``ckpt_*.pt`` files of ``folder``, oldest (lowest iteration) first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder: Path) -> Path | None:
    """The highest-iteration checkpoint of ``folder``, or None."""
    found = list_checkpoints(folder)
    return found[-1] if found else None


def write_checkpoint_file(payload: dict[str, Any], path: Path) -> None:
    """Write ``payload`` to ``path`` atomically: a reader sees the old file or the whole new one."""
    with atomic_open(Path(path), "wb") as handle:
        torch.save(payload, handle)


def save_checkpoint(payload: dict[str, Any], folder: Path, iteration: int, keep: int) -> Path:
    """Write ``payload`` as ``ckpt_{iteration:08d}.pt`` atomically, then delete all but the newest ``keep``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = checkpoint_path(folder, iteration)
    write_checkpoint_file(payload, target)
    for old in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``: tensors and plain data only)."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a format-{CHECKPOINT_FORMAT} i2i Studio checkpoint")
    return ckpt


def rng_state() -> dict[str, Any]:
    """python, numpy and torch (CPU and CUDA) generator states as tensors and lists."""
    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": list(mt), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
