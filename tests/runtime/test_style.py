"""Style-code math."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.runtime.style import interpolate, mix_codes, normalise_weights, sample_empirical, sample_prior


def test_prior_is_seeded():
    a, b = sample_prior(8, seed=3, count=2), sample_prior(8, seed=3, count=2)
    assert a.shape == (2, 8) and a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, sample_prior(8, seed=4, count=2))
    big = sample_prior(4, seed=0, count=4000)
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1.0) < 0.05


def test_empirical_matches_its_statistics():
    mean = np.array([2.0, -1.0], np.float32)
    cov = np.array([[1.0, 0.5], [0.5, 2.0]], np.float32)
    codes = sample_empirical(mean, cov, seed=1, count=20000)
    np.testing.assert_allclose(codes.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(codes.T), cov, atol=0.08)


def test_mix_is_a_normalised_weighted_sum():
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    np.testing.assert_allclose(mix_codes([a, b], [1, 1]), [0.5, 0.5])
    np.testing.assert_allclose(mix_codes([a, b], [3, 1]), [0.75, 0.25])
    np.testing.assert_allclose(mix_codes([a, b]), [0.5, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        mix_codes([a, b], [0, 0])
    with pytest.raises(ValueError, match="2 weights for 1 styles"):
        normalise_weights([1, 2], 1)
    with pytest.raises(ValueError, match="no style codes"):
        mix_codes([])


def test_interpolate_includes_both_ends():
    path = interpolate(np.zeros(3), np.ones(3), 5)
    assert path.shape == (5, 3)
    np.testing.assert_allclose(path[:, 0], [0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError):
        interpolate(np.zeros(3), np.ones(3), 1)
