"""Diversity of a multimodal model: how different the outputs of one input are under different styles.

LPIPS is not available offline, so two stand-ins are reported: the mean pairwise L2 distance between
the domain classifier's feature vectors (a learned, semantic distance) and the mean pairwise pixel L1
distance (intensities in [0, 1]). Both are 0 when the style is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class Diversity:
    feature_distance: float  # mean pairwise L2 distance of classifier features
    pixel_l1: float          # mean pairwise mean-absolute pixel difference, intensities in [0, 1]
    inputs: int
    styles: int


def mean_pairwise(groups_features: list[np.ndarray], groups_images: list[np.ndarray]) -> Diversity:
    """Average over inputs of the mean pairwise distances among that input's K outputs.

    ``groups_features[i]`` is [K, D] (features of input i's K outputs), ``groups_images[i]`` is
    uint8 [K, H, W, 3]."""
    if not groups_features or len(groups_features[0]) < 2:
        raise ValueError("diversity needs at least one input with at least 2 styles")
    feature_d, pixel_d = [], []
    for feats, images in zip(groups_features, groups_images):
        pairs = list(combinations(range(len(feats)), 2))
        feature_d.append(np.mean([np.linalg.norm(feats[i] - feats[j]) for i, j in pairs]))
        pixels = images.astype(np.float32) / 255.0
        pixel_d.append(np.mean([np.abs(pixels[i] - pixels[j]).mean() for i, j in pairs]))
    return Diversity(float(np.mean(feature_d)), float(np.mean(pixel_d)), len(groups_features),
                     len(groups_features[0]))
