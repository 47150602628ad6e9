"""Snapshots and MP4 recordings: written under a temporary name, renamed into place when complete."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.runtime.recorder import RecorderError, VideoRecorder, save_snapshot, timestamped_path
from i2i_common.images import read_image


def frames(n, h=47, w=63):
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[:, : (i + 1) * 4, 0] = 255  # a growing red bar
        yield frame


def test_recording_appears_only_when_closed(tmp_path):
    target = tmp_path / "clip été.mp4"
    rec = VideoRecorder(target, fps=15)
    for frame in frames(12):
        rec.write(frame)
    assert not target.exists() and len(list(tmp_path.iterdir())) == 1  # still the hidden temp file
    assert rec.close() == target
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    cap = cv2.VideoCapture(str(target))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    ok, bgr = cap.read()
    cap.release()
    assert ok and bgr.shape == (48, 64, 3)  # MPEG-4 needs even sizes
    assert bgr[24, 2, 2] > 200 and bgr[24, 40, 2] < 60  # red stays red (RGB in, BGR in the file)


def test_abort_and_errors_leave_nothing(tmp_path):
    rec = VideoRecorder(tmp_path / "gone.mp4")
    rec.write(next(frames(1)))
    rec.abort()
    assert list(tmp_path.iterdir()) == []
    assert VideoRecorder(tmp_path / "empty.mp4").close() is None
    with pytest.raises(RecorderError, match="does not exist"):
        VideoRecorder(tmp_path / "missing" / "x.mp4")
    with pytest.raises(ValueError, match="MP4"):
        VideoRecorder(tmp_path / "x.avi")
    with pytest.raises(RecorderError, match="closed"):
        rec.write(next(frames(1)))


def test_snapshot_is_written_atomically_and_named_uniquely(tmp_path):
    image = np.dstack([np.full((20, 30), v, np.uint8) for v in (10, 120, 250)])
    first = timestamped_path(tmp_path, "snapshot", ".png")
    save_snapshot(first, image)
    second = timestamped_path(tmp_path, "snapshot", ".png")
    assert second != first
    assert np.array_equal(read_image(first), image)
    save_snapshot(first, 255 - image)  # replacing an older snapshot is allowed
    assert np.array_equal(read_image(first), 255 - image)
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
