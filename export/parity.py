"""Torch vs onnxruntime parity of every exported graph, at several batch sizes and resolutions.

Always run at export time. Inputs are random images and real test images (and, for graphs fed by
other graphs, what the torch model makes of them); a graph whose onnxruntime output differs from torch
by more than the tolerance anywhere fails the export with the numbers.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .family_exporter import ExportGraph, FamilyExporter
from .onnx_export import ExportError
from .runners import OnnxRunner, torch_runner

FP32_TOLERANCE = 1e-4


class ParityError(ExportError):
    """onnxruntime and torch disagree beyond the tolerance."""


@dataclass(frozen=True)
class ParityCase:
    """One parity measurement: which graph, which inputs, batch, size and the max abs difference."""

    graph: str
    inputs: str
    batch: int
    height: int
    width: int
    max_abs_diff: float

    def row(self) -> str:
        """One console line."""
        return (f"  {self.graph:<28} {self.inputs:<6} batch {self.batch}  {self.height}x{self.width:<4} "
                f"max|diff| {self.max_abs_diff:.2e}")


def resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a normalised NCHW batch (area-like, antialiased bilinear)."""
    if images.shape[2:] == (height, width):
        return images
    out = F.interpolate(torch.from_numpy(images), size=(height, width), mode="bilinear",
                        antialias=True, align_corners=False)
    return out.clamp(-1, 1).numpy()


def check_parity(exporter: FamilyExporter, model: Any, graph: ExportGraph, folder: Path,
                 test_images: Mapping[str, np.ndarray], sizes: list[tuple[int, int]], batches: tuple[int, ...] = (1, 3),
                 tolerance: float = FP32_TOLERANCE, seed: int = 0) -> list[ParityCase]:
    """Compare the fp32 graph file of ``graph`` in ``folder`` with its torch module on random and real
    images at each batch size and each (height, width) of ``sizes``; raise :class:`ParityError` on failure.

    ``test_images`` maps a domain to real normalised test images (NCHW float32, at least max(batches)).
    """
    rng = np.random.default_rng(seed)
    run_torch, run_onnx = torch_runner(), OnnxRunner(folder, "fp32")
    images_of = exporter.feed_images(graph)
    cases: list[ParityCase] = []
    for height, width in sizes:
        for batch in batches:
            for kind in ("random", "real"):
                if kind == "random":
                    images = rng.uniform(-1, 1, (batch, 3, height, width)).astype(np.float32)
                else:
                    images = resize(test_images[images_of][:batch], height, width)
                feeds = exporter.feeds(model, graph, images, rng)
                expected, got = run_torch(graph, feeds), run_onnx(graph, feeds)
                diff = max(_max_abs_diff(e, g) for e, g in zip(expected, got, strict=False))
                cases.append(ParityCase(graph.file_name("fp32"), kind, batch, height, width, diff))
    failed = [c for c in cases if not c.max_abs_diff <= tolerance]
    if failed:
        rows = "\n".join(c.row() for c in failed)
        raise ParityError(f"parity check failed for {graph.file_name('fp32')}: {len(failed)} of {len(cases)} "
                          f"cases differ from torch by more than {tolerance:.0e}:\n{rows}")
    return cases


def _max_abs_diff(expected: np.ndarray, got: np.ndarray) -> float:
    """Max absolute difference; shape mismatches and NaNs count as infinitely different."""
    if expected.shape != got.shape:
        return float("inf")
    diff = np.abs(expected.astype(np.float64) - got.astype(np.float64))
    return float("inf") if np.isnan(diff).any() else float(diff.max(initial=0.0))


def parity_summary(cases: list[ParityCase], tolerance: float = FP32_TOLERANCE) -> dict[str, Any]:
    """The manifest's ``verification.parity`` entry."""
    return {
        "tolerance": tolerance,
        "max_abs_diff": max(c.max_abs_diff for c in cases),
        "cases": [{"graph": c.graph, "inputs": c.inputs, "batch": c.batch, "size": [c.height, c.width],
                   "max_abs_diff": c.max_abs_diff} for c in cases],
    }
