"""Attention maps as pictures: U-GAT-IT's CAM heatmap ([0, 1], the result's height and width) coloured, laid
over a result, placed back into a whole frame (Live's face mode), and saved beside a result."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from i2i_common.images import write_image

from .face import Box

# name -> OpenCV colour map; the first is the default
COLOUR_MAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO,
               "viridis": cv2.COLORMAP_VIRIDIS}
DEFAULT_COLOUR_MAP = "jet"
DEFAULT_OPACITY = 0.5
SUFFIX = ".attention.png"


def coloured(heatmap: np.ndarray, colour_map: str = DEFAULT_COLOUR_MAP) -> np.ndarray:
    """The heatmap as an RGB uint8 picture in ``colour_map`` (low attention at the map's start, high at its end)."""
    levels = np.round(np.clip(np.nan_to_num(heatmap), 0.0, 1.0) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(levels, COLOUR_MAPS[colour_map]), cv2.COLOR_BGR2RGB)


def overlay(rgb: np.ndarray, heatmap: np.ndarray, opacity: float = DEFAULT_OPACITY,
            colour_map: str = DEFAULT_COLOUR_MAP) -> np.ndarray:
    """``rgb`` (RGB or RGBA uint8; alpha dropped) with the coloured heatmap blended over it at ``opacity``
    (0: the image, 1: the map alone)."""
    if heatmap.shape[:2] != rgb.shape[:2]:
        raise ValueError(f"the heatmap is {heatmap.shape[1]}x{heatmap.shape[0]}, the image "
                         f"{rgb.shape[1]}x{rgb.shape[0]}")
    opacity = min(max(float(opacity), 0.0), 1.0)
    return cv2.addWeighted(np.ascontiguousarray(rgb[..., :3]), 1.0 - opacity, coloured(heatmap, colour_map),
                           opacity, 0.0)


def in_frame(heatmap: np.ndarray, box: Box, height: int, width: int) -> np.ndarray:
    """A ``height x width`` map that is ``heatmap`` (resized to the box) inside ``box`` and 0 elsewhere: the
    attention of a translated crop, placed where the crop was taken."""
    frame = np.zeros((height, width), np.float32)
    frame[box.y:box.y + box.h, box.x:box.x + box.w] = cv2.resize(heatmap.astype(np.float32), (box.w, box.h),
                                                                 interpolation=cv2.INTER_LINEAR)
    return frame


def attention_path(result: Path) -> Path:
    """Where the attention map of the result saved at ``result`` goes: ``<stem>.attention.png`` beside it."""
    return result.with_name(result.stem + SUFFIX)


def save_attention(result: Path, heatmap: np.ndarray, colour_map: str = DEFAULT_COLOUR_MAP,
                   overwrite: bool = False) -> Path:
    """Write the coloured heatmap of the result saved at ``result`` beside it (atomic); its path.

    Raises :class:`i2i_common.images.ImageWriteError` like any image write (existing file, read-only folder)."""
    path = attention_path(result)
    write_image(path, coloured(heatmap, colour_map), overwrite=overwrite)
    return path
