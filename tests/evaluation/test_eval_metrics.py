"""KID and FID on synthetic feature sets with known answers, and the diversity measure."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.diversity import mean_pairwise
from evaluation.metrics import fid, kid, mmd2_unbiased


@pytest.fixture
def gaussian_sets():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 32)), rng.normal(size=(300, 32))


def test_kid_is_near_zero_for_the_same_distribution_and_grows_with_a_shift(gaussian_sets):
    x, y = gaussian_sets
    same = kid(x, y, subsets=20, subset_size=100)
    shifted = kid(x, y + 0.5, subsets=20, subset_size=100)
    far = kid(x, y + 1.0, subsets=20, subset_size=100)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * abs(same.mean) and shifted.mean > 5 * shifted.std
    assert far.mean > shifted.mean
    assert same.subset_size == 100 and same.subsets == 20
    assert shifted.x100 == pytest.approx((100 * shifted.mean, 100 * shifted.std))


def test_kid_of_identical_sets_is_tiny_next_to_a_real_difference(gaussian_sets):
    x, _ = gaussian_sets
    assert abs(kid(x, x, subsets=10, subset_size=300).mean) < 0.1 * kid(x, x + 0.5, subsets=10).mean


def test_mmd_is_unbiased_on_average():
    rng = np.random.default_rng(1)
    values = [mmd2_unbiased(rng.normal(size=(50, 8)), rng.normal(size=(50, 8))) for _ in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))


def test_kid_subset_size_is_capped_by_the_smaller_set(gaussian_sets):
    x, y = gaussian_sets
    capped = kid(x[:40], y, subsets=3)
    assert capped.subset_size == 40 and capped.subsets == 3


def test_kid_on_whole_sets_is_one_exact_estimate_without_a_spread(gaussian_sets):
    x, y = gaussian_sets
    whole = kid(x[:50], y[:50] + 0.5, subsets=10)
    assert whole.subsets == 1 and whole.std == 0.0 and whole.x100[1] is None
    assert whole.mean == pytest.approx(mmd2_unbiased(x[:50], y[:50] + 0.5))


def test_fid_of_a_set_with_itself_is_zero_and_matches_the_closed_form_for_a_shift(gaussian_sets):
    x, _ = gaussian_sets
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    # Shifting every vector by d leaves the covariance alone: FID = |d|^2 exactly.
    assert fid(x, x + 0.5) == pytest.approx(32 * 0.25, rel=1e-6)


def test_fid_handles_fewer_samples_than_dimensions():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(10, 64))
    value = fid(x, y)
    assert np.isfinite(value) and value > 0
    assert fid(x, x) == pytest.approx(0.0, abs=1e-3)


def test_metrics_reject_bad_shapes():
    with pytest.raises(ValueError, match="feature sizes differ"):
        kid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        fid(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="at least 2"):
        kid(np.zeros((1, 3)), np.zeros((5, 3)))


def test_diversity_is_zero_for_identical_outputs_and_positive_otherwise():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    same = mean_pairwise([np.ones((3, 4))], [np.repeat(images[:1], 3, axis=0)])
    assert same.feature_distance == 0 and same.pixel_l1 == 0
    feats = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])  # pair distances 5, 0, 5
    varied = mean_pairwise([feats], [images])
    assert varied.feature_distance == pytest.approx(10 / 3)
    expected_l1 = np.mean([np.abs(images[i] / 255.0 - images[j] / 255.0).mean() for i, j in ((0, 1), (0, 2), (1, 2))])
    assert varied.pixel_l1 == pytest.approx(expected_l1, rel=1e-5)
    assert (varied.inputs, varied.styles) == (1, 3)
