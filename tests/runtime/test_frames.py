"""Frame sources on a real video file written by OpenCV in the test, and on absent cameras."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.runtime.frames import (
    CameraSource,
    EndOfStream,
    FrameSource,
    FrameSourceError,
    VideoFileSource,
    probe_cameras,
)

FRAMES = 6


@pytest.fixture()
def video(tmp_path):
    """A 32x24 MJPEG AVI at 12 fps whose frame k is grey level 40*k, with a red left column."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (32, 24))
    assert writer.isOpened()
    for k in range(FRAMES):
        frame = np.full((24, 32, 3), 40 * k, np.uint8)
        frame[:, :8] = (0, 0, 255)  # BGR red
        writer.write(frame)
    writer.release()
    return path


def grey_level(frame: np.ndarray) -> int:
    return round(float(frame[:, 16:].mean()) / 40)


def test_plays_once_then_ends(video):
    with VideoFileSource(video) as source:
        assert isinstance(source, FrameSource) and source.is_open
        assert source.fps == pytest.approx(12.0) and source.size == (32, 24)
        frames = [source.read() for _ in range(FRAMES)]
        with pytest.raises(EndOfStream, match="end of video"):
            source.read()
    assert not source.is_open
    assert [grey_level(f) for f in frames] == list(range(FRAMES))
    first = frames[0]
    assert first.shape == (24, 32, 3) and first.dtype == np.uint8
    assert first[:, :4, 0].mean() > 200 and first[:, :4, 2].mean() < 60  # RGB order


def test_loops(video):
    source = VideoFileSource(video, loop=True)
    source.open()
    levels = [grey_level(source.read()) for _ in range(FRAMES + 3)]
    source.close()
    source.close()  # closing twice is harmless
    assert levels == list(range(FRAMES)) + [0, 1, 2]


def test_read_before_open(video):
    with pytest.raises(FrameSourceError, match="clip.avi is not open"):
        VideoFileSource(video).read()


def test_missing_and_broken_files(tmp_path, video):
    with pytest.raises(FrameSourceError, match="no such video file"):
        VideoFileSource(tmp_path / "absent.mp4").open()
    (tmp_path / "notes.mp4").write_text("not a video", encoding="utf-8")
    with pytest.raises(FrameSourceError, match="not a video OpenCV can decode"):
        VideoFileSource(tmp_path / "notes.mp4").open()
    data = video.read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    with pytest.raises(FrameSourceError):
        with VideoFileSource(tmp_path / "cut.avi") as source:
            for _ in range(FRAMES + 1):
                source.read()


def test_file_that_disappears(video):
    source = VideoFileSource(video)
    with source:
        for _ in range(FRAMES):
            source.read()
        video.unlink()
        with pytest.raises(FrameSourceError, match="disappeared"):
            source.read()


def test_absent_camera():
    camera = CameraSource(97, width=640, height=480)
    with pytest.raises(FrameSourceError, match="camera 97 cannot be opened"):
        camera.open()
    assert not camera.is_open


def test_probe_cameras_lists_only_working_ones():
    found = probe_cameras(2)
    assert isinstance(found, list) and all(isinstance(i, int) for i in found)
    for index in found:  # whatever was found really delivers frames
        with CameraSource(index) as camera:
            assert camera.read().ndim == 3


def test_camera_label_uses_the_platform_name_where_there_is_one(tmp_path):
    from desktop.runtime.frames import camera_label

    (tmp_path / "video2").mkdir()
    (tmp_path / "video2" / "name").write_text("Integrated Webcam: HD\n", encoding="utf-8")
    assert camera_label(2, sysfs=tmp_path) == "Integrated Webcam: HD (camera 2)"
    assert camera_label(0, sysfs=tmp_path) == "Camera 0"
