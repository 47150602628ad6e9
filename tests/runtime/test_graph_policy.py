"""Graph-level safety: operator allow-lists, subgraphs, weight sizes, bounded work and non-finite values.

Every mutant is a tiny real bundle changed with ``onnx`` / numpy and re-hashed, so only the graph-level
checks can catch it.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from desktop.cli import main
from desktop.runtime.bundle import BundleError, load_bundle
from desktop.runtime.translators import TranslationError, open_translator
from devkit.bundle_mutants import (
    copy_bundle,
    edit_array,
    edit_graph,
    edit_manifest,
    gather_out_of_range,
    initializer,
    insert_if,
    insert_loop,
    insert_op,
    nan_decoder,
    scale_resize,
)
from i2i_common.images import write_image

from repo_paths import REPO


@pytest.fixture()
def munit(tiny_bundles, tmp_path):
    return copy_bundle(tiny_bundles["munit"], tmp_path / "munit")


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(folder, capsys, match: str, *, by_load: bool = True) -> None:
    """Refused by the full load check (unless ``by_load`` is false: only running the graphs shows it), by
    ``i2i models --check`` (one line, exit 1) and when a translator opens it."""
    if by_load:
        with pytest.raises(BundleError, match=match):
            load_bundle(folder, check_graphs=True)
    code, out, err = cli(capsys, "models", "--check", folder)
    assert code == 1 and "ok:" not in out
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("i2i: error:")
    with pytest.raises(BundleError, match=match):
        open_translator(load_bundle(folder))


def test_loop_of_a_trillion_iterations_is_refused_and_never_runs(munit, capsys, tmp_path):
    edit_graph(munit, "a_decoder.onnx", insert_loop)
    assert_refused(munit, capsys, r"a_decoder.onnx: uses operator 'Loop'")
    image = tmp_path / "in.png"
    write_image(image, np.full((40, 40, 3), 90, np.uint8))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "translate", str(image), "-o", str(tmp_path / "out"),
                           "--model", str(munit), "--direction", "b2a"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "uses operator 'Loop'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("mutate, message", [
    (insert_if, "uses operator 'If'"),
    (lambda m: insert_op(m, "Sin"), "uses operator 'Sin', which a munit graph never needs"),
])
def test_operators_outside_the_family_list_are_refused(munit, capsys, mutate, message):
    edit_graph(munit, "b_content_encoder.onnx", mutate)
    assert_refused(munit, capsys, message)


def test_subgraph_attribute_is_refused_even_on_an_allowed_op(munit, capsys):
    from onnx import helper

    def identity_with_graph(model):
        node = next(n for n in model.graph.node if n.op_type == "Relu")
        node.attribute.append(helper.make_attribute("hidden", helper.make_graph([], "g", [], [])))

    edit_graph(munit, "a_style_encoder.onnx", identity_with_graph)
    assert_refused(munit, capsys, r"carries a subgraph \(Relu.hidden\)")


def test_weight_with_absurd_declared_dims_is_refused(munit, capsys):
    def lie(model):
        weight = initializer(model, model.graph.node[0].input[1])
        weight.dims[:] = [1 << 20, 1 << 20]

    edit_graph(munit, "a_content_encoder.onnx", lie)
    assert_refused(munit, capsys, "declares 1,099,511,627,776 values")


def test_weight_whose_bytes_do_not_match_its_shape_is_refused(munit, capsys):
    def lie(model):
        weight = initializer(model, model.graph.node[0].input[1])
        weight.dims[0] *= 2

    edit_graph(munit, "a_content_encoder.onnx", lie)
    assert_refused(munit, capsys, r"values \([0-9,]+ bytes\) but stores")


def test_sizes_that_would_run_huge_graphs_are_refused(munit, capsys):
    edit_manifest(munit, lambda m: m["image"].update(train_size=1024, sizes={"kind": "multiple", "multiple": 4,
                                                                            "min": 2000, "max": 2000}))
    assert_refused(munit, capsys, "2000x2000 images, above the 2.1 Mpx")


def test_native_mode_above_the_pixel_limit_is_refused_before_running(munit):
    edit_manifest(munit, lambda m: m["image"]["sizes"].update(max=4096))
    translator = open_translator(load_bundle(munit))
    with pytest.raises(TranslationError, match="would run at 1600x1600, above the 2.1 Mpx limit"):
        translator.translate(np.zeros((1600, 1600, 3), np.uint8), "a2b", mode="native")


def test_nan_producing_decoder_is_refused(munit, capsys):
    edit_graph(munit, "b_decoder.onnx", nan_decoder)
    assert_refused(munit, capsys, "b_decoder.onnx produced NaN or infinite values in image", by_load=False)


def test_nan_and_inf_in_stored_arrays_are_refused(tiny_bundles, tmp_path, capsys):
    munit = copy_bundle(tiny_bundles["munit"], tmp_path / "munit")
    edit_array(munit, "b_style_mean.npy", lambda v: np.where(np.arange(v.size) == 1, np.nan, v))
    assert_refused(munit, capsys, "array b_style_mean.npy holds NaN or infinite values")
    tunit = copy_bundle(tiny_bundles["tunit"], tmp_path / "tunit")
    edit_array(tunit, "cluster_styles.npy", lambda v: np.full_like(v, np.inf))
    assert_refused(tunit, capsys, "array cluster_styles.npy holds NaN or infinite values")


def test_non_finite_normalisation_is_refused(munit, capsys):
    edit_manifest(munit, lambda m: m["image"]["normalization"].update(std=[0.5, float("nan"), 0.5]))
    assert_refused(munit, capsys, "image.normalization holds a value that is not a finite number")


def test_non_finite_style_codes_are_refused(tiny_bundles):
    from desktop.runtime.style import ExplicitStyle

    translator = open_translator(tiny_bundles["munit"])
    code = np.array([0.0, np.nan, 0.0, 0.0], np.float32)
    with pytest.raises(ValueError, match="NaN or infinite"):
        translator.translate(np.zeros((32, 32, 3), np.uint8), "a2b", ExplicitStyle(code))


def test_shipped_models_pass_the_policy():
    for archive in sorted((REPO / "resources" / "models").glob("*.i2i")):
        load_bundle(archive, check_graphs=True)


def test_a_node_failing_at_run_time_is_one_line_on_stderr(munit):
    """onnxruntime logs a failing kernel on its own; the user must see only the app's one line."""
    edit_graph(munit, "b_decoder.onnx", gather_out_of_range)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "models", "--check", str(munit)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "b_decoder.onnx failed" in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("i2i: error:"), proc.stderr


def test_resize_scaling_a_thousandfold_is_refused_before_it_allocates(munit, capsys):
    edit_graph(munit, "b_decoder.onnx", scale_resize)
    assert_refused(munit, capsys, r"a Resize scales by \[1.0, 1.0, 4000.0, 4000.0\]")
