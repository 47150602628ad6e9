"""How faithful and how fast a precision variant is: verification translations, fp32 against the variant.

A translation is the family exporter's :meth:`~export.family_exporter.FamilyExporter.translate` along one
bundle direction; it returns the outputs the exporter declares (``verification_outputs``): images, which are
compared together at a data range of 2 (they are normalised to [-1, 1]) and counted for the speed, and maps
(attention), each compared at its own fp32 range.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from desktop.runtime.bundle import Direction

from .family_exporter import ExportGraph, FamilyExporter
from .onnx_export import ExportError
from .runners import OnnxRunner, graphs_by_key


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB (inf when identical)."""
    mse = float(np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def _translate(exporter: FamilyExporter, runner: OnnxRunner, graphs: list[ExportGraph], direction: Direction,
               images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One verification translation; its outputs must be exactly the ones the exporter declares."""
    outputs = exporter.translate(runner, graphs_by_key(graphs), direction, images, rng)
    declared = [o.name for o in exporter.verification_outputs]
    if sorted(outputs) != sorted(declared):
        raise ExportError(f"the exporter's translation returned {sorted(outputs)}, it declares {declared}")
    return outputs


def psnr_vs_fp32(exporter: FamilyExporter, graphs: list[ExportGraph], directions: list[Direction],
                 work: Path, precision: str, images: Mapping[str, np.ndarray], seed: int) -> float:
    """Worst PSNR (dB) of ``precision`` translations against fp32 over directions and compared outputs."""
    worst = float("inf")
    for direction in directions:
        fp32, test = (_translate(exporter, OnnxRunner(work, p), graphs, direction, images,
                                 np.random.default_rng(seed)) for p in ("fp32", precision))
        names = [o.name for o in exporter.verification_outputs if o.kind == "image"]
        if names:
            worst = min(worst, psnr(np.concatenate([fp32[n] for n in names]),
                                    np.concatenate([test[n] for n in names])))
        for name in (o.name for o in exporter.verification_outputs if o.kind == "map"):
            span = float(np.ptp(fp32[name])) or 1.0
            worst = min(worst, psnr(fp32[name], test[name], data_range=span))
    return worst


def ms_per_image(exporter: FamilyExporter, graphs: list[ExportGraph], direction: Direction, work: Path,
                 precision: str, images: Mapping[str, np.ndarray]) -> float:
    """Mean onnxruntime time (ms) per image of batch-1 translations along ``direction``, after a warm-up;
    one translation makes as many images as its ``image`` outputs hold."""
    runner, rng = OnnxRunner(work, precision), np.random.default_rng(0)

    def one(i: int) -> dict[str, np.ndarray]:
        return _translate(exporter, runner, graphs, direction, {d: a[i:i + 1] for d, a in images.items()}, rng)

    one(0)
    runner.seconds = 0.0
    made = 0
    for i in range(min(len(a) for a in images.values())):
        outputs = one(i)
        made += sum(len(outputs[o.name]) for o in exporter.verification_outputs if o.kind == "image")
    return 1000.0 * runner.seconds / made
