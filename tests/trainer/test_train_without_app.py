"""``pip install -e ".[train]"`` trains without the app's parts: the trainer CLI runs a few iterations in a
process where onnxruntime, PySide6 and the desktop, export and evaluation packages cannot be imported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.metrics import read_metrics

from tiny_munit import TINY_MUNIT as TINY

REPO = Path(__file__).resolve().parents[2]
BLOCKED = ("onnxruntime", "PySide6", "desktop", "export", "evaluation")
# Run module argv[1] as __main__ with the rest of argv, with every BLOCKED package absent: each finder on
# sys.meta_path is wrapped so that it finds none of them, so `import x` raises "No module named 'x'" and
# importlib.util.find_spec("x") is None (torch probes optional packages that way), as after an install
# without them.
RUN_BLOCKED = f"""
import runpy, sys
BLOCKED = {BLOCKED!r}

class Absent:
    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        return self.inner.find_spec(name, path, target)

    def __getattr__(self, attribute):  # invalidate_caches, find_distributions, ...
        return getattr(self.inner, attribute)

sys.meta_path[:] = [Absent(finder) for finder in sys.meta_path]
for loaded in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:
    del sys.modules[loaded]
module, sys.argv = sys.argv[1], [sys.argv[1], *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_blocked(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", RUN_BLOCKED, module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_blocker_blocks():
    for module in ("desktop.cli", "export.cli"):
        done = run_blocked(module, "--help")
        assert done.returncode != 0 and f"No module named '{module.partition('.')[0]}'" in done.stderr
    probe = run_blocked("json.tool", "--help")  # what is not blocked still imports
    assert probe.returncode == 0, probe.stderr


def test_trainer_cli_trains_without_onnxruntime_qt_or_other_wings(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    done = run_blocked("trainer.cli", "--config", "munit_cpu", "--data", str(tiny_cat2dog), "--out", str(run),
                       "--device", "cpu", "--no-progress", *TINY, "train.iterations=3", "train.checkpoint_every=3")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["ckpt_00000003.pt"]
    assert load_checkpoint(run / "checkpoints" / "ckpt_00000003.pt")["iteration"] == 3
    assert [row["iteration"] for row in read_metrics(run / "metrics.csv")] == [1, 2, 3]
