"""The tiny bundles committed in tests/fixtures/bundles are what ``python -m devkit.bundle_factory`` makes today.

The runtime, UI and CLI tests use the committed copies (they run without torch); rebuilding them here means a change
to the factory, the writer or the manifest schema cannot leave them stale silently. Weights and self-test values
may differ from one torch build to another, so the comparison is structural: the manifest without its sha256,
self-test and creation fields, the file names, and the inputs and outputs of every graph.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import onnx
import pytest

from desktop.runtime.bundle import MANIFEST
from devkit.bundle_factory import TINY_BUNDLE_FAMILIES
from devkit.bundle_factory import main as factory_main

from repo_paths import FIXTURE_BUNDLES, TINY_FAMILIES


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rebuilt")
    assert factory_main([str(out)]) == 0
    return out


def structure(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without the fields that depend on the weights or the date."""
    kept = {k: v for k, v in manifest.items() if k != "self_test"}
    kept["graphs"] = [{k: v for k, v in g.items() if k != "sha256"} for g in manifest["graphs"]]
    kept["arrays"] = [{k: v for k, v in a.items() if k != "sha256"} for a in manifest["arrays"]]
    kept["provenance"] = {k: v for k, v in manifest["provenance"].items() if k != "created"}
    return kept


def graph_io(path: Path) -> tuple[list, list]:
    """(inputs, outputs) of an ONNX graph as (name, element type, dims) with symbolic dims by name."""
    graph = onnx.load(path).graph

    def describe(values) -> list:
        return [(v.name, v.type.tensor_type.elem_type,
                 [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    return describe(graph.input), describe(graph.output)


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def test_the_factory_writes_a_folder_and_an_archive_per_family(rebuilt):
    expected = {f"tiny-{f}{suffix}" for f in TINY_BUNDLE_FAMILIES for suffix in ("", ".i2i")}
    assert {p.name for p in rebuilt.iterdir()} == expected
    assert {p.name for p in FIXTURE_BUNDLES.iterdir()} == expected
    assert TINY_FAMILIES == tuple(sorted(TINY_BUNDLE_FAMILIES))  # what tests/conftest.py hands out


@pytest.mark.parametrize("family", TINY_BUNDLE_FAMILIES)
def test_committed_folder_matches_a_rebuild(rebuilt, family):
    committed, fresh = FIXTURE_BUNDLES / f"tiny-{family}", rebuilt / f"tiny-{family}"
    assert sorted(p.name for p in committed.iterdir()) == sorted(p.name for p in fresh.iterdir())
    manifest = read_manifest(committed)
    assert structure(manifest) == structure(read_manifest(fresh))
    assert set(manifest["self_test"]["precisions"]) == set(read_manifest(fresh)["self_test"]["precisions"])
    for graph in manifest["graphs"]:
        assert graph_io(committed / graph["file"]) == graph_io(fresh / graph["file"]), graph["file"]


@pytest.mark.parametrize("family", TINY_BUNDLE_FAMILIES)
def test_committed_archive_holds_the_committed_folder(family):
    folder = FIXTURE_BUNDLES / f"tiny-{family}"
    with zipfile.ZipFile(FIXTURE_BUNDLES / f"tiny-{family}.i2i") as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in folder.iterdir())
        assert structure(json.loads(archive.read(MANIFEST))) == structure(read_manifest(folder))
