"""Style sources and style-code math (MUNIT and TUNIT style codes are float32 vectors of length D).

A *style source* says where a translation's style comes from; a translator turns it into a code:

- :class:`RandomStyle` — a seeded draw from the model's prior (MUNIT: N(0, I)).
- :class:`ReferenceStyle` — the style of a reference image (the style encoder / guiding network).
- :class:`ExplicitStyle` — a code given as is.
- :class:`MixStyle` — a weighted mix of codes or of other sources (weights normalised to sum 1).
- :class:`TypicalStyle` — the stored mean style of the target domain (MUNIT) or cluster (TUNIT).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RandomStyle:
    seed: int | None = None


@dataclass(frozen=True, eq=False)
class ReferenceStyle:
    image: np.ndarray  # uint8 RGB/RGBA


@dataclass(frozen=True, eq=False)
class ExplicitStyle:
    code: np.ndarray


@dataclass(frozen=True)
class TypicalStyle:
    pass


@dataclass(frozen=True, eq=False)
class MixStyle:
    codes: Sequence[StyleSource | np.ndarray]  # codes, or style sources to turn into codes
    weights: Sequence[float] = field(default_factory=list)  # empty: equal weights


StyleSource = RandomStyle | ReferenceStyle | ExplicitStyle | TypicalStyle | MixStyle


def sample_prior(dim: int, seed: int | None = None, count: int = 1) -> np.ndarray:
    """``count`` codes from N(0, I), float32 ``[count, dim]``; the same seed gives the same codes."""
    return np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def sample_empirical(mean: np.ndarray, cov: np.ndarray, seed: int | None = None, count: int = 1) -> np.ndarray:
    """``count`` codes from N(mean, cov) (the statistics of real images' codes), float32 ``[count, D]``."""
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.asarray(mean, np.float64), np.asarray(cov, np.float64), size=count,
                                   method="eigh").astype(np.float32)


def normalise_weights(weights: Sequence[float] | np.ndarray, count: int) -> np.ndarray:
    """Weights for ``count`` codes, summing to 1 (equal weights if none are given)."""
    w = np.ones(count) if len(weights) == 0 else np.asarray(weights, np.float64)
    if w.shape != (count,):
        raise ValueError(f"{len(w)} weights for {count} styles")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("style weights must be non-negative and not all zero")
    return w / w.sum()


def mix_codes(codes: Sequence[np.ndarray], weights: Sequence[float] | np.ndarray = ()) -> np.ndarray:
    """The weighted sum of style codes (weights normalised to sum 1), float32 ``[D]``."""
    if not codes:
        raise ValueError("no style codes to mix")
    stacked = np.stack([np.asarray(c, np.float32).reshape(-1) for c in codes])
    return (normalise_weights(weights, len(codes)) @ stacked).astype(np.float32)


def interpolate(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` codes evenly spaced from ``start`` to ``end`` (both included), float32 ``[steps, D]``."""
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    a, b = np.asarray(start, np.float32).reshape(1, -1), np.asarray(end, np.float32).reshape(1, -1)
    return (1.0 - t) * a + t * b
