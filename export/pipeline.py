"""The export pipeline: model -> fp32 graphs -> parity -> style statistics -> variants -> bundle.

Every step happens in a private temporary folder; the bundle is written (atomically, by
``export.bundle_writer``) only after parity has passed, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from desktop.runtime.bundle import Bundle, Direction, Domain

from .bundle_writer import write_bundle
from .data import DatasetImages
from .family_exporter import ExportGraph, FamilyExporter
from .fidelity import ms_per_image, psnr_vs_fp32
from .manifest import array_file, bundle_manifest
from .onnx_export import OPSET, ExportError, export_module
from .parity import check_parity, parity_summary
from .registry import exporter_for
from .source import ExportSource
from .variants import VARIANTS, convert

MIN_VARIANT_PSNR_DB = 30.0


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
    domains = exporter.domains(model, data)
    directions = exporter.directions(domains)
    _check_scopes(graphs, domains, directions)
    train_size = data.size
    sizes = exporter.image_sizes(source.config)
    if sizes.fixed is not None and sizes.fixed != (train_size, train_size):
        raise ExportError(f"this {source.family} model only takes {sizes.fixed[1]}x{sizes.fixed[0]} images; the "
                          f"export data size is {train_size}x{train_size}")
    rng = np.random.default_rng(options.seed)
    with tempfile.TemporaryDirectory(prefix="i2i-export-") as tmp:
        work = Path(tmp)
        log(f"exporting {len(graphs)} {source.family} graphs (opset {OPSET}, "
            f"{'untrained' if source.untrained else f'iteration {source.iteration}'}"
            f"{', EMA weights' if source.ema else ''}"
            f"{f', a student of {source.student_of}' if source.student_of else ''})")
        test_images = {d: data.images(d, "test", limit=4) for d in data.domains}
        cases = []
        for graph in graphs:  # each graph is checked right away: a parity failure stops the export early
            example = exporter.feeds(model, graph, _random_images(rng, 2, train_size), rng)
            export_module(graph.module, tuple(torch.from_numpy(example[s.name]) for s in graph.inputs),
                          graph.inputs, graph.outputs, work / graph.file_name("fp32"))
            cases += check_parity(exporter, model, graph, work, test_images, sizes.parity_sizes(train_size),
                                  seed=options.seed)
        worst = max(c.max_abs_diff for c in cases)
        log(f"parity torch vs onnxruntime: {len(cases)} cases (random + real images, batch 1 and 3, "
            f"{len({(c.height, c.width) for c in cases})} sizes), max |diff| {worst:.2e} <= 1e-4: ok")

        arrays = exporter.arrays(model, {d: data.batches(d, "train", options.style_images, options.batch)
                                         for d in data.domains})
        verification: dict[str, Any] = {"max_abs_diff": {"fp32": worst}, "parity": parity_summary(cases)}
        kept = _variants(exporter, model, graphs, directions, work, data, options, verification)

        manifest = bundle_manifest(
            family=source.family, name=options.name, title=options.title or options.name, license=options.license,
            source=source, data=data, image_sizes=sizes,
            family_fields=exporter.manifest_fields(model), domains=domains, directions=directions, graphs=graphs,
            precisions=["fp32", *kept], arrays=arrays, verification=verification)
        files = {g.file_name(p): work / g.file_name(p) for g in graphs for p in ("fp32", *kept)}
        for (role, domain), array in arrays.items():
            name = array_file(role, domain)
            np.save(work / name, array, allow_pickle=False)
            files[name] = work / name
        bundle = write_bundle(options.out, manifest, files, archive=options.out.suffix == ".i2i",
                              overwrite=options.overwrite)
    size_mb = _size(options.out) / 1e6
    log(f"wrote {options.out} ({size_mb:.1f} MB; precisions: {', '.join(['fp32', *kept])})")
    return bundle


def _check_scopes(graphs: list[ExportGraph], domains: list[Domain], directions: list[Direction]) -> None:
    """Every domain- or direction-scoped graph must be for one of the declared domains or directions."""
    declared = {"domain": [d.id for d in domains], "direction": [d.id for d in directions]}
    for graph in graphs:
        ids = declared.get(graph.scope)
        if ids is not None and graph.scope_id not in ids:
            raise ExportError(f"graph {graph.file_name('fp32')} is for {graph.scope} {graph.scope_id!r}, which the "
                              f"exporter does not declare (declared: {', '.join(ids)})")


def _variants(exporter: FamilyExporter, model: Any, graphs: list[ExportGraph], directions: list[Direction],
              work: Path, data: DatasetImages, options: ExportOptions, verification: dict[str, Any]) -> list[str]:
    """Convert, measure and keep (or drop) each requested variant; fills ``verification``."""
    wanted = [p for p in options.precisions if p in VARIANTS]
    fidelity = {d: data.images(d, "test", limit=options.fidelity_images) for d in data.domains}
    fp32_ms = ms_per_image(exporter, graphs, directions[0], work, "fp32", fidelity)
    verification["ms_per_image"] = {"fp32": fp32_ms}
    verification["psnr_db"] = {}
    kept = []
    for precision in wanted:
        for graph in graphs:
            calibration = _calibration(exporter, model, graph, data, options)
            convert(precision, work / graph.file_name("fp32"), work / graph.file_name(precision), calibration)
        psnr = psnr_vs_fp32(exporter, graphs, directions, work, precision, fidelity, options.seed)
        ms = ms_per_image(exporter, graphs, directions[0], work, precision, fidelity)
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


def _calibration(exporter: FamilyExporter, model: Any, graph: ExportGraph, data: DatasetImages,
                 options: ExportOptions) -> Iterator[dict[str, np.ndarray]]:
    """Calibration feeds for ``graph`` from real training images of the domain that drives it."""
    rng = np.random.default_rng(options.seed)
    for batch in data.batches(exporter.feed_images(graph), "train", options.calibration_images, 8):
        yield exporter.feeds(model, graph, batch, rng)


def _random_images(rng: np.random.Generator, batch: int, size: int) -> np.ndarray:
    return rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())
