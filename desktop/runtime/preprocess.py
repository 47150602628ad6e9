"""Image <-> model tensor: sizing ("fit" / "native"), normalisation, and alpha kept aside.

"fit" resizes to the model's training size (or its fixed size); "native" keeps the input's resolution,
rounded to the sizes the graph accepts (fully convolutional graphs), scaled down only if it exceeds the
graph's maximum. Outputs are always mapped back to the input's size, with its alpha channel restored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

if TYPE_CHECKING:  # only for annotations: the bundle package imports this module
    from .bundle.model import ImageSpec


Mode = Literal["fit", "native"]
MODES = ("fit", "native")


@dataclass(frozen=True)
class Prepared:
    """A model input and what is needed to turn the model's output back into a picture."""

    tensor: np.ndarray  # float32 [1, 3, h, w]
    size: tuple[int, int]  # the input's (height, width)
    alpha: np.ndarray | None  # the input's alpha channel (uint8 HxW), restored on output


def _round_to(value: float, multiple: int, low: int, high: int) -> int:
    rounded = int(round(value / multiple)) * multiple
    lowest = -(-low // multiple) * multiple
    highest = high // multiple * multiple
    return max(lowest, min(highest, max(multiple, rounded)))


def model_size(spec: ImageSpec, height: int, width: int, mode: Mode = "fit") -> tuple[int, int]:
    """(height, width) the graph is fed for an input of ``height x width`` in ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (fit or native)")
    sizes = spec.sizes
    if sizes.kind == "fixed":
        assert sizes.height is not None and sizes.width is not None  # the manifest parser requires both
        return sizes.height, sizes.width
    if mode == "fit":
        side = _round_to(spec.train_size, sizes.multiple, sizes.min, sizes.max)
        return side, side
    scale = min(1.0, sizes.max / max(height, width))
    return (_round_to(height * scale, sizes.multiple, sizes.min, sizes.max),
            _round_to(width * scale, sizes.multiple, sizes.min, sizes.max))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize with area averaging when shrinking and bicubic interpolation when growing."""
    if image.shape[:2] == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def to_tensor(image: np.ndarray, spec: ImageSpec, mode: Mode = "fit") -> Prepared:
    """uint8 RGB/RGBA ``HxWxC`` -> normalised float32 ``[1, 3, h, w]`` for the graph."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError("expected a uint8 HxWx3 (RGB) or HxWx4 (RGBA) image")
    height, width = image.shape[:2]
    alpha = image[:, :, 3].copy() if image.shape[2] == 4 else None
    rgb = image[:, :, :3]
    if spec.channel_order == "BGR":
        rgb = rgb[:, :, ::-1]
    h, w = model_size(spec, height, width, mode)
    scaled = resize(np.ascontiguousarray(rgb), h, w).astype(np.float32) / 255.0
    x = (scaled - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return Prepared(tensor=np.ascontiguousarray(x.transpose(2, 0, 1)[None]), size=(height, width), alpha=alpha)


def from_tensor(tensor: np.ndarray, spec: ImageSpec, prepared: Prepared) -> np.ndarray:
    """A graph's output ``[1, 3, h, w]`` (or ``[3, h, w]``) -> uint8 image at the input's size, with the
    input's alpha channel put back."""
    x = tensor[0] if tensor.ndim == 4 else tensor
    x = x.transpose(1, 2, 0) * np.asarray(spec.std, np.float32) + np.asarray(spec.mean, np.float32)
    rgb = (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if spec.channel_order == "BGR":
        rgb = rgb[:, :, ::-1]
    rgb = resize(np.ascontiguousarray(rgb), *prepared.size)
    if prepared.alpha is not None:
        return np.dstack([rgb, prepared.alpha])
    return rgb


def heatmap_to_image_size(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A raw attention map (any leading singleton axes) -> float32 ``HxW`` in [0, 1] at ``size``."""
    m = np.asarray(heatmap, np.float32).reshape(heatmap.shape[-2:])
    low, high = float(m.min()), float(m.max())
    m = (m - low) / (high - low) if high > low else np.zeros_like(m)
    return cv2.resize(m, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
