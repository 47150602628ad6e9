"""Shrink a training checkpoint to what the exporter needs: the generators (EMA copies when the run kept
them), config, iteration, data and training provenance. No discriminators, optimiser or RNG state, so a slim
checkpoint cannot resume training; it is what to archive or hand to ``i2i-export`` on another machine.

    python -m trainer.slim runs/cat2dog cat2dog_slim.pt          # newest checkpoint of a run
    python -m trainer.slim runs/cat2dog/checkpoints/ckpt_00040000.pt cat2dog_slim.pt
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from i2i_common.atomic import atomic_open

from . import checkpoint as ckpt_io
from .config import family_class

KEPT_KEYS = ("format", "family", "iteration", "config", "data", "training")


def slim_checkpoint(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The export-only part of a full checkpoint (``slim: True`` marks it)."""
    generators = family_class(str(ckpt["family"])).generator_names
    source = "ema" if ckpt.get("ema") else "models"
    weights = {name: ckpt[source][name] for name in generators}
    return {**{key: ckpt[key] for key in KEPT_KEYS if key in ckpt}, source: weights, "slim": True}


def main(argv: list[str] | None = None) -> int:
    """Command line: write the slim checkpoint; exit status 2 on an unusable source or target."""
    parser = argparse.ArgumentParser(prog="python -m trainer.slim", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("source", type=Path, help="a run folder (its newest checkpoint) or a checkpoint file")
    parser.add_argument("out", type=Path, help="where to write the slim checkpoint (.pt)")
    args = parser.parse_args(argv)
    path = ckpt_io.latest_checkpoint(args.source / "checkpoints") if args.source.is_dir() else args.source
    if path is None or not path.is_file():
        print(f"trainer.slim: no checkpoint at {args.source}", file=sys.stderr)
        return 2
    try:
        slim = slim_checkpoint(ckpt_io.load_checkpoint(path))
    except Exception as exc:  # truncated, unsafe (pickled code), not ours, or of an unknown family
        print(f"trainer.slim: cannot use {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
        return 2
    try:
        with atomic_open(args.out, "wb") as handle:
            torch.save(slim, handle)
    except OSError as exc:
        print(f"trainer.slim: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{path} -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, iteration {slim['iteration']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
