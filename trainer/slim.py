"""Checkpoint subsets: what of a full training checkpoint each purpose keeps.

* **slim** (export only, :func:`slim_checkpoint`): the generators (EMA copies when the run kept them), config,
  iteration, data and training records. No discriminators, optimiser or RNG state, so a slim checkpoint cannot
  resume training; it is what to archive or hand to ``i2i-export`` on another machine.
* **travel** (:func:`travel_subset`): every module (generators, discriminators, EMA copies), the schedulers'
  positions and the same records, without optimiser, scaler or RNG state; ``trainer.travel`` stores it in half
  precision, split into small parts, and ``i2i-train --resume-from`` continues training from it.

    python -m trainer.slim runs/cat2dog cat2dog_slim.pt          # newest checkpoint of a run
    python -m trainer.slim runs/cat2dog/checkpoints/ckpt_00040000.pt cat2dog_slim.pt
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import checkpoint as ckpt_io
from .config import ConfigError, family_class

KEPT_KEYS = ("format", "family", "iteration", "config", "data", "training")


def slim_checkpoint(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The export-only part of a full checkpoint (``slim: True`` marks it)."""
    generators = family_class(str(ckpt["family"])).generator_names
    source = "ema" if ckpt.get("ema") else "models"
    weights = {name: ckpt[source][name] for name in generators}
    return {**{key: ckpt[key] for key in KEPT_KEYS if key in ckpt}, source: weights, "slim": True}


def travel_subset(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The resumable weights-only part of a full checkpoint (``travel: True`` marks it): all ``models``,
    ``ema`` when kept, ``schedulers`` and the records; no optimizer, scaler or RNG state."""
    if ckpt.get("slim") or ckpt.get("travel") or "models" not in ckpt:
        raise ValueError("a travel checkpoint is made from a full training checkpoint")
    family_class(str(ckpt["family"]))  # a known family
    kept = {key: ckpt[key] for key in KEPT_KEYS if key in ckpt}
    extra = {"ema": ckpt["ema"]} if ckpt.get("ema") else {}
    return {**kept, "models": ckpt["models"], **extra, "schedulers": ckpt.get("schedulers", {}), "travel": True}


def source_checkpoint(source: Path) -> Path | None:
    """``source`` itself when it is a file, else the newest checkpoint of the run folder ``source``."""
    return ckpt_io.latest_checkpoint(source / "checkpoints") if source.is_dir() else source


def read_source(source: Path, option: str) -> tuple[Path, dict[str, Any]]:
    """The checkpoint file ``source`` names (:func:`source_checkpoint`) and its contents; a one-line
    :class:`ConfigError` starting with ``option`` when there is none or it cannot be read."""
    path = source_checkpoint(source)
    if path is None or not path.is_file():
        raise ConfigError(f"{option} {source}: no checkpoint there (expected a run folder with "
                          "checkpoints/ckpt_*.pt or a checkpoint file)")
    try:
        return path, ckpt_io.load_checkpoint(path)
    except Exception as exc:  # truncated, unsafe (pickled code) or not ours
        raise ConfigError(f"{option} {path}: cannot be read: {first_line(exc)}") from None


def main(argv: list[str] | None = None) -> int:
    """Command line: write the slim checkpoint; exit status 2 on an unusable source or target."""
    parser = argparse.ArgumentParser(prog="python -m trainer.slim", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("source", type=Path, help="a run folder (its newest checkpoint) or a checkpoint file")
    parser.add_argument("out", type=Path, help="where to write the slim checkpoint (.pt)")
    args = parser.parse_args(argv)
    path = source_checkpoint(args.source)
    if path is None or not path.is_file():
        print(f"trainer.slim: no checkpoint at {args.source}", file=sys.stderr)
        return 2
    try:
        slim = slim_checkpoint(ckpt_io.load_checkpoint(path))
    except Exception as exc:  # truncated, unsafe (pickled code), not ours, or of an unknown family
        print(f"trainer.slim: cannot use {path}: {first_line(exc)}", file=sys.stderr)
        return 2
    try:
        ckpt_io.write_checkpoint_file(slim, args.out)
    except OSError as exc:
        print(f"trainer.slim: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{path} -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, iteration {slim['iteration']})")
    return 0


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (its type's name when it has none)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
