"""The shared training loop with MUNIT on real images: finite losses, overfitting, exact resume,
safe checkpoints, signals, clear data errors, and a 2-process DDP run (gloo, CPU)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.cli import main as cli_main
from trainer.config import ConfigError, load_config
from trainer.loop import train
from trainer.metrics import read_metrics
from trainer.models.munit import build_generator

from tiny_munit import TINY_MUNIT as TINY

REPO = Path(__file__).resolve().parents[2]


def tiny_config(*overrides: str) -> dict:
    return load_config("munit_cpu", [*TINY, *overrides])


def losses_of(run: Path) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k not in ("it_per_s",)} for row in read_metrics(run / "metrics.csv")]


def test_short_run_writes_everything_with_finite_losses(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    result = train(tiny_config("train.iterations=4", "train.checkpoint_every=2", "train.keep_checkpoints=1",
                               "train.sample_every=2", "train.ema=0.9"), tiny_cat2dog, run, device="cpu",
                   progress=False)
    assert result.iteration == 4 and not result.interrupted and result.skipped_files == []
    assert set(result.last_losses) == {"dis_total", "gen_total", "gen_adv", "recon_x", "recon_s", "recon_c"}
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["ckpt_00000004.pt"]  # keep 1
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["sample_00000002.png", "sample_00000004.png"]
    assert [row["iteration"] for row in read_metrics(run / "metrics.csv")] == [1, 2, 3, 4]
    assert (run / "config.toml").is_file() and any((run / "tb").iterdir())
    assert load_config(run / "config.toml")["model"]["dim"] == 8


def test_checkpoint_follows_the_contract_and_loads_weights_only(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    result = train(tiny_config("train.iterations=2", "train.ema=0.5"), tiny_cat2dog, run, device="cpu",
                   progress=False)
    ckpt = torch.load(result.checkpoint, map_location="cpu", weights_only=True)
    assert (ckpt["family"], ckpt["format"], ckpt["iteration"]) == ("munit", 1, 2)
    assert set(ckpt["models"]) == {"gen_a", "gen_b", "dis_a", "dis_b"} and set(ckpt["ema"]) == {"gen_a", "gen_b"}
    assert ckpt["data"]["domains"] == {"a": "cat", "b": "dog"} and ckpt["data"]["images"] == {"a": 4, "b": 4}
    assert ckpt["data"]["dataset"] == "cat2dog"
    assert ckpt["config"]["model"]["dim"] == 8 and ckpt["config"]["loss"]["recon_x_w"] == 10.0
    gen = build_generator(ckpt["config"]["model"])
    gen.load_state_dict(ckpt["ema"]["gen_b"])
    assert gen(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    assert not any(".tmp" in p.name for p in (run / "checkpoints").iterdir())


def test_reconstruction_loss_falls_when_overfitting_few_images(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    train(tiny_config("train.iterations=60", "train.lr=1e-3", "train.weight_decay=0.0", "data.flip=false",
                      "data.load_size=32"), tiny_cat2dog, run, device="cpu", progress=False)
    recon = [row["recon_x"] for row in read_metrics(run / "metrics.csv")]
    first, last = sum(recon[:10]) / 10, sum(recon[-10:]) / 10
    assert last < 0.7 * first, (first, last)


def test_resume_continues_exactly(tiny_cat2dog, tmp_path):
    config = ("train.iterations=6", "train.checkpoint_every=3", "train.ema=0.9", "train.sample_every=100")
    full = tmp_path / "full"
    train(tiny_config(*config), tiny_cat2dog, full, device="cpu", progress=False)
    part = tmp_path / "part"
    train(tiny_config(*config, "train.iterations=3"), tiny_cat2dog, part, device="cpu", progress=False)
    torch.manual_seed(12345)  # whatever happened in between, resume restores the RNG states
    result = train(tiny_config(*config), tiny_cat2dog, part, device="cpu", resume=True, progress=False)
    assert result.iteration == 6
    assert losses_of(part) == losses_of(full)  # exact equality, every loss of every iteration
    a = load_checkpoint(full / "checkpoints" / "ckpt_00000006.pt")
    b = load_checkpoint(part / "checkpoints" / "ckpt_00000006.pt")
    for group in ("models", "ema"):
        for name, state in a[group].items():
            for key, tensor in state.items():
                assert torch.equal(tensor, b[group][name][key]), (group, name, key)


def test_checkpoints_record_training_time_and_machine_across_resumes(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    first = train(tiny_config("train.iterations=2"), tiny_cat2dog, run, device="cpu", progress=False)
    before = load_checkpoint(first.checkpoint)["training"]
    assert before["seconds"] > 0
    assert [s["amp"] for s in before["sessions"]] == ["none"] and "CPUs" in before["sessions"][0]["hardware"]
    second = train(tiny_config("train.iterations=4"), tiny_cat2dog, run, device="cpu", resume=True, progress=False)
    after = load_checkpoint(second.checkpoint)["training"]
    assert after["seconds"] > before["seconds"]
    assert after["sessions"] == before["sessions"]  # same machine: listed once


def test_slim_checkpoint_keeps_only_the_generators_and_cannot_resume(tiny_cat2dog, tmp_path, capsys):
    from trainer.slim import main as slim_main

    run = tmp_path / "run"
    result = train(tiny_config("train.iterations=2", "train.ema=0.5"), tiny_cat2dog, run, device="cpu",
                   progress=False)
    slim_path = run / "checkpoints" / "ckpt_00000003.pt"  # where --resume would pick it up
    assert slim_main([str(run), str(slim_path)]) == 0
    assert "iteration 2" in capsys.readouterr().out
    full, slim = load_checkpoint(result.checkpoint), load_checkpoint(slim_path)
    assert slim["slim"] is True and set(slim["ema"]) == {"gen_a", "gen_b"}
    assert not {"models", "optimizers", "schedulers", "rng"} & set(slim)
    assert (slim["iteration"], slim["data"], slim["training"]) == (2, full["data"], full["training"])
    for name, state in full["ema"].items():
        assert all(torch.equal(t, slim["ema"][name][k]) for k, t in state.items())
    assert slim_path.stat().st_size < result.checkpoint.stat().st_size / 2
    with pytest.raises(ConfigError, match="slim"):
        train(tiny_config("train.iterations=4"), tiny_cat2dog, run, device="cpu", resume=True, progress=False)
    assert slim_main([str(tmp_path / "nothing"), str(tmp_path / "x.pt")]) == 2
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(result.checkpoint.read_bytes()[:1000])
    capsys.readouterr()
    assert slim_main([str(truncated), str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"trainer.slim: cannot use {truncated}") and len(err.splitlines()) == 1
    assert not (tmp_path / "out.pt").exists()
    assert slim_main([str(result.checkpoint), str(tmp_path / "missing" / "out.pt")]) == 2
    assert "trainer.slim: cannot write" in capsys.readouterr().err


def test_resume_without_checkpoint_is_an_error(tiny_cat2dog, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(tiny_config("train.iterations=2"), tiny_cat2dog, tmp_path / "empty", device="cpu", resume=True)


def test_corrupt_training_image_is_skipped_and_reported(tiny_cat2dog, tmp_path, capsys):
    bad = tiny_cat2dog / "trainB" / "0_corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG")
    with pytest.warns(RuntimeWarning, match="0_corrupt.jpg"):
        result = train(tiny_config("train.iterations=4", "train.batch_size=2"), tiny_cat2dog, tmp_path / "run",
                       device="cpu", progress=False)
    assert result.iteration == 4 and result.skipped_files == [str(bad)]
    assert "1 unreadable training image(s) skipped" in capsys.readouterr().err


def test_cli_reports_empty_domain_and_bad_override(tiny_cat2dog, tmp_path, capsys):
    for path in (tiny_cat2dog / "trainA").iterdir():
        path.unlink()
    args = ["--config", "munit_cpu", "--data", str(tiny_cat2dog), "--out", str(tmp_path / "run"), *TINY]
    assert cli_main(args) == 2
    assert "'cat' has no training images" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert cli_main([*args, "train.learning_rate=1"]) == 2
    assert "unknown config keys: train.learning_rate" in capsys.readouterr().err


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c with a data worker", "group sigterm with a data worker"])
def test_signal_saves_a_checkpoint_and_exits(tiny_cat2dog, tmp_path, how):
    run = tmp_path / "run"
    workers = "data.workers=1" if how.endswith("data worker") else "data.workers=0"
    proc = subprocess.Popen([sys.executable, "-m", "trainer.cli", "--config", "munit_cpu", "--data",
                             str(tiny_cat2dog), "--out", str(run), "--device", "cpu", "--no-progress", *TINY,
                             workers, "train.iterations=100000", "train.checkpoint_every=100000"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not (run / "metrics.csv").exists() or len(read_metrics(run / "metrics.csv")) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:  # Ctrl-C, like `timeout` or Slurm's SIGTERM, reaches the whole process group, data workers included
            os.killpg(proc.pid, signal.SIGINT if how.startswith("ctrl-c") else signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    saved = list_checkpoints(run / "checkpoints")
    assert len(saved) == 1
    iteration = load_checkpoint(saved[0])["iteration"]
    assert 2 <= iteration < 100000 and "interrupted" in err
    assert [row["iteration"] for row in read_metrics(run / "metrics.csv")][-1] == iteration


def test_channels_last_hinge_and_cycle_options_train(tiny_cat2dog, tmp_path):
    result = train(tiny_config("train.iterations=2", "train.channels_last=true", "loss.gan_type=hinge",
                               "loss.recon_x_cyc_w=10.0"), tiny_cat2dog, tmp_path / "run", device="cpu",
                   progress=False)
    assert "recon_cyc" in result.last_losses
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())


def test_fp16_needs_cuda(tiny_cat2dog, tmp_path):
    with pytest.raises(ValueError, match="needs a CUDA device"):
        train(tiny_config("train.iterations=1", 'train.amp="fp16"'), tiny_cat2dog, tmp_path / "run", device="cpu")


RANK_WEIGHTS_SCRIPT = """
import sys, torch
from trainer.cli import main
from trainer.families.munit import MunitFamily

seen = []
original = MunitFamily.train_step
def recording_step(self, images):
    seen.append(self)
    return original(self, images)
MunitFamily.train_step = recording_step
code = main(sys.argv[1:])
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else int(__import__("os").environ["RANK"])
torch.save({k: m.state_dict() for k, m in seen[-1].models().items()}, sys.argv[sys.argv.index("--out") + 1]
           + f"/rank{rank}.pt")
sys.exit(code)
"""


def test_two_process_ddp_on_cpu(tiny_cat2dog, tmp_path):
    """torchrun with 2 gloo processes: rank 0 alone logs and saves, and both ranks end with the same weights
    (their gradients were averaged) although each saw different images."""
    run = tmp_path / "ddp"
    script = tmp_path / "ddp_train.py"
    script.write_text(RANK_WEIGHTS_SCRIPT, encoding="utf-8")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script),
           "--config", "munit_cpu", "--data", str(tiny_cat2dog), "--out", str(run),
           "--device", "cpu", "--no-progress", *TINY, "train.iterations=3", "train.checkpoint_every=3"]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["ckpt_00000003.pt"]
    assert [row["iteration"] for row in read_metrics(run / "metrics.csv")] == [1, 2, 3]  # rank 0 logs once
    ckpt = load_checkpoint(run / "checkpoints" / "ckpt_00000003.pt")
    rank0 = torch.load(run / "rank0.pt", weights_only=True)
    rank1 = torch.load(run / "rank1.pt", weights_only=True)
    initial = build_generator(ckpt["config"]["model"]).state_dict()
    for name in ("gen_a", "gen_b", "dis_a", "dis_b"):
        for key, tensor in rank0[name].items():
            assert torch.equal(tensor, rank1[name][key]), (name, key)
            assert torch.equal(tensor, ckpt["models"][name][key]), (name, key)
    assert any(not torch.equal(t, initial[k]) for k, t in rank0["gen_a"].items())  # it did train


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    from i2i_common.atomic import atomic_open

    target = tmp_path / "config.toml"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w", encoding="utf-8") as handle:
            handle.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["config.toml"]
    with atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o044  # readable like any other file
