"""Image decoding and augmentation with OpenCV/numpy: short-side resize, crop, flip, [-1, 1] tensors."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from i2i_common.images import read_image


def load_rgb(path: str | Path) -> np.ndarray:
    """uint8 HxWx3 RGB (alpha dropped); raises ``ImageReadError`` for unusable files."""
    return read_image(path)[:, :, :3]


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the shorter side is ``size`` (area filter when shrinking, cubic when enlarging)."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    if scale == 1.0:
        return image
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return cv2.resize(image, new, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred ``size`` x ``size`` window of an HxWx... array (both sides at least ``size``)."""
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def crop_draw(rng: np.random.Generator, height: int, width: int, size: int, flip: bool) -> tuple[int, int, bool]:
    """The random part of the training augmentation: a ``size`` crop's top and left, and whether to flip
    (p=0.5 when ``flip``), drawn in this order from ``rng`` (the JPEG loader and the uint8 cache share it)."""
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return top, left, bool(flip and rng.random() < 0.5)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 RGB -> float32 3xHxW in [-1, 1] ((x / 255 - 0.5) / 0.5)."""
    array = image.astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """float 3xHxW in [-1, 1] -> uint8 HxWx3 RGB."""
    array = (tensor.detach().float().clamp(-1, 1).cpu().numpy().transpose(1, 2, 0) + 1.0) * 127.5
    return (array + 0.5).astype(np.uint8)


def eval_transform(image: np.ndarray, load_size: int, size: int) -> torch.Tensor:
    """Deterministic: resize the short side to ``load_size``, centre-crop ``size`` x ``size``, to [-1, 1]."""
    return to_tensor(centre_crop(resize_short_side(image, load_size), size))


def train_transform(image: np.ndarray, load_size: int, size: int, flip: bool,
                    rng: np.random.Generator) -> torch.Tensor:
    """Random: resize the short side to ``load_size``, random ``size`` crop, horizontal flip with p=0.5."""
    image = resize_short_side(image, load_size)
    top, left, flipped = crop_draw(rng, image.shape[0], image.shape[1], size, flip)
    image = image[top:top + size, left:left + size]
    return to_tensor(image[:, ::-1] if flipped else image)


class ImageTransform(Protocol):
    """A recipe's image pipeline: random ``train`` augmentation and the deterministic ``eval`` transform."""

    def train(self, image: np.ndarray, rng: np.random.Generator) -> torch.Tensor: ...

    def eval(self, image: np.ndarray) -> torch.Tensor: ...


@dataclass(frozen=True)
class ShortSideCrop:
    """MUNIT's pipeline: short side to ``load_size``, a ``size`` crop (random + flip for training, centred
    for eval). Picklable, so DataLoader workers get it under any start method."""

    load_size: int
    size: int
    flip: bool = True

    @classmethod
    def from_config(cls, data_cfg: Mapping[str, Any]) -> ShortSideCrop:
        """From a resolved ``[data]`` table (``load_size``, ``size``, ``flip``)."""
        return cls(int(data_cfg["load_size"]), int(data_cfg["size"]), bool(data_cfg["flip"]))

    def train(self, image: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """:func:`train_transform` with these settings."""
        return train_transform(image, self.load_size, self.size, self.flip, rng)

    def eval(self, image: np.ndarray) -> torch.Tensor:
        """:func:`eval_transform` with these settings."""
        return eval_transform(image, self.load_size, self.size)
