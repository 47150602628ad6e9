"""One atomic writer for the whole project: temp file + fsync + rename, honouring the umask, nothing left on failure."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.runtime.batch import BatchQueue, ItemState, JobSpec
from desktop.runtime.bundle import load_bundle
from desktop.runtime.mixcanvas import MixCanvas
from desktop.runtime.recorder import VideoRecorder
from desktop.runtime.translators import open_translator
from i2i_common.atomic import TEMP_NAME, atomic_open, atomic_path, remove_stale_temps, write_bytes
from i2i_common.images import write_image


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_image_csv_gif_mp4_follow_the_umask(umask, tmp_path, tiny_bundles):
    expected = 0o666 & ~umask
    rgb = np.full((24, 32, 3), 90, np.uint8)
    image = write_image(tmp_path / "a.png", rgb)

    queue = BatchQueue(tmp_path / "q.sqlite3")
    job_id = queue.add_job(JobSpec(str(tmp_path), str(tmp_path / "out"), "m", "a2b"))
    queue.set_items(job_id, [("x.jpg", "x.png", ItemState.FAILED, "corrupt")])
    csv_path = tmp_path / "failures.csv"
    queue.export_failures_csv(job_id, csv_path)

    canvas = MixCanvas(open_translator(load_bundle(tiny_bundles["munit"]), provider="cpu"), "a2b")
    canvas.add_typical((0.0, 0.0))
    canvas.add_random(3, (1.0, 0.0))
    canvas.set_image(rgb)
    gif = canvas.export_path(0, 1, tmp_path / "mix.gif", steps=3)
    with VideoRecorder(tmp_path / "live.mp4", fps=10) as recorder:
        for _ in range(3):
            recorder.write(rgb)

    for path in (image, csv_path, gif, tmp_path / "live.mp4"):
        assert path.stat().st_size > 0
        assert mode_of(path) == expected, f"{path.name}: {oct(mode_of(path))} under umask {oct(umask)}"
    assert not [p for p in tmp_path.iterdir() if TEMP_NAME.match(p.name)]


def test_a_failed_write_leaves_the_target_and_no_temp(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w", encoding="utf-8") as handle:
            handle.write("half")
            raise RuntimeError("writer died")
    folder = tmp_path / "a folder"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(OSError):  # the rename onto a non-empty folder fails
        with atomic_path(folder) as tmp:
            tmp.write_text("x", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a folder", "kept.txt"]


def test_no_overwrite_refuses_an_existing_target(tmp_path):
    target = write_bytes(tmp_path / "a.bin", b"first")
    with pytest.raises(FileExistsError):
        write_bytes(target, b"second", overwrite=False)
    late = tmp_path / "b.bin"
    with pytest.raises(FileExistsError):
        with atomic_path(late, overwrite=False) as tmp:
            tmp.write_bytes(b"new")
            late.write_bytes(b"someone else's")  # appears while we write: it is not replaced
    assert target.read_bytes() == b"first" and late.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_stale_temps_are_removed_only_when_ours_and_old(tmp_path):
    old, fresh = time.time() - 60, time.time() + 60
    ours = tmp_path / ".cat_a2b.png.0123456789ab.tmp.png"
    legacy_other = tmp_path / ".cat_a2b.png.0123456789ab.tmp.png.keep"  # not our pattern
    other_target = tmp_path / ".dog.png.0123456789ab.tmp.png"  # not an output of this job
    user_file = tmp_path / ".cat_a2b.png.tmp"
    for path in (ours, legacy_other, other_target, user_file):
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    assert remove_stale_temps(tmp_path, ["cat_a2b.png"], older_than=time.time() - 3600) == 0  # all too new
    assert remove_stale_temps(tmp_path, ["cat_a2b.png"], older_than=fresh) == 1
    assert not ours.exists() and legacy_other.exists() and other_target.exists() and user_file.exists()
