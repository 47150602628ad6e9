"""A distilled student leaves training as an ordinary bundle of its family, marked as its teacher's student
(``distill.student_of``, or ``--student-of``): it translates through the runtime with the teacher's style
codes and costs less per frame than its teacher (counted from its ONNX graphs, the same count as torch's)."""
from __future__ import annotations

import json

import numpy as np
import torch
from distill_support import student_config, train_teacher
from torch.utils.flop_counter import FlopCounterMode

from desktop.runtime.bundle import MANIFEST, load_bundle
from desktop.runtime.style import ReferenceStyle, TypicalStyle
from desktop.runtime.translators import open_translator
from export.cli import main as export_main
from export.data import DatasetImages
from export.macs import frame_macs
from export.registry import exporter_for
from export.source import load_checkpoint as export_source
from i2i_common.images import read_image
from trainer.checkpoint import latest_checkpoint
from trainer.loop import train


def generators(run) -> tuple[dict[str, torch.nn.Module], dict]:
    """The MUNIT generators of a run's newest checkpoint as the exporter builds them, and its config."""
    source = export_source(latest_checkpoint(run / "checkpoints"))
    return exporter_for("munit").build(source.config, source.weights), source.config


def torch_frame_macs(run, size: int = 256) -> int:
    """content_encoder(a) + decoder(b) counted by torch (2 FLOPs per multiply-accumulate)."""
    gens, _ = generators(run)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        gens["b"].decode(gens["a"].content_encoder(torch.zeros(1, 3, size, size)), torch.zeros(1, 8))
    return counter.get_total_flops() // 2


def test_a_student_exports_marked_translates_and_costs_less_than_its_teacher(tiny_cat2dog, tmp_path, capsys):
    teacher_run = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    unnamed, named = tmp_path / "unnamed", tmp_path / "named"
    for run, mark in ((unnamed, '""'), (named, '"tiny-teacher"')):
        train(student_config(teacher_run, "train.iterations=2", f"distill.student_of={mark}"), tiny_cat2dog, run,
              device="cpu", progress=False)
    assert export_source(latest_checkpoint(named / "checkpoints")).student_of == "tiny-teacher"  # from the config
    common = ["--run", str(unnamed), "--data", str(tiny_cat2dog), "--precisions", "fp32", "--style-images", "4"]
    capsys.readouterr()
    assert export_main([*common, "--out", str(tmp_path / "x")]) == 1  # an unmarked student is refused
    assert "is a distilled student: name its teacher's bundle with --student-of NAME" in capsys.readouterr().err
    assert export_main([*common, "--out", str(tmp_path / "x"), "--student-of", "a/b"]) == 1
    assert "--student-of: name 'a/b' may only use letters" in capsys.readouterr().err
    assert export_main([*common, "--out", str(tmp_path / "student"), "--student-of", "tiny-teacher"]) == 0

    student = load_bundle(tmp_path / "student", check_graphs=True)
    assert student.student_of == "tiny-teacher" and student.family == "munit"
    manifest = json.loads((tmp_path / "student" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["student_of"] == "tiny-teacher"
    assert manifest["provenance"]["config"]["distill"]["teacher"] == "teacher"  # no folder of the machine
    teacher_gens, teacher_config = generators(teacher_run)
    data = DatasetImages.from_config(teacher_config, tiny_cat2dog)
    typical = exporter_for("munit").arrays(teacher_gens, {d: data.batches(d, "train", 4, 16) for d in data.domains})
    for domain in "ab":  # the teacher's style encoders, frozen: the teacher's typical style
        np.testing.assert_allclose(student.array("style_mean", domain), typical[("style_mean", domain)], atol=1e-6)

    translator = open_translator(student, provider="cpu")
    cat, dog = (read_image(sorted((tiny_cat2dog / f"test{d}").glob("*.jpg"))[0]) for d in "AB")
    for style in (TypicalStyle(), ReferenceStyle(dog)):
        image = translator.translate(cat, "a2b", style=style).image
        assert image.dtype == np.uint8 and image.shape == cat.shape and image.std() > 0

    assert frame_macs(student) == torch_frame_macs(unnamed)
    assert frame_macs(student) < torch_frame_macs(teacher_run) / 3
