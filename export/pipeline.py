"""The export pipeline: model -> fp32 graphs -> parity -> style statistics -> variants -> bundle.

Every step happens in a private temporary folder; the bundle is written (atomically, by
``export.bundle_writer``) only after parity has passed, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import onnx
import onnxruntime
import torch

from desktop.runtime.bundle import Bundle
from trainer.provenance import hardware

from .bundle_writer import write_bundle
from .data import DatasetImages
from .onnx_export import OPSET, export_module
from .parity import check_parity, parity_summary
from .registry import FamilyExporter, RoleGraph, exporter_for
from .runners import OnnxRunner, graphs_by_key
from .source import ExportSource
from .variants import VARIANTS, convert

MIN_VARIANT_PSNR_DB = 30.0
MIN_SIDE, MAX_SIDE = 32, 1024
NORMALIZATION = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}


@dataclass
class ExportOptions:
    """What to write and how hard to check it."""

    out: Path
    name: str
    title: str | None = None
    precisions: tuple[str, ...] = ("fp32", "fp16", "int8")
    force_variants: bool = False
    overwrite: bool = False
    style_images: int = 500
    calibration_images: int = 64
    fidelity_images: int = 8
    batch: int = 16
    seed: int = 0
    license: str = ""
    log: Callable[[str], None] = field(default=print)


def export_bundle(source: ExportSource, data: DatasetImages, options: ExportOptions) -> Bundle:
    """Export ``source`` into the bundle ``options.out`` and return it as the app loads it."""
    log = options.log
    exporter = exporter_for(source.family)
    torch.manual_seed(options.seed)
    model = exporter.build(source.config, source.weights)
    graphs = exporter.graphs(model)
    train_size = data.size
    rng = np.random.default_rng(options.seed)
    with tempfile.TemporaryDirectory(prefix="i2i-export-") as tmp:
        work = Path(tmp)
        log(f"exporting {len(graphs)} {source.family} graphs (opset {OPSET}, "
            f"{'untrained' if source.untrained else f'iteration {source.iteration}'}"
            f"{', EMA weights' if source.ema else ''})")
        test_images = {d: data.images(d, "test", limit=4) for d in data.domains}
        cases = []
        for graph in graphs:  # each graph is checked right away: a parity failure stops the export early
            example = exporter.feeds(model, graph, _random_images(rng, 2, train_size), rng)
            export_module(graph.module, tuple(torch.from_numpy(example[s.name]) for s in graph.inputs),
                          graph.inputs, graph.outputs, work / graph.file_name("fp32"))
            cases += check_parity(exporter, model, graph, work, test_images, train_size, seed=options.seed)
        worst = max(c.max_abs_diff for c in cases)
        log(f"parity torch vs onnxruntime: {len(cases)} cases (random + real images, batch 1 and 3, "
            f"{len({(c.height, c.width) for c in cases})} sizes), max |diff| {worst:.2e} <= 1e-4: ok")

        arrays = exporter.arrays(model, {d: data.batches(d, "train", options.style_images, options.batch)
                                         for d in data.domains})
        verification: dict[str, Any] = {"max_abs_diff": {"fp32": worst}, "parity": parity_summary(cases)}
        kept = _variants(exporter, model, graphs, work, data, options, verification)

        manifest = _manifest(exporter, model, source, data, options, graphs, kept, arrays, verification)
        files = {g.file_name(p): work / g.file_name(p) for g in graphs for p in ("fp32", *kept)}
        for (role, domain), array in arrays.items():
            name = _array_file(role, domain)
            np.save(work / name, array, allow_pickle=False)
            files[name] = work / name
        bundle = write_bundle(options.out, manifest, files, archive=options.out.suffix == ".i2i",
                              overwrite=options.overwrite)
    size_mb = _size(options.out) / 1e6
    log(f"wrote {options.out} ({size_mb:.1f} MB; precisions: {', '.join(['fp32', *kept])})")
    return bundle


def _variants(exporter: FamilyExporter, model: Any, graphs: list[RoleGraph], work: Path, data: DatasetImages,
              options: ExportOptions, verification: dict[str, Any]) -> list[str]:
    """Convert, measure and keep (or drop) each requested variant; fills ``verification``."""
    wanted = [p for p in options.precisions if p in VARIANTS]
    fidelity = {d: data.images(d, "test", limit=options.fidelity_images) for d in data.domains}
    fp32_ms = _ms_per_image(exporter, graphs, work, "fp32", fidelity)
    verification["ms_per_image"] = {"fp32": fp32_ms}
    verification["psnr_db"] = {}
    kept = []
    for precision in wanted:
        for graph in graphs:
            calibration = _calibration(exporter, model, graph, data, options)
            convert(precision, work / graph.file_name("fp32"), work / graph.file_name(precision), calibration)
        psnr = _psnr_vs_fp32(exporter, graphs, work, precision, fidelity, options.seed)
        ms = _ms_per_image(exporter, graphs, work, precision, fidelity)
        verification["psnr_db"][precision] = psnr
        verification["ms_per_image"][precision] = ms
        keep = psnr >= MIN_VARIANT_PSNR_DB or options.force_variants
        verdict = "kept" if psnr >= MIN_VARIANT_PSNR_DB else (
            "kept (forced)" if keep else f"NOT written (below {MIN_VARIANT_PSNR_DB:g} dB; --force-variants keeps it)")
        options.log(f"{precision}: PSNR vs fp32 {psnr:.1f} dB, {ms:.1f} ms/image "
                    f"(fp32 {fp32_ms:.1f} ms) -> {verdict}")
        if keep:
            kept.append(precision)
        else:
            verification.setdefault("variants_dropped", {})[precision] = f"PSNR {psnr:.1f} dB"
    return kept


def _calibration(exporter: FamilyExporter, model: Any, graph: RoleGraph, data: DatasetImages,
                 options: ExportOptions) -> Iterator[dict[str, np.ndarray]]:
    """Calibration feeds for ``graph`` from real training images of the domain that drives it."""
    rng = np.random.default_rng(options.seed)
    for batch in data.batches(exporter.feed_domain(graph), "train", options.calibration_images, 8):
        yield exporter.feeds(model, graph, batch, rng)


def _directions(domains: list[str]) -> list[tuple[str, str]]:
    return [(s, t) for s in domains for t in domains if s != t]


def _psnr_vs_fp32(exporter: FamilyExporter, graphs: list[RoleGraph], work: Path, precision: str,
                  images: dict[str, np.ndarray], seed: int) -> float:
    """Worst PSNR (dB, images in [-1, 1]) over directions of ``precision`` translations vs fp32."""
    by_key = graphs_by_key(graphs)
    worst = float("inf")
    for source, target in _directions(list(images)):
        outs = [exporter.translate(OnnxRunner(work, p), by_key, images[source], images[target], source, target,
                                   np.random.default_rng(seed)) for p in ("fp32", precision)]
        worst = min(worst, psnr(outs[0], outs[1]))
    return worst


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB (inf when identical)."""
    mse = float(np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def _ms_per_image(exporter: FamilyExporter, graphs: list[RoleGraph], work: Path, precision: str,
                  images: dict[str, np.ndarray]) -> float:
    """Mean onnxruntime time (ms) of one batch-1 translation, after a warm-up, over the first direction."""
    source, target = _directions(list(images))[0]
    runner, by_key, rng = OnnxRunner(work, precision), graphs_by_key(graphs), np.random.default_rng(0)
    refs = images[target]
    exporter.translate(runner, by_key, images[source][:1], refs[:1], source, target, rng)
    runner.seconds = 0.0
    count = len(images[source])
    for i in range(count):
        exporter.translate(runner, by_key, images[source][i:i + 1], refs[i:i + 1], source, target, rng)
    return 1000.0 * runner.seconds / (2 * count)  # translate() makes two images per input


def _random_images(rng: np.random.Generator, batch: int, size: int) -> np.ndarray:
    return rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)


def _array_file(role: str, domain: str | None) -> str:
    return f"{domain}_{role}.npy" if domain else f"{role}.npy"


def _manifest(exporter: FamilyExporter, model: Any, source: ExportSource, data: DatasetImages,
              options: ExportOptions, graphs: list[RoleGraph], kept: list[str],
              arrays: dict[tuple[str, str | None], np.ndarray], verification: dict[str, Any]) -> dict[str, Any]:
    """The bundle manifest (docs/bundle.md); sha256 fields are filled in by the writer."""
    domains = data.domains
    manifest: dict[str, Any] = {
        "schema_version": 1,
        "name": options.name,
        "title": options.title or options.name,
        "family": source.family,
        "untrained": source.untrained,
        "domains": [{"id": d, "name": data.domain_names[d]} for d in domains],
        "directions": [{"id": f"{s}2{t}", "source": s, "target": t} for s, t in _directions(domains)],
        "image": {"train_size": data.size, "sizes": {"kind": "multiple", "multiple": exporter.size_multiple(source.config),
                            "min": MIN_SIDE, "max": MAX_SIDE}, "normalization": NORMALIZATION,
                  "channel_order": "RGB", "layout": "NCHW"},
        **exporter.manifest_fields(model),
        "graphs": [{"role": g.role, **({"domain": g.domain} if g.domain else {}), "precision": p,
                    "file": g.file_name(p), "sha256": "",
                    "inputs": [s.manifest() for s in g.inputs], "outputs": [s.manifest() for s in g.outputs]}
                   for p in ("fp32", *kept) for g in graphs],
        "arrays": [{"role": role, **({"domain": domain} if domain else {}), "file": _array_file(role, domain),
                    "sha256": "", "shape": list(a.shape), "dtype": str(a.dtype)}
                   for (role, domain), a in arrays.items()],
        "verification": verification,
        "provenance": _provenance(source, data),
        "license": options.license,
    }
    return manifest


def _provenance(source: ExportSource, data: DatasetImages) -> dict[str, Any]:
    return {
        "dataset": source.data.get("dataset", data.name),
        "images": source.data.get("images", data.train_counts()),
        "domains": data.domain_names,
        "iterations": source.iteration,
        "checkpoint": source.checkpoint.name if source.checkpoint else None,
        "ema": source.ema,
        "untrained": source.untrained,
        "config": source.config,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "hardware": hardware(),
        "training": source.training,
        "software": {"python": platform.python_version(), "torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
    }


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())
