"""Content preservation on real photos: the own input must beat random pairings, and only a faithful output does."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation.content import content_score, layouts
from evaluation.data import read_rgb

COUNT = 12


@pytest.fixture(scope="module")
def cats(shared_data) -> list[np.ndarray]:
    return [read_rgb(p) for p in sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[:COUNT]]


def _score(inputs, outputs):
    return content_score(inputs, outputs, list(range(len(outputs))))


def test_identity_scores_high_and_beats_every_random_pairing(cats):
    score = _score(cats, cats)
    assert score.own == pytest.approx(1.0, abs=1e-4)
    assert score.beats_random == 1.0
    assert score.gap > 0.5 and abs(score.random) < 0.5


def test_a_recoloured_softened_copy_keeps_the_layout(cats):
    """Colour and sharpness are not layout: a tinted, channel-swapped, blurred copy still matches its own input."""
    recoloured = [cv2.GaussianBlur(np.clip(im[:, :, ::-1] * 0.6 + 60, 0, 255).astype(np.uint8), (0, 0), 3)
                  for im in cats]
    score = _score(cats, recoloured)
    assert score.own > 0.8 and score.beats_random > 0.9


def test_constant_output_is_no_better_than_random(cats):
    grey = [np.full_like(im, 128) for im in cats]
    score = _score(cats, grey)
    assert score.own == score.random == 0.0
    assert score.beats_random == 0.5


def test_the_translation_of_another_input_fails(cats):
    shuffled = cats[1:] + cats[:1]  # output i is input i+1: a model that ignores (or mixes up) its input
    score = _score(cats, shuffled)
    identity = _score(cats, cats)
    assert score.beats_random < 0.65 and abs(score.gap) < 0.2
    assert identity.beats_random - score.beats_random > 0.3


def test_several_outputs_per_input_are_scored_against_their_own_input(cats):
    outputs = [cats[0], cats[0], cats[1], cats[2]]  # input 0 twice, then 1 and 2; inputs 3.. have no output
    faithful = content_score(cats[:4], outputs, [0, 0, 1, 2])
    mixed_up = content_score(cats[:4], outputs, [1, 2, 0, 0])
    assert faithful.beats_random == 1.0 and mixed_up.beats_random < 0.5


def test_layouts_are_unit_length_and_flat_images_are_zero(cats):
    vectors = layouts([cats[0], np.zeros((40, 60, 3), np.uint8), cats[1][:100]])
    assert vectors.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), [1.0, 0.0, 1.0], atol=1e-5)


def test_bad_arguments_are_refused(cats):
    with pytest.raises(ValueError, match="at least 2 inputs"):
        content_score(cats[:1], cats[:1], [0])
    with pytest.raises(ValueError, match="outputs for"):
        content_score(cats[:3], cats[:2], [0])
