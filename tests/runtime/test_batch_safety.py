"""Batch output safety: never onto an input, no re-processing of outputs, a full disk pauses, an identical
finished job is not redone, stale temps go, odd and over-long names work. Real files, real SQLite, real
tiny ONNX bundles, real processes (SIGKILL) and, as root, a real full tmpfs."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktop.cli import main
from desktop.runtime.batch import BatchEngine, BatchQueue, ItemState, JobSpec, JobState
from desktop.runtime.batch import engine as engine_module
from i2i_common.images import read_image

from batch_support import GOOD, make_photo_folder, tree_hashes

REPO = Path(__file__).resolve().parents[2]


def i2i(*argv) -> int:
    return main([str(a) for a in argv])


def outputs(folder: Path) -> dict[str, int]:
    """Relative path -> mtime (ns) of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def noise_folder(folder: Path, count: int, size: int = 64) -> Path:
    """``count`` distinct noisy JPEGs (their translations compress poorly: a few KB each)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(count):
        cv2.imwrite(str(folder / f"n{k:03d}.jpg"), rng.integers(0, 256, (size, size, 3), np.uint8))
    return folder


@pytest.fixture
def photos(tmp_path, shared_data):
    return make_photo_folder(tmp_path, shared_data)


# ---- 2. no output onto an input -------------------------------------------------------------------
def test_a_pattern_that_maps_inputs_onto_themselves_is_refused(photos, tiny_bundles, capsys):
    before = tree_hashes(photos)
    code = i2i("batch", photos, "-o", photos, "--model", tiny_bundles["munit"], "--direction", "a2b",
               "--pattern", "{stem}.{source_ext}", "--format", "jpg", "--recursive")
    captured = capsys.readouterr()
    assert code == 1
    assert "would overwrite the input" in captured.out and "Traceback" not in captured.err
    assert tree_hashes(photos) == before  # 6 of 6 inputs were overwritten before


def test_hard_links_and_symlinked_folders_are_caught(photos, tmp_path, tiny_bundles):
    before = tree_hashes(photos)
    queue = BatchQueue()
    out = tmp_path / "out"
    out.mkdir()
    os.link(photos / "cat_01.jpg", out / "cat_01_a2b.png")  # the output name is a hard link to an input
    linked = tmp_path / "linked"
    linked.symlink_to(photos, target_is_directory=True)
    first = queue.add_job(JobSpec(str(photos), str(out), str(tiny_bundles["munit"]), "a2b"))
    second = queue.add_job(JobSpec(str(photos), str(linked), str(tiny_bundles["munit"]), "a2b",
                                   pattern="{stem}.{source_ext}", output_format="jpg"))
    BatchEngine(queue).run()
    for job_id, victim in ((first, "cat_01.jpg"), (second, "broken.jpg")):
        job = queue.job(job_id)
        assert job.state == JobState.FAILED and f"overwrite the input {victim}" in job.message
        assert job.counts[ItemState.DONE] == 0
    assert tree_hashes(photos) == before


def test_each_write_is_checked_again(photos, tmp_path, tiny_bundles):
    """A link to an input that appears after the scan (the GUI queues jobs long before they run)."""
    before = tree_hashes(photos)
    queue = BatchQueue()
    out = tmp_path / "out"
    job_id = queue.add_job(JobSpec(str(photos), str(out), str(tiny_bundles["munit"]), "a2b"))
    real_start = queue.start_item

    def start_and_plant_a_link(item_id):
        if not (out / "cat_02_a2b.png").exists():
            out.mkdir(exist_ok=True)
            os.link(photos / "cat_02.jpg", out / "cat_02_a2b.png")
        real_start(item_id)

    queue.start_item = start_and_plant_a_link
    BatchEngine(queue).run()
    failed = {item.rel_path: item.reason for item in queue.failures(job_id)}
    assert "refused to write" in failed["cat_02.jpg"] and "cat_02.jpg" in failed["cat_02.jpg"]
    assert queue.job(job_id).counts[ItemState.DONE] == 2  # the two other top-level cats
    assert tree_hashes(photos) == before


# ---- 3. outputs of earlier jobs are not inputs ----------------------------------------------------
def test_outputs_of_earlier_jobs_are_not_translated_again(photos, tiny_bundles, capsys):
    base = ["batch", photos, "--model", tiny_bundles["munit"], "--direction", "a2b", "--recursive"]
    assert i2i(*base, "-o", photos, "--seed", 1) == 1  # broken.jpg fails
    assert i2i(*base, "-o", photos, "--seed", 2, "--skip-existing") == 1  # another job, same folder
    assert not list(photos.rglob("*_a2b_a2b.png"))
    assert i2i(*base, "-o", photos / "out") == 1
    assert i2i(*base, "-o", photos / "out2") == 1
    assert sorted(p.name for p in (photos / "out2").rglob("*.png")) == \
        sorted(Path(rel).stem + "_a2b.png" for rel in GOOD)  # nothing from out/, nor the first outputs
    assert i2i(*base, "-o", photos / "out4", "--seed", 4) == 1  # photos beside in-place outputs are still inputs
    assert (photos / "out4" / "sub" / "cat_03_a2b.png").is_file()
    assert not (photos / "out4" / "sub" / "cat_03_a2b_a2b.png").exists()
    capsys.readouterr()
    assert i2i(*base, "-o", photos / "out3", "--include-outputs") == 1  # asked for: they are inputs
    assert (photos / "out3" / "out" / "cat_01_a2b_a2b.png").is_file()
    assert (photos / "out3" / "cat_01_a2b_a2b.png").is_file()


# ---- 4. a full disk pauses the job ----------------------------------------------------------------
def test_out_of_space_pauses_and_resume_redoes_nothing(tmp_path, tiny_bundles, monkeypatch):
    photos = noise_folder(tmp_path / "in", 8)
    out = tmp_path / "out"
    real_write = engine_module.write_bytes
    room = {"files": 3}

    def write_until_full(path, data, overwrite=True):
        if room["files"] == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        room["files"] -= 1
        return real_write(path, data, overwrite)

    monkeypatch.setattr(engine_module, "write_bytes", write_until_full)
    _check_pause_then_resume(photos, out, tiny_bundles, lambda: room.update(files=100))


def _check_pause_then_resume(photos: Path, out: Path, tiny_bundles, make_room) -> None:
    queue = BatchQueue()
    job_id = queue.add_job(JobSpec(str(photos), str(out), str(tiny_bundles["munit"]), "a2b"))
    BatchEngine(queue).run()
    job = queue.job(job_id)
    assert job.state == JobState.PAUSED and "No space left on device" in job.message
    assert job.counts[ItemState.FAILED] == 0 and 0 < job.counts[ItemState.DONE] < job.total
    written = outputs(out)
    assert len(written) == job.counts[ItemState.DONE]  # no temp, no half file
    make_room()
    queue.set_job_state(job_id, JobState.QUEUED)  # what Resume does
    BatchEngine(queue).run()
    job = queue.job(job_id)
    count = len(list(photos.iterdir()))
    assert job.state == JobState.DONE and job.counts[ItemState.DONE] == job.total == count
    after = outputs(out)
    assert len(after) == count and all(after[rel] == mtime for rel, mtime in written.items())  # nothing redone


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 100 KB file system (root only: mount -t tmpfs)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (the fault-injected test covers the logic)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_pauses_and_resumes(tmp_path, tiny_bundles, tiny_tmpfs):
    photos = noise_folder(tmp_path / "in", 12, size=256)
    remount = ["mount", "-o", "remount,size=4m", str(tiny_tmpfs)]
    _check_pause_then_resume(photos, tiny_tmpfs / "out", tiny_bundles,
                             lambda: subprocess.run(remount, check=True))


def test_a_queue_on_a_full_disk_is_one_line(tmp_path, tiny_bundles, tiny_tmpfs, capsys):
    ballast = tiny_tmpfs / "ballast"
    with pytest.raises(OSError):
        with ballast.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
    photos = noise_folder(tmp_path / "in", 1)
    code = i2i("batch", photos, "-o", tmp_path / "out", "--model", tiny_bundles["munit"],
               "--queue", tiny_tmpfs / "q.sqlite3")
    err = capsys.readouterr().err
    assert code == 2 and "batch queue" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---- 5. an identical finished job is not redone, even after a SIGKILL right after "done" -----------
KILL_WHEN_DONE = textwrap.dedent("""
    import os, signal, sys
    from desktop.runtime.batch.store import BatchQueue
    from desktop.runtime.batch.jobs import JobState
    from desktop.cli import main

    set_state = BatchQueue.set_job_state

    def set_then_die(self, job_id, state, message=""):
        set_state(self, job_id, state, message)
        if state == JobState.DONE:
            os.kill(os.getpid(), signal.SIGKILL)

    BatchQueue.set_job_state = set_then_die
    sys.exit(main(sys.argv[1:]))
""")


def test_rerun_after_a_kill_right_after_done_redoes_nothing(tmp_path, tiny_bundles, capsys):
    photos = noise_folder(tmp_path / "in", 6)
    out = tmp_path / "out"
    argv = ["batch", str(photos), "-o", str(out), "--model", str(tiny_bundles["munit"]), "--direction", "a2b"]
    child = subprocess.run([sys.executable, "-c", KILL_WHEN_DONE, *argv], cwd=REPO, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.returncode == -signal.SIGKILL, child.stderr
    written = outputs(out)
    assert len(written) == 6
    assert i2i(*argv) == 0
    assert "already done" in capsys.readouterr().err
    assert outputs(out) == written  # not one file translated again
    (out / "n002_a2b.png").unlink()  # a lost output is the only work left
    assert i2i(*argv) == 0
    again = outputs(out)
    assert again.keys() == written.keys()
    assert [rel for rel in again if again[rel] != written[rel]] == ["n002_a2b.png"]
    assert len(BatchQueue().jobs()) == 1


# ---- 6. temps left by a killed writer are removed ---------------------------------------------------
def test_stale_temps_of_a_killed_run_are_cleaned(tmp_path, tiny_bundles):
    photos = noise_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".n000_a2b.png.0123456789ab.tmp.png"
    stranger = out / ".holiday.png.0123456789ab.tmp.png"  # not an output of this job: left alone
    for path in (stale, stranger):
        path.write_bytes(b"half a png")
        os.utime(path, (time.time() - 100, time.time() - 100))
    queue = BatchQueue()
    queue.add_job(JobSpec(str(photos), str(out), str(tiny_bundles["munit"]), "a2b"))
    BatchEngine(queue).run()
    assert not stale.exists() and stranger.exists()
    assert sorted(outputs(out)) == [".holiday.png.0123456789ab.tmp.png", "n000_a2b.png", "n001_a2b.png"]


# ---- 7. arguments are checked before any work -----------------------------------------------------
def test_bad_queue_and_failures_paths_are_refused_up_front(tmp_path, tiny_bundles, shared_data, capsys):
    photos = noise_folder(tmp_path / "in", 2)
    jpeg = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0]
    base = ["batch", photos, "-o", tmp_path / "out", "--model", tiny_bundles["munit"]]
    for extra, words in (
        (["--queue", jpeg], "cannot use"),
        (["--queue", tmp_path], "is a folder"),
        (["--failures", tmp_path / "nonexistent" / "f.csv"], "does not exist"),
        (["--failures", tmp_path], "is a folder"),
    ):
        assert i2i(*base, *extra) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing was translated
    assert jpeg.stat().st_size > 0 and read_image(jpeg) is not None


def test_batch_defaults_model_and_direction_like_translate(tmp_path, monkeypatch):
    import argparse

    from desktop.cli import batch as batch_cli
    from desktop.cli.translate import model_and_direction
    from desktop.runtime.paths import default_model_name

    parser = argparse.ArgumentParser()
    batch_cli.add_arguments(parser)
    spec = batch_cli.spec_from_args(parser.parse_args([str(tmp_path), "-o", str(tmp_path / "o")]))
    bundle, direction = model_and_direction(None, None)
    assert spec.model == default_model_name() == bundle.name and spec.direction == direction


# ---- 8. any file name ------------------------------------------------------------------------------
def test_long_and_undecodable_names_in_batch_and_translate(tmp_path, tiny_bundles, shared_data, capsys):
    cat = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0].read_bytes()
    photos = tmp_path / "in"
    photos.mkdir()
    long_stem = "x" * 248
    odd = os.fsdecode(b"chat_\xff\xfe.jpg")  # not UTF-8: a surrogate-escaped str in Python
    for name in (f"{long_stem}.jpg", odd, "plain.jpg"):
        (photos / name).write_bytes(cat)
    out = tmp_path / "out"
    assert i2i("batch", photos, "-o", out, "--model", tiny_bundles["munit"]) == 0
    names = sorted(os.listdir(out))
    assert len(names) == 3 and all(len(os.fsencode(n)) <= 255 for n in names)
    assert os.fsdecode(b"chat_\xff\xfe_a2b.png") in names and "plain_a2b.png" in names
    shortened = next(n for n in names if n.startswith("xxx"))
    assert shortened.endswith(".png") and "~" in shortened
    assert i2i("batch", photos, "-o", out, "--model", tiny_bundles["munit"]) == 0  # a re-run is fine
    assert sorted(os.listdir(out)) == names

    capsys.readouterr()
    single = tmp_path / "single"
    single.mkdir()
    assert i2i("translate", photos / f"{long_stem}.jpg", photos / odd, "-o", single,
               "--model", tiny_bundles["munit"], "--seed", 1) == 0
    made = os.listdir(single)
    assert len(made) == 2 and all(len(os.fsencode(n)) <= 255 for n in made)
    assert "\\udcff" in capsys.readouterr().out  # printed, not a UnicodeEncodeError
