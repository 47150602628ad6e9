"""The bundle writer: validation before anything is published, and the self-test it records per precision."""
from __future__ import annotations

import json

import pytest

from desktop.runtime.bundle import BundleError, load_bundle
from export.bundle_writer import write_bundle
from export.selftest_record import MARGIN, tolerance_floor


def graph_entry(manifest: dict, role: str) -> dict:
    return next(g for g in manifest["graphs"] if g["role"] == role)


@pytest.mark.parametrize("family", ["munit", "ugatit", "tunit"])
def test_recorded_tolerance_is_the_margin_over_the_measured_gap(tiny_bundles, family):
    precisions = load_bundle(tiny_bundles[family]).manifest["self_test"]["precisions"]
    for precision, entry in precisions.items():
        floor = tolerance_floor(precision)
        assert entry["tolerance"] == pytest.approx(max(floor, MARGIN * entry["measured_vs_fp32"]), abs=1e-3)


def test_write_bundle_refuses_invalid_and_existing(tiny_bundles, tmp_path):
    folder = tiny_bundles["ugatit"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    files = {p.name: p for p in folder.iterdir() if p.name != "manifest.json"}
    graph_entry(manifest, "generator")["outputs"][1]["name"] = "cam"
    with pytest.raises(BundleError, match="outputs are"):
        write_bundle(tmp_path / "out", manifest, files)
    assert list(tmp_path.iterdir()) == []  # nothing published, no temp folder left
    graph_entry(manifest, "generator")["outputs"][1]["name"] = "heatmap"
    b = write_bundle(tmp_path / "out", manifest, {k: v.read_bytes() for k, v in files.items()})
    assert b.name == "tiny-ugatit"
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(tmp_path / "out", manifest, files)
    assert write_bundle(tmp_path / "out", manifest, files, archive=True, overwrite=True).source.is_file()
