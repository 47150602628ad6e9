"""Run slow calls (model loading, translation, export) on Qt's thread pool and get the result back on
the UI thread, so long work never blocks the window."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class _Signals(QObject):
    finished = Signal(int, object, object)  # (ticket, result, error message or None)


class _Job(QRunnable):
    def __init__(self, ticket: int, fn: Callable[[], Any], signals: _Signals,
                 still_wanted: Callable[[], bool]) -> None:
        super().__init__()
        self._ticket = ticket
        self._fn = fn
        self._signals = signals
        self._still_wanted = still_wanted

    def run(self) -> None:
        if not self._still_wanted():  # superseded while it waited for a free thread: skip the work
            self._signals.finished.emit(self._ticket, None, None)
            return
        try:
            result, error = self._fn(), None
        except Exception as exc:  # reported to the UI as a message, never a crash
            logging.getLogger(__name__).exception("background task failed")
            result, error = None, str(exc) or type(exc).__name__
        self._signals.finished.emit(self._ticket, result, error)


class TaskRunner(QObject):
    """Owns pending jobs; callbacks run on the thread this object lives in (the UI thread).

    Each `submit` gets a ticket. Requests sharing a `latest_only` key supersede each other (a newer
    translation of the same view was asked for): an older one that has not started is skipped, and
    the result of one that was already running is dropped.
    """

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._pending: dict[int, tuple[_Signals, Callable, Callable | None, str | None]] = {}
        self._latest: dict[str, int] = {}
        self._next = 0

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None, latest_only: str | None = None) -> int:
        self._next += 1
        ticket = self._next
        signals = _Signals()
        # A bound slot, not a lambda: Qt drops the connection when this runner (and the widget owning it)
        # is destroyed, so a job that ends after its window closed delivers nothing to deleted objects.
        signals.finished.connect(self._deliver)
        self._pending[ticket] = (signals, on_done, on_error, latest_only)
        if latest_only:
            self._latest[latest_only] = ticket

        def still_wanted() -> bool:
            return latest_only is None or self._latest.get(latest_only) == ticket

        self._pool.start(_Job(ticket, fn, signals, still_wanted))
        return ticket

    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (used on quit and in tests)."""
        return self._pool.waitForDone(msecs)

    @Slot(int, object, object)
    def _deliver(self, ticket: int, result: Any, error: str | None) -> None:
        entry = self._pending.pop(ticket, None)
        if entry is None:
            return
        _signals, on_done, on_error, key = entry
        if key is not None and self._latest.get(key) != ticket:
            return
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(error)
