"""A one-item mailbox between threads: the newest item wins, the one it replaced is counted as dropped."""
from __future__ import annotations

import threading
from typing import Any


class FrameSlot:
    """A one-item mailbox: ``put`` replaces an unread item (counting it as dropped); ``get`` waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def offer(self, item: Any) -> None:
        """Put ``item`` only if the slot is empty (a re-run never displaces a fresh frame)."""
        with self._cond:
            if self._item is None:
                self._item = item
                self._cond.notify()

    def get(self, timeout: float) -> Any:
        """The unread item, or None after ``timeout`` seconds or once closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
