"""The ``i2i`` command line: bundles, providers and translation, without the GUI (and without torch).

Each subcommand is a module in this package with ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; adding one is one line in :data:`COMMANDS`.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {  # subcommand -> module implementing it
    "models": "desktop.cli.models",
    "providers": "desktop.cli.providers",
    "translate": "desktop.cli.translate",
    "batch": "desktop.cli.batch",
}


class CliError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i", description="i2i Studio: image-to-image translation models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that describe bad input (one line for the user) rather than a bug."""
    from desktop.runtime.bundle import BundleError
    from desktop.runtime.frames import FrameSourceError
    from desktop.runtime.translators import TranslationError
    from i2i_common.images import ImageReadError, ImageWriteError

    return CliError, BundleError, FrameSourceError, ImageReadError, ImageWriteError, TranslationError, ValueError


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``i2i`` with ``argv`` (default: the process's arguments); returns the exit code."""
    try:
        parser = build_parser()
        user_errors = _user_errors()
    except ImportError as exc:  # desktop.runtime explains which extra provides onnxruntime
        print(f"i2i: error: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except user_errors as exc:
        print(f"i2i: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("i2i: interrupted", file=sys.stderr)
        return 130
