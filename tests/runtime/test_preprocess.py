"""Model sizes, normalisation round trips and alpha handling."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.runtime.bundle import ImageSpec, SizeSpec
from desktop.runtime.preprocess import from_tensor, heatmap_to_image_size, model_size, to_tensor

MULTIPLE = ImageSpec(train_size=128, sizes=SizeSpec("multiple", multiple=4, min=32, max=512),
                     mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
FIXED = ImageSpec(train_size=256, sizes=SizeSpec("fixed", height=256, width=256),
                  mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


@pytest.mark.parametrize("spec, size, mode, expected", [
    (MULTIPLE, (300, 201), "fit", (128, 128)),
    (MULTIPLE, (301, 201), "native", (300, 200)),
    (MULTIPLE, (10, 10), "native", (32, 32)),  # clamped to the graph's minimum
    (MULTIPLE, (2000, 1000), "native", (512, 256)),  # scaled down to the maximum, aspect kept
    (FIXED, (300, 201), "native", (256, 256)),
    (FIXED, (30, 20), "fit", (256, 256)),
])
def test_model_size(spec, size, mode, expected):
    assert model_size(spec, *size, mode) == expected


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode"):
        model_size(MULTIPLE, 10, 10, "stretch")


def test_round_trip_keeps_size_and_alpha():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (37, 51, 4), dtype=np.uint8)
    prepared = to_tensor(rgba, MULTIPLE, "native")
    assert prepared.tensor.shape == (1, 3, 36, 52) and prepared.tensor.dtype == np.float32
    assert -1.0 <= prepared.tensor.min() and prepared.tensor.max() <= 1.0
    back = from_tensor(prepared.tensor, MULTIPLE, prepared)
    assert back.shape == (37, 51, 4) and np.array_equal(back[..., 3], rgba[..., 3])


def test_normalisation_is_exact_at_model_size():
    rgb = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    prepared = to_tensor(rgb, MULTIPLE, "native")
    np.testing.assert_allclose(prepared.tensor[0, 0], rgb[..., 0] / 127.5 - 1.0, atol=1e-6)
    assert np.array_equal(from_tensor(prepared.tensor, MULTIPLE, prepared), rgb)


def test_bgr_models_get_bgr():
    spec = ImageSpec(32, SizeSpec("multiple", multiple=4, min=4, max=64), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "BGR")
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    prepared = to_tensor(rgb, spec, "native")
    assert prepared.tensor[0, 2].min() == 1.0 and prepared.tensor[0, 0].max() == 0.0
    assert np.array_equal(from_tensor(prepared.tensor, spec, prepared), rgb)


def test_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        to_tensor(np.zeros((4, 4, 3), np.float32), MULTIPLE)


def test_heatmap_scaled_to_unit_range_and_image_size():
    m = heatmap_to_image_size(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) - 5, (8, 12))
    assert m.shape == (8, 12) and m.dtype == np.float32
    assert m.min() >= 0.0 and m.max() <= 1.0 and m.max() > 0.9
    assert (heatmap_to_image_size(np.ones((1, 1, 2, 2)), (3, 3)) == 0).all()
