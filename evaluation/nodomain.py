"""Images of neither domain, made from real images of both: what the judge learns to reject.

Four kinds, in turn: heavy blur (far beyond the blur the domain classifier is trained to ignore),
averages of an image of each domain (a ghosted overlay of both), noise (strong pixel noise over a real
image, or blurred colour noise alone) and flat colour gradients. A generator that is lost makes such
images: blobs, overlays of both domains, texture without a subject, flat colour.
"""
from __future__ import annotations

import numpy as np

from evaluation.classifier import blur as soften

KINDS = ("blur", "average", "noise", "flat")


def no_domain_images(a: np.ndarray, b: np.ndarray, count: int, rng: np.random.Generator,
                     blur: tuple[float, float] = (6.0, 16.0)) -> np.ndarray:
    """``count`` uint8 images [count, S, S, 3] made from the square uint8 stacks ``a`` and ``b`` ([N, S, S, 3]),
    the kinds of :data:`KINDS` in turn; ``blur`` is the range of downscale factors of the blurred kind."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError("no-domain images need images of both domains")
    makers = {"blur": lambda: soften(_pick(a, b, rng), rng.uniform(*blur)),
              "average": lambda: _average(a[rng.integers(len(a))], b[rng.integers(len(b))], rng),
              "noise": lambda: _noise(_pick(a, b, rng), rng),
              "flat": lambda: _gradient(a.shape[1], rng)}
    return np.stack([makers[KINDS[i % len(KINDS)]]() for i in range(count)])


def _pick(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    stack = a if rng.random() < 0.5 else b
    return stack[rng.integers(len(stack))]


def _average(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    weight = rng.uniform(0.3, 0.7)
    return (weight * x + (1.0 - weight) * y).round().astype(np.uint8)


def _noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strong Gaussian noise over ``image``, or colour noise alone blurred into blobs."""
    if rng.random() < 0.5:
        return np.clip(image + rng.normal(0.0, rng.uniform(50.0, 100.0), image.shape), 0, 255).astype(np.uint8)
    return soften(rng.integers(0, 256, image.shape, dtype=np.uint8), rng.uniform(1.0, 8.0))


def _gradient(size: int, rng: np.random.Generator) -> np.ndarray:
    """A linear gradient between two random colours in a random direction (sometimes nearly flat)."""
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    return (start + (end - start) * ramp[..., None]).round().astype(np.uint8)
