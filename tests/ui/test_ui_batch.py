"""Batch workspace with a real tiny U-GAT-IT, real files and the real SQLite queue: a job added through
the form runs past a corrupt file (listed and exported), pauses and resumes from the buttons, and the
queue survives a new window."""
from __future__ import annotations

import csv
import shutil

from PySide6.QtCore import Qt

from desktop.runtime.batch import BatchQueue, ItemState, JobState
from desktop.runtime.translators import open_translator
from desktop.ui.batch_tab import BatchTab
from desktop.ui.session import ModelSession
from desktop.ui.tasks import TaskRunner

from ui_support import SlowTranslator, install_models, make_settings


def _slow_open(bundle, provider):
    return SlowTranslator(open_translator(bundle, provider=provider))


def _input_folder(tmp_path, shared_data, count):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i, src in enumerate(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[:count]):
        shutil.copy(src, (folder / "sub" if i % 2 else folder) / src.name)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    (folder / "Thumbs.db").write_bytes(b"stray")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _tab(qtbot, tmp_path, queue_path, open_fn=_slow_open):
    settings = make_settings(tmp_path)
    session = ModelSession(TaskRunner())
    session.refresh()
    entry = session.entry_named("tiny-ugatit")
    session.open(entry)
    qtbot.waitUntil(lambda: session.translator is not None, timeout=20000)
    tab = BatchTab(session, settings, queue=BatchQueue(queue_path), open_translator=open_fn)
    qtbot.addWidget(tab)
    return tab


def _fill_form(tab, folder, out):
    form = tab.form
    form.input_dir.setText(str(folder))
    form.output_dir.setText(str(out))
    form.recursive.setChecked(True)
    form.direction.setCurrentIndex(form.direction.findData("a2b"))
    form.output_format.setCurrentText("png")


def test_batch_runs_past_a_corrupt_file_and_pauses_and_resumes(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("ugatit",))
    folder = _input_folder(tmp_path, shared_data, count=12)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    tab = _tab(qtbot, tmp_path, tmp_path / "queue.sqlite3")

    tab.form.input_dir.setText(str(tmp_path / "missing"))
    qtbot.mouseClick(tab.form.add_button, Qt.MouseButton.LeftButton)
    assert "input folder does not exist" in tab.message.text() and tab.table.rowCount() == 0

    _fill_form(tab, folder, out)
    qtbot.mouseClick(tab.form.add_button, Qt.MouseButton.LeftButton)
    assert tab.table.rowCount() == 1
    job_id = tab.selected_job()
    qtbot.waitUntil(lambda: tab.live_progress.get(job_id) is not None, timeout=20000)
    qtbot.mouseClick(tab.buttons["pause"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.table.item(0, 3).text().startswith("paused"), timeout=20000)
    paused = tab.queue.job(job_id)
    assert paused.state == JobState.PAUSED
    assert 0 < paused.finished < paused.total == 13  # 12 images + the corrupt one; stray files ignored
    assert tab.table.cellWidget(0, 4).value() == paused.finished

    qtbot.mouseClick(tab.buttons["resume"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.table.item(0, 3).text() == "done", timeout=30000)
    assert not any(tab.buttons[name].isEnabled() for name in ("pause", "resume", "cancel"))
    bar = tab.table.cellWidget(0, 4)
    assert bar.value() == bar.maximum() == 13 and "1 failed" in bar.format()
    assert len(list(out.rglob("*.png"))) == 12 and (out / "sub").is_dir()  # folder structure kept
    assert tab.failures.rowCount() == 1 and tab.failures.item(0, 0).text() == "corrupt.jpg"
    assert tab.failures.item(0, 1).text()
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before  # inputs untouched

    exported = tmp_path / "failures.csv"
    assert tab.export_failures(job_id, exported) == 1
    rows = list(csv.reader(exported.open(encoding="utf-8")))
    assert rows[0] == ["file", "reason"] and rows[1][0] == "corrupt.jpg"


def test_queue_order_and_unfinished_jobs_survive_a_new_tab(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("ugatit",))
    folder = _input_folder(tmp_path, shared_data, count=4)
    queue_path = tmp_path / "queue.sqlite3"
    tab = _tab(qtbot, tmp_path, queue_path)
    _fill_form(tab, folder, tmp_path / "out1")
    first = tab.add_job(tab.form.spec(), start=False)
    _fill_form(tab, folder, tmp_path / "out2")
    second = tab.add_job(tab.form.spec(), start=False)
    tab.table.selectRow(1)
    qtbot.mouseClick(tab.buttons["up"], Qt.MouseButton.LeftButton)
    assert [j.id for j in tab.queue.jobs()] == [second, first]
    tab.table.selectRow(1)
    qtbot.mouseClick(tab.buttons["cancel"], Qt.MouseButton.LeftButton)
    assert tab.queue.job(first).state == JobState.CANCELLED
    tab.shutdown()

    again = _tab(qtbot, tmp_path, queue_path)
    assert again.table.rowCount() == 2 and "1 unfinished job" in again.message.text()
    qtbot.mouseClick(again.buttons["start"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.table.item(0, 3).text() == "done", timeout=30000)
    assert len(list((tmp_path / "out2").rglob("*.png"))) == 4
    assert not (tmp_path / "out1").exists()  # the cancelled job did not run


def test_quitting_mid_job_resumes_without_redoing_or_losing_files(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("ugatit",))
    folder = _input_folder(tmp_path, shared_data, count=10)
    out = tmp_path / "out"
    queue_path = tmp_path / "queue.sqlite3"
    tab = _tab(qtbot, tmp_path, queue_path)
    _fill_form(tab, folder, out)
    job_id = tab.add_job(tab.form.spec())
    qtbot.waitUntil(lambda: job_id in tab.live_progress and tab.live_progress[job_id].done >= 3,
                    timeout=20000)
    tab.shutdown()  # what closing the window does: stop after the file in flight
    first_run = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert 3 <= len(first_run) < 10
    assert tab.queue.job(job_id).state == JobState.QUEUED

    again = _tab(qtbot, tmp_path, queue_path)
    assert "1 unfinished job" in again.message.text()
    qtbot.mouseClick(again.buttons["start"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.table.item(0, 3).text() == "done", timeout=30000)
    outputs = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert len(outputs) == 10
    assert all(outputs[p] == mtime for p, mtime in first_run.items())  # nothing was translated twice
    job = again.queue.job(job_id)
    assert job.counts[ItemState.DONE] == 10 and job.counts[ItemState.FAILED] == 1


def test_a_finished_job_says_its_counts_and_opens_its_output_folder(qtbot, tmp_path, tiny_bundles, shared_data,
                                                                     monkeypatch):
    from desktop.ui import batch_notice

    opened = []
    monkeypatch.setattr(batch_notice.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    install_models(tiny_bundles, families=("ugatit",))
    folder = _input_folder(tmp_path, shared_data, count=3)
    out = tmp_path / "out"
    tab = _tab(qtbot, tmp_path, tmp_path / "queue.sqlite3", open_fn=None)
    _fill_form(tab, folder, out)
    tab.form.add_button.click()
    qtbot.waitUntil(lambda: tab.notice is not None, timeout=30000)
    notice = tab.notice
    assert notice.text().startswith("Job 1 finished: 3 translated, 1 failed, 0 skipped.")
    assert not notice.isModal() and notice.windowModality() == Qt.WindowModality.NonModal
    notice.open_button.click()
    assert [u.toLocalFile() for u in opened] == [str(out)]
    tab.shutdown()


def test_a_job_writing_into_a_folder_of_its_inputs_never_writes_onto_them(qtbot, tmp_path, tiny_bundles,
                                                                         shared_data):
    """The output folder is a sub-folder of the input and the naming keeps each stem and extension, so a
    naive run writes sub/<x>.jpg over itself (issue 10 saw 6 of 6 inputs overwritten from the CLI, which
    tests/runtime/test_batch*.py cover). Through the Batch tab, the job's own output folder is not scanned for
    inputs and the top-level inputs land beside the others, byte for byte untouched."""
    install_models(tiny_bundles, families=("ugatit",))
    folder = _input_folder(tmp_path, shared_data, count=4)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    tab = _tab(qtbot, tmp_path, tmp_path / "queue.sqlite3")
    _fill_form(tab, folder, folder / "sub")
    tab.form.pattern.setText("{stem}.{source_ext}")
    tab.form.keep_structure.setChecked(False)
    tab.form.output_format.setCurrentText("jpg")
    qtbot.mouseClick(tab.form.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(tab.queue.jobs()) and tab.queue.jobs()[0].state == JobState.DONE, timeout=30000)
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {p: after[p] for p in before} == before  # every input byte for byte
    written = sorted(p.relative_to(folder).as_posix() for p in set(after) - set(before))
    top_level = sorted(f"sub/{p.name}" for p in before if p.parent == folder and p.suffix == ".jpg"
                       and p.name != "corrupt.jpg")
    assert written == top_level
