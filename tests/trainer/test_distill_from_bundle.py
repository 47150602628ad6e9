"""A bundle whose training run is gone gives its checkpoint back (``python -m export.recover``): MUNIT's and
U-GAT-IT's generators come out of the ONNX graphs equal to the weights that were exported, the file loads with
``weights_only=True``, and a student distils from it. TUNIT's guiding network (batch norm folded into its
convolutions by the exporter), a bundle without its config, a tampered one and one whose graphs no longer hold the
parameters as initializers are one-line errors that write nothing."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import onnx
import pytest
import torch
from distill_support import OTHER_FAMILIES, student_config, train_teacher

from desktop.runtime.bundle import MANIFEST, sha256_file
from export.cli import main as export_main
from export.onnx_export import ExportError
from export.recover import main as recover_main
from export.recover import recover_checkpoint
from export.source import load_checkpoint as export_source
from trainer.checkpoint import latest_checkpoint, load_checkpoint
from trainer.config import load_config
from trainer.loop import train

from repo_paths import FIXTURE_BUNDLES


def exported(run: Path, data: Path, out: Path) -> Path:
    """The fp32 bundle folder of ``run``'s newest checkpoint."""
    assert export_main(["--run", str(run), "--data", str(data), "--out", str(out), "--precisions", "fp32",
                        "--style-images", "4", "--calibration-images", "2"]) == 0
    return out


def test_a_munit_bundle_gives_back_its_generators_a_student_distils_from_it_and_bad_bundles_are_refused(
        tiny_cat2dog, tmp_path, capsys):
    run = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    bundle = exported(run, tiny_cat2dog, tmp_path / "bundle")
    out = tmp_path / "recovered.pt"
    capsys.readouterr()
    assert recover_main([str(bundle), str(out)]) == 0
    assert "every graph reproduced within 1e-04" in capsys.readouterr().out

    recovered = load_checkpoint(out)  # torch.load(weights_only=True)
    taught = export_source(latest_checkpoint(run / "checkpoints"))
    assert recovered["family"] == "munit" and recovered["iteration"] == taught.iteration == 2
    assert set(recovered["ema"]) == {"gen_a", "gen_b"}
    for name, weights in recovered["ema"].items():
        for key, value in weights.items():
            assert torch.equal(value, taught.weights[name][key]), f"{name}.{key}"

    config = student_config(out, "train.iterations=1", "distill.perceptual_w=0")  # no feature maps computed
    train(config, tiny_cat2dog, tmp_path / "student", device="cpu", progress=False)
    with (tmp_path / "student" / "metrics.csv").open(encoding="utf-8") as handle:
        logged = next(csv.DictReader(handle))
    assert float(logged["perceptual"]) == 0.0 and float(logged["l1"]) > 0.0
    student = load_checkpoint(latest_checkpoint(tmp_path / "student" / "checkpoints"))
    frozen = student["models"]["gen_a"]
    for key, value in recovered["ema"]["gen_a"].items():
        if key.startswith("style_encoder."):
            assert torch.equal(frozen[key], value)  # the student's style encoder is the recovered teacher's
    refused_bundles_are_one_line_errors(bundle, tmp_path, capsys)


def tiny_bundle(family: str, data: Path, tmp_path: Path) -> Path:
    """A bundle of a tiny ``family`` model trained one iteration (its run folder is ``tmp_path / "run"``)."""
    name, overrides, _ = OTHER_FAMILIES[family]
    train(load_config(name, [*overrides, "train.iterations=1"]), data, tmp_path / "run", device="cpu", progress=False)
    return exported(tmp_path / "run", data, tmp_path / "bundle")


def test_a_ugatit_bundle_gives_back_its_generators(tiny_cat2dog, tmp_path):
    family = "ugatit"
    recovered = recover_checkpoint(tiny_bundle(family, tiny_cat2dog, tmp_path))
    taught = export_source(latest_checkpoint(tmp_path / "run" / "checkpoints"))
    assert recovered["family"] == family and set(recovered["ema"]) == set(taught.weights)
    for module, weights in recovered["ema"].items():
        assert weights.keys() == taught.weights[module].keys()
        for key, value in weights.items():
            if value.is_floating_point():
                assert torch.equal(value, taught.weights[module][key]), f"{module}.{key}"


def test_a_tunit_bundle_is_refused_its_guiding_network_has_batch_norm_folded_in(tiny_cat2dog, tmp_path):
    bundle = tiny_bundle("tunit", tiny_cat2dog, tmp_path)
    with pytest.raises(ExportError, match="guiding.onnx does not hold features.0.weight as a plain initializer"):
        recover_checkpoint(bundle)


def refused_bundles_are_one_line_errors(good: Path, tmp_path: Path, capsys) -> None:
    """Copies of the exported bundle ``good``, spoilt in two ways, and two bundles that cannot be used."""
    bundle, tampered = tmp_path / "renamed", tmp_path / "tampered"
    shutil.copytree(good, bundle)
    shutil.copytree(good, tampered)
    graph = bundle / "a_decoder.onnx"
    model = onnx.load(str(graph))
    renamed = {"mlp.net.0.weight": "weights_renamed"}  # what another exporter version might call it
    for init in model.graph.initializer:
        init.name = renamed.get(init.name, init.name)
    for node in model.graph.node:
        node.input[:] = [renamed.get(i, i) for i in node.input]
    onnx.save(model, str(graph))
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["graphs"]:
        if entry["file"] == graph.name:
            entry["sha256"] = sha256_file(graph)
    (bundle / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    with (tampered / "b_decoder.onnx").open("ab") as handle:
        handle.write(b"\0")

    cases = {bundle: "a_decoder.onnx does not hold mlp.net.0.weight as a plain initializer",
             tampered: "b_decoder.onnx",
             FIXTURE_BUNDLES / "tiny-munit": "provenance has no training config",
             tmp_path / "nowhere": "no such bundle"}
    for source, message in cases.items():
        capsys.readouterr()
        assert recover_main([str(source), str(tmp_path / "out.pt")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("export.recover: ") and message in err and err.count("\n") == 1, err
        assert not (tmp_path / "out.pt").exists()
