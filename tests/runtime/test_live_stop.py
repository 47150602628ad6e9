"""Stopping the live pipeline while its camera or its model hangs: stop() returns, nothing arrives after it."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.runtime.live import LivePipeline

from live_support import WAIT_S, Collector, open_munit, wait_until


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_munit(tiny_bundles)


class Stuck:
    """A camera that delivers ``frames`` frames and then blocks in read() until ``release`` is set (a
    hung driver); it notes whether close() came while a read was still in progress."""

    size = (32, 24)

    def __init__(self, frames=2):
        self.left = frames
        self.blocked, self.release = threading.Event(), threading.Event()
        self.reading = self.closed = self.closed_during_read = False

    def open(self):
        pass

    def read(self):
        self.reading = True
        try:
            if self.left <= 0:
                self.blocked.set()
                self.release.wait()
            self.left -= 1
            return np.full((24, 32, 3), 120, np.uint8)
        finally:
            self.reading = False

    def close(self):
        self.closed_during_read |= self.reading
        self.closed = True


def stop_in_background(pipe) -> threading.Thread:
    stopper = threading.Thread(target=pipe.stop)
    stopper.start()
    return stopper


def test_stop_returns_while_the_source_is_stuck_in_read(munit):
    source, got = Stuck(), Collector()
    pipe = LivePipeline(source, munit, "a2b", on_frame=got.frame, on_error=got.error)
    pipe.start()
    try:
        assert source.blocked.wait(WAIT_S) and wait_until(lambda: got.frames)
        stopper = stop_in_background(pipe)
        stopper.join(5)  # the read never returns by itself: stop() must not wait for it
        assert not stopper.is_alive()
        assert not source.closed  # never closed from the stopping side while the capture thread reads
        delivered = len(got.frames)
    finally:
        source.release.set()  # the driver wakes up at last
    assert wait_until(lambda: not pipe.running)  # the capture thread then ends by itself ...
    assert source.closed and not source.closed_during_read  # ... closing the source from its own thread
    assert len(got.frames) == delivered and not got.errors  # nothing delivered after stop()


def test_a_frame_the_model_finishes_after_stop_is_not_delivered(munit):
    entered, release = threading.Event(), threading.Event()

    class Hung:
        """The model hangs on the first real frame (after the warm-up) until released."""

        def __init__(self):
            self.calls = 0

        def translate(self, *args, **kwargs):
            self.calls += 1
            if self.calls == 2:
                entered.set()
                release.wait()
            return munit.translate(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(munit, name)

    source, got = Stuck(frames=1), Collector()
    pipe = LivePipeline(source, Hung(), "a2b", on_frame=got.frame)
    pipe.start()
    try:
        assert entered.wait(WAIT_S)
        stopper = stop_in_background(pipe)
        stopper.join(5)
        assert not stopper.is_alive()
    finally:
        release.set()
        source.release.set()
    assert wait_until(lambda: not pipe.running)
    assert got.frames == [] and pipe.latest() is None  # the output that came after stop() is dropped
    assert source.closed and not source.closed_during_read
