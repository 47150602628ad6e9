"""TUNIT's second view of an image, as torch tensor ops driven by a numpy generator (deterministic per seed).

The official pipeline (torchvision) is RandomAffine(20 degrees, translate 0.1, shear 10), RandomResizedCrop(scale
0.9-1.1, ratio 0.9-1.1), ColorJitter(0.4, 0.4, 0.4, 0.125), RandomHorizontalFlip. Here the affine and the crop
are one resampling (bilinear, black outside the image); the crop's sides are capped at the image's (torchvision
retries such draws and falls back to the whole image); the hue shift is a rotation of the chroma plane in YIQ.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

ROTATION_DEG = 20.0
TRANSLATE = 0.1
SHEAR_DEG = 10.0
CROP_SCALE = (0.9, 1.1)
CROP_RATIO = (0.9, 1.1)
JITTER = 0.4      # brightness, contrast and saturation factors in [1 - JITTER, 1 + JITTER]
HUE = 0.125       # hue shift in [-HUE, HUE] turns
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_GREY = torch.tensor([0.299, 0.587, 0.114])


def _sampling_grid(rng: np.random.Generator, height: int, width: int) -> torch.Tensor:
    """Where each output pixel reads the source, [1, H, W, 2] in normalised coordinates: a crop of the affine
    image (rotation and shear about the centre, then a translation), mapped back through the inverse affine."""
    angle = math.radians(rng.uniform(-ROTATION_DEG, ROTATION_DEG))
    shift = rng.uniform(-TRANSLATE, TRANSLATE, size=2) * 2  # a fraction of the side; normalised sides are 2 long
    shear = math.radians(rng.uniform(-SHEAR_DEG, SHEAR_DEG))
    area = rng.uniform(*CROP_SCALE)
    ratio = math.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
    crop_w, crop_h = min(1.0, math.sqrt(area * ratio)), min(1.0, math.sqrt(area / ratio))
    centre = np.array([rng.uniform(crop_w - 1, 1 - crop_w), rng.uniform(crop_h - 1, 1 - crop_h)])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    forward = rotation @ np.array([[1.0, math.tan(shear)], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height, dtype=torch.float64),
                            torch.linspace(-1, 1, width, dtype=torch.float64), indexing="ij")
    points = torch.stack([xs * crop_w + centre[0], ys * crop_h + centre[1]], dim=-1) - torch.from_numpy(shift)
    source = points @ torch.from_numpy(inverse).T
    return source.float()[None]


def _blend(x: torch.Tensor, other: torch.Tensor, factor: float) -> torch.Tensor:
    return (other + factor * (x - other)).clamp(0, 1)


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (x * _GREY[:, None, None]).sum(0, keepdim=True)


def _hue(x: torch.Tensor, turns: float) -> torch.Tensor:
    yiq = torch.einsum("ij,jhw->ihw", _RGB_TO_YIQ, x)
    c, s = math.cos(2 * math.pi * turns), math.sin(2 * math.pi * turns)
    i, q = yiq[1] * c - yiq[2] * s, yiq[1] * s + yiq[2] * c
    rgb = torch.einsum("ij,jhw->ihw", torch.linalg.inv(_RGB_TO_YIQ), torch.stack([yiq[0], i, q]))
    return rgb.clamp(0, 1)


def colour_jitter(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation and hue of ``x`` ([3, H, W] in [0, 1]) changed in a random order."""
    factors = rng.uniform(1 - JITTER, 1 + JITTER, size=3)
    turns = rng.uniform(-HUE, HUE)
    for op in rng.permutation(4):
        if op == 0:
            x = (x * factors[0]).clamp(0, 1)
        elif op == 1:
            x = _blend(x, _grey(x).mean(), factors[1])
        elif op == 2:
            x = _blend(x, _grey(x).expand_as(x), factors[2])
        else:
            x = _hue(x, turns)
    return x


def second_view(image: torch.Tensor, rng: np.random.Generator, grayscale: float = 0.0) -> torch.Tensor:
    """TUNIT's augmented view of ``image`` ([3, H, W] in [-1, 1], same shape out): affine + resized crop,
    colour jitter, then (not official) grey with probability ``grayscale``, horizontal flip with p=0.5; every
    random number drawn from ``rng`` (none for the grey step when ``grayscale`` is 0, so official views are
    unchanged)."""
    grid = _sampling_grid(rng, image.shape[1], image.shape[2])
    x = F.grid_sample((image[None] + 1) / 2, grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]
    x = colour_jitter(x, rng)
    if grayscale > 0 and rng.random() < grayscale:
        x = _grey(x).expand_as(x)
    if rng.random() < 0.5:
        x = x.flip(2)
    return x * 2 - 1
