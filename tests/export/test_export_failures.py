"""i2i-export fails loudly (non-zero exit, one clear message) and writes nothing when it cannot vouch
for the bundle: missing checkpoint, another family's checkpoint, weights that do not fit, parity failure."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from test_export import TINY, tiny_config

from export import runners
from export.cli import main as export_main
from trainer.models.munit import build_generator


def export(capsys, *args: str) -> tuple[int, str]:
    code = export_main(list(args))
    return code, capsys.readouterr().err


def assert_nothing_written(out, code, err, *phrases):
    assert code == 1
    assert "i2i-export: error:" in err and "no bundle written" in err
    for phrase in phrases:
        assert phrase in err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_missing_checkpoint(tmp_path, shared_data, capsys):
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--checkpoint", str(tmp_path / "nope.pt"), "--data", str(shared_data / "cat2dog"),
                       "--out", str(out))
    assert_nothing_written(out, code, err, "checkpoint not found", "nope.pt")


def test_named_checkpoint_missing_from_run(tmp_path, shared_data, capsys):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--run", str(tmp_path / "run"), "--checkpoint", "ckpt_00000099.pt",
                       "--data", str(shared_data / "cat2dog"), "--out", str(out))
    assert_nothing_written(out, code, err, "checkpoint not found", "ckpt_00000099.pt")


def test_nothing_to_export(tmp_path, shared_data, capsys):
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--data", str(shared_data / "cat2dog"), "--out", str(out))
    assert_nothing_written(out, code, err, "--run, --checkpoint or --init-random")


def test_run_without_checkpoints(tmp_path, shared_data, capsys):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--run", str(tmp_path / "run"), "--data", str(shared_data / "cat2dog"),
                       "--out", str(out))
    assert_nothing_written(out, code, err, "no checkpoint found")


def test_checkpoint_of_another_family(tmp_path, shared_data, capsys):
    ckpt = tmp_path / "ckpt_00000010.pt"
    torch.save({"family": "cyclegan", "format": 1, "iteration": 10, "config": {"model": {"family": "cyclegan"}},
                "models": {"gen_ab": {"w": torch.zeros(1)}}}, ckpt)
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--checkpoint", str(ckpt), "--data", str(shared_data / "cat2dog"), "--out", str(out))
    assert_nothing_written(out, code, err, "no exporter for model family 'cyclegan'", "munit")


def test_weights_that_do_not_fit_the_config(tmp_path, shared_data, capsys):
    config = tiny_config()
    wider = build_generator({**config["model"], "dim": 16}).state_dict()
    ckpt = tmp_path / "ckpt_00000010.pt"
    torch.save({"family": "munit", "format": 1, "iteration": 10, "config": config,
                "models": {"gen_a": wider, "gen_b": wider}}, ckpt)
    out = tmp_path / "m"
    code, err = export(capsys, "--checkpoint", str(ckpt), "--data", str(shared_data / "cat2dog"), "--out", str(out))
    assert_nothing_written(out, code, err, "gen_a", "do not fit")


def test_not_a_checkpoint(tmp_path, shared_data, capsys):
    ckpt = tmp_path / "ckpt_00000001.pt"
    ckpt.write_bytes(b"not a torch file")
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--checkpoint", str(ckpt), "--data", str(shared_data / "cat2dog"), "--out", str(out))
    assert_nothing_written(out, code, err, "cannot use checkpoint")


def test_parity_failure_fails_loudly_and_writes_nothing(tmp_path, shared_data, capsys, monkeypatch):
    real_call = runners.OnnxRunner.__call__

    def drifting(self, graph, feeds):  # onnxruntime output off by 1e-3 everywhere
        return [o + np.float32(1e-3) for o in real_call(self, graph, feeds)]

    monkeypatch.setattr(runners.OnnxRunner, "__call__", drifting)
    out = tmp_path / "m.i2i"
    sets = [arg for kv in TINY if kv.startswith(("model.", "data.")) for arg in ("--set", kv)]
    code, err = export(capsys, "--init-random", "--config", "munit_cpu", *sets, "--data",
                       str(shared_data / "cat2dog"), "--out", str(out), "--precisions", "fp32")
    assert_nothing_written(out, code, err, "parity check failed for a_content_encoder.onnx", "8 of 8 cases", "1e-04",
                          "real   batch 3  32x40")


def test_unknown_precision_is_refused(tmp_path, shared_data, capsys):
    out = tmp_path / "m.i2i"
    code, err = export(capsys, "--init-random", "--config", "munit_cpu", "--data", str(shared_data / "cat2dog"),
                       "--out", str(out), "--precisions", "fp32,int4")
    assert_nothing_written(out, code, err, "unknown precision(s) int4")


def test_munit_needs_two_domains(tmp_path, shared_data, capsys):
    data = tmp_path / "faces"  # one unlabeled folder: a single domain
    data.mkdir()
    for path in sorted((shared_data / "cat2dog" / "trainA").glob("*.jpg"))[:4]:
        (data / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "m.i2i"
    sets = [arg for kv in TINY if kv.startswith(("model.", "data.")) for arg in ("--set", kv)]
    code, err = export(capsys, "--init-random", "--config", "munit_cpu", *sets, "--data", str(data),
                       "--out", str(out), "--precisions", "fp32")
    assert_nothing_written(out, code, err, "MUNIT needs 2 domains, found 1 (unlabeled layout)")


def test_export_images_are_spread_over_a_pooled_folder_not_its_first_files():
    from export.data import spread

    files = tuple(Path(f"{group}_{i:03d}.jpg") for group in ("cat", "dog", "selfie", "anime") for i in range(100))
    picked = spread(files, 8)
    assert len(picked) == 8 == len(set(picked)) and picked[0] == files[0] and picked[-1] == files[-1]
    assert {p.name.split("_")[0] for p in picked} == {"cat", "dog", "selfie", "anime"}
    assert spread(files[:5], 8) == files[:5] and spread(files, 0) == ()
