"""The style-mixing canvas: style codes placed at 2D positions, blended by where the user drags a handle.

Weights are normalised inverse-distance weights (exactly one anchor's code when the handle sits on it).
The preview re-runs only the decoder on the content code cached for the current image, so dragging
is cheap. The path between two anchors can be exported as an animated GIF or an MP4 strip.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from i2i_common.atomic import atomic_path

from .recorder import VideoRecorder
from .style import ExplicitStyle, RandomStyle, ReferenceStyle, interpolate, mix_codes

# A handle this close (in canvas units) to an anchor takes that anchor's code exactly.
SNAP_DISTANCE = 1e-6


@dataclass(frozen=True)
class Anchor:
    """A style code pinned to a canvas position (canvas units are the caller's, e.g. 0..1)."""

    label: str
    code: np.ndarray  # float32 [D]
    position: tuple[float, float]
    kind: str  # "reference", "typical", "random" or "code"


def idw_weights(positions: Sequence[Sequence[float]], handle: Sequence[float], power: float = 2.0) -> np.ndarray:
    """Normalised inverse-distance weights of each anchor for a handle position (sum 1, one-hot on an anchor)."""
    points = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if len(points) == 0:
        raise ValueError("the canvas has no anchors")
    dist = np.linalg.norm(points - np.asarray(handle, dtype=np.float64), axis=1)
    nearest = int(np.argmin(dist))
    if dist[nearest] <= SNAP_DISTANCE:
        weights = np.zeros(len(points))
        weights[nearest] = 1.0
        return weights
    inverse = dist ** -power
    return inverse / inverse.sum()


def _point(position: tuple[float, float]) -> tuple[float, float]:
    return float(position[0]), float(position[1])


class MixCanvas:
    """Anchors, the blended code for a handle, and previews decoded from one cached content code."""

    def __init__(self, translator: Any, direction: str, power: float = 2.0) -> None:
        if not translator.capabilities.styles:
            raise ValueError("this model has no style code to mix")
        self.translator = translator
        self.direction = direction
        self.power = power
        self.anchors: list[Anchor] = []
        self._content: Any = None

    # ---- anchors --------------------------------------------------------------------------------
    def add_code(self, code: np.ndarray, position: tuple[float, float], label: str, kind: str = "code") -> Anchor:
        anchor = Anchor(label, np.asarray(code, dtype=np.float32).copy(), _point(position), kind)
        self.anchors.append(anchor)
        return anchor

    def add_reference(self, image: np.ndarray, position: tuple[float, float], label: str = "reference") -> Anchor:
        """An anchor holding the style encoded from a reference image of the target domain."""
        code = self.translator.style_code(ReferenceStyle(image), self.direction)
        return self.add_code(code, position, label, "reference")

    def add_typical(self, position: tuple[float, float], label: str | None = None) -> Anchor:
        """An anchor holding one of the target domain's typical styles: the first one the canvas does not hold
        yet (MUNIT's presets in turn, most typical first; round again when every one is on the canvas)."""
        codes = self.translator.typical_codes(self.direction)
        held = [a.code for a in self.anchors if a.kind == "typical"]
        free = [i for i, code in enumerate(codes) if not any(np.array_equal(code, h) for h in held)]
        index = free[0] if free else len(held) % len(codes)
        label = label or ("typical" if len(codes) == 1 else f"typical {index + 1}")
        return self.add_code(codes[index], position, label, "typical")

    def add_random(self, seed: int, position: tuple[float, float], label: str | None = None) -> Anchor:
        """An anchor holding a seeded random draw."""
        code = self.translator.style_code(RandomStyle(seed=seed), self.direction)
        return self.add_code(code, position, label or f"random {seed}", "random")

    def move_anchor(self, index: int, position: tuple[float, float]) -> None:
        self.anchors[index] = replace(self.anchors[index], position=_point(position))

    def remove_anchor(self, index: int) -> None:
        del self.anchors[index]

    # ---- blending -------------------------------------------------------------------------------
    def weights(self, handle: tuple[float, float]) -> np.ndarray:
        """Each anchor's weight for this handle position (same order as :attr:`anchors`)."""
        return idw_weights([a.position for a in self.anchors], handle, self.power)

    def code_at(self, handle: tuple[float, float]) -> np.ndarray:
        """The blended style code for this handle position."""
        return np.asarray(mix_codes([a.code for a in self.anchors], self.weights(handle)), dtype=np.float32)

    def style_at(self, handle: tuple[float, float]) -> ExplicitStyle:
        """The blend as a style source Live, File and Batch accept."""
        return ExplicitStyle(self.code_at(handle))

    # ---- previews -------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray, mode: str = "fit") -> None:
        """Encode the content of the preview image once; previews then only run the decoder."""
        self._content = self.translator.encode_content(rgb, self.direction, mode=mode)

    def _decode(self, code: np.ndarray) -> np.ndarray:
        if self._content is None:
            raise RuntimeError("set_image() first: there is no content to decode")
        return self.translator.decode(self._content, np.asarray(code, dtype=np.float32)).image

    def preview(self, handle: tuple[float, float]) -> np.ndarray:
        """The preview image for a handle position."""
        return self._decode(self.code_at(handle))

    def path_frames(self, start: int, end: int, steps: int) -> list[np.ndarray]:
        """Decoded frames along the straight path from anchor ``start`` to anchor ``end``."""
        codes = interpolate(self.anchors[start].code, self.anchors[end].code, steps)
        return [self._decode(code) for code in codes]

    def export_path(self, start: int, end: int, path: str | os.PathLike, steps: int = 24, fps: float = 12.0) -> Path:
        """Write the path between two anchors as an animated GIF (ping-pong loop) or an MP4 strip."""
        path = Path(path)
        frames = self.path_frames(start, end, steps)
        suffix = path.suffix.lower()
        if suffix == ".gif":
            _write_gif(path, frames + frames[-2:0:-1], fps)
        elif suffix == ".mp4":
            with VideoRecorder(path, fps) as recorder:
                for frame in frames:
                    recorder.write(frame)
        else:
            raise ValueError(f"export as .gif or .mp4, not {suffix or 'no extension'}")
        return path


def _write_gif(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """An endlessly looping GIF, written to a temporary file beside ``path`` and renamed into place."""
    images = [Image.fromarray(np.ascontiguousarray(f[..., :3])) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(round(1000 / fps)), loop=0)
