"""``i2i-export``: turn a training run (or a random init) into a verified model bundle.

    i2i-export --run runs/cat2dog --data ../shared/data/cat2dog --out cat2dog-munit.i2i
    i2i-export --run runs/cat2dog --checkpoint ckpt_00040000.pt --data DATA --out model/ --precisions fp32,int8
    i2i-export --init-random --config munit_cpu --data ../shared/data/cat2dog --out placeholder.i2i
    i2i-export --run runs/student --data DATA --out cat2dog-munit-fast.i2i --student-of cat2dog-munit

Every export checks torch against onnxruntime (random and real images, batch 1 and 3, two sizes);
a difference above 1e-4 fails the export and nothing is written. A ``.i2i`` output is one archive,
anything else a folder. fp16/int8 variants below 30 dB PSNR against fp32 are left out unless forced.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .onnx_export import ExportError

if TYPE_CHECKING:
    from .source import ExportSource

PRECISIONS = ("fp32", "fp16", "int8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i-export", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", type=Path, help="run folder: its newest checkpoint is exported")
    parser.add_argument("--checkpoint", type=Path,
                        help="a checkpoint file (ckpt_NNNNNNNN.pt); with --run, a name in its checkpoints/")
    source.add_argument("--init-random", action="store_true",
                        help="export the randomly initialised model of --config (an untrained placeholder)")
    parser.add_argument("--config", help="TOML config or shipped config name (with --init-random)")
    parser.add_argument("--data", type=Path, required=True,
                        help="the dataset folder (real images for parity, calibration, style statistics)")
    parser.add_argument("--out", type=Path, required=True, help="bundle to write: NAME.i2i archive or a folder")
    parser.add_argument("--name", help="bundle name (default: the output's file name without extension)")
    parser.add_argument("--title", help="human title shown in the app's menus")
    parser.add_argument("--license", default="", help="licence / terms text shown in the app")
    parser.add_argument("--student-of", metavar="TEACHER",
                        help="mark the bundle as the real-time student of the bundle named TEACHER (default: a "
                             "distillation run's distill.student_of; a distilled run needs one of them)")
    parser.add_argument("--precisions", default="fp32,fp16,int8",
                        help="comma-separated: fp32 (always written), fp16, int8 (default: all)")
    parser.add_argument("--force-variants", action="store_true",
                        help="write fp16/int8 variants even below 30 dB PSNR against fp32")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--style-images", type=int, default=500,
                        help="training images per domain for the style statistics (default 500)")
    parser.add_argument("--calibration-images", type=int, default=64,
                        help="training images per graph for int8 calibration (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random inits, parity inputs and styles")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for --init-random, e.g. --set model.dim=32 (repeatable)")
    return parser


def _precisions(text: str) -> tuple[str, ...]:
    wanted = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown:
        raise ExportError(f"unknown precision(s) {', '.join(unknown)} (known: {', '.join(PRECISIONS)})")
    return ("fp32", *[p for p in wanted if p != "fp32"])


def _default_name(out: Path) -> str:
    name = out.name[:-len(".i2i")] if out.name.endswith(".i2i") else out.name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name) or "model"


def _checkpoint_path(run: Path | None, checkpoint: Path | None) -> Path:
    """``--checkpoint`` as given, or inside ``--run``'s checkpoints/; else the run's newest checkpoint."""
    from .source import run_checkpoint

    if checkpoint is None:
        if run is None:
            raise ExportError("say what to export: --run, --checkpoint or --init-random")
        return run_checkpoint(run)
    if run is not None and not checkpoint.exists() and (run / "checkpoints" / checkpoint).exists():
        return run / "checkpoints" / checkpoint
    return checkpoint


def _mark_student(source: ExportSource, student_of: str | None) -> None:
    """Set whose student the bundle is: ``--student-of``, else the distillation run's own ``distill.student_of``;
    a distilled checkpoint with neither is refused (its bundle could not be found as its teacher's student)."""
    from desktop.runtime.bundle import check_model_name

    if student_of is not None:
        source.student_of = student_of
    if source.student_of is not None:
        check_model_name(source.student_of, "--student-of")
    elif source.distilled and not source.untrained:
        raise ExportError(f"{source.checkpoint} is a distilled student: name its teacher's bundle with "
                          "--student-of NAME (or set distill.student_of in the run's config)")


def run(args: argparse.Namespace) -> Path:
    """Do the export the parsed ``args`` ask for; returns the written bundle's path."""
    from trainer.config import ConfigError, load_config

    from .data import DatasetImages
    from .pipeline import ExportOptions, export_bundle
    from .registry import exporter_for
    from .source import load_checkpoint, random_source

    precisions = _precisions(args.precisions)
    if args.init_random and args.checkpoint:
        raise ExportError("--init-random exports no checkpoint: leave out --checkpoint")
    if args.init_random:
        if not args.config:
            raise ExportError("--init-random needs --config (a TOML file or a shipped config name)")
        try:
            source = random_source(load_config(args.config, args.sets))
        except ConfigError as exc:
            raise ExportError(str(exc)) from exc
    else:
        if args.config or args.sets:
            raise ExportError("--config/--set only apply to --init-random (a checkpoint carries its own config)")
        source = load_checkpoint(_checkpoint_path(args.run, args.checkpoint))
    exporter_for(source.family)  # an unknown family fails here, before any image is read
    _mark_student(source, args.student_of)
    if args.out.exists() and not args.overwrite:
        raise ExportError(f"{args.out} already exists (pass --overwrite to replace it)")
    data = DatasetImages.from_config(source.config, args.data)
    options = ExportOptions(out=args.out, name=args.name or _default_name(args.out), title=args.title,
                            precisions=precisions, force_variants=args.force_variants, overwrite=args.overwrite,
                            style_images=args.style_images, calibration_images=args.calibration_images,
                            seed=args.seed, license=args.license)
    export_bundle(source, data, options)
    return args.out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from desktop.runtime.bundle import BundleError

    try:
        run(args)
    except (ExportError, BundleError) as exc:
        print(f"i2i-export: error: {exc}", file=sys.stderr)
        print("i2i-export: no bundle written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
