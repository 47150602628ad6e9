"""Style presets: a few real style codes that represent a domain, chosen among its training images' codes.

The mean code of a domain is no image's style: decoded, it gives the domain's average look (a blur). A preset
is the code of one real training image instead: the medoids of a k-medoids partition of the codes, under the
Mahalanobis distance of their own covariance (Euclidean after whitening), the most central one (nearest the
mean) first. Only the codes are kept, never which images they came from.
"""
from __future__ import annotations

import numpy as np

PRESETS = 4  # presets per domain (fewer when the domain has fewer distinct codes)
MAX_CODES = 2000  # codes the medoids are chosen from (the first ones): their distance matrix is N x N
MAX_ROUNDS = 50  # k-medoids assignment/update rounds (it stops as soon as the medoids stay)
RELATIVE_EIGEN_FLOOR = 1e-10  # covariance directions below this fraction of the largest carry no distance


def whitened(codes: np.ndarray) -> np.ndarray:
    """``codes`` [N, D] centred on their mean and whitened by their covariance: Euclidean distances between the
    rows are Mahalanobis distances (directions without variance are dropped, as a pseudo-inverse does)."""
    centred = codes - codes.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(codes, rowvar=False).reshape(codes.shape[1], codes.shape[1]))
    keep = values > RELATIVE_EIGEN_FLOOR * max(float(values.max()), 0.0)
    return centred @ vectors[:, keep] / np.sqrt(values[keep])


def _medoids(dist: np.ndarray, first: int, count: int) -> list[int]:
    """``count`` medoid indices: greedy build from ``first`` (each next one lowers the summed distance of every
    point to its nearest medoid the most), then alternate assignment and per-cluster medoid updates."""
    medoids = [first]
    while len(medoids) < count:
        nearest = dist[medoids].min(axis=0)
        gain = np.maximum(nearest[None, :] - dist, 0.0).sum(axis=1)
        gain[medoids] = -1.0
        medoids.append(int(np.argmax(gain)))
    for _ in range(MAX_ROUNDS):
        owner = np.argmin(dist[medoids], axis=0)
        updated = []
        for k, medoid in enumerate(medoids):
            members = np.flatnonzero(owner == k)
            updated.append(int(members[np.argmin(dist[np.ix_(members, members)].sum(axis=1))])
                           if len(members) else medoid)
        if updated == medoids:
            break
        medoids = updated
    return medoids


def style_presets(codes: np.ndarray, count: int = PRESETS) -> np.ndarray:
    """Up to ``count`` rows of ``codes`` [N, D] (float32, unchanged), the k-medoids of the codes under their
    Mahalanobis distance, ordered by their Mahalanobis distance to the mean: the first is the most typical."""
    codes = np.asarray(codes, np.float64)[:MAX_CODES]
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"style presets need at least 2 codes [N, D], got shape {list(codes.shape)}")
    z = whitened(codes)
    distinct = len(np.unique(codes, axis=0))
    squared = (z * z).sum(axis=1)
    dist = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * z @ z.T, 0.0))
    centrality = np.linalg.norm(z, axis=1)
    medoids = _medoids(dist, int(np.argmin(centrality)), min(count, distinct))
    medoids = sorted(dict.fromkeys(medoids), key=lambda i: (centrality[i], i))
    return codes[medoids].astype(np.float32)
