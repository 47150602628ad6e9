"""Travel checkpoints (trainer/travel, trainer/slim.travel_subset): half-precision weights in parts of at most
16 MiB, verified on load, resumed in a new run folder with fresh optimizer state and an lr warm-up; the
munit_128 checkpoint is measured against the limits."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from trainer.checkpoint import load_checkpoint
from trainer.cli import main as cli_main
from trainer.config import family_class, load_config, resolve_config
from trainer.families import Placement
from trainer.loop import train
from trainer.metrics import read_metrics
from trainer.precision import Precision
from trainer.run_state import training_state
from trainer.slim import travel_subset
from trainer.travel.__main__ import main as travel_main
from trainer.travel.parts import MANIFEST, MIB, TravelError, load_travel, stored, write_travel
from trainer.travel.warmup import LrWarmup, default_warmup

from tiny_munit import TINY_MUNIT

TINY = [*TINY_MUNIT, "train.sample_every=100", "train.ema=0.9", "train.lr_step=3"]



def family_subset(name: str, *overrides: str) -> dict:
    """The travel subset of a freshly initialised family (no training)."""
    config = resolve_config(load_config(name, [*overrides, 'train.amp="none"']))
    cpu = torch.device("cpu")
    family = family_class(config["model"]["family"])(config, Placement(cpu, Precision("none", cpu)))
    record = {"dataset": "x", "images": {"a": 1, "b": 1}}
    return travel_subset(training_state(family, 7, config, Precision("none", cpu), record, {"seconds": 1.0}))


def half(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.float16).to(t.dtype) if t.is_floating_point() else t


@pytest.fixture
def travelled(tiny_cat2dog, tmp_path) -> tuple[Path, Path]:
    """A tiny run trained 3 iterations and its travel checkpoint written by ``python -m trainer.travel``; the
    run also wrote one with each checkpoint (``travel_out``), the last one the same as the command's."""
    run, live = tmp_path / "run", tmp_path / "live"
    train(load_config("munit_cpu", [*TINY, "train.iterations=3", "train.checkpoint_every=2"]), tiny_cat2dog, run,
          device="cpu", progress=False, travel_out=live)
    assert travel_main(["write", str(run), str(tmp_path / "travel")]) == 0
    assert sorted(os.listdir(live)) == [MANIFEST, "travel_00000003_part0.pt"]
    assert (live / MANIFEST).read_text() == (tmp_path / "travel" / MANIFEST).read_text()  # same bytes: same sha256
    return run, tmp_path / "travel"


@pytest.mark.parametrize("config", ["munit_128", "ugatit_cpu", "tunit_cpu"])  # the shipped bundles' configs and TUNIT's
def test_shipped_configs_travel_checkpoints_fit_the_limits(tmp_path, config):
    manifest = write_travel(family_subset(config), tmp_path / "t")
    sizes = [p["bytes"] for p in manifest["parts"]]
    on_disk = sorted(p.stat().st_size for p in (tmp_path / "t").iterdir() if p.name != MANIFEST)
    assert on_disk == sorted(sizes) and sum(sizes) == manifest["total_bytes"]
    assert len(sizes) <= 8 and max(sizes) <= 16 * MIB and sum(sizes) + (tmp_path / "t" / MANIFEST).stat().st_size \
        <= 60 * MIB, (len(sizes), [s / MIB for s in sizes])
    assert manifest["stored_dtypes"].get("float16", 0) > 0 and "float32" not in manifest["stored_dtypes"]
    print(f"{config} travel checkpoint: {len(sizes)} parts, {sum(sizes) / MIB:.1f} MiB")


def test_a_checkpoint_over_the_limits_fails_loudly_with_its_size(tmp_path):
    subset = family_subset("munit_cpu")
    with pytest.raises(TravelError, match=r"would be \d+\.\d MiB in 1 parts .*limits are 1\.0 MiB in all"):
        write_travel(subset, tmp_path / "t", total_limit=MIB)
    with pytest.raises(TravelError, match=r"in 3 parts .*, 2 parts of 2\.0 MiB"):
        write_travel(subset, tmp_path / "t", part_limit=2 * MIB, max_parts=2)
    assert not (tmp_path / "t").exists()


def test_half_precision_storage_uses_bf16_only_where_fp16_overflows():
    assert stored(torch.tensor([0.1, -3.0, 60000.0])).dtype == torch.float16
    assert stored(torch.tensor([0.1, 1e5])).dtype == torch.bfloat16
    assert stored(torch.tensor([1, 2], dtype=torch.int64)).dtype == torch.int64


def test_files_follow_the_umask_and_rewrites_replace_old_parts(tmp_path, umask):
    subset = family_subset("munit_cpu")
    write_travel(subset, tmp_path / "t")
    write_travel({**subset, "iteration": 9}, tmp_path / "t")
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names == [MANIFEST, "travel_00000009_part0.pt"]
    assert {(tmp_path / "t" / n).stat().st_mode & 0o777 for n in names} == {0o666 & ~umask}


def test_resume_from_travel_restores_weights_continues_schedule_and_warms_up(travelled, tiny_cat2dog, tmp_path):
    run, travel = travelled
    saved = load_checkpoint(run / "checkpoints" / "ckpt_00000003.pt")
    manifest = json.loads((travel / MANIFEST).read_text())
    assert manifest["iteration"] == 3 and len(os.listdir(travel)) == 1 + len(manifest["parts"])
    assert manifest["data"] == saved["data"] and manifest["training"] == saved["training"]

    # no training steps: the new run's first checkpoint holds exactly what was loaded
    args = ["--resume-from", str(travel), "--data", str(tiny_cat2dog), "--no-progress"]
    assert cli_main([*args, "--out", str(tmp_path / "same")]) == 0
    loaded = load_checkpoint(tmp_path / "same" / "checkpoints" / "ckpt_00000003.pt")
    for group in ("models", "ema"):
        for name, state in saved[group].items():
            for key, t in state.items():
                assert torch.equal(loaded[group][name][key], half(t)), (group, name, key)
    assert loaded["training"]["seconds"] >= saved["training"]["seconds"]

    new = tmp_path / "new"
    overrides = ["train.iterations=6", "train.checkpoint_every=1", "train.keep_checkpoints=3"]
    assert cli_main([*args, "--out", str(new), "--warmup", "4", *overrides]) == 0
    rows = read_metrics(new / "metrics.csv")
    assert [r["iteration"] for r in rows] == [4, 5, 6]
    assert all(torch.isfinite(torch.tensor(v)) for r in rows for k, v in r.items() if k != "iteration")
    # iteration 4's Adam step (fresh moments: every weight moves by ~ the step's lr) used lr 1e-4 * 0.5 (the
    # step decay after lr_step=3 iterations, continued) * 1/4 (warm-up, K=4)
    after = load_checkpoint(new / "checkpoints" / "ckpt_00000004.pt")
    for name in ("gen_a", "dis_b"):
        moved = max((after["models"][name][k] - half(t)).abs().max().item()
                    for k, t in saved["models"][name].items() if t.is_floating_point())
        assert 0.95 * 1.25e-5 < moved < 1.01 * 1.25e-5, (name, moved)


def test_warmup_scales_only_the_optimizer_step_and_ends():
    weight = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([weight], lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    LrWarmup([opt], 4)
    moves = []
    for _ in range(6):
        before = weight.detach().clone()
        weight.grad = torch.ones(3)
        opt.step()
        sched.step()
        moves.append(round((before - weight.detach()).abs().max().item(), 7))
    assert moves[0] == pytest.approx(1e-2 / 4, rel=1e-4)  # Adam's first step: exactly the (warmed) lr
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5 ** 3)  # the schedule never saw the factor
    assert not opt._optimizer_step_pre_hooks
    assert default_warmup({"train": {"beta2": 0.999}}) == 1000


@pytest.mark.parametrize("damage", ["tamper", "missing", "extra", "manifest", "outside"])
def test_damaged_travel_checkpoints_are_refused_with_one_line(travelled, tiny_cat2dog, tmp_path, capsys, damage):
    _, travel = travelled
    part = travel / json.loads((travel / MANIFEST).read_text())["parts"][0]["name"]
    if damage == "tamper":
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 1
        part.write_bytes(bytes(data))
    elif damage == "missing":
        part.unlink()
    elif damage == "extra":
        shutil.copy(part, travel / "travel_00000001_part0.pt")
    elif damage == "manifest":
        (travel / MANIFEST).write_text("{}")
    else:
        manifest = json.loads((travel / MANIFEST).read_text())
        manifest["parts"][0]["name"] = "../" + manifest["parts"][0]["name"]
        (travel / MANIFEST).write_text(json.dumps(manifest))
    expected = {"tamper": "sha256", "missing": "is missing", "extra": "not in travel.json", "manifest": "not a",
                "outside": "malformed"}
    with pytest.raises(TravelError, match=expected[damage]):
        load_travel(travel)
    capsys.readouterr()
    code = cli_main(["--resume-from", str(travel), "--data", str(tiny_cat2dog), "--out", str(tmp_path / "x"),
                     "--config", "munit_cpu", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and expected[damage] in err, err
    assert travel_main(["check", str(travel)]) == 2


def test_check_write_and_resume_refusals(travelled, tiny_cat2dog, tmp_path, capsys):
    run, travel = travelled
    assert travel_main(["check", str(travel)]) == 0
    assert "intact" in capsys.readouterr().out
    assert travel_main(["write", str(tmp_path / "nothing"), str(tmp_path / "t")]) == 2
    assert cli_main(["--resume-from", str(travel), "--data", str(tiny_cat2dog), "--out", str(run)]) == 2
    assert "already has checkpoints" in capsys.readouterr().err
    assert cli_main(["--resume-from", str(travel), "--resume", "--data", str(tiny_cat2dog), "--out", str(run)]) == 2
