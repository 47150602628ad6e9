"""``i2i batch`` end to end: shards cover a folder exactly once, re-runs skip or resume, exit codes."""
from __future__ import annotations

import argparse

import pytest

from desktop.cli import batch as batch_cli
from desktop.cli import main
from desktop.runtime.batch import BatchQueue, JobState

from batch_support import GOOD, make_photo_folder, tree_hashes


def i2i_batch(*argv) -> int:
    return main(["batch", *(str(a) for a in argv)])


@pytest.fixture
def photos(tmp_path, shared_data):
    return make_photo_folder(tmp_path, shared_data)


def test_shards_cover_the_folder_exactly_once(photos, tmp_path, tiny_bundles, capsys):
    out = tmp_path / "out"
    per_shard = []
    for k in (1, 2, 3):
        code = i2i_batch(photos, "-o", out / f"s{k}", "--model", tiny_bundles["munit"], "--direction", "a2b",
                         "--recursive", "--shard", f"{k}/3", "--seed", 5)
        per_shard.append({p.relative_to(out / f"s{k}").as_posix() for p in (out / f"s{k}").rglob("*.png")}
                         if (out / f"s{k}").exists() else set())
        assert code in (0, 1)  # 1 for the shard that holds the corrupt file
    union = set().union(*per_shard)
    assert sum(len(s) for s in per_shard) == len(union) == len(GOOD)  # no overlap, nothing missing
    assert "failed: broken.jpg" in capsys.readouterr().err


def test_rerun_with_skip_existing_and_failures_csv(photos, tmp_path, tiny_bundles, capsys):
    before = tree_hashes(photos)
    out, report = tmp_path / "out", tmp_path / "failures.csv"
    args = [photos, "-o", out, "--model", tiny_bundles["munit"], "--direction", "a2b", "--recursive",
            "--format", "jpg", "--pattern", "{stem}-dog.{ext}", "--skip-existing", "--failures", report]
    assert i2i_batch(*args) == 1  # broken.jpg failed
    assert "broken.jpg" in report.read_text(encoding="utf-8")
    assert (out / "sub" / "deeper" / "cat_04-dog.jpg").is_file()
    capsys.readouterr()
    assert i2i_batch(*args) == 1  # the same job: nothing is redone, broken.jpg is still reported
    captured = capsys.readouterr()
    assert "already done" in captured.err
    assert f"{len(GOOD)} translated, 0 skipped, 1 failed by an earlier run" in captured.out
    assert len(BatchQueue().jobs()) == 1
    assert tree_hashes(photos) == before


def test_interrupted_job_is_resumed_by_the_same_command(photos, tmp_path, tiny_bundles, capsys):
    out = tmp_path / "out"
    args = [photos, "-o", out, "--model", tiny_bundles["munit"], "--direction", "a2b"]
    parser = argparse.ArgumentParser()
    batch_cli.add_arguments(parser)
    queue = BatchQueue()
    job_id = queue.add_job(batch_cli.spec_from_args(parser.parse_args([str(a) for a in args])))
    queue.set_job_state(job_id, JobState.PAUSED, "paused by the user")
    assert i2i_batch(*args) == 1
    assert f"resuming job {job_id}" in capsys.readouterr().err
    assert [j.id for j in queue.jobs()] == [job_id] and queue.job(job_id).state == JobState.DONE


def test_bad_arguments_are_one_line_errors(photos, tmp_path, tiny_bundles, capsys):
    base = [photos, "-o", tmp_path / "o", "--model", tiny_bundles["munit"], "--direction", "a2b"]
    with pytest.raises(SystemExit):
        i2i_batch(*base, "--shard", "4/3")
    assert "1 <= K <= N" in capsys.readouterr().err
    assert i2i_batch(*base, "--pattern", "{bogus}.{ext}") == 2
    assert "naming pattern" in capsys.readouterr().err
    assert i2i_batch(*base, "--style", tmp_path / "missing.jpg") == 2
    assert "reference image not found" in capsys.readouterr().err
    assert i2i_batch(*base[:-1], "z2q") == 1  # an unknown direction is refused before any job, in one line
    err = capsys.readouterr().err
    assert "no direction 'z2q'" in err and len(err.strip().splitlines()) == 1
    assert BatchQueue().jobs() == []


def test_random_styles_refused_before_queueing_for_a_model_without_a_prior(photos, tmp_path, tiny_bundles, capsys):
    out = tmp_path / "out"
    assert i2i_batch(photos, "-o", out, "--model", tiny_bundles["tunit"]) == 2  # --style random is the default
    assert "has no style prior to sample from: use --style typical" in capsys.readouterr().err
    assert BatchQueue().jobs() == [] and not out.exists()
    assert i2i_batch(photos, "-o", out, "--model", tiny_bundles["tunit"], "--style", "typical") == 1  # broken.jpg
