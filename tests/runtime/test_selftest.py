"""The self-test recorded at export and run when a translator opens, and ``i2i models --check``, which
opens a bundle the way ``i2i translate`` does."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from desktop.cli import main
from desktop.runtime.bundle import BundleError, load_bundle
from desktop.runtime.selftest import case_names, self_test_images
from desktop.runtime.translators import open_translator
from devkit.bundle_mutants import (
    black_decoder,
    copy_bundle,
    edit_graph,
    edit_manifest,
    flip_bit,
    last_conv,
    read_manifest,
    set_values,
)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_check_fails(capsys, folder, match: str) -> None:
    code, out, err = cli(capsys, "models", "--check", folder)
    assert code == 1 and "ok:" not in out, out
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("i2i: error:"), err
    assert re.search(match, err), err


@pytest.mark.parametrize("family", ["munit", "ugatit", "tunit"])
def test_tiny_bundles_record_and_pass_a_self_test_per_precision(tiny_bundles, family):
    bundle = load_bundle(tiny_bundles[family])
    test = bundle.manifest["self_test"]
    assert set(test["precisions"]) == set(bundle.precisions())
    for precision, entry in test["precisions"].items():
        assert set(entry["outputs"]) == set(case_names(bundle))
        translator = open_translator(bundle, precision=precision)
        assert translator.self_test.startswith(f"self-test passed ({precision}:")
    assert test["precisions"]["fp32"]["measured_vs_fp32"] == 0


def test_self_test_input_depends_on_seed_and_size_only():
    a, ref = self_test_images(3, 20, 30)
    b, _ = self_test_images(3, 20, 30)
    assert a.shape == (20, 30, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, ref) and not np.array_equal(a, self_test_images(4, 20, 30)[0])


@pytest.mark.parametrize("family, file", [("munit", "b_decoder.onnx"), ("ugatit", "a2b_generator.onnx"),
                                          ("tunit", "generator.onnx")])
def test_finite_but_black_decoder_fails_the_self_test(tiny_bundles, tmp_path, capsys, family, file):
    folder = copy_bundle(tiny_bundles[family], tmp_path / family)
    edit_graph(folder, file, black_decoder)
    load_bundle(folder, check_graphs=True)  # structurally a perfectly valid bundle
    with pytest.raises(BundleError, match="self-test failed for"):
        open_translator(load_bundle(folder))
    assert_check_fails(capsys, folder, "self-test failed for")


def test_bit_flipped_weight_with_its_hash_recomputed_is_refused(tiny_bundles, tmp_path, capsys):
    folder = copy_bundle(tiny_bundles["munit"], tmp_path / "m")
    edit_graph(folder, "a_decoder.onnx", lambda m: set_values(m, last_conv(m)[0], lambda w: flip_bit(w, 0, 30)))
    with pytest.raises(BundleError, match="self-test failed|NaN or infinite"):
        open_translator(load_bundle(folder))
    assert_check_fails(capsys, folder, "self-test failed|NaN or infinite")


def test_a_precision_variant_is_checked_against_its_own_record(tiny_bundles, tmp_path):
    folder = copy_bundle(tiny_bundles["munit"], tmp_path / "m")
    edit_graph(folder, "b_decoder.fp16.onnx", black_decoder)
    open_translator(load_bundle(folder), precision="int8")
    with pytest.raises(BundleError, match=r"self-test failed for .* \(fp16\)"):
        open_translator(load_bundle(folder), precision="fp16")


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update(seed=-1), "seed must be a whole number"),
    (lambda t: t.update(height=10**9), "height must be a whole number"),
    (lambda t: t["precisions"]["fp32"].update(tolerance=float("nan")), "tolerance must be a number"),
    (lambda t: t["precisions"]["fp32"]["outputs"].pop("a2b:typical"), "must hold one digest for each of"),
    (lambda t: t["precisions"]["fp32"]["outputs"]["a2b:typical"].update(thumbnail=[1e9] * 192),
     "thumbnail needs 192 numbers from 0 to 255"),
    (lambda t: t["precisions"].update(fp64={}), "precisions must be an object"),
])
def test_malformed_self_test_field_is_a_one_line_error(tiny_bundles, tmp_path, change, message):
    folder = copy_bundle(tiny_bundles["munit"], tmp_path / "m")
    edit_manifest(folder, lambda m: change(m["self_test"]))
    with pytest.raises(BundleError, match=f"manifest field self_test: .*{message}"):
        open_translator(load_bundle(folder))


def test_bundle_without_self_test_loads_and_check_says_so(tiny_bundles, tmp_path, capsys):
    folder = copy_bundle(tiny_bundles["munit"], tmp_path / "m")
    edit_manifest(folder, lambda m: m.pop("self_test"))
    assert open_translator(load_bundle(folder)).self_test == "no self-test recorded"
    code, out, err = cli(capsys, "models", "--check", folder)
    assert code == 0 and err == ""
    for precision in ("fp32", "fp16", "int8"):
        assert f"{precision}: no self-test recorded; translated every direction (4 cases)" in out
    assert out.rstrip().splitlines()[-1].startswith("ok:")


def test_check_reports_the_self_test_of_every_precision(tiny_bundles, capsys):
    code, out, _ = cli(capsys, "models", "--check", tiny_bundles["munit"])
    assert code == 0
    for precision in ("fp32", "fp16", "int8"):
        assert f"    {precision}: self-test passed ({precision}:" in out


@pytest.mark.parametrize("family, drop_arrays", [("munit", False), ("munit", True), ("tunit", False)])
def test_check_refuses_a_style_dim_the_graphs_do_not_take(tiny_bundles, tmp_path, capsys, family, drop_arrays):
    folder = copy_bundle(tiny_bundles[family], tmp_path / family)

    def change(m):
        m["style"]["dim"] = 9
        m.pop("self_test")
        if drop_arrays:
            for entry in m["arrays"]:
                (folder / entry["file"]).unlink()
            m["arrays"] = []

    edit_manifest(folder, change)
    assert_check_fails(capsys, folder, re.escape(str(folder)))


def test_check_refuses_a_fixed_empty_size(tiny_bundles, tmp_path, capsys):
    folder = copy_bundle(tiny_bundles["ugatit"], tmp_path / "u")
    edit_manifest(folder, lambda m: m["image"].update(sizes={"kind": "fixed", "height": 0, "width": 0}))
    assert_check_fails(capsys, folder, "image.sizes")


def test_record_is_json_numbers_only(tiny_bundles):
    text = (tiny_bundles["munit"] / "manifest.json").read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"manifest holds {c}"))
    assert read_manifest(tiny_bundles["munit"])["self_test"]["seed"] == 0


def test_an_archive_refused_when_its_translator_opens_leaves_no_extraction(tiny_bundles, tmp_path):
    """The self-test runs after the archive was extracted into the cache: a failure deletes that copy."""
    import zipfile

    from desktop.runtime.bundle.cache import bundles_cache

    folder = copy_bundle(tiny_bundles["munit"], tmp_path / "m")
    edit_graph(folder, "b_decoder.onnx", black_decoder)
    archive = tmp_path / "black.i2i"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    bundle = load_bundle(archive)
    assert bundle.path.parent == bundles_cache() and bundle.path.is_dir()
    with pytest.raises(BundleError, match="self-test failed for"):
        open_translator(bundle)
    assert not bundle.path.exists()
