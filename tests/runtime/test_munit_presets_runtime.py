"""MUNIT style presets in the runtime: the typical style and the Mix canvas's typical anchors use them, a bundle
without them (exported before presets) keeps its mean code, and a bad presets array refuses the bundle."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from desktop.runtime.bundle import BundleError, load_bundle, sha256_file
from desktop.runtime.mixcanvas import MixCanvas
from desktop.runtime.style import TypicalStyle
from desktop.runtime.translators import open_translator


def with_presets(source: Path, folder: Path, presets: np.ndarray, domain: str = "b") -> Path:
    """A copy of the bundle ``source`` carrying ``presets`` as the style_presets array of ``domain``."""
    shutil.copytree(source, folder)
    name = f"{domain}_style_presets.npy"
    np.save(folder / name, presets, allow_pickle=False)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["arrays"].append({"role": "style_presets", "domain": domain, "file": name,
                               "sha256": sha256_file(folder / name), "shape": list(presets.shape),
                               "dtype": str(presets.dtype)})
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_bundle_without_presets_keeps_its_mean_as_the_one_typical_style(tiny_bundles):
    bundle = load_bundle(tiny_bundles["munit"])
    tr = open_translator(bundle, provider="cpu")
    mean = bundle.array("style_mean", "b")
    np.testing.assert_array_equal(tr.typical_codes("a2b"), mean[None])
    canvas = MixCanvas(tr, "a2b")
    first, again = canvas.add_typical((0, 0)), canvas.add_typical((1, 1))
    assert (first.label, again.label) == ("typical", "typical")
    np.testing.assert_array_equal(again.code, mean)


def test_presets_are_the_typical_styles_in_order(tiny_bundles, tmp_path):
    mean = load_bundle(tiny_bundles["munit"]).array("style_mean", "b")
    # the first preset equals the stored mean here, so the bundle's recorded self-test (typical case) still holds
    presets = np.stack([mean, mean + 1.0, mean - 0.5]).astype(np.float32)
    tr = open_translator(load_bundle(with_presets(tiny_bundles["munit"], tmp_path / "m", presets)), provider="cpu")
    np.testing.assert_array_equal(tr.typical_codes("a2b"), presets)
    np.testing.assert_array_equal(tr.style_code(TypicalStyle(), "a2b"), presets[0])
    np.testing.assert_array_equal(tr.typical_codes("b2a")[0], load_bundle(tr.bundle.path).array("style_mean", "a"))
    canvas = MixCanvas(tr, "a2b")
    anchors = [canvas.add_typical((i / 4, 0)) for i in range(3)]
    assert [a.label for a in anchors] == ["typical 1", "typical 2", "typical 3"]
    canvas.remove_anchor(1)
    readded = canvas.add_typical((1, 1))  # the preset no longer on the canvas comes back first
    assert readded.label == "typical 2"
    np.testing.assert_array_equal(readded.code, presets[1])


@pytest.mark.parametrize("presets, message", [
    (np.zeros((2, 3), np.float32), r"is \[2, 3\], the graphs need \[P, 4\]"),
    (np.zeros((0, 4), np.float32), r"is \[0, 4\]"),
    (np.zeros(4, np.float32), r"is \[4\]"),
])
def test_a_bad_presets_array_refuses_the_bundle(tiny_bundles, tmp_path, presets, message):
    bundle = load_bundle(with_presets(tiny_bundles["munit"], tmp_path / "bad", presets))
    with pytest.raises(BundleError, match=f"style_presets of domain b {message}"):
        open_translator(bundle, provider="cpu")


def test_presets_of_another_dtype_are_refused_when_the_bundle_is_read(tiny_bundles, tmp_path):
    with pytest.raises(BundleError, match="b_style_presets.npy: dtype 'int32', family munit stores style_presets "
                                          "as float32"):
        load_bundle(with_presets(tiny_bundles["munit"], tmp_path / "bad", np.ones((1, 4), np.int32)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_presets_that_are_not_finite_refuse_the_bundle(tiny_bundles, tmp_path, bad):
    presets = np.array([[0.0, bad, 0.0, 0.0]], np.float32)
    bundle = load_bundle(with_presets(tiny_bundles["munit"], tmp_path / "bad", presets))
    with pytest.raises(BundleError, match="array b_style_presets.npy holds NaN or infinite values"):
        open_translator(bundle, provider="cpu")
