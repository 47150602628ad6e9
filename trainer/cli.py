"""``i2i-train``: train a model family from a TOML config on a dataset folder.

    i2i-train --config munit_cpu.toml --data ../shared/data/cat2dog --out runs/cat2dog train.lr=2e-4
    i2i-train --out runs/cat2dog --resume            # continue exactly where the run stopped
    i2i-train --resume-from travel/cat2dog --data DATA --out runs/cat2dog_b   # from a travel checkpoint
    i2i-train --config munit_cpu --data DATA --out runs/long --travel-out travel/long   # travel copy per checkpoint
    torchrun --standalone --nproc-per-node 4 -m trainer.cli --config munit_paper --data DATA --out runs/big \\
        --device cuda
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from .config import ConfigError, apply_override, load_config, shipped_configs
from .data import DatasetError
from .precision import PrecisionError
from .travel.parts import TravelError, read_manifest


def build_parser() -> argparse.ArgumentParser:
    """The ``i2i-train`` argument parser."""
    parser = argparse.ArgumentParser(prog="i2i-train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    shipped = ", ".join(shipped_configs())
    parser.add_argument("--config", help=f"TOML file, or the name of a shipped config ({shipped}); "
                                         "with --resume defaults to the run's own config.toml, with "
                                         "--resume-from to the travel checkpoint's config")
    parser.add_argument("--data", required=True, help="dataset folder (trainA/trainB, AFHQ train/<class>/, ...)")
    parser.add_argument("--out", required=True, help="run folder (checkpoints/, samples/, metrics.csv, tb/)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--resume-from", type=Path, metavar="TRAVEL_DIR",
                        help="start --out (a new run folder) from a travel checkpoint: its iteration, weights and "
                             "lr schedule, fresh optimizer state (python -m trainer.travel write makes one)")
    parser.add_argument("--warmup", type=int, default=None, metavar="K",
                        help="with --resume-from: linear lr warm-up over K iterations "
                             "(default 1/(1-train.beta2), 1000 for the shipped configs; 0: none)")
    parser.add_argument("--travel-out", type=Path, metavar="TRAVEL_DIR",
                        help="with each checkpoint also write a travel checkpoint into TRAVEL_DIR (copy it off the "
                             "machine to survive losing it)")
    parser.add_argument("--init", type=Path, metavar="CHECKPOINT",
                        help="start --out (a new run) from the weights of another run or checkpoint (full, travel, "
                             "slim or recovered): same shapes copied, resized conv kernels cropped or padded, the "
                             "rest fresh; iteration 0, fresh optimizers")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.lr=2e-4 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="more overrides, e.g. train.iterations=5000")
    return parser


def check_out_folder(out: Path) -> None:
    """Refuse a run folder that cannot be created or written, before any work starts."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: {existing} is not writable")


def main(argv: list[str] | None = None) -> int:
    """Run ``i2i-train``; exit status 0 finished, 130 interrupted, 2 bad config or data, 1 I/O error."""
    args = build_parser().parse_args(argv)
    from .loop import train  # after argument parsing: --help stays fast

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.resume and args.resume_from is not None:
        print("i2i-train: --resume continues --out itself; --resume-from starts a new one: give one of them",
              file=sys.stderr)
        return 2
    config_path = args.config
    if config_path is None:
        if not args.resume and args.resume_from is None:
            print("i2i-train: --config is required (unless --resume or --resume-from supplies the config)",
                  file=sys.stderr)
            return 2
        config_path = Path(args.out) / "config.toml" if args.resume else None
    try:
        overrides = [*args.sets, *args.overrides]
        if config_path is None:  # --resume-from without --config
            config = read_manifest(args.resume_from)["config"]
            for override in overrides:
                apply_override(config, override)
        else:
            config = load_config(config_path, overrides)
        check_out_folder(Path(args.out))
        result = train(config, args.data, args.out, device=args.device, resume=args.resume,
                       progress=not args.no_progress, resume_from=args.resume_from, warmup=args.warmup,
                       travel_out=args.travel_out, init=args.init)
    except (ConfigError, DatasetError, FileNotFoundError, PrecisionError, TravelError) as exc:
        print(f"i2i-train: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the run folder became unwritable or the disk filled up during the run
        print(f"i2i-train: {exc}", file=sys.stderr)
        return 1
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if result.checkpoint is not None:  # rank 0 (the only one that saves)
        print(f"checkpoint: {result.checkpoint}")
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
