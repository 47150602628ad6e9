"""``i2i translate``: translate image files with a model bundle.

A file that fails (unreadable, truncated, output already there) is reported on its own line and the
others go on; the exit code is 1 if any failed. Inputs are never modified and existing outputs are kept
unless ``--overwrite``. With ``--attention`` (models with an attention map: U-GAT-IT) each output gets its
coloured map beside it, ``<output stem>.attention.png``.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

from desktop.cli import CliError
from desktop.runtime.attention import COLOUR_MAPS, DEFAULT_COLOUR_MAP, attention_path, save_attention
from desktop.runtime.bundle import PRECISIONS, Bundle, resolve_bundle
from desktop.runtime.paths import default_model_name
from desktop.runtime.preprocess import MODES
from desktop.runtime.providers import AUTO, PROVIDERS
from desktop.runtime.style import RandomStyle, ReferenceStyle, StyleSource, TypicalStyle
from desktop.runtime.translators import TranslationError, Translator, open_translator
from i2i_common.filenames import fit_name, printable
from i2i_common.images import IMAGE_EXTENSIONS, ImageReadError, ImageWriteError, read_image, write_image

HELP = "translate image files with a model (several random styles per input with --count)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output folder, or an image file name for a single input and a single style")
    parser.add_argument("--model", default=None, metavar="NAME|PATH",
                        help=f"installed model name or bundle path (default {default_model_name()})")
    parser.add_argument("--direction", help="translation direction id, e.g. a2b (default: the model's first)")
    parser.add_argument("--style", default="random", metavar="random|typical|PATH",
                        help="random styles (seeded), the domain's typical style, or a reference image")
    parser.add_argument("--seed", type=int, help="seed of the first random style (default: a random one, printed)")
    parser.add_argument("--count", type=int, default=1, metavar="K", help="random styles per input (default 1)")
    parser.add_argument("--mode", choices=MODES, default="fit",
                        help="fit: resize to the model's size; native: keep the input's resolution")
    parser.add_argument("--provider", default=AUTO, choices=[AUTO, *PROVIDERS], help="execution provider")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                        help="graph precision (falls back to fp32 where the model has no such variant)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--attention", action="store_true",
                        help="also write each output's attention map beside it as <name>.attention.png (U-GAT-IT)")
    parser.add_argument("--colour-map", default=DEFAULT_COLOUR_MAP, choices=list(COLOUR_MAPS),
                        help=f"colours of --attention maps (default {DEFAULT_COLOUR_MAP})")


def _styles(args: argparse.Namespace, translator: Translator) -> list[tuple[StyleSource | None, str]]:
    """(style source, file-name suffix) for each output of one input, checked against what the model can do."""
    if args.count < 1:
        raise CliError("--count must be at least 1")
    can = translator.capabilities
    if not can.styles:
        if args.style != "random" or args.count != 1 or args.seed is not None:
            raise CliError(f"{translator.bundle.name} ({translator.bundle.family}) has no style: "
                           "drop --style, --seed and --count")
        return [(None, "")]
    if args.style == "random":
        if not can.random_styles:
            raise CliError(f"{translator.bundle.name} has no style prior to sample from: "
                           "use --style typical or --style PATH (a reference image)")
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
        if args.seed is None:
            print(f"random styles start at seed {seed} (pass --seed {seed} to repeat)")
        return [(RandomStyle(seed + k), f"_s{seed + k}") for k in range(args.count)]
    if args.count != 1:
        raise CliError("--count needs --style random (the other styles give one result each)")
    if args.style == "typical":
        return [(TypicalStyle(), "_typical")]
    reference = Path(args.style)
    return [(ReferenceStyle(read_image(reference)), f"_{reference.stem}")]


def _target(out: Path, single_file: bool, source: Path, direction: str, suffix: str, alpha: bool) -> Path:
    """Where one output goes: ``OUT`` itself, or ``OUT/<stem>_<direction><style suffix><ext>``. Images with
    alpha are written as PNG, and so are inputs whose format cannot be written."""
    if single_file:
        return out
    ext = source.suffix.lower()
    ext = ".png" if alpha or ext not in IMAGE_EXTENSIONS else ext
    return out / fit_name(f"{source.stem}_{direction}{suffix}{ext}")


def _check_target(target: Path, source: Path, overwrite: bool, written: set[Path]) -> None:
    if target.resolve() == source.resolve() or (target.exists() and os.path.samefile(target, source)):
        raise CliError(f"{source}: the output would replace the input")
    if target in written:
        raise CliError(f"{source}: {target} is the output of another input in this run")
    if target.exists() and not overwrite:
        raise ImageWriteError(f"{target}: already exists (use --overwrite to replace it)")


def _targets(target: Path, attention: bool) -> list[Path]:
    """The files one output writes: the image, and with ``attention`` its map beside it."""
    return [target, attention_path(target)] if attention else [target]


def _translate_file(translator: Translator, args: argparse.Namespace, source: Path, direction: str,
                    styles: list[tuple[StyleSource | None, str]], single_file: bool, written: set[Path]) -> int:
    """Translate one input into its outputs with one runtime call; returns how many outputs failed (each is
    reported). The outputs whose target is refused are dropped before translating."""
    try:
        image = read_image(source)
    except ImageReadError as exc:
        print(f"i2i: error: {printable(exc)}", file=sys.stderr)
        return len(styles)
    failures = 0
    wanted: list[tuple[StyleSource | None, Path]] = []
    for style, suffix in styles:
        target = _target(Path(args.output), single_file, source, direction, suffix, image.shape[2] == 4)
        try:
            for path in _targets(target, args.attention):
                _check_target(path, source, args.overwrite, written)
        except (CliError, ImageWriteError) as exc:
            failures += 1
            print(f"i2i: error: {printable(exc)}", file=sys.stderr)
            continue
        wanted.append((style, target))
    if not wanted:
        return failures
    try:
        results = translator.translate_many(image, direction, [style for style, _target in wanted], args.mode)
    except TranslationError as exc:
        print(f"i2i: error: {printable(exc)}", file=sys.stderr)
        return failures + len(wanted)
    for (_style, target), result in zip(wanted, results, strict=True):
        try:
            write_image(target, result.image, overwrite=args.overwrite)
            if args.attention:
                save_attention(target, result.heatmap, args.colour_map, overwrite=args.overwrite)
        except ImageWriteError as exc:
            failures += 1
            print(f"i2i: error: {printable(exc)}", file=sys.stderr)
            continue
        written.update(_targets(target, args.attention))
        stages = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
        also = f" + {printable(attention_path(target).name)}" if args.attention else ""
        print(f"{printable(source)} -> {printable(target)}{also}  ({result.total_ms:.1f} ms: {stages})")
    return failures


def model_and_direction(model: str | None, direction: str | None) -> tuple[Bundle, str]:
    """The bundle and direction asked for; the defaults are the default model and the model's first
    direction (``i2i translate`` and ``i2i batch`` share them). A bad direction fails here, with the
    bundle's message."""
    bundle = resolve_bundle(model or default_model_name())
    direction = direction or bundle.directions[0].id
    bundle.direction(direction)
    return bundle, direction


def run(args: argparse.Namespace) -> int:
    for name in args.inputs:
        if Path(name).is_dir():
            raise CliError(f"{name} is a folder: translate takes image files")
    bundle, direction = model_and_direction(args.model, args.direction)
    translator = open_translator(bundle, provider=args.provider, precision=args.precision)
    info = translator.provider_info
    print(f"model {bundle.name} [{bundle.family}]{' (untrained placeholder)' if bundle.untrained else ''} "
          f"on {info.active}, {translator.precision}")
    if info.fell_back:
        print(f"warning: asked for {info.requested}, running on {info.active}: {info.fallback_reason}",
              file=sys.stderr)
    if translator.precision_note:
        print(f"warning: {translator.precision_note}", file=sys.stderr)
    styles = _styles(args, translator)
    if args.attention and not translator.capabilities.attention_map:
        raise CliError(f"{bundle.name} ({bundle.family}) has no attention map: drop --attention")
    out = Path(args.output)
    single_file = out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir()
    total = len(args.inputs) * len(styles)
    if single_file and total != 1:
        raise CliError(f"{out} is a file name, but this run makes {total} images: give an output folder")
    written: set[Path] = set()
    failures = sum(_translate_file(translator, args, Path(name), direction, styles, single_file, written)
                   for name in args.inputs)
    if failures:
        print(f"i2i: {failures} of {total} images failed", file=sys.stderr)
    return 1 if failures else 0
