"""The batch queue and engine with real SQLite, real tiny ONNX bundles and real photos."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktop.runtime.batch import BatchEngine, BatchQueue, ItemState, JobSpec, JobState, JobStyle
from desktop.runtime.batch.engine import WRITE_FAILURE_LIMIT
from desktop.runtime.batch.scan import list_inputs, output_relpath, select_shard
from desktop.runtime.batch.store import default_queue_path
from desktop.runtime.bundle import load_bundle
from desktop.runtime.translators import open_translator
from i2i_common.images import read_image

from batch_support import GOOD, CountingTranslator, make_photo_folder, tree_hashes


@pytest.fixture
def photos(tmp_path, shared_data):
    return make_photo_folder(tmp_path, shared_data)


@pytest.fixture
def counting():
    made = []

    def opener(bundle, provider):
        made.append(CountingTranslator(open_translator(bundle, provider=provider)))
        return made[-1]

    opener.made = made
    return opener


def spec_for(photos: Path, out: Path, model: Path, **kw) -> JobSpec:
    return JobSpec(input_dir=str(photos), output_dir=str(out), model=str(model), direction="a2b",
                   **{"recursive": True, **kw})


def test_queue_lives_in_user_data_folder(isolated_user_home):
    queue = BatchQueue()
    assert queue.path == default_queue_path() == isolated_user_home / "queue.sqlite3"
    assert queue.path.is_file()


def test_run_translates_good_files_records_failures_and_never_touches_inputs(photos, tmp_path, tiny_bundles):
    before = tree_hashes(photos)
    queue = BatchQueue()
    out = tmp_path / "out"
    job_id = queue.add_job(spec_for(photos, out, tiny_bundles["munit"], style=JobStyle("random", seed=7)))
    progress, states = [], []
    engine = BatchEngine(queue, on_progress=progress.append, on_state=lambda j, s, m: states.append(s))
    engine.run()

    job = queue.job(job_id)
    assert job.state == JobState.DONE and states == [JobState.RUNNING, JobState.DONE]
    assert job.counts[ItemState.DONE] == len(GOOD) and job.counts[ItemState.FAILED] == 1
    assert {i.rel_path for i in queue.items(job_id)} == {*GOOD, "broken.jpg"}  # strays never listed
    for rel in GOOD:
        src = read_image(photos / rel)
        result = read_image(out / output_relpath(rel, job.spec))
        assert result.shape == src.shape and not np.array_equal(result, src)
    assert (out / "sub" / "deeper" / "cat_04_a2b.png").is_file()  # structure kept, pattern applied
    assert (out / "chat_été_猫_a2b.png").is_file()
    assert not list(out.rglob(".*")), "no temporary files left behind"

    (failure,) = queue.failures(job_id)
    assert failure.rel_path == "broken.jpg" and failure.reason
    report = tmp_path / "failures.csv"
    assert queue.export_failures_csv(job_id, report) == 1
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows == [["file", "reason"], ["broken.jpg", failure.reason]]

    assert [p.finished for p in progress] == list(range(1, len(GOOD) + 2))
    assert progress[-1].eta_s == 0 and progress[-1].files_per_s > 0 and progress[-1].total == len(GOOD) + 1
    assert tree_hashes(photos) == before


def test_odd_images_translate_and_broken_ones_fail_with_reasons(tmp_path, shared_data, tiny_bundles):
    cat = read_image(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0])
    folder = tmp_path / "odd"
    folder.mkdir()
    gray = cat.mean(axis=2).astype(np.uint8)
    cv2.imwrite(str(folder / "gray.png"), gray)
    cv2.imwrite(str(folder / "deep16.png"), (cat[..., ::-1].astype(np.uint16) * 257))
    rgba = np.dstack([cat[..., ::-1], np.full(cat.shape[:2], 128, np.uint8)])
    cv2.imwrite(str(folder / "alpha.png"), rgba)
    jpeg = (shared_data / "cat2dog" / "testA" / "flickr_cat_000006.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image", encoding="utf-8")
    queue = BatchQueue()
    job_id = queue.add_job(JobSpec(str(folder), str(tmp_path / "out"), str(tiny_bundles["munit"]), "a2b"))
    BatchEngine(queue).run()
    job = queue.job(job_id)
    assert job.state == JobState.DONE and job.counts[ItemState.DONE] == 3
    reasons = {item.rel_path: item.reason for item in queue.failures(job_id)}
    assert set(reasons) == {"truncated.jpg", "empty.png", "text.png"}
    assert "truncated" in reasons["truncated.jpg"] and "empty" in reasons["empty.png"]
    assert read_image(tmp_path / "out" / "alpha_a2b.png").shape == (*cat.shape[:2], 4)  # alpha kept
    assert read_image(tmp_path / "out" / "deep16_a2b.png").dtype == np.uint8


def test_random_style_is_reproducible_per_file_and_jpg_output(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    outs = [tmp_path / "o1", tmp_path / "o2"]
    for out in outs:
        queue.add_job(spec_for(photos, out, tiny_bundles["munit"], style=JobStyle("random", seed=3),
                               output_format="jpg", recursive=False))
    BatchEngine(queue).run()
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["cat_01_a2b.jpg", "cat_02_a2b.jpg", "chat_été_猫_a2b.jpg"]
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_reference_and_blend_styles_and_ugatit(photos, tmp_path, tiny_bundles, shared_data):
    queue = BatchQueue()
    dog = sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[0]
    ref = queue.add_job(spec_for(photos, tmp_path / "ref", tiny_bundles["munit"], recursive=False,
                                 style=JobStyle("reference", reference=str(dog))))
    dim = load_bundle(tiny_bundles["munit"]).style.dim
    blend = queue.add_job(spec_for(photos, tmp_path / "blend", tiny_bundles["munit"], recursive=False,
                                   style=JobStyle("blend", codes=((0.0,) * dim, (1.0,) * dim), weights=(0.3, 0.7))))
    gan = queue.add_job(spec_for(photos, tmp_path / "ugatit", tiny_bundles["ugatit"], recursive=False))
    wrong = queue.add_job(spec_for(photos, tmp_path / "wrong", tiny_bundles["munit"], recursive=False,
                                   style=JobStyle("code", code=(1.0,) * (dim + 1))))
    tunit_random = queue.add_job(JobSpec(str(photos), str(tmp_path / "tr"), str(tiny_bundles["tunit"]), "to_c1"))
    tunit = queue.add_job(JobSpec(str(photos), str(tmp_path / "tunit"), str(tiny_bundles["tunit"]), "to_c1",
                                  style=JobStyle("typical")))
    BatchEngine(queue).run()
    for job_id in (ref, blend, gan, tunit):
        job = queue.job(job_id)
        assert job.state == JobState.DONE and job.counts[ItemState.DONE] == 3, queue.failures(job_id)
    outputs = [read_image(tmp_path / d / "cat_01_a2b.png") for d in ("ref", "blend", "ugatit")]
    assert not np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    job = queue.job(wrong)  # a code of the wrong size fails the job once, not every file
    assert job.state == JobState.FAILED and "style code" in job.message and job.total == 4
    job = queue.job(tunit_random)
    assert job.state == JobState.FAILED and "no style prior" in job.message and job.finished == 0


def test_skip_existing_leaves_existing_output_alone(photos, tmp_path, tiny_bundles):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cat_01_a2b.png").write_bytes(b"already here")
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, out, tiny_bundles["munit"], recursive=False, skip_existing=True))
    BatchEngine(queue).run()
    job = queue.job(job_id)
    assert job.counts[ItemState.SKIPPED] == 1 and job.counts[ItemState.DONE] == 2
    assert (out / "cat_01_a2b.png").read_bytes() == b"already here"


def test_pause_then_resume_finishes_without_redoing(photos, tmp_path, tiny_bundles, counting):
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, tmp_path / "out", tiny_bundles["munit"]))
    engine = BatchEngine(queue, open_translator=counting,
                         on_progress=lambda p: p.finished == 2 and engine.pause())
    engine.start()
    assert engine.wait(60)
    job = queue.job(job_id)
    # the file already translated when the pause came is still written; no new file is started
    assert job.state == JobState.PAUSED and job.finished == 3
    assert job.counts[ItemState.RUNNING] == 0 and job.counts[ItemState.PENDING] == job.total - 3
    assert queue.next_runnable() is None  # a paused job is not picked up again by itself

    engine.resume(job_id)
    assert engine.wait(60)
    job = queue.job(job_id)
    assert job.state == JobState.DONE and job.finished == len(GOOD) + 1
    assert counting.made[0].calls == len(GOOD)  # the corrupt file never reaches the model


def test_resume_while_the_paused_worker_is_still_finishing_runs_the_job(photos, tmp_path, tiny_bundles):
    """Resume arriving between "paused" being reported and the worker thread ending (a quick click in the
    app) must not be lost: here it is called from inside the worker's own "paused" report."""
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, tmp_path / "out", tiny_bundles["munit"]))
    resumed = []

    def on_state(job, state, message):
        if state == JobState.PAUSED and not resumed:
            resumed.append(job)
            engine.resume(job)  # the worker that reported the pause is still alive

    engine = BatchEngine(queue, on_state=on_state, on_progress=lambda p: p.finished == 2 and engine.pause())
    engine.start()
    deadline = time.monotonic() + 60
    while queue.job(job_id).state != JobState.DONE and time.monotonic() < deadline:
        engine.wait(0.2)
    assert resumed == [job_id]
    assert queue.job(job_id).state == JobState.DONE and queue.job(job_id).finished == len(GOOD) + 1
    assert engine.wait(10) and not engine.busy


def test_cancel_stops_the_job_and_the_next_one_runs(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    first = queue.add_job(spec_for(photos, tmp_path / "a", tiny_bundles["munit"]))
    second = queue.add_job(spec_for(photos, tmp_path / "b", tiny_bundles["munit"], recursive=False))
    engine = BatchEngine(queue, on_progress=lambda p: p.job_id == first and engine.cancel())
    engine.run()
    job = queue.job(first)  # cancelled at the first report (broken.jpg failed; nothing was in flight)
    assert job.state == JobState.CANCELLED and job.finished == 1 and job.counts[ItemState.PENDING] == job.total - 1
    assert queue.job(second).state == JobState.DONE


def test_reorder_changes_run_order(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    ids = [queue.add_job(spec_for(photos, tmp_path / f"o{i}", tiny_bundles["munit"], recursive=False))
           for i in range(3)]
    queue.move_job(ids[2], 0)
    queue.reorder([ids[2], ids[1]])
    assert [j.id for j in queue.jobs()] == [ids[2], ids[1], ids[0]]
    started = []
    BatchEngine(queue, on_state=lambda j, s, m: s == JobState.RUNNING and started.append(j)).run()
    assert started == [ids[2], ids[1], ids[0]]


def test_a_job_locked_by_another_engine_is_left_to_it(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    busy = queue.add_job(spec_for(photos, tmp_path / "a", tiny_bundles["munit"], recursive=False))
    free = queue.add_job(spec_for(photos, tmp_path / "b", tiny_bundles["munit"], recursive=False))
    other = BatchQueue().job_lock(busy)  # what another process running the job holds
    assert other.acquire()
    BatchEngine(queue).run()
    assert queue.job(busy).state == JobState.QUEUED and queue.job(busy).total == 0
    assert queue.job(free).state == JobState.DONE
    other.release()
    BatchEngine(queue).run()
    assert queue.job(busy).state == JobState.DONE
    queue.remove_job(busy)
    assert not other.path.exists() and queue.find(busy) is None


def test_pause_from_another_process_is_honoured(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, tmp_path / "out", tiny_bundles["munit"]))
    elsewhere = BatchEngine(BatchQueue())  # e.g. the app, while `i2i batch` runs the job
    engine = BatchEngine(queue, on_progress=lambda p: p.finished == 2 and elsewhere.pause(job_id))
    engine.run()
    job = queue.job(job_id)
    assert job.state == JobState.PAUSED and job.message == "paused by the user"
    assert job.counts[ItemState.RUNNING] == 0 and 0 < job.counts[ItemState.PENDING] < job.total


def test_unwritable_output_fails_items_with_reason_and_pauses(photos, tmp_path, tiny_bundles):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"a file where the output folder should be")
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, blocker, tiny_bundles["munit"]))
    BatchEngine(queue).run()
    job = queue.job(job_id)
    assert job.state == JobState.PAUSED and "no output could be written" in job.message
    failures = queue.failures(job_id)
    writes = [f for f in failures if f.reason.startswith("cannot write")]
    assert len(writes) == WRITE_FAILURE_LIMIT and job.counts[ItemState.PENDING] > 0


def test_missing_model_fails_the_job_with_a_message(photos, tmp_path):
    queue = BatchQueue()
    job_id = queue.add_job(spec_for(photos, tmp_path / "out", Path("no-such-model")))
    BatchEngine(queue).run()
    job = queue.job(job_id)
    assert job.state == JobState.FAILED and "no-such-model" in job.message


def test_stale_running_items_are_rechecked(photos, tmp_path, tiny_bundles):
    queue = BatchQueue()
    out = tmp_path / "out"
    job_id = queue.add_job(spec_for(photos, out, tiny_bundles["munit"], recursive=False))
    queue.set_items(job_id, [(rel, f"{rel}.png", ItemState.PENDING, "") for rel in ("x.jpg", "y.jpg")])
    x, y = queue.items(job_id)
    queue.start_item(x.id)
    queue.start_item(y.id)
    out.mkdir()
    (out / "x.jpg.png").write_bytes(b"written before the crash")
    assert queue.recover_running(job_id, out) == 1
    states = {i.rel_path: i.state for i in queue.items(job_id)}
    assert states == {"x.jpg": ItemState.DONE, "y.jpg": ItemState.PENDING}


def test_listing_and_shards_partition_the_folder(photos):
    files = list_inputs(photos, recursive=True)
    assert files == sorted([*GOOD, "broken.jpg"])
    assert list_inputs(photos, recursive=False) == sorted(["broken.jpg", "cat_01.jpg", "cat_02.jpg", "chat_été_猫.jpg"])
    # an output folder inside the input folder is never read back as input
    assert list_inputs(photos, recursive=True, exclude=photos / "sub") == list_inputs(photos, recursive=False)
    names = [f"dir{i % 7}/img_{i:05d}.jpg" for i in range(1000)]
    shards = [select_shard(names, (k, 4)) for k in range(1, 5)]
    assert sorted(sum(shards, [])) == sorted(names)  # each file in exactly one shard
    assert all(150 < len(s) < 350 for s in shards)
    assert select_shard(names, (2, 4)) == shards[1]  # deterministic


def test_job_stored_before_the_style_rename_still_reads():
    stored = ('{"direction": "a2b", "include_outputs": false, "input_dir": "in", "keep_structure": true, '
              '"model": "m", "output_dir": "out", "output_format": "png", "pattern": "{stem}_{direction}.{ext}", '
              '"provider": "auto", "recursive": false, "shard": [2, 3], "skip_existing": false, "style": '
              '{"code": [], "codes": [[1.0, 2.0]], "kind": "blend", "reference": "", "seed": 0, "weights": [1.0]}}')
    spec = JobSpec.from_json(stored)  # the queue text written while the class was called StyleSpec
    assert spec.style == JobStyle("blend", codes=((1.0, 2.0),), weights=(1.0,)) and spec.shard == (2, 3)
    assert spec.to_json() == stored


def test_spec_validation_and_json_round_trip(tmp_path):
    spec = JobSpec("in", "out", "m", "a2b", style=JobStyle("blend", codes=((1.0, 2.0),), weights=(1.0,)),
                   shard=(2, 3), pattern="{model}-{stem}.{ext}")
    assert JobSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError, match="naming pattern"):
        JobSpec("in", "out", "m", "a2b", pattern="{nope}.{ext}")
    with pytest.raises(ValueError, match="shard"):
        JobSpec("in", "out", "m", "a2b", shard=(4, 3))
    with pytest.raises(ValueError, match="style kind"):
        JobStyle("sepia")
