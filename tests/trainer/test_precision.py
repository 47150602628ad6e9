"""Mixed precision on a CPU: bf16 autocast trains with fp32 master weights, a CPU without native bf16 is named
in one warning line, fp16 stays CUDA-only."""
from __future__ import annotations

import warnings

import pytest
import torch

from trainer.checkpoint import load_checkpoint
from trainer.cli import main as cli_main
from trainer.config import load_config
from trainer.loop import train
from trainer.precision import Precision, cpu_bf16_native

from tiny_munit import TINY_MUNIT as TINY

CPU = torch.device("cpu")


@pytest.fixture
def no_native_bf16(monkeypatch):
    """Pretend this CPU has neither AVX512-BF16 nor AMX."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)


def test_cpu_bf16_autocast_runs_convolutions_in_bf16_on_fp32_weights():
    conv = torch.nn.Conv2d(3, 4, 3)
    with Precision("bf16", CPU).autocast():
        out = conv(torch.randn(1, 3, 8, 8))
    assert out.dtype == torch.bfloat16 and conv.weight.dtype == torch.float32
    with Precision("none", CPU).autocast():
        assert conv(torch.randn(1, 3, 8, 8)).dtype == torch.float32


def test_bf16_trains_on_cpu_with_finite_losses_and_fp32_weights_and_optimizer_state(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    result = train(load_config("munit_cpu", [*TINY, 'train.amp="bf16"', "train.batch_size=2", "train.iterations=3",
                                             "train.checkpoint_every=3"]),
                   tiny_cat2dog, run, device="cpu", progress=False)
    assert result.iteration == 3
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())
    ckpt = load_checkpoint(result.checkpoint)
    weights = [t for model in (*ckpt["models"].values(), *ckpt["ema"].values()) for t in model.values()
               if t.is_floating_point()]
    moments = [t for opt in ckpt["optimizers"].values() for s in opt["state"].values() for t in s.values()
               if t.is_floating_point() and t.dim() > 0]
    assert weights and moments
    assert {t.dtype for t in weights} == {torch.float32} and {t.dtype for t in moments} == {torch.float32}
    assert ckpt["precision"] == {}  # no GradScaler for bf16


def test_munit_128_trains_with_its_bf16_default_from_the_cli_on_cpu(tiny_cat2dog, tmp_path, capsys):
    code = cli_main(["--config", "munit_128", "--data", str(tiny_cat2dog), "--out", str(tmp_path / "run"),
                     "--device", "cpu", "--threads", "1", "--no-progress", *TINY, "train.batch_size=1",
                     "train.iterations=1", 'train.amp="bf16"'])
    assert code == 0
    assert load_config(tmp_path / "run" / "config.toml")["train"]["amp"] == "bf16"


def test_this_cpu_detection_follows_torch(no_native_bf16):
    assert not cpu_bf16_native()


def test_cpu_without_native_bf16_is_named_in_one_warning_line(no_native_bf16):
    with pytest.warns(RuntimeWarning, match="without AVX512-BF16 or AMX.*emulated") as caught:
        precision = Precision("bf16", CPU)
    assert precision.dtype == torch.bfloat16 and len(caught) == 1 and "\n" not in str(caught[0].message)


def test_cpu_with_native_bf16_gives_no_warning(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Precision("bf16", CPU).dtype == torch.bfloat16


@pytest.mark.parametrize(("amp", "device", "message"), [
    ("fp16", "cpu", 'fp16" needs a CUDA device'),
    ("bf16", "mps", 'bf16" needs a CUDA device or the CPU'),
    ("int8", "cpu", "unknown train.amp"),
])
def test_unsupported_precision_is_refused_with_a_clear_message(amp, device, message):
    with pytest.raises(ValueError, match=message):
        Precision(amp, torch.device(device))


def test_cli_refuses_fp16_on_a_cpu_in_one_line_and_writes_nothing(tmp_path, shared_data, capsys):
    out = tmp_path / "run"
    code = cli_main(["--config", "munit_cpu", "--data", str(shared_data / "cat2dog"), "--out", str(out),
                     "--device", "cpu", "--no-progress", *TINY, 'train.amp="fp16"'])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == ['i2i-train: train.amp="fp16" needs a CUDA device (got cpu); '
                                        'use amp="bf16" or amp="none"']
    assert not out.exists()
