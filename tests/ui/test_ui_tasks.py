"""The background task runner: results and errors come back on the UI thread, superseded work is skipped."""
from __future__ import annotations

import threading

from PySide6.QtCore import QThreadPool

from desktop.ui.tasks import TaskRunner


def test_results_and_errors_arrive_on_the_ui_thread(qtbot):
    runner = TaskRunner()
    ui_thread = threading.get_ident()
    seen = []
    runner.submit(lambda: threading.get_ident(), lambda worker: seen.append(("done", worker != ui_thread,
                                                                               threading.get_ident() == ui_thread)))
    runner.submit(lambda: 1 / 0, seen.append, lambda message: seen.append(("error", message)))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10000)
    assert ("done", True, True) in seen and ("error", "division by zero") in seen


def test_superseded_requests_are_skipped_or_dropped(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    runner = TaskRunner(pool=pool)
    started, release = threading.Event(), threading.Event()
    ran, delivered = [], []

    def job(name):
        def run():
            ran.append(name)
            if name == "first":
                started.set()
                release.wait(10)
            return name
        return run

    runner.submit(job("first"), delivered.append, latest_only="view")
    assert started.wait(10)  # "first" holds the only thread
    for name in ("second", "third"):
        runner.submit(job(name), delivered.append, latest_only="view")
    release.set()
    qtbot.waitUntil(lambda: not runner.busy(), timeout=10000)
    assert ran == ["first", "third"]  # "second" never started: "third" had replaced it
    assert delivered == ["third"]     # "first" ran, but its result was stale


def test_a_job_that_ends_after_its_owner_was_deleted_delivers_nothing(qtbot):
    """A translation finishing after the window closed used to call into deleted widgets
    ("Signal source has been deleted"); the runner's connection now dies with the runner."""
    from PySide6.QtCore import QCoreApplication, QObject
    from PySide6.QtWidgets import QLabel

    pool = QThreadPool()
    owner = QObject()
    label = QLabel()
    runner = TaskRunner(owner, pool=pool)
    started, release = threading.Event(), threading.Event()
    delivered = []

    def slow():
        started.set()
        release.wait(10)
        return "late"

    runner.submit(slow, lambda result: (delivered.append(result), label.setText(result)))
    assert started.wait(10)
    with qtbot.waitSignal(owner.destroyed, timeout=5000):
        owner.deleteLater()
    release.set()
    assert pool.waitForDone(10000)
    for _ in range(5):
        QCoreApplication.processEvents()
    assert delivered == []
