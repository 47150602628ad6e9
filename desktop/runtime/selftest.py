"""A bundle's self-test (docs/bundle.md, "self_test"): a fixed input, the output statistics recorded at
export for each precision, and the check a translator runs when it opens.

The input is generated, not stored: blocks of seeded random colours (``numpy.random.default_rng``) at the
recorded size. Each direction translates it (styled families twice: with the style of a second such image,
which runs the style encoder, and with the stored typical style, which uses the bundle's arrays), and
the output's per-channel mean, standard deviation, minimum and maximum and an 8x8 thumbnail, all in
0-255 levels, must lie within the precision's tolerance of what the exporter measured. A bit-flipped
weight that turns every picture flat or black passes every structural check and fails this one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from .bundle import PRECISIONS, Bundle, BundleError
from .bundle.graph_policy import MAX_MODEL_PIXELS
from .preprocess import Mode
from .style import ReferenceStyle, TypicalStyle

FIELD = "self_test"
THUMBNAIL = 8  # side of the thumbnail digest
BLOCK = 8  # the input is made of BLOCK x BLOCK squares of one colour
CHANNELS = 3
_STATS = ("mean", "std", "min", "max")


class _Translating(Protocol):
    bundle: Bundle
    precision: str

    def translate(self, image: np.ndarray, direction: str, style: Any = None, mode: Mode = "fit") -> Any: ...


@dataclass(frozen=True)
class OutputStats:
    """The digest of one output image: per-channel statistics and a thumbnail (row-major 8x8x3)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    min: tuple[float, ...]
    max: tuple[float, ...]
    thumbnail: tuple[float, ...]

    def deviation(self, other: OutputStats) -> float:
        """The largest difference between two digests, in 0-255 levels."""
        return max(abs(a - b) for name in (*_STATS, "thumbnail")
                   for a, b in zip(getattr(self, name), getattr(other, name)))

    def to_manifest(self) -> dict[str, list[float]]:
        return {name: [round(v, 3) for v in getattr(self, name)] for name in (*_STATS, "thumbnail")}

    @classmethod
    def from_manifest(cls, obj: Any, ctx: str) -> OutputStats:
        """Read a digest written by :meth:`to_manifest`; raises ValueError naming ``ctx``."""
        if not isinstance(obj, dict):
            raise ValueError(f"{ctx} must be an object")
        lengths = {**{name: CHANNELS for name in _STATS}, "thumbnail": THUMBNAIL * THUMBNAIL * CHANNELS}
        values = {}
        for name, length in lengths.items():
            items = obj.get(name)
            if not isinstance(items, list) or len(items) != length or not all(_is_level(v) for v in items):
                raise ValueError(f"{ctx}.{name} needs {length} numbers from 0 to 255")
            values[name] = tuple(float(v) for v in items)
        return cls(**values)


def _is_level(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 255


@dataclass(frozen=True)
class Expected:
    """What one precision must produce: a digest per direction, and how far it may deviate."""

    tolerance: float
    outputs: dict[str, OutputStats]


@dataclass(frozen=True)
class SelfTest:
    """The manifest's ``self_test`` entry."""

    seed: int
    height: int
    width: int
    precisions: dict[str, Expected]


def self_test_images(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The input and the style reference image (uint8 RGB ``height x width``) for ``seed``."""
    rng = np.random.default_rng(seed)
    rows, cols = -(-height // BLOCK), -(-width // BLOCK)
    blocks = rng.integers(0, 256, size=(2, rows, cols, CHANNELS), dtype=np.uint8)
    images = blocks.repeat(BLOCK, axis=1).repeat(BLOCK, axis=2)[:, :height, :width]
    return np.ascontiguousarray(images[0]), np.ascontiguousarray(images[1])


def output_stats(image: np.ndarray) -> OutputStats:
    """The digest of a uint8 RGB(A) output image (alpha ignored)."""
    rgb = image[:, :, :CHANNELS].astype(np.float32)
    flat = rgb.reshape(-1, CHANNELS)
    thumb = cv2.resize(rgb, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)
    return OutputStats(mean=tuple(map(float, flat.mean(axis=0))), std=tuple(map(float, flat.std(axis=0))),
                       min=tuple(map(float, flat.min(axis=0))), max=tuple(map(float, flat.max(axis=0))),
                       thumbnail=tuple(map(float, thumb.reshape(-1))))


def case_names(bundle: Bundle) -> list[str]:
    """The self-test's cases: one per direction, ``"<direction>:reference"`` and ``"<direction>:typical"``
    for families with a style."""
    if bundle.style is None:
        return [d.id for d in bundle.directions]
    return [f"{d.id}:{kind}" for d in bundle.directions for kind in ("reference", "typical")]


def run_outputs(translator: _Translating, seed: int, height: int, width: int) -> dict[str, OutputStats]:
    """Translate the self-test input in every case (see :func:`case_names`); case -> digest of the output."""
    image, reference = self_test_images(seed, height, width)
    styles = {"reference": ReferenceStyle(reference), "typical": TypicalStyle()}
    digests = {}
    for case in case_names(translator.bundle):
        direction, _, kind = case.partition(":")
        result = translator.translate(image, direction, style=styles.get(kind), mode="fit")
        digests[case] = output_stats(result.image)
    return digests


def read_self_test(bundle: Bundle) -> SelfTest | None:
    """The bundle's recorded self-test, or None for bundles exported before it existed."""
    obj = bundle.manifest.get(FIELD)
    if obj is None:
        return None
    try:
        return _parse(obj, set(case_names(bundle)))
    except ValueError as exc:
        raise BundleError(f"{bundle.source}: manifest field {FIELD}: {exc}") from None


def _int(obj: dict, key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{key} must be a whole number from {low} to {high}")
    return value


def _parse(obj: Any, cases: set[str]) -> SelfTest:
    if not isinstance(obj, dict):
        raise ValueError("must be an object")
    seed = _int(obj, "seed", 0, 2**32 - 1)
    height, width = _int(obj, "height", 1, MAX_MODEL_PIXELS), _int(obj, "width", 1, MAX_MODEL_PIXELS)
    if height * width > MAX_MODEL_PIXELS:
        raise ValueError(f"a {height}x{width} input is above {MAX_MODEL_PIXELS} pixels")
    by_precision = obj.get("precisions")
    if not isinstance(by_precision, dict) or "fp32" not in by_precision \
            or not set(by_precision) <= set(PRECISIONS):
        raise ValueError(f"precisions must be an object with fp32 and any of {', '.join(PRECISIONS[1:])}")
    precisions = {}
    for precision, entry in by_precision.items():
        ctx = f"precisions.{precision}"
        tolerance = entry.get("tolerance") if isinstance(entry, dict) else None
        if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool) \
                or not (math.isfinite(tolerance) and 0 < tolerance <= 255):
            raise ValueError(f"{ctx}.tolerance must be a number above 0 and at most 255")
        outputs = entry.get("outputs")
        if not isinstance(outputs, dict) or set(outputs) != cases:
            raise ValueError(f"{ctx}.outputs must hold one digest for each of {', '.join(sorted(cases))}")
        precisions[precision] = Expected(float(tolerance), {d: OutputStats.from_manifest(v, f"{ctx}.outputs.{d}")
                                                            for d, v in outputs.items()})
    return SelfTest(seed=seed, height=height, width=width, precisions=precisions)


def check_self_test(translator: _Translating) -> str:
    """Run the recorded self-test for the translator's precision; a line saying how it went.

    Raises :class:`BundleError` (one line) when an output deviates beyond the tolerance.
    """
    bundle = translator.bundle
    test = read_self_test(bundle)
    if test is None:
        return "no self-test recorded"
    if translator.precision in test.precisions:
        precision = translator.precision
        expected = test.precisions[precision]
    else:  # "mixed" (a variant fell back to fp32) or a variant recorded without a self-test
        precision = "fp32"
        expected = Expected(max(e.tolerance for e in test.precisions.values()), test.precisions["fp32"].outputs)
    got = run_outputs(translator, test.seed, test.height, test.width)
    worst = 0.0
    for case, stats in got.items():
        deviation = stats.deviation(expected.outputs[case])
        if deviation > expected.tolerance:
            raise BundleError(f"{bundle.source}: self-test failed for {case} ({translator.precision}): the "
                              f"output is {deviation:.1f} levels from what was recorded at export "
                              f"(tolerance {expected.tolerance:.1f}); the graphs or arrays were changed or damaged")
        worst = max(worst, deviation)
    against = "" if precision == translator.precision else f" against {precision}"
    return f"self-test passed ({translator.precision}{against}: deviation {worst:.2f}, " \
           f"tolerance {expected.tolerance:.2f})"
