"""Graph scopes beyond MUNIT's per-domain graphs, through the real export pipeline (parity, variants,
self-test, the app's validation): a fake U-GAT-IT exporter (one generator per direction, an attention map)
and a fake TUNIT exporter (bundle-wide graphs, K discovered domains, directions ``* -> cluster``), both
made of devkit's tiny modules with the graph I/O the runtime reads. They are registered the way a real
family is: an entry in ``export.registry.EXPORTERS``. The bundles must load and translate in the runtime
as their torch modules do.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from desktop.runtime.bundle import MANIFEST, Direction, Domain, load_bundle
from desktop.runtime.preprocess import from_tensor, to_tensor
from desktop.runtime.style import TypicalStyle
from desktop.runtime.translators import open_translator
from devkit.bundle_factory import Guiding, TunitGenerator, UgatitGenerator
from export import registry
from export.data import DatasetImages
from export.family_exporter import (
    ExportGraph,
    ExportKey,
    FamilyExporter,
    Feeds,
    ImageSizes,
    Runner,
    VerificationOutput,
)
from export.onnx_export import ExportError, TensorIO
from export.pipeline import ExportOptions, export_bundle
from export.source import ExportSource
from i2i_common.images import read_image

IMAGE = TensorIO("image", ("batch", 3, "height", "width"))
OUTPUT = TensorIO("output", ("batch", 3, "height", "width"))
HEATMAP = TensorIO("heatmap", ("batch", 1, "h2", "w2"))
CONFIG = {"data": {"size": 32, "load_size": 36}}


class FakeUgatitExporter(FamilyExporter):
    """Two directions, a generator graph for each: image -> (output, heatmap)."""

    verification_outputs = (VerificationOutput("output"), VerificationOutput("heatmap", "map"))
    SOURCES = {"a2b": "a", "b2a": "b"}

    def build(self, config, weights) -> dict[str, torch.nn.Module]:
        self.model = {direction: UgatitGenerator().eval() for direction in self.SOURCES}  # the test reads it
        return self.model

    def graphs(self, model) -> list[ExportGraph]:
        return [ExportGraph("generator", "direction", d, m, (IMAGE,), (OUTPUT, HEATMAP)) for d, m in model.items()]

    def domains(self, model, data: DatasetImages) -> list[Domain]:
        return [Domain(d, data.domain_names[d]) for d in ("a", "b")]

    def directions(self, domains: list[Domain]) -> list[Direction]:
        return [Direction(d, s, "b" if s == "a" else "a") for d, s in self.SOURCES.items()]

    def feed_images(self, graph: ExportGraph) -> str:
        return self.SOURCES[graph.scope_id]

    def feeds(self, model, graph: ExportGraph, images: np.ndarray, rng: np.random.Generator) -> Feeds:
        return {"image": images}

    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        output, heatmap = run(graphs[("generator", direction.id)], {"image": images[direction.source]})
        return {"output": output, "heatmap": heatmap}

    def arrays(self, model, train_images: Mapping[str, Iterable[np.ndarray]]) -> dict[ExportKey, np.ndarray]:
        return {}

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        return ImageSizes(multiple=4)

    def manifest_fields(self, model) -> dict[str, Any]:
        return {"style": None}


class FakeTunitExporter(FamilyExporter):
    """A guiding network and a generator for the whole bundle; one domain per discovered cluster."""

    verification_outputs = (VerificationOutput("output"),)

    def build(self, config, weights) -> dict[str, torch.nn.Module]:
        self.model = {"guiding": Guiding().eval(), "generator": TunitGenerator().eval()}  # the test reads it
        return self.model

    def graphs(self, model) -> list[ExportGraph]:
        style, logits = self._style(model), TensorIO("logits", ("batch", model["guiding"].cluster.out_features))
        return [ExportGraph("guiding", "bundle", None, model["guiding"], (IMAGE,), (style, logits)),
                ExportGraph("generator", "bundle", None, model["generator"], (IMAGE, style), (OUTPUT,))]

    def domains(self, model, data: DatasetImages) -> list[Domain]:
        return [Domain(f"c{k}", f"cluster {k}") for k in range(model["guiding"].cluster.out_features)]

    def directions(self, domains: list[Domain]) -> list[Direction]:
        return [Direction(f"to_{d.id}", "*", d.id) for d in domains]

    def feed_images(self, graph: ExportGraph) -> str:
        return "a"  # the one unlabeled folder

    def feeds(self, model, graph: ExportGraph, images: np.ndarray, rng: np.random.Generator) -> Feeds:
        if graph.role == "guiding":
            return {"image": images}
        with torch.no_grad():
            style = model["guiding"](torch.from_numpy(images))[0].numpy()
        return {"image": images, "style": style[::-1].copy()}  # another image's style

    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        style = run(graphs[("guiding", None)], {"image": images["a"]})[0]
        return {"output": run(graphs[("generator", None)], {"image": images["a"], "style": style[::-1].copy()})[0]}

    def arrays(self, model, train_images: Mapping[str, Iterable[np.ndarray]]) -> dict[ExportKey, np.ndarray]:
        """``cluster_styles [K, D]``: the mean style of the training images each cluster claims (else of all)."""
        with torch.no_grad():
            styles, logits = (np.concatenate(x) for x in zip(*(
                [t.numpy() for t in model["guiding"](torch.from_numpy(b))] for b in train_images["a"]), strict=True))
        means = [styles[logits.argmax(1) == k].mean(0) if (logits.argmax(1) == k).any() else styles.mean(0)
                 for k in range(logits.shape[1])]
        return {("cluster_styles", None): np.stack(means).astype(np.float32)}

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        return ImageSizes(multiple=4)

    def manifest_fields(self, model) -> dict[str, Any]:
        return {"style": {"dim": self._style(model).shape[1], "prior": "empirical"}}

    @staticmethod
    def _style(model) -> TensorIO:
        return TensorIO("style", ("batch", model["guiding"].enc.head.out_features))


@pytest.fixture
def unlabeled(tmp_path, shared_data) -> Path:
    """One unlabeled folder of 8 images (TUNIT's kind of dataset)."""
    root = tmp_path / "faces"
    root.mkdir()
    for path in sorted((shared_data / "cat2dog" / "trainA").glob("*.jpg"))[:8]:
        shutil.copy(path, root / path.name)
    return root


def export_fake(family: str, exporter: FamilyExporter, data_root: Path, out: Path, monkeypatch) -> dict[str, Any]:
    """Export ``exporter`` registered as ``family`` (fp32, fp16, int8) and return the written manifest."""
    monkeypatch.setitem(registry.EXPORTERS, family, exporter)
    data = DatasetImages.from_config(CONFIG, data_root)
    options = ExportOptions(out=out, name=f"fake-{family}", precisions=("fp32", "fp16", "int8"), force_variants=True,
                            style_images=8, calibration_images=4, fidelity_images=4, log=lambda line: None)
    export_bundle(ExportSource(config=CONFIG, family=family, weights=None), data, options)
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def torch_image(module: torch.nn.Module, image: np.ndarray, bundle, *extra: torch.Tensor) -> np.ndarray:
    """What ``module`` makes of ``image`` (first output), preprocessed and postprocessed as the runtime does."""
    prepared = to_tensor(image, bundle.image, "fit")
    with torch.no_grad():
        out = module(torch.from_numpy(prepared.tensor), *extra)
    return from_tensor((out[0] if isinstance(out, tuple) else out).numpy(), bundle.image, prepared)


def test_direction_scoped_graphs_export_and_translate(tmp_path, shared_data, monkeypatch):
    exporter = FakeUgatitExporter()
    manifest = export_fake("ugatit", exporter, shared_data / "cat2dog", tmp_path / "ugatit", monkeypatch)

    fp32 = [g for g in manifest["graphs"] if g["precision"] == "fp32"]
    assert [(g["role"], g.get("direction"), "domain" in g, g["file"]) for g in fp32] == [
        ("generator", "a2b", False, "a2b_generator.onnx"), ("generator", "b2a", False, "b2a_generator.onnx")]
    assert {g["precision"] for g in manifest["graphs"]} == {"fp32", "fp16", "int8"}
    assert [d["id"] for d in manifest["directions"]] == ["a2b", "b2a"] and manifest["style"] is None
    assert manifest["verification"]["max_abs_diff"]["fp32"] <= 1e-4
    assert set(manifest["verification"]["psnr_db"]) == {"fp16", "int8"}
    assert manifest["verification"]["ms_per_image"]["fp32"] > 0

    bundle = load_bundle(tmp_path / "ugatit", check_graphs=True)
    dog = read_image(sorted((shared_data / "cat2dog" / "testB").iterdir())[0])
    result = open_translator(bundle, provider="cpu").translate(dog, "b2a", mode="fit")
    assert result.heatmap is not None and result.heatmap.shape == dog.shape[:2]
    expected = torch_image(exporter.model["b2a"], dog, bundle)
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1


def test_bundle_scoped_graphs_export_and_translate(tmp_path, unlabeled, monkeypatch):
    exporter = FakeTunitExporter()
    manifest = export_fake("tunit", exporter, unlabeled, tmp_path / "tunit", monkeypatch)

    fp32 = [g for g in manifest["graphs"] if g["precision"] == "fp32"]
    assert [(g["role"], "domain" in g or "direction" in g, g["file"]) for g in fp32] == [
        ("guiding", False, "guiding.onnx"), ("generator", False, "generator.onnx")]
    assert [d["id"] for d in manifest["domains"]] == ["c0", "c1", "c2"]
    assert {(d["source"], d["target"]) for d in manifest["directions"]} == {("*", "c0"), ("*", "c1"), ("*", "c2")}
    assert [(a["role"], "domain" in a, a["shape"]) for a in manifest["arrays"]] == [("cluster_styles", False, [3, 4])]
    assert manifest["provenance"]["images"] == {"a": 8} and manifest["provenance"]["domains"] == {"a": "faces"}

    bundle = load_bundle(tmp_path / "tunit", check_graphs=True)
    face = read_image(sorted(unlabeled.iterdir())[0])
    result = open_translator(bundle, provider="cpu").translate(face, "to_c1", style=TypicalStyle(), mode="fit")
    cluster_style = torch.from_numpy(bundle.array("cluster_styles")[1:2])
    expected = torch_image(exporter.model["generator"], face, bundle, cluster_style)
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1


def test_a_graph_for_an_undeclared_direction_is_refused(tmp_path, shared_data, monkeypatch):
    exporter = FakeUgatitExporter()
    monkeypatch.setattr(exporter, "directions", lambda domains: [Direction("a2b", "a", "b")])
    with pytest.raises(ExportError, match="b2a_generator.onnx is for direction 'b2a'"):
        export_fake("ugatit", exporter, shared_data / "cat2dog", tmp_path / "bad", monkeypatch)
    assert not (tmp_path / "bad").exists()


def test_a_scope_needs_its_id():
    with pytest.raises(ExportError, match="needs the id"):
        ExportGraph("generator", "direction", None, torch.nn.Identity(), (IMAGE,), (OUTPUT,))
    with pytest.raises(ExportError, match="has no id"):
        ExportGraph("guiding", "bundle", "a", torch.nn.Identity(), (IMAGE,), (OUTPUT,))
