"""Helpers shared by the live-pipeline tests: the tiny MUNIT translator, a generated video, bounded waits,
a frame collector."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from desktop.runtime.bundle import load_bundle
from desktop.runtime.translators import open_translator

WAIT_S = 60  # generous upper bounds for waits; never a timing assertion


def open_munit(tiny_bundles):
    """The tiny MUNIT bundle's translator on the CPU."""
    return open_translator(load_bundle(tiny_bundles["munit"]), provider="cpu")


def make_video(path, frames=40, size=(64, 48), fps=20.0):
    """A short MP4 of a white square moving over a dark gradient."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    w, h = size
    for i in range(frames):
        frame = np.tile(np.linspace(0, 120, w, dtype=np.uint8)[None, :, None], (h, 1, 3))
        x = (i * 3) % (w - 12)
        frame[10:22, x:x + 12] = 255
        writer.write(frame)
    writer.release()
    return path


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
