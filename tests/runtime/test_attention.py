"""Attention maps as pictures: colours, overlay, placement in a frame, and the file beside a result."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.runtime.attention import COLOUR_MAPS, attention_path, coloured, in_frame, overlay, save_attention
from desktop.runtime.face import Box
from i2i_common.images import ImageWriteError, read_image


def ramp(height: int = 4, width: int = 6) -> np.ndarray:
    return np.linspace(0, 1, height * width, dtype=np.float32).reshape(height, width)


@pytest.mark.parametrize("name", list(COLOUR_MAPS))
def test_colours_run_from_the_maps_first_to_its_last_entry(name):
    palette = cv2.cvtColor(cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], COLOUR_MAPS[name]),
                           cv2.COLOR_BGR2RGB)[0]
    picture = coloured(ramp(), name)
    assert picture.shape == (4, 6, 3) and picture.dtype == np.uint8
    assert np.array_equal(picture[0, 0], palette[0]) and np.array_equal(picture[-1, -1], palette[255])
    broken = np.array([[np.nan, -3.0, 7.0]], np.float32)  # out of range and NaN: clipped, not garbage
    assert np.array_equal(coloured(broken, name)[0], palette[[0, 0, 255]])


def test_overlay_blends_at_the_opacity():
    image = np.full((4, 6, 4), 200, np.uint8)  # RGBA: the alpha channel is dropped
    heatmap = ramp()
    assert np.array_equal(overlay(image, heatmap, 0.0), image[..., :3])
    assert np.array_equal(overlay(image, heatmap, 1.0), coloured(heatmap))
    half = overlay(image, heatmap, 0.5, "viridis").astype(int)
    expected = (200 + coloured(heatmap, "viridis").astype(int)) / 2
    assert np.abs(half - expected).max() <= 1
    with pytest.raises(ValueError, match="the heatmap is 6x4, the image 5x4"):
        overlay(image[:, :5], heatmap)


def test_a_crops_map_is_placed_where_the_crop_was_taken():
    frame = in_frame(np.ones((8, 8), np.float32), Box(x=3, y=1, w=4, h=5), 10, 12)
    assert frame.shape == (10, 12) and frame[1:6, 3:7].min() == 1.0 and frame.sum() == 20


def test_the_map_is_saved_beside_the_result_and_never_silently_replaced(tmp_path):
    result = tmp_path / "dog_a2b.jpg"
    path = save_attention(result, ramp(), "turbo")
    assert path == attention_path(result) == tmp_path / "dog_a2b.attention.png"
    assert np.array_equal(read_image(path), coloured(ramp(), "turbo"))
    with pytest.raises(ImageWriteError, match="already exists"):
        save_attention(result, ramp())
    save_attention(result, np.zeros((4, 6), np.float32), overwrite=True)
    assert np.array_equal(read_image(path), coloured(np.zeros((4, 6), np.float32)))
    assert [p.name for p in tmp_path.iterdir()] == ["dog_a2b.attention.png"]  # no temporary file left
