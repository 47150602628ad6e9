"""The evaluation data folder: ``trainA/trainB`` (classifier training) and ``testA/testB`` (held out).

Images are read with the app's own reader (``desktop.runtime.images``), so the evaluation sees files
exactly as the app does; stray non-image files are ignored and unreadable images are skipped with a
one-line warning instead of stopping the run.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from desktop.runtime.images import ImageReadError, is_image_path, read_image

log = logging.getLogger(__name__)

SPLITS = ("trainA", "trainB", "testA", "testB")


class EvalDataError(Exception):
    """The data folder cannot be used for evaluation; the message says why."""


@dataclass(frozen=True)
class DomainFolders:
    """The image files of one dataset in the unpaired A/B layout, sorted by name."""

    root: Path
    files: dict[str, list[Path]]  # split name -> image files

    def fingerprint(self, splits: tuple[str, ...]) -> str:
        """sha256 over the dataset path and the names and sizes of the files in ``splits``."""
        digest = hashlib.sha256(str(self.root.resolve()).encode("utf-8"))
        for split in splits:
            for path in self.files[split]:
                digest.update(f"{split}/{path.name}:{path.stat().st_size}\n".encode("utf-8"))
        return digest.hexdigest()


def open_data(root: str | Path) -> DomainFolders:
    """Find the four splits under ``root``; raise :class:`EvalDataError` if any is missing or empty."""
    root = Path(root)
    if not root.is_dir():
        raise EvalDataError(f"data folder not found: {root}")
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise EvalDataError(f"{root}: missing sub-folder {', '.join(missing)} (expected trainA, trainB, testA, testB)")
    files = {split: sorted(p for p in (root / split).iterdir() if p.is_file() and is_image_path(p))
             for split in SPLITS}
    empty = [split for split in SPLITS if not files[split]]
    if empty:
        raise EvalDataError(f"{root / empty[0]}: no images")
    return DomainFolders(root, files)


def read_rgb(path: Path) -> np.ndarray | None:
    """The image as uint8 RGB (alpha dropped), or None (logged) when the file cannot be read."""
    try:
        image = read_image(path)
    except ImageReadError as exc:
        log.warning("skipped %s", exc)
        return None
    return np.ascontiguousarray(image[:, :, :3])


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop, then area resize to ``size`` x ``size``."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def load_stack(paths: list[Path], size: int) -> np.ndarray:
    """Readable images among ``paths`` as one uint8 array [N, size, size, 3]."""
    images = [resize_square(image, size) for image in map(read_rgb, paths) if image is not None]
    if not images:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack(images)
