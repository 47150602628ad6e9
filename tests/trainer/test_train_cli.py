"""``i2i-train`` refuses bad arguments in one line (exit 2) before any work starts, and its help lists the
configs that are really shipped."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.cli import build_parser, main
from trainer.config import CONFIG_DIR, ConfigError, load_config, shipped_configs

REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, never a traceback
    assert lines[0].startswith("i2i-train: ")
    return lines[0]


@pytest.fixture
def data(tmp_path) -> Path:
    """A dataset folder the checks never get to read (each case fails before loading images)."""
    for split in ("trainA", "trainB"):
        (tmp_path / "data" / split).mkdir(parents=True)
    return tmp_path / "data"


def test_unknown_family_is_one_line_listing_the_known_ones(capsys, data, tmp_path):
    code, err = run_cli(capsys, "--config", "munit_cpu", "--data", str(data), "--out", str(tmp_path / "run"),
                        "model.family=cyclegan")
    assert code == 2
    assert one_line(err) == "i2i-train: unknown model family 'cyclegan' (known: munit, tunit, ugatit)"
    assert not (tmp_path / "run").exists()


def test_unknown_family_from_the_command_line_process(data, tmp_path):
    """The real entry point, as a user runs it: one line on stderr, exit 2."""
    proc = subprocess.run([sys.executable, "-m", "trainer.cli", "--config", "munit_cpu", "--data", str(data),
                           "--out", str(tmp_path / "run"), "model.family=cyclegan"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert one_line(proc.stderr).endswith("(known: munit, tunit, ugatit)")


@pytest.mark.parametrize("override, message", [
    ("model.dim", "override must look like section.key=value, got 'model.dim'"),
    ("model.dim=abc", "model.dim = 'abc': expected a whole number"),
    ("train.lr=fast", "train.lr = 'fast': expected a number"),
    ("data.flip=3", "data.flip = 3: expected true or false"),
    ("train.seed=1.5", "train.seed = 1.5: expected a whole number"),
    ("model.dim.width=3", "override 'model.dim.width=3': 'dim' is a value, not a table"),
    ("data.size.x=3", "override 'data.size.x=3': 'size' is a value, not a table"),
])
def test_bad_override_is_one_line(capsys, data, tmp_path, override, message):
    code, err = run_cli(capsys, "--config", "munit_cpu", "--data", str(data), "--out", str(tmp_path / "run"),
                        override)
    assert code == 2 and one_line(err) == f"i2i-train: {message}"


def test_missing_data_folder_is_one_line(capsys, tmp_path):
    code, err = run_cli(capsys, "--config", "munit_cpu", "--data", str(tmp_path / "absent"), "--out",
                        str(tmp_path / "run"))
    assert code == 2 and "absent" in one_line(err)
    assert not (tmp_path / "run").exists()


def test_unreadable_config_is_one_line(capsys, data, tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00[model]\n")
    code, err = run_cli(capsys, "--config", str(binary), "--data", str(data), "--out", str(tmp_path / "run"))
    assert code == 2 and one_line(err) == f"i2i-train: {binary}: not a TOML text file (not UTF-8)"
    locked = tmp_path / "locked.toml"
    locked.write_text("[model]\n", encoding="utf-8")
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as root: permissions do not keep this file from being read")
    code, err = run_cli(capsys, "--config", str(locked), "--data", str(data), "--out", str(tmp_path / "run"))
    assert code == 2 and one_line(err) == f"i2i-train: {locked}: cannot read the config: Permission denied"


def test_unusable_out_folder_is_one_line_before_any_work(capsys, data, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, err = run_cli(capsys, "--config", "munit_cpu", "--data", str(data), "--out", str(blocker / "run"))
    assert code == 2 and one_line(err) == f"i2i-train: --out {blocker / 'run'}: {blocker} is not a folder"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):
        pytest.skip("running as root: permissions do not keep this folder from being written")
    code, err = run_cli(capsys, "--config", "munit_cpu", "--data", str(data), "--out", str(locked / "run"))
    assert code == 2 and one_line(err) == f"i2i-train: --out {locked / 'run'}: {locked} is not writable"


def test_help_lists_every_shipped_config(tmp_path, monkeypatch):
    shipped = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
    assert len(shipped) >= 3 and shipped_configs() == shipped
    help_text = " ".join(build_parser().format_help().split())
    assert f"shipped config ({', '.join(shipped)})" in help_text
    extra = tmp_path / "configs"
    extra.mkdir()
    for name in ("alpha", "beta"):
        (extra / f"{name}.toml").write_text("[model]\n", encoding="utf-8")
    monkeypatch.setattr("trainer.config.CONFIG_DIR", extra)  # computed from the folder, not written down
    assert "shipped config (alpha, beta)" in " ".join(build_parser().format_help().split())


def test_every_shipped_config_passes_the_type_checks():
    from trainer.config import resolve_config

    for name in shipped_configs():
        resolve_config(load_config(name))
    with pytest.raises(ConfigError, match="config not found: nope .shipped configs: distill_munit_cpu, munit_128"):
        load_config("nope")
