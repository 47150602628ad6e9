"""The results grid: one row per input, the input then its translations, both directions stacked."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from evaluation.data import resize_square
from i2i_common.images import write_image

GAP = 4
LABEL_HEIGHT = 22
BACKGROUND = 255


def _label(text: str, width: int) -> np.ndarray:
    strip = np.full((LABEL_HEIGHT, width, 3), BACKGROUND, np.uint8)
    cv2.putText(strip, text, (4, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def make_grid(sections: list[tuple[str, list[list[np.ndarray]]]], tile: int = 128) -> np.ndarray:
    """``sections``: (title, rows) per direction; each row is [input, output 1, output 2, ...] as uint8
    RGB images. Returns one uint8 RGB image: each section is its title strip then its rows."""
    columns = max(len(row) for _, rows in sections for row in rows)
    width = columns * tile + (columns + 1) * GAP
    parts = []
    for title, rows in sections:
        parts.append(_label(title, width))
        for row in rows:
            line = np.full((tile + GAP, width, 3), BACKGROUND, np.uint8)
            for col, image in enumerate(row):
                x = GAP + col * (tile + GAP)
                line[GAP:, x:x + tile] = resize_square(image[:, :, :3], tile)
            parts.append(line)
        parts.append(np.full((GAP, width, 3), BACKGROUND, np.uint8))
    return np.concatenate(parts)


def write_grid(path: Path, sections: list[tuple[str, list[list[np.ndarray]]]], tile: int = 128) -> Path:
    """Build the grid and write it atomically as a PNG (replacing an earlier one)."""
    return write_image(path, make_grid(sections, tile), overwrite=True)
