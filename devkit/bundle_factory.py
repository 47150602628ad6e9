"""Tiny but real bundles for every family, for tests (this module needs torch; the app does not).

Each graph is a randomly initialised torch module with the inputs and outputs docs/bundle.md fixes,
exported with ``torch.onnx.export`` (dynamic batch, height and width) and written with the project's own
``export.bundle_writer.write_bundle``, so the bundle is validated exactly as the app validates it and
carries a self-test for each of its precisions (``export.selftest_record``), as exported bundles do.

The tests do not run it: ``python -m devkit.bundle_factory tests/fixtures/bundles`` writes the bundles that
``tests/conftest.py`` hands out (``tiny_bundles``, ``tiny_archives``), and ``tests/export`` rebuilds them to check
that the committed ones are still what this module makes. Scripts, benchmarks and export tests call
:func:`build_bundle` / :func:`make_manifest` directly to make variants (broken ones included).
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from desktop.runtime.bundle import Bundle
from export.bundle_writer import write_bundle

STYLE_DIM = 4
CONTENT_CH = 6
CLUSTERS = 3
CLUSTER_SIZES = (9, 4, 2)  # the tiny TUNIT's training images per cluster: the last has fewer than EXEMPLARS
EXEMPLARS, EXEMPLAR_SIDE = 3, 16  # its exemplar thumbnails per cluster and their side (px)
TRAIN_SIZE = 32
MULTIPLE = 4
IMAGE = ["batch", 3, "height", "width"]


def _tensor(name: str, shape: list) -> dict[str, Any]:
    return {"name": name, "shape": shape, "dtype": "float32"}


class ContentEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(8, CONTENT_CH, 3, stride=2, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.down2(F.relu(self.down1(image)))


class StyleEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.head = nn.Linear(8, STYLE_DIM)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.conv(image)).mean(dim=(2, 3)))


class Decoder(nn.Module):
    """Content [B,C,h,w] + style [B,D] -> image [B,3,4h,4w]; the style modulates every channel."""

    def __init__(self, up: int = 4) -> None:
        super().__init__()
        self.mlp = nn.Linear(STYLE_DIM, 2 * CONTENT_CH)
        self.out = nn.Conv2d(CONTENT_CH, 3, 3, padding=1)
        self.up = up

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.mlp(style).chunk(2, dim=1)
        x = content * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        x = F.interpolate(F.relu(x), scale_factor=self.up, mode="nearest")
        return torch.tanh(self.out(x))


class UgatitGenerator(nn.Module):
    """Image -> (image, CAM heatmap at half resolution)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.cam = nn.Linear(8, 1, bias=False)
        self.out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.down(image))
        x = x * self.cam.weight[0][None, :, None, None]
        heatmap = x.sum(dim=1, keepdim=True)
        y = torch.tanh(self.out(F.interpolate(x, scale_factor=2, mode="nearest")))
        return y, heatmap


class Guiding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = StyleEncoder()
        self.cluster = nn.Linear(STYLE_DIM, CLUSTERS)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        style = self.enc(image)
        return style, self.cluster(style)


class TunitGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = ContentEncoder()
        self.dec = Decoder()

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.dec(self.enc(image), style)


def _export(module: nn.Module, path: Path, inputs: list[dict], outputs: list[dict]) -> None:
    module.eval()
    examples = tuple(torch.zeros([2 if s == "batch" else TRAIN_SIZE if isinstance(s, str) else s
                                  for s in spec["shape"]]) for spec in inputs)
    if len(inputs) == 2 and inputs[0]["name"] == "content":  # decoder: content is a quarter of the image
        examples = (torch.zeros(2, CONTENT_CH, TRAIN_SIZE // 4, TRAIN_SIZE // 4), torch.zeros(2, STYLE_DIM))
    dynamic = {spec["name"]: {i: s for i, s in enumerate(spec["shape"]) if isinstance(s, str)}
               for spec in inputs + outputs}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deliberate here
        torch.onnx.export(module, examples, str(path), input_names=[s["name"] for s in inputs],
                          output_names=[s["name"] for s in outputs], dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)


def _graph(role: str, file: str, inputs: list, outputs: list, **where: str) -> dict[str, Any]:
    return {"role": role, **where, "precision": "fp32", "file": file, "inputs": inputs, "outputs": outputs}


def _munit(work: Path) -> tuple[list, dict, dict]:
    graphs, files, arrays = [], {}, {}
    content = _tensor("content", ["batch", CONTENT_CH, "h4", "w4"])
    rng = np.random.default_rng(0)
    for domain in ("a", "b"):
        for role, module, ins, outs in (
            ("content_encoder", ContentEncoder(), [_tensor("image", IMAGE)], [content]),
            ("style_encoder", StyleEncoder(), [_tensor("image", IMAGE)], [_tensor("style", ["batch", STYLE_DIM])]),
            ("decoder", Decoder(), [content, _tensor("style", ["batch", STYLE_DIM])], [_tensor("image", IMAGE)]),
        ):
            file = f"{domain}_{role}.onnx"
            _export(module, work / file, ins, outs)
            graphs.append(_graph(role, file, ins, outs, domain=domain))
            files[file] = work / file
        mean = rng.normal(size=STYLE_DIM).astype(np.float32)
        arrays[("style_mean", domain)] = mean
        arrays[("style_cov", domain)] = (np.eye(STYLE_DIM) * 0.5).astype(np.float32)
    return graphs, files, arrays


def _ugatit(work: Path) -> tuple[list, dict, dict]:
    graphs, files = [], {}
    outs = [_tensor("output", IMAGE), _tensor("heatmap", ["batch", 1, "h2", "w2"])]
    for direction in ("a2b", "b2a"):
        file = f"{direction}_generator.onnx"
        _export(UgatitGenerator(), work / file, [_tensor("image", IMAGE)], outs)
        graphs.append(_graph("generator", file, [_tensor("image", IMAGE)], outs, direction=direction))
        files[file] = work / file
    return graphs, files, {}


def _tunit(work: Path) -> tuple[list, dict, dict]:
    style = _tensor("style", ["batch", STYLE_DIM])
    guiding_out = [style, _tensor("logits", ["batch", CLUSTERS])]
    gen_in = [_tensor("image", IMAGE), style]
    _export(Guiding(), work / "guiding.onnx", [_tensor("image", IMAGE)], guiding_out)
    _export(TunitGenerator(), work / "generator.onnx", gen_in, [_tensor("output", IMAGE)])
    graphs = [_graph("guiding", "guiding.onnx", [_tensor("image", IMAGE)], guiding_out),
              _graph("generator", "generator.onnx", gen_in, [_tensor("output", IMAGE)])]
    styles = np.random.default_rng(1).normal(size=(CLUSTERS, STYLE_DIM)).astype(np.float32)
    return graphs, {"guiding.onnx": work / "guiding.onnx", "generator.onnx": work / "generator.onnx"}, \
        {("cluster_styles", None): styles, ("cluster_sizes", None): np.array(CLUSTER_SIZES, np.int64),
         ("cluster_exemplars", None): _exemplars()}


def _exemplars() -> np.ndarray:
    """uint8 [K, E, S, S, 3]: cluster k's exemplars are ramps of its own colour (k's channel brightest), as many as
    its size allows, the slots after them blank, as the exporter leaves them."""
    ramp = np.linspace(0.3, 1.0, EXEMPLAR_SIDE)[None, :, None] * np.linspace(0.6, 1.0, EXEMPLAR_SIDE)[:, None, None]
    exemplars = np.zeros((CLUSTERS, EXEMPLARS, EXEMPLAR_SIDE, EXEMPLAR_SIDE, 3), np.uint8)
    for k, size in enumerate(CLUSTER_SIZES):
        for j in range(min(size, EXEMPLARS)):
            colour = np.full(3, 60 + 30 * j)
            colour[k % 3] = 255
            exemplars[k, j] = np.round(ramp * colour).astype(np.uint8)
    return exemplars


@dataclass(frozen=True)
class TinyFamily:
    """How the tiny bundle of one family is made: its graphs and arrays, seed, domains, directions and style."""

    seed: int
    build: Callable[[Path], tuple[list, dict, dict]]  # work folder -> (graph entries, files, arrays)
    domains: list[dict[str, str]]
    directions: list[dict[str, str]]
    style: dict[str, Any] | None
    precision_variants: bool = False  # the committed fixture also has int8 and fp16 variants


_CAT_DOG = [{"id": "a", "name": "cat"}, {"id": "b", "name": "dog"}]
_BOTH_WAYS = [{"id": "a2b", "source": "a", "target": "b"}, {"id": "b2a", "source": "b", "target": "a"}]
_TINY_FAMILIES = {
    "munit": TinyFamily(1, _munit, _CAT_DOG, _BOTH_WAYS, {"dim": STYLE_DIM, "prior": "normal"},
                        precision_variants=True),
    "ugatit": TinyFamily(2, _ugatit, _CAT_DOG, _BOTH_WAYS, None),
    "tunit": TinyFamily(3, _tunit, [{"id": f"c{k}", "name": f"cluster {k}"} for k in range(CLUSTERS)],
                        [{"id": f"to_c{k}", "source": "*", "target": f"c{k}"} for k in range(CLUSTERS)],
                        {"dim": STYLE_DIM, "prior": "empirical"}),
}
TINY_BUNDLE_FAMILIES = tuple(_TINY_FAMILIES)


def make_manifest(family: str, graphs: list, arrays: list, name: str | None = None) -> dict[str, Any]:
    """A schema-1 manifest for the tiny models (sha256 fields are filled in by the writer)."""
    spec = _TINY_FAMILIES[family]
    return {
        "schema_version": 1,
        "name": name or f"tiny-{family}",
        "title": f"Tiny {family} (untrained, for tests)",
        "family": family,
        "untrained": True,
        "domains": spec.domains,
        "directions": spec.directions,
        "image": {
            "train_size": TRAIN_SIZE,
            "sizes": {"kind": "multiple", "multiple": MULTIPLE, "min": 8, "max": 512},
            "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
            "channel_order": "RGB",
            "layout": "NCHW",
        },
        "style": spec.style,
        "graphs": graphs,
        "arrays": arrays,
        "provenance": {"dataset": "none", "iterations": 0, "created": "2026-11-24T00:00:00Z"},
        "license": "Test fixture, no licence needed.",
    }


def _add_variants(graphs: list, files: dict, work: Path, int8: bool, fp16: bool) -> None:
    """Append int8 (dynamic quantisation) and fp16 (float I/O kept) variants of every graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from export.variants import INT8_REDUCE_RANGE, to_fp16

    def to_int8(src: Path, dst: Path) -> None:  # 7-bit weights, as the exporter's: the same on every x86 CPU
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, reduce_range=INT8_REDUCE_RANGE)

    makers = [(p, m) for p, m, wanted in (("int8", to_int8, int8), ("fp16", to_fp16, fp16)) if wanted]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on every call
    try:
        for g in [g for g in graphs if g["precision"] == "fp32"]:
            for precision, make in makers:
                file = g["file"].replace(".onnx", f".{precision}.onnx")
                make(work / g["file"], work / file)
                graphs.append({**g, "precision": precision, "file": file})
                files[file] = work / file
    finally:
        root.setLevel(level)


def build_sources(family: str, work: Path, *, int8: bool = False,
                  fp16: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Export the tiny graphs of ``family`` into ``work``; returns (manifest, files) for ``write_bundle``.

    ``int8`` / ``fp16`` add those precision variants of every graph (float32 inputs and outputs kept).
    """
    torch.manual_seed(_TINY_FAMILIES[family].seed)
    work.mkdir(parents=True, exist_ok=True)
    graphs, files, arrays = _TINY_FAMILIES[family].build(work)
    array_entries = []
    for (role, domain), value in arrays.items():
        file = f"{domain}_{role}.npy" if domain else f"{role}.npy"
        np.save(work / file, value, allow_pickle=False)
        files[file] = work / file
        entry = {"role": role, "file": file, "shape": list(value.shape), "dtype": str(value.dtype)}
        array_entries.append({**entry, "domain": domain} if domain else entry)
    if int8 or fp16:
        _add_variants(graphs, files, work, int8, fp16)
    return make_manifest(family, graphs, array_entries), files


def build_bundle(family: str, out: Path, *, archive: bool = False, int8: bool = False,
                 fp16: bool = False) -> Bundle:
    """Build a tiny ``family`` bundle at ``out`` (a folder, or a ``.i2i`` file with ``archive=True``)."""
    work = out.parent / f".src-{out.name}"
    manifest, files = build_sources(family, work, int8=int8, fp16=fp16)
    return write_bundle(out, manifest, files, archive=archive)


def write_fixtures(out: Path) -> list[Path]:
    """Write ``tiny-FAMILY`` folders (with int8 and fp16 variants where the family asks) and the same bundles as
    ``tiny-FAMILY.i2i`` archives into ``out``, replacing those already there; returns the paths written."""
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for family, spec in _TINY_FAMILIES.items():
            manifest, files = build_sources(family, Path(scratch) / family, int8=spec.precision_variants,
                                            fp16=spec.precision_variants)
            for name, archive in ((f"tiny-{family}", False), (f"tiny-{family}.i2i", True)):
                written.append(write_bundle(out / name, manifest, files, archive=archive, overwrite=True).source)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m devkit.bundle_factory OUT``: write the test fixtures (see :func:`write_fixtures`)."""
    parser = argparse.ArgumentParser(prog="python -m devkit.bundle_factory",
                                     description="Write the tiny test bundles of every family into OUT.")
    parser.add_argument("out", type=Path, help="folder to write into (created if missing)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:  # the writer's check extracts archives into a cache
        os.environ["I2I_STUDIO_HOME"] = home
        for path in write_fixtures(args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
