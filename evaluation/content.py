"""Content preservation: how much of an input's layout survives in its translation.

Each image is reduced to its low-pass grayscale layout (centre square, area-resized to 16 x 16, so
colour, texture and fine detail do not count), centred and scaled to unit length. The score of a
translation against an image is the correlation of their layouts. A translation is compared with its own
input and with every other input of the same direction: a model that ignores its input scores as well
against any input as against its own, so only the difference says something. A constant output has no
layout and scores 0 against everything.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from evaluation.data import resize_square

LAYOUT_SIZE = 16


@dataclass(frozen=True)
class ContentScore:
    """Layout correlation of translations with their own input and with the other inputs."""

    own: float           # mean correlation with the own input
    random: float        # mean correlation with the other inputs (random pairings)
    gap: float           # own - random
    beats_random: float  # share of (translation, other input) pairs where the own input correlates more (ties: half)


def layouts(images: Sequence[np.ndarray]) -> np.ndarray:
    """Unit-length, zero-mean low-pass grayscale layouts [N, 256] of uint8 RGB images (zeros for flat ones)."""
    if not images:
        return np.zeros((0, LAYOUT_SIZE * LAYOUT_SIZE), np.float32)
    gray = np.stack([cv2.cvtColor(resize_square(np.ascontiguousarray(im[:, :, :3]), LAYOUT_SIZE),
                                  cv2.COLOR_RGB2GRAY) for im in images]).reshape(len(images), -1)
    centred = gray.astype(np.float32) - gray.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.where(norms > 1e-3, centred / np.maximum(norms, 1e-3), 0.0).astype(np.float32)


def content_score(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], owners: Sequence[int]) -> ContentScore:
    """Score ``outputs`` against ``inputs``; ``owners[k]`` is the index of the input ``outputs[k]`` was translated
    from. Needs at least 2 inputs (there is no random pairing otherwise)."""
    if len(inputs) < 2:
        raise ValueError("content preservation needs at least 2 inputs")
    if len(outputs) != len(owners) or not outputs:
        raise ValueError(f"{len(outputs)} outputs for {len(owners)} owners")
    owner = np.asarray(owners)
    corr = layouts(outputs) @ layouts(inputs).T  # [outputs, inputs]
    rows = np.arange(len(owner))
    own = corr[rows, owner]
    others = np.ones(corr.shape, bool)
    others[rows, owner] = False
    other = corr[others].reshape(len(owner), -1)
    wins = (own[:, None] > other) + 0.5 * (own[:, None] == other)
    return ContentScore(own=float(own.mean()), random=float(other.mean()), gap=float(own.mean() - other.mean()),
                        beats_random=float(wins.mean()))
