"""Checkpoint files are written atomically and follow the umask, like every other file the project writes."""
from __future__ import annotations

import stat

from trainer.checkpoint import save_checkpoint


def test_checkpoints_follow_the_umask(umask, tmp_path):
    path = save_checkpoint({"iteration": 1}, tmp_path, 1, keep=2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
