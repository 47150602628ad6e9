"""``i2i providers``: the execution providers this onnxruntime offers and the one "auto" picks."""
from __future__ import annotations

import argparse

import onnxruntime as ort

from desktop.runtime.providers import PROVIDERS, available_providers

HELP = "list the onnxruntime execution providers (CUDA, DirectML, CoreML, CPU) and which one is used"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    available = available_providers()
    print(f"onnxruntime {ort.__version__} ({ort.get_device()} build)")
    for name, ep in PROVIDERS.items():
        mark = "available" if name in available else "not available"
        default = "  <- used by --provider auto" if name == available[0] else ""
        print(f"  {name:<9} {ep:<26} {mark}{default}")
    return 0
