"""The live pipeline on a generated video file with a real tiny ONNX model."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from desktop.runtime.bundle import load_bundle
from desktop.runtime.frames import EndOfStream, VideoFileSource
from desktop.runtime.live import FrameSlot, LivePipeline
from desktop.runtime.style import ExplicitStyle, RandomStyle, ReferenceStyle
from desktop.runtime.translators import open_translator
from i2i_common.images import read_image

from live_support import WAIT_S, Collector, make_video, open_munit, wait_until


class Watched:
    """Wraps a frame source: counts reads, remembers close(), can fail after some frames."""

    def __init__(self, inner, fail_after=None):
        self.inner, self.fail_after = inner, fail_after
        self.reads, self.closed = 0, False

    def read(self):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise OSError("camera unplugged")
        return self.inner.read()

    def close(self):
        self.closed = True
        self.inner.close()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Slow:
    """A real translator made artificially slow."""

    def __init__(self, inner, delay_s):
        self.inner, self.delay_s = inner, delay_s

    def translate(self, *args, **kwargs):
        time.sleep(self.delay_s)
        return self.inner.translate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_munit(tiny_bundles)


@pytest.fixture
def video(tmp_path):
    return make_video(tmp_path / "clip.mp4")


def play(translator, video, capture_fps):
    """Run a pipeline over the whole video; returns (pipeline, source, collector) once the video ended."""
    source = Watched(VideoFileSource(video))
    got = Collector()
    pipe = LivePipeline(source, translator, "a2b", style=RandomStyle(seed=1), max_capture_fps=capture_fps,
                        on_frame=got.frame, on_ended=got.ended.set)
    pipe.start()
    assert got.ended.wait(WAIT_S)
    return pipe, source, got


def test_frames_flow_and_stop_is_clean(munit, video):
    pipe, source, got = play(munit, video, capture_fps=200)
    assert wait_until(lambda: pipe.stats.produced > 0)
    pipe.stop()
    assert wait_until(lambda: not pipe.running)  # stop() waits briefly; the threads end by themselves
    assert source.closed and not got.errors
    stats = pipe.stats
    assert stats.captured == 40 and 0 < stats.produced <= stats.captured
    assert stats.produced + stats.dropped <= stats.captured
    first = got.frames[0]
    assert first.output.shape == first.source.shape == (48, 64, 3) and first.output.dtype == np.uint8
    assert not np.array_equal(first.output, first.source)
    assert [f.index for f in got.frames] == sorted({f.index for f in got.frames})  # in order, no repeats
    assert pipe.latest() is got.frames[-1] and got.frames[-1].stats.latency_ms > 0


def test_models_without_style_run_live(tiny_bundles, video):
    ugatit = open_translator(load_bundle(tiny_bundles["ugatit"]), provider="cpu")
    pipe, source, got = play(ugatit, video, capture_fps=200)  # the style asked for is ignored
    assert wait_until(lambda: got.frames)
    pipe.stop()
    assert got.frames[0].output.shape == (48, 64, 3) and source.closed and not got.errors


def test_slow_model_drops_stale_frames(munit, video):
    pipe, _, got = play(Slow(munit, 0.05), video, capture_fps=100)
    pipe.stop()
    stats = pipe.stats
    assert stats.dropped > 0 and stats.produced < stats.captured
    assert stats.produced + stats.dropped <= stats.captured
    assert len(got.frames) == stats.produced
    skipped = np.diff([f.index for f in got.frames])
    assert skipped.max() > 1  # frames that waited too long were never translated


def test_failing_source_surfaces_error_and_stops(munit, video):
    source = Watched(VideoFileSource(video), fail_after=5)
    got = Collector()
    pipe = LivePipeline(source, munit, "a2b", on_frame=got.frame, on_error=got.error)
    pipe.start()
    assert got.failed.wait(WAIT_S)
    assert wait_until(lambda: not pipe.running)
    assert not pipe.running and source.closed
    assert got.errors == [pipe.error] and "camera unplugged" in pipe.error
    pipe.stop()  # the app's stop button still works afterwards


def test_style_change_reruns_last_frame(munit, video):
    pipe, _, got = play(munit, video, capture_fps=200)
    settled = lambda: (pipe.stats.produced + pipe.stats.dropped == pipe.stats.captured  # noqa: E731
                       and len(got.frames) == pipe.stats.produced)
    assert wait_until(settled)  # every frame translated or dropped: the pipeline is idle
    before = len(got.frames)
    pipe.set_style(RandomStyle(seed=2))
    assert wait_until(lambda n=before: len(got.frames) > n)
    time.sleep(0.1)
    pipe.stop()
    assert len(got.frames) == before + 1
    old, new = got.frames[-2], got.frames[-1]
    assert new.index == 39 and np.array_equal(new.source, got.frames[-1].source)
    assert not np.array_equal(new.output, old.output)


def test_direction_change_resolves_the_reference_style_again(munit, video, shared_data):
    dog = read_image(sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[0])
    pipe, _, got = play(munit, video, capture_fps=200)
    assert wait_until(lambda: pipe.stats.produced + pipe.stats.dropped == pipe.stats.captured
                      and len(got.frames) == pipe.stats.produced)
    for change in (lambda: pipe.set_style(ReferenceStyle(dog)), lambda: pipe.set_direction("b2a")):
        before = len(got.frames)
        change()  # each change re-runs the last frame once
        assert wait_until(lambda n=before: len(got.frames) > n)
    pipe.stop()
    last = got.frames[-1]
    code = munit.style_code(ReferenceStyle(dog), "b2a")  # the dog's style as domain a's encoder sees it
    expected = munit.translate(last.source, "b2a", style=ExplicitStyle(code), mode="fit").image
    assert np.array_equal(last.output, expected)


def test_face_mode_translates_the_cat_face(munit, shared_data):
    photo = cv2.cvtColor(cv2.imread(str(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0])),
                         cv2.COLOR_BGR2RGB)
    cat = np.full((360, 480, 3), 90, np.uint8)  # a webcam-sized frame with the cat photo in it
    cat[50:306, 150:406] = photo

    class Still:
        """A camera showing the same picture three times."""

        size = (cat.shape[1], cat.shape[0])

        def open(self):
            self.left = 3

        def read(self):
            self.left -= 1
            if self.left < 0:
                raise EndOfStream("no more")
            return cat

        def close(self):
            pass

    got = Collector()
    pipe = LivePipeline(Still(), munit, "a2b", face="cat", on_frame=got.frame, on_ended=got.ended.set)
    pipe.start()
    assert got.ended.wait(WAIT_S)
    assert wait_until(lambda: got.frames)
    pipe.stop()
    frame = got.frames[0]
    box = frame.crop
    assert box is not None and box.w < cat.shape[0]
    assert 150 <= box.x + box.w // 2 <= 406 and 50 <= box.y + box.h // 2 <= 306  # on the cat
    assert np.array_equal(frame.output[:, :box.x], cat[:, :box.x])  # outside the crop untouched
    inside = frame.output[box.y + box.h // 2, box.x + box.w // 2]
    assert not np.array_equal(inside, cat[box.y + box.h // 2, box.x + box.w // 2])


def test_source_that_cannot_open_reports_and_leaves_nothing_running(munit, tmp_path):
    got = Collector()
    pipe = LivePipeline(VideoFileSource(tmp_path / "missing.mp4"), munit, "a2b", on_error=got.error)
    pipe.start()
    assert got.failed.wait(WAIT_S)
    assert wait_until(lambda: not pipe.running)
    assert "cannot start" in got.errors[0] and "missing.mp4" in got.errors[0]
    pipe.stop()


def test_frame_slot_keeps_only_the_newest():
    slot = FrameSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(0.01) == 4 and slot.dropped == 4
    slot.offer("rerun")
    slot.put("fresh")
    slot.offer("ignored")
    assert slot.get(0.01) == "fresh"
    assert slot.get(0.01) is None
    slot.close()
    assert slot.get(5) is None
