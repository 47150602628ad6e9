"""Distillation (trainer/distill): a tiny MUNIT teacher trained two iterations, then a student of half its width
distilled from it through the real ``train()``: every term finite, logged and weighted as configured, the style
encoders the teacher's (frozen), checkpoints of the student's family, exact resume; the other families' hooks run
too; a run travels; a teacher that is missing, unset or of another family is a one-line error."""
from __future__ import annotations

import math

import pytest
import torch
from distill_support import OTHER_FAMILIES, student_config, train_teacher
from resume_support import assert_resumes_exactly

from trainer.checkpoint import latest_checkpoint, load_checkpoint
from trainer.cli import main as cli_main
from trainer.config import ConfigError, load_config, resolve_config
from trainer.data.cache import cached_image
from trainer.distill.family import DistillFamily
from trainer.families import Placement
from trainer.loop import train
from trainer.metrics import read_metrics
from trainer.precision import Precision
from trainer.slim import slim_checkpoint

TERMS = ("dis_total", "gen_total", "l1", "perceptual", "gen_adv")
CPU = torch.device("cpu")


def family_of(config: dict) -> DistillFamily:
    torch.manual_seed(0)
    return DistillFamily(resolve_config(config), Placement(CPU, Precision("none", CPU)))


def teacher_gap(config: dict, data, weights: dict | None = None) -> float:
    """Mean L1 between student and teacher outputs on the first training image of each domain (the prior styles
    drawn with one seed), for the student ``train()`` starts from or the one holding ``weights``."""
    torch.manual_seed(config["train"]["seed"])  # as train() seeds before it builds the family
    family = DistillFamily(resolve_config(config), Placement(CPU, Precision("none", CPU)))
    for name, module in family.models().items():
        if weights is not None:
            module.load_state_dict(weights[name])
    images = [torch.from_numpy(cached_image(sorted((data / f"train{d}").glob("*.jpg"))[0], 32)).permute(2, 0, 1)
              .unsqueeze(0).float() / 127.5 - 1 for d in "AB"]
    torch.manual_seed(7)
    with torch.no_grad():
        return torch.stack([(p.student - p.teacher).abs().mean() for p in family.hook.pairs(images)]).mean().item()


def test_a_student_learns_its_teacher_logs_every_term_and_resumes_exactly(tiny_cat2dog, tmp_path):
    teacher = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    config = student_config(teacher, "train.iterations=4", "train.checkpoint_every=2", "distill.perceptual_w=2.0")
    full = tmp_path / "full"
    result = train(config, tiny_cat2dog, full, device="cpu", progress=False)
    assert (full / "metrics.csv").read_text(encoding="utf-8").splitlines()[0] == \
        f"iteration,{','.join(TERMS)},lr,it_per_s"
    rows = read_metrics(full / "metrics.csv")
    assert len(rows) == 4
    for row in rows:
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in TERMS), row
        assert row["gen_total"] == pytest.approx(10 * row["l1"] + 2 * row["perceptual"] + row["gen_adv"], rel=1e-5)
    state = load_checkpoint(result.checkpoint)
    assert teacher_gap(config, tiny_cat2dog, state["models"]) < teacher_gap(config, tiny_cat2dog)  # it learns
    assert state["family"] == "munit" and set(state["models"]) == {"gen_a", "gen_b", "dis_a", "dis_b"}
    assert set(state["ema"]) == {"gen_a", "gen_b"} and state["config"]["distill"]["teacher"] == str(teacher)
    taught = load_checkpoint(latest_checkpoint(teacher / "checkpoints"))["ema"]
    for group in ("models", "ema"):
        for domain in "ab":
            own, theirs = state[group][f"gen_{domain}"], taught[f"gen_{domain}"]
            style = [k for k in own if k.startswith("style_encoder.")]
            assert style and all(torch.equal(own[k], theirs[k]) for k in style)  # copied, never trained
            assert own["content_encoder.model.0.conv.weight"].shape[0] == 4  # the student's width, not the 8
    assert (full / "samples" / "sample_00000004.png").is_file()

    assert_resumes_exactly(config, tiny_cat2dog, full, tmp_path / "part", result.checkpoint, rows)


@pytest.mark.parametrize("family", sorted(OTHER_FAMILIES))
def test_every_family_distils_through_its_own_hook(family, tiny_cat2dog, tmp_path):
    name, teacher_overrides, student_overrides = OTHER_FAMILIES[family]
    teacher = tmp_path / "teacher"
    train(load_config(name, [*teacher_overrides, "train.iterations=1"]), tiny_cat2dog, teacher, device="cpu",
          progress=False)
    config = load_config(name, [*teacher_overrides, *student_overrides, f"distill.teacher={teacher}",
                                "train.iterations=2"])
    result = train(config, tiny_cat2dog, tmp_path / "student", device="cpu", progress=False)
    rows = read_metrics(tmp_path / "student" / "metrics.csv")
    assert len(rows) == 2 and all(math.isfinite(row[k]) for row in rows for k in TERMS), rows
    state = load_checkpoint(result.checkpoint)
    assert state["family"] == family and set(state["config"]["distill"]) >= {"teacher", "l1_w"}
    taught = load_checkpoint(latest_checkpoint(teacher / "checkpoints"))
    for module, frozen in (("gen", False), ("guide", True)) if family == "tunit" else ():
        same = [torch.equal(t, taught["ema"][module][k]) for k, t in state["ema"][module].items()]
        assert all(same) if frozen else not all(same)  # the guiding network is the teacher's, the generator not


def test_a_slim_teacher_works_and_discriminators_start_fresh_or_from_a_full_teacher(tiny_cat2dog, tmp_path):
    teacher = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    full = latest_checkpoint(teacher / "checkpoints")
    slim = tmp_path / "slim.pt"
    torch.save(slim_checkpoint(load_checkpoint(full)), slim)
    same_dis = ["model.dis_dim=8", "model.dis_n_layer=2", "model.dis_num_scales=2"]  # the tiny teacher's
    started = family_of(student_config(full, *same_dis, 'distill.discriminator="teacher"'))
    dis = load_checkpoint(full)["models"]["dis_a"]
    assert all(torch.equal(t, started.models()["dis_a"].state_dict()[k]) for k, t in dis.items())
    fresh = family_of(student_config(slim, *same_dis))
    assert not all(torch.equal(t, fresh.models()["dis_a"].state_dict()[k]) for k, t in dis.items())
    with pytest.raises(ConfigError, match=r'holds no dis_a weights \(a slim checkpoint keeps only generators\)'):
        family_of(student_config(slim, 'distill.discriminator="teacher"'))
    with pytest.raises(ConfigError, match=r"student's gen_a\.style_encoder .* does not fit: .*model\.style_enc_dim"):
        family_of(student_config(full, "model.style_enc_dim=0"))  # its own width (4), not the teacher's 8
    with pytest.raises(ConfigError, match="distill.discriminator = 'old': expected one of fresh, teacher"):
        resolve_config(student_config(full, 'distill.discriminator="old"'))


def test_a_missing_unset_or_foreign_teacher_is_a_one_line_error(tiny_cat2dog, tmp_path, capsys):
    foreign = tmp_path / "ugatit.pt"
    torch.save({"format": 1, "family": "ugatit", "iteration": 1, "config": {}, "models": {}}, foreign)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    cases = {
        str(tmp_path / "nowhere"): f"distill.teacher {tmp_path / 'nowhere'}: no checkpoint there",
        str(tmp_path): f"distill.teacher {tmp_path}: no checkpoint there",  # a folder without checkpoints/
        '""': "distill.teacher is not set",
        str(foreign): f"distill.teacher {foreign} is a 'ugatit' checkpoint; a munit student needs a munit teacher",
        str(garbage): f"distill.teacher {garbage}: cannot be read",
    }
    for teacher, message in cases.items():
        out = tmp_path / "student"
        status = cli_main(["--config", "distill_munit_cpu", "--data", str(tiny_cat2dog), "--out", str(out),
                           "--no-progress", "--device", "cpu", f"distill.teacher={teacher}", "data.workers=0"])
        err = capsys.readouterr().err
        assert status == 2 and err.startswith(f"i2i-train: {message}") and err.count("\n") == 1, err
        assert not out.exists()


def test_a_distillation_run_travels_and_continues_from_its_travel_checkpoint(tiny_cat2dog, tmp_path):
    teacher = train_teacher(tiny_cat2dog, tmp_path / "teacher")
    train(student_config(teacher, "train.iterations=2"), tiny_cat2dog, tmp_path / "run", device="cpu",
          progress=False, travel_out=tmp_path / "travel")
    result = train(student_config(teacher, "train.iterations=3"), tiny_cat2dog, tmp_path / "moved", device="cpu",
                   progress=False, resume_from=tmp_path / "travel")
    assert result.iteration == 3 and all(math.isfinite(v) for v in result.last_losses.values())
    state = load_checkpoint(result.checkpoint)
    assert state["family"] == "munit" and state["config"]["distill"]["teacher"] == str(teacher)
