"""Graceful stop: SIGINT/SIGTERM set a flag; the loop saves a checkpoint and exits at the end of the iteration."""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """Whether a stop was asked for; :meth:`installed` routes SIGINT and SIGTERM to it for a ``with`` block."""

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Install the handlers (main thread only; elsewhere there is no graceful stop) and restore the old ones."""
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handlers, no graceful stop
                pass
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True
