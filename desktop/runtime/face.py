"""Face mode: find the face, translate only a square crop around it, paste it back with a soft edge.

Detection uses the Haar cascades that ship inside opencv-python 4.x (``cv2.data.haarcascades``):
the frontal human face and the frontal cat face. When nothing is found the centre square is used,
so face mode always produces an output.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import cv2.data
import numpy as np

CASCADES = {
    "human": "haarcascade_frontalface_default.xml",
    "cat": "haarcascade_frontalcatface.xml",
}


@dataclass(frozen=True)
class Box:
    """An axis-aligned pixel box: ``x, y`` top-left corner, ``w, h`` size."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True)
class FaceResult:
    """What face mode did to one frame."""

    image: np.ndarray  # the full frame with the translated crop pasted in
    crop_box: Box  # the square region that was translated
    face: Box | None  # the detected face, None when the centre crop was used


class FaceDetector:
    """Largest-face detector on one of OpenCV's bundled Haar cascades (``"human"`` or ``"cat"``)."""

    def __init__(self, kind: str = "human", min_size: int = 32) -> None:
        if kind not in CASCADES:
            raise ValueError(f"unknown face kind {kind!r}; choose one of {sorted(CASCADES)}")
        path = Path(cv2.data.haarcascades) / CASCADES[kind]
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV could not load its bundled cascade {path.name}")
        self.kind = kind
        self.min_size = min_size

    def detect(self, rgb: np.ndarray) -> Box | None:
        """The largest face in an RGB(A) uint8 image, or None."""
        gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
        gray = cv2.equalizeHist(gray)
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=3, minSize=(self.min_size, self.min_size)
        )
        if len(found) == 0:
            return None
        x, y, w, h = max(found, key=lambda b: int(b[2]) * int(b[3]))
        return Box(int(x), int(y), int(w), int(h))


def square_around(face: Box, height: int, width: int, margin: float = 0.35) -> Box:
    """A square containing ``face`` grown by ``margin`` of its size on each side, kept inside the image."""
    side = int(round(max(face.w, face.h) * (1 + 2 * margin)))
    side = max(1, min(side, height, width))
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    x = int(round(min(max(cx - side / 2, 0), width - side)))
    y = int(round(min(max(cy - side / 2, 0), height - side)))
    return Box(x, y, side, side)


def centre_square(height: int, width: int) -> Box:
    """The largest centred square of an image."""
    side = min(height, width)
    return Box((width - side) // 2, (height - side) // 2, side, side)


def feather_mask(side: int, feather: float = 0.12) -> np.ndarray:
    """A float32 ``side x side`` mask, 1 in the middle, falling smoothly to 0 at the border."""
    ramp = max(1, int(round(side * feather)))
    edge = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32)
    profile = np.clip((edge + 0.5) / ramp, 0.0, 1.0)
    profile = profile * profile * (3 - 2 * profile)  # smoothstep: no visible seam
    return np.outer(profile, profile)


def paste_feathered(frame: np.ndarray, patch: np.ndarray, box: Box, feather: float = 0.12) -> np.ndarray:
    """A copy of ``frame`` with ``patch`` (box-sized) blended in through a feathered mask."""
    out = frame.copy()
    region = out[box.y : box.y + box.h, box.x : box.x + box.w]
    channels = region.shape[2]
    mask = feather_mask(box.w, feather)[..., None]
    blended = patch[..., :channels].astype(np.float32) * mask + region.astype(np.float32) * (1 - mask)
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out


def translate_face(
    frame: np.ndarray,
    translate: Callable[[np.ndarray], np.ndarray],
    detector: FaceDetector | None,
    margin: float = 0.35,
) -> FaceResult:
    """Translate the face region of ``frame`` with ``translate`` (crop in, same-size crop out)."""
    height, width = frame.shape[:2]
    face = detector.detect(frame) if detector is not None else None
    box = square_around(face, height, width, margin) if face else centre_square(height, width)
    crop = np.ascontiguousarray(frame[box.y : box.y + box.h, box.x : box.x + box.w])
    patch = translate(crop)
    if patch.shape[:2] != crop.shape[:2]:
        patch = cv2.resize(patch, (box.w, box.h), interpolation=cv2.INTER_AREA)
    return FaceResult(paste_feathered(frame, patch, box), box, face)
