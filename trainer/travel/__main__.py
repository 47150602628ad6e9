"""Write or check a travel checkpoint (see docs/training.md, "Checkpoints that travel").

    python -m trainer.travel write runs/cat2dog_128 travel/cat2dog_128    # from the run's newest checkpoint
    python -m trainer.travel write runs/x/checkpoints/ckpt_00004000.pt travel/x
    python -m trainer.travel check travel/cat2dog_128                     # after copying it somewhere
    i2i-train --resume-from travel/cat2dog_128 --data DATA --out runs/cat2dog_128_b
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import checkpoint as ckpt_io
from ..slim import first_line, source_checkpoint, travel_subset
from .parts import MIB, TravelError, load_travel, write_travel


def _write(source: Path, out: Path) -> int:
    path = source_checkpoint(source)
    if path is None or not path.is_file():
        print(f"trainer.travel: no checkpoint at {source}", file=sys.stderr)
        return 2
    try:
        subset = travel_subset(ckpt_io.load_checkpoint(path))
    except Exception as exc:  # truncated, unsafe, not ours, slim, or of an unknown family
        print(f"trainer.travel: cannot use {path}: {first_line(exc)}", file=sys.stderr)
        return 2
    try:
        manifest = write_travel(subset, out)
    except (TravelError, OSError) as exc:
        print(f"trainer.travel: cannot write {out}: {first_line(exc)}", file=sys.stderr)
        return 2
    parts = manifest["parts"]
    print(f"{path} -> {out}: iteration {manifest['iteration']}, {len(parts)} parts, "
          f"{manifest['total_bytes'] / MIB:.1f} MiB (largest {max(p['bytes'] for p in parts) / MIB:.1f} MiB), "
          f"stored as {manifest['stored_dtypes']}")
    return 0


def _check(folder: Path) -> int:
    try:
        subset = load_travel(folder)
    except (TravelError, OSError) as exc:
        print(f"trainer.travel: {first_line(exc)}", file=sys.stderr)
        return 2
    modules = sorted(f"{section}.{name}" for section in ("models", "ema") for name in subset.get(section, {}))
    print(f"{folder}: {subset['family']} iteration {subset['iteration']}, intact ({', '.join(modules)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 2 on an unusable source, target or travel checkpoint."""
    parser = argparse.ArgumentParser(prog="python -m trainer.travel", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write a travel checkpoint from a full one")
    write.add_argument("source", type=Path, help="a run folder (its newest checkpoint) or a checkpoint file")
    write.add_argument("out", type=Path, help="the travel folder to write (its older parts are replaced)")
    check = commands.add_parser("check", help="verify every part of a travel checkpoint")
    check.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    return _write(args.source, args.out) if args.command == "write" else _check(args.folder)


if __name__ == "__main__":
    sys.exit(main())
