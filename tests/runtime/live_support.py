"""Helpers shared by the live-pipeline tests: the tiny MUNIT translator, bounded waits, a frame collector."""
from __future__ import annotations

import threading
import time

from desktop.runtime.bundle import load_bundle
from desktop.runtime.translators import open_translator

WAIT_S = 60  # generous upper bounds for waits; never a timing assertion


def open_munit(tiny_bundles):
    """The tiny MUNIT bundle's translator on the CPU."""
    return open_translator(load_bundle(tiny_bundles["munit"]), provider="cpu")


def wait_until(condition) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class Collector:
    """Records what a pipeline delivers: frames, errors, the end of the stream."""

    def __init__(self):
        self.frames, self.errors = [], []
        self.ended, self.failed = threading.Event(), threading.Event()

    def frame(self, f):
        self.frames.append(f)

    def error(self, message):
        self.errors.append(message)
        self.failed.set()
