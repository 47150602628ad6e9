"""Face mode on real cat photos: OpenCV's bundled cascades, square crop, feathered paste, centre fallback."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.runtime.face import Box, FaceDetector, centre_square, feather_mask, square_around, translate_face


def _cats(shared_data, n=12):
    paths = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[:n]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


def test_cat_cascade_finds_faces_on_real_cats(shared_data):
    detector = FaceDetector("cat")
    boxes = [detector.detect(img) for img in _cats(shared_data)]
    found = [b for b in boxes if b is not None]
    assert len(found) >= 4, "the cat cascade should find a face on several AFHQ cat photos"
    for box in found:  # AFHQ crops are centred on the face: the box sits in the middle of the image
        assert 20 < box.x + box.w / 2 < 236 and 20 < box.y + box.h / 2 < 236
        assert box.w >= 32


def test_human_cascade_loads_and_finds_nothing_on_blank():
    assert FaceDetector("human").detect(np.full((120, 160, 3), 128, np.uint8)) is None
    with pytest.raises(ValueError, match="unknown face kind"):
        FaceDetector("horse")


def test_square_around_stays_inside_and_grows_by_margin():
    box = square_around(Box(x=90, y=10, w=40, h=30), height=100, width=140, margin=0.5)
    assert box.w == box.h == 80
    assert box.x >= 0 and box.y >= 0 and box.x + box.w <= 140 and box.y + box.h <= 100
    assert box.x <= 90 and box.x + box.w >= 130  # still contains the face horizontally
    assert centre_square(100, 140) == Box(20, 0, 100, 100)


def test_feather_mask_is_one_inside_zero_at_border():
    mask = feather_mask(64)
    assert mask[32, 32] == pytest.approx(1.0)
    assert mask[0, 0] < 0.01 and mask[0, 32] < 0.1
    assert np.all(np.diff(mask[32, :32]) >= 0)  # rises monotonically towards the middle


def test_translate_face_on_detected_cat_changes_only_the_crop(shared_data):
    detector = FaceDetector("cat")
    image = next(img for img in _cats(shared_data) if detector.detect(img) is not None)
    seen = []

    def invert(crop):
        seen.append(crop.shape)
        return 255 - crop

    result = translate_face(image, invert, detector)
    assert result.face is not None and seen == [(result.crop_box.h, result.crop_box.w, 3)]
    b = result.crop_box
    outside = np.ones(image.shape[:2], bool)
    outside[b.y : b.y + b.h, b.x : b.x + b.w] = False
    assert np.array_equal(result.image[outside], image[outside])
    cy, cx = b.y + b.h // 2, b.x + b.w // 2
    assert np.array_equal(result.image[cy, cx], 255 - image[cy, cx])  # centre fully replaced
    assert image.shape == result.image.shape


def test_blank_frame_falls_back_to_centre_crop():
    frame = np.full((90, 160, 3), 40, np.uint8)
    result = translate_face(frame, lambda crop: np.full_like(crop, 200), FaceDetector("human"))
    assert result.face is None
    assert result.crop_box == centre_square(90, 160)
    assert result.image[45, 80, 0] == 200 and result.image[45, 5, 0] == 40
