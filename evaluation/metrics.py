"""Distribution distances between two sets of feature vectors: KID and FID.

Both take plain ``[N, D]`` arrays, so they work with any feature extractor (the domain classifier's
penultimate layer, or Inception's 2048-d pool features).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg


@dataclass(frozen=True)
class KidResult:
    """Kernel Inception Distance over random subsets: mean and standard deviation of the unbiased MMD^2."""

    mean: float
    std: float
    subsets: int
    subset_size: int

    @property
    def x100(self) -> tuple[float, float | None]:
        """(mean, std) scaled by 100, the unit the U-GAT-IT paper reports; std is None for one subset."""
        return 100.0 * self.mean, (100.0 * self.std if self.subsets > 1 else None)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the kernel of Binkowski et al. (2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of the squared MMD between equally sized samples ``x`` and ``y`` ([m, D] each)."""
    m = x.shape[0]
    if m < 2 or y.shape[0] != m:
        raise ValueError("mmd2_unbiased needs two samples of the same size >= 2")
    kxx = _polynomial_kernel(x, x)
    kyy = _polynomial_kernel(y, y)
    kxy = _polynomial_kernel(x, y)
    off_diag = m * (m - 1)
    return float((kxx.sum() - np.trace(kxx)) / off_diag + (kyy.sum() - np.trace(kyy)) / off_diag
                 - 2.0 * kxy.mean())


def kid(x: np.ndarray, y: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KidResult:
    """KID between feature sets ``x`` [N, D] and ``y`` [M, D]: the unbiased polynomial-kernel MMD^2
    averaged over ``subsets`` random subsets of ``min(subset_size, N, M)`` rows drawn from each set.

    When both sets are no larger than the subset size, every subset is the whole set (the estimate does
    not depend on the order of rows), so it is computed once and reported as one subset without a spread.
    """
    x = _as_features(x)
    y = _as_features(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError("KID needs at least 2 feature vectors in each set")
    if size == len(x) == len(y):
        subsets = 1
    rng = np.random.default_rng(seed)
    values = np.array([
        mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
        for _ in range(subsets)
    ])
    return KidResult(float(values.mean()), float(values.std()), subsets, size)


def fid(x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to ``x`` and ``y``:
    |mu_x - mu_y|^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2)).

    With fewer samples than dimensions the covariances are singular; ``eps`` is then added to their
    diagonals (as pytorch-fid does) so the square root exists. FID is biased upwards for small sets:
    compare numbers only at equal set sizes.
    """
    x = _as_features(x)
    y = _as_features(y)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("FID needs at least 2 feature vectors in each set")
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    s_x = np.atleast_2d(np.cov(x, rowvar=False))
    s_y = np.atleast_2d(np.cov(y, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            covmean = linalg.sqrtm(s_x @ s_y)
            singular = not np.isfinite(covmean).all()
        except linalg.LinAlgWarning:
            singular = True
    if singular:
        offset = np.eye(len(s_x)) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm((s_x + offset) @ (s_y + offset))
    covmean = np.real(covmean)
    diff = mu_x - mu_y
    return float(max(diff @ diff + np.trace(s_x) + np.trace(s_y) - 2.0 * np.trace(covmean), 0.0))


def _as_features(features: np.ndarray) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"features must be a [N, D] array, got shape {array.shape}")
    return array
