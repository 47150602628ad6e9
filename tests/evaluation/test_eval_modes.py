"""Style modes: which a bundle gets, their styles, and that "mix" is what the app's Mix canvas makes."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.runtime.mixcanvas import MixCanvas
from desktop.runtime.style import RandomStyle
from desktop.runtime.translators import open_translator
from evaluation.data import read_rgb
from evaluation.modes import grid_title, pick_references, plans_for


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_translator(tiny_bundles["munit"], provider="cpu")


@pytest.fixture(scope="module")
def dogs(shared_data) -> list[np.ndarray]:
    return [read_rgb(p) for p in sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[:3]]


def test_a_model_with_styles_gets_every_mode_with_its_style_counts(munit, dogs):
    plans = plans_for(munit.capabilities, 4, dogs)
    assert [(p.name, p.count) for p in plans] == [("random", 4), ("typical", 1), ("reference", 3), ("mix", 3)]
    for plan in plans:
        assert all(len(plan.styles_for(i)) == plan.count for i in range(3))
    seeds = [style.seed for i in range(3) for style in plans[0].styles_for(i) if isinstance(style, RandomStyle)]
    assert seeds == list(range(12))  # every output of the random mode has its own code
    assert grid_title("cat", "dog", plans, attention=False) == \
        "cat -> dog: input, 4 random styles, typical, reference 1, mix of references 1+2"


def test_modes_follow_the_capabilities_and_the_counts_asked_for(tiny_bundles, munit, dogs):
    ugatit = open_translator(tiny_bundles["ugatit"], provider="cpu")
    assert [(p.name, p.count, p.styles_for(0)) for p in plans_for(ugatit.capabilities, 4, dogs)] == \
        [("fixed", 1, [None])]
    assert [p.name for p in plans_for(munit.capabilities, 1, dogs[:1])] == ["random", "typical", "reference"]
    assert [p.name for p in plans_for(munit.capabilities, 0, [])] == ["typical"]


def test_mix_is_the_midpoint_the_mix_canvas_makes_between_two_references(munit, dogs):
    mix = next(p for p in plans_for(munit.capabilities, 2, dogs) if p.name == "mix")
    canvas = MixCanvas(munit, "a2b")
    canvas.add_reference(dogs[0], (0.0, 0.0))
    canvas.add_reference(dogs[1], (1.0, 0.0))
    first, second = (canvas.anchors[k].code for k in (0, 1))
    assert np.abs(first - second).max() > 1e-3  # two different references, so the midpoint is a real blend
    np.testing.assert_allclose(munit.style_code(mix.styles_for(0)[0], "a2b"), canvas.code_at((0.5, 0.0)), atol=1e-6)


def test_references_are_spread_over_the_target_images():
    images = [np.full((2, 2, 3), k, np.uint8) for k in range(10)]
    assert [int(im[0, 0, 0]) for im in pick_references(images, 3)] in ([0, 4, 9], [0, 5, 9])
    assert len(pick_references(images[:2], 3)) == 2 and pick_references(images, 0) == []
