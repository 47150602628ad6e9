"""ruff and mypy, with the settings in pyproject.toml, are clean over the repository (so CI runs both)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from repo_paths import REPO


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", [("ruff", "check", "."), ("mypy",)], ids=["ruff", "mypy"])
def test_linter_is_clean(command):
    proc = run_tool(*command)
    assert proc.returncode == 0, f"python -m {' '.join(command)} failed:\n{proc.stdout}{proc.stderr}"
