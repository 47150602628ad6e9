"""``i2i-train --init``: a new run starts from another run's weights, kernels resized, EMA equal to the models."""
from __future__ import annotations

import pytest
import torch
from distill_support import student_config, train_teacher

from trainer import checkpoint as ckpt_io
from trainer.cli import main
from trainer.config import load_config
from trainer.init_weights import fit_kernel
from trainer.loop import train
from trainer.provenance import training_record

from tiny_munit import TINY_MUNIT

RUN = [*TINY_MUNIT, "train.iterations=2", "train.checkpoint_every=2", "train.ema=0.9", "train.sample_every=100"]


def test_fit_kernel_crops_pads_and_refuses():
    kernel = torch.arange(2 * 3 * 25, dtype=torch.float32).reshape(2, 3, 5, 5)
    cropped = fit_kernel(kernel, torch.Size([2, 3, 3, 3]))
    assert torch.equal(cropped, kernel[:, :, 1:4, 1:4])
    padded = fit_kernel(cropped, torch.Size([2, 3, 5, 5]))
    assert torch.equal(padded[:, :, 1:4, 1:4], cropped) and padded.abs().sum() == cropped.abs().sum()
    assert fit_kernel(kernel, torch.Size([2, 3, 4, 4])) is None  # no centre
    assert fit_kernel(kernel, torch.Size([2, 4, 5, 5])) is None  # other channels
    assert fit_kernel(torch.zeros(6), torch.Size([7])) is None


def test_init_copies_weights_crops_kernels_and_starts_at_zero(tiny_cat2dog, tmp_path, capsys):
    source = tmp_path / "source"
    train(load_config("munit_cpu", RUN), tiny_cat2dog, source, device="cpu", progress=False)
    out = tmp_path / "init"
    code = main(["--config", "munit_cpu", "--data", str(tiny_cat2dog), "--out", str(out), "--device", "cpu",
                 "--no-progress", "--init", str(source), *RUN, "model.up_kernel=3", "train.iterations=0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "init from" in printed and "kernels resized" in printed and "left fresh" not in printed
    old = ckpt_io.load_checkpoint(ckpt_io.latest_checkpoint(source / "checkpoints"))
    new = ckpt_io.load_checkpoint(ckpt_io.latest_checkpoint(out / "checkpoints"))
    assert new["iteration"] == 0 and new["config"]["model"]["up_kernel"] == 3
    # provenance: the new run's record starts from the source's (its time and machines) and says what it
    # continued; a resume of the new run keeps that
    source_name = ckpt_io.latest_checkpoint(source / "checkpoints").name
    assert new["training"]["init"] == {"from": source_name, "iterations": old["iteration"]}
    assert new["training"]["seconds"] >= old["training"]["seconds"] > 0
    assert new["training"]["sessions"] == old["training"]["sessions"]  # same machine: listed once
    resumed = training_record(new["training"], torch.device("cpu"), 1.0, "none")
    assert resumed["init"] == new["training"]["init"] and resumed["seconds"] == new["training"]["seconds"] + 1.0
    resized = 0
    for name, weights in new["models"].items():
        wanted = old["ema"][name] if name in old["ema"] else old["models"][name]  # EMA weights where kept
        for key, tensor in weights.items():
            if tensor.shape != wanted[key].shape:
                assert torch.equal(tensor, wanted[key][:, :, 1:4, 1:4]), key
                resized += 1
            else:
                assert torch.equal(tensor, wanted[key]), key
    assert resized == 4  # two upsampling convs per generator
    for name, weights in new["ema"].items():
        assert all(torch.equal(t, new["models"][name][k]) for k, t in weights.items())


def test_init_refuses_another_family_and_a_used_folder(tiny_cat2dog, tmp_path, capsys):
    source = tmp_path / "source"
    train(load_config("munit_cpu", RUN), tiny_cat2dog, source, device="cpu", progress=False)
    args = ["--data", str(tiny_cat2dog), "--device", "cpu", "--no-progress", "--init", str(source)]
    assert main(["--config", "ugatit_cpu", "--out", str(tmp_path / "u"), *args]) == 2
    assert "is a 'munit' checkpoint, the config trains 'ugatit'" in capsys.readouterr().err
    assert main(["--config", "munit_cpu", "--out", str(source), *args, *RUN]) == 2
    assert "--init starts a new run" in capsys.readouterr().err
    assert main(["--config", "munit_cpu", "--out", str(tmp_path / "n"), *args[:-1], str(tmp_path / "none"),
                 *RUN]) == 2
    assert "no checkpoint there" in capsys.readouterr().err


def test_init_keeps_a_students_frozen_teacher_parts(tiny_cat2dog, tmp_path):
    teacher = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    student = tmp_path / "student"
    train(student_config(teacher, "train.iterations=2", "train.checkpoint_every=2"), tiny_cat2dog, student,
          device="cpu", progress=False)
    old = ckpt_io.load_checkpoint(ckpt_io.latest_checkpoint(student / "checkpoints"))
    frozen_before = {k: t.clone() for k, t in old["ema"]["gen_a"].items() if k.startswith("style_encoder.")}
    for copy in ("models", "ema"):  # a source whose style encoder is not the teacher's
        for key in frozen_before:
            old[copy]["gen_a"][key] += 1.0
    source = tmp_path / "changed.pt"
    torch.save(old, source)
    again = tmp_path / "again"
    train(student_config(teacher, "train.iterations=0", "model.up_kernel=3"), tiny_cat2dog, again, device="cpu",
          progress=False, init=source)
    new = ckpt_io.load_checkpoint(ckpt_io.latest_checkpoint(again / "checkpoints"))["models"]["gen_a"]
    for key, tensor in new.items():
        if key in frozen_before:
            assert torch.equal(tensor, frozen_before[key]), key  # still the teacher's
        elif tensor.shape == old["ema"]["gen_a"][key].shape:
            assert torch.equal(tensor, old["ema"]["gen_a"][key]), key
        else:
            assert torch.equal(tensor, old["ema"]["gen_a"][key][:, :, 1:4, 1:4]), key


@pytest.mark.parametrize("junk", [b"", b"not a checkpoint"])
def test_init_refuses_a_file_that_is_no_checkpoint(tiny_cat2dog, tmp_path, capsys, junk):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(junk)
    assert main(["--config", "munit_cpu", "--data", str(tiny_cat2dog), "--out", str(tmp_path / "o"), "--device",
                 "cpu", "--no-progress", "--init", str(bad), *RUN]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i-train: --init") and len(err.strip().splitlines()) == 1
