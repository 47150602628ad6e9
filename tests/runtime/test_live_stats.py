"""Per-stage times of the live pipeline on a generated video with a real tiny model, and the helpers behind them."""
from __future__ import annotations

import pytest

from desktop.runtime.frames import VideoFileSource
from desktop.runtime.live import LivePipeline
from desktop.runtime.live_stats import STAGES, SlidingWindow, StageMeters, StageTimes, split_call
from desktop.runtime.style import RandomStyle

from live_support import WAIT_S, Collector, make_video, open_munit, wait_until


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_munit(tiny_bundles)


@pytest.mark.parametrize("face", [None, "centre"])
def test_every_stage_is_measured_after_some_frames_of_a_video(munit, tmp_path, face):
    got = Collector()
    pipe = LivePipeline(VideoFileSource(make_video(tmp_path / "clip.mp4", frames=20)), munit, "a2b",
                        style=RandomStyle(seed=1), face=face, max_capture_fps=100, on_frame=got.frame,
                        on_ended=got.ended.set)
    pipe.start()
    assert got.ended.wait(WAIT_S) and wait_until(lambda: len(got.frames) >= 3)
    stages = got.frames[-1].stats.stages
    assert stages.display == 0.0  # only the UI knows it, and none reported it yet
    for stage in ("capture", "preprocess", "model", "postprocess"):
        assert getattr(stages, stage) > 0, stage
    pipe.report_display(4.0)
    pipe.report_display(6.0)
    after = pipe.stats.stages
    pipe.stop()
    assert after.display == pytest.approx(5.0)  # the average of the reports in the last second
    assert all(getattr(after, stage) >= 0 for stage in STAGES)


def test_a_translate_call_splits_into_the_translators_own_stages_and_the_model():
    timings = {"preprocess": 2.0, "content": 5.0, "style": 0.5, "decode": 20.0, "postprocess": 1.5}
    assert split_call(30.0, timings) == (2.0, 26.5, 1.5)  # the call's own overhead counts as model
    assert split_call(1.0, timings) == (2.0, 0.0, 1.5)  # never negative
    assert split_call(9.0, {}) == (0.0, 9.0, 0.0)


def test_stage_meters_average_over_the_window_and_clip_negatives():
    meters = StageMeters(window_s=1.0)
    meters.add(0.0, model=100.0, capture=-1.0)
    meters.add(0.5, model=10.0)
    meters.add(2.0, model=20.0)  # the sample at 0.0 falls out; two always stay
    assert meters.times() == StageTimes(capture=0.0, model=15.0)


def test_sliding_window_rate_and_mean():
    window = SlidingWindow(window_s=1.0)
    assert window.rate == 0.0 and window.mean == 0.0
    for i in range(11):
        window.add(i * 0.1, value=float(i))
    assert window.rate == pytest.approx(10.0) and window.mean == pytest.approx(5.0)


def test_stage_times_read_as_one_compact_line():
    times = StageTimes(capture=2.2, preprocess=0.84, model=35.4, postprocess=1.0, display=12.6)
    assert times.text() == "capture 2.2 \u00b7 pre 0.8 \u00b7 model 35 \u00b7 post 1.0 \u00b7 display 13 ms"
