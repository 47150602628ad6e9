"""Mix canvas: inverse-distance weights, blended codes, decoder-only previews, path export."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.runtime.bundle import load_bundle
from desktop.runtime.mixcanvas import MixCanvas, idw_weights
from desktop.runtime.style import ExplicitStyle
from desktop.runtime.translators import open_translator
from i2i_common.images import read_image


def test_weights_sum_to_one_and_are_exact_at_anchors():
    anchors = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
    rng = np.random.default_rng(0)
    for handle in rng.uniform(-0.5, 1.5, size=(50, 2)):
        w = idw_weights(anchors, handle)
        assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    for i, anchor in enumerate(anchors):
        assert np.array_equal(idw_weights(anchors, anchor), np.eye(4)[i])
    w = idw_weights(anchors, (0.1, 0.05))
    assert np.argmax(w) == 0 and w[0] > 0.8  # near an anchor, it dominates
    assert np.allclose(idw_weights(anchors, (0.5, 0.5)), 0.25)  # the centre is a fair mix
    with pytest.raises(ValueError, match="no anchors"):
        idw_weights([], (0, 0))


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_translator(load_bundle(tiny_bundles["munit"]), provider="cpu")


@pytest.fixture
def canvas(munit, shared_data):
    canvas = MixCanvas(munit, "a2b")
    dog = read_image(sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[0])
    canvas.add_reference(dog, (0.0, 0.0), "dog")
    canvas.add_typical((1.0, 0.0))
    canvas.add_random(7, (0.5, 1.0))
    canvas.set_image(read_image(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0]))
    return canvas


def test_blend_matches_anchor_codes_and_preview_updates(canvas, munit, shared_data):
    codes = [a.code for a in canvas.anchors]
    assert [a.kind for a in canvas.anchors] == ["reference", "typical", "random"]
    assert len({c.tobytes() for c in codes}) == 3
    for anchor in canvas.anchors:
        assert np.array_equal(canvas.code_at(anchor.position), anchor.code)
    mid = (0.5, 0.3)
    w = canvas.weights(mid)
    assert np.allclose(canvas.code_at(mid), sum(wi * c for wi, c in zip(w, codes)), atol=1e-6)
    assert isinstance(canvas.style_at(mid), ExplicitStyle)

    cat = read_image(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0])
    at_dog = canvas.preview((0.0, 0.0))
    full = munit.translate(cat, "a2b", style=ExplicitStyle(codes[0]), mode="fit").image
    assert at_dog.shape == cat.shape
    assert np.abs(at_dog.astype(int) - full.astype(int)).max() <= 1  # decoder-only equals the full run
    assert not np.array_equal(canvas.preview(mid), at_dog)

    canvas.move_anchor(0, (0.5, 0.3))
    assert np.array_equal(canvas.code_at(mid), codes[0])


def test_export_path_as_gif_and_mp4(canvas, tmp_path):
    gif = canvas.export_path(0, 1, tmp_path / "path é.gif", steps=5, fps=10)
    with Image.open(gif) as im:
        assert im.n_frames == 8 and im.info["loop"] == 0  # 5 forward + 3 back: a seamless ping-pong
        assert im.size == (256, 256)
    mp4 = canvas.export_path(0, 2, tmp_path / "path.mp4", steps=6)
    import cv2

    cap = cv2.VideoCapture(str(mp4))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["path é.gif", "path.mp4"]
    with pytest.raises(ValueError, match="gif or .mp4"):
        canvas.export_path(0, 1, tmp_path / "path.webm")


def test_canvas_refuses_models_without_style(tiny_bundles):
    ugatit = open_translator(load_bundle(tiny_bundles["ugatit"]), provider="cpu")
    with pytest.raises(ValueError, match="no style"):
        MixCanvas(ugatit, "a2b")
