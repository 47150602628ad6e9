"""The evaluation data: training images (for the classifier) and held-out test images of two domains.

Folders are found as the trainer finds them (``i2i_common.datasets``). Images are read with the app's
own reader (``i2i_common.images``), so the evaluation sees files exactly as the app does; stray
non-image files are ignored and unreadable images are skipped with a one-line warning.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from i2i_common.datasets import DatasetError, find_layout
from i2i_common.images import ImageReadError, read_image

log = logging.getLogger(__name__)

SPLITS = ("trainA", "trainB", "testA", "testB")


class EvalDataError(Exception):
    """The data folder cannot be used for evaluation; the message says why."""


@dataclass(frozen=True)
class DomainFolders:
    """The image files of a two-domain dataset, sorted, under the A/B split names (A = first domain)."""

    root: Path
    kind: str                      # the layout: "ab" (trainA/...) or "afhq" (train/<class>/...)
    files: dict[str, list[Path]]   # split name -> image files

    def fingerprint(self, splits: tuple[str, ...]) -> str:
        """sha256 over the dataset path and the paths and sizes of the files in ``splits``."""
        digest = hashlib.sha256(str(self.root.resolve()).encode("utf-8"))
        for split in splits:
            for path in self.files[split]:
                digest.update(f"{split}/{path.relative_to(self.root).as_posix()}:{path.stat().st_size}\n"
                              .encode())
        return digest.hexdigest()


def open_data(root: str | Path, domain_names: Sequence[str] = ()) -> DomainFolders:
    """The dataset at ``root`` in either layout the trainer reads (``i2i_common.datasets``):
    ``trainA/trainB/testA/testB``, or AFHQ ``train/<class>/`` + ``val/<class>/`` with the classes picked
    by ``domain_names`` (the bundle's domain names). Raises :class:`EvalDataError` if a split is empty."""
    try:
        layout = find_layout(root, domain_names)
    except DatasetError as exc:
        raise EvalDataError(str(exc)) from None
    if len(layout.domains) != 2:
        raise EvalDataError(f"{layout.root}: no trainA/trainB/testA/testB or AFHQ train/<class>/ and "
                            "val/<class>/ folders")
    files = {}
    for split, domain in zip(SPLITS, [*layout.domains, *layout.domains]):
        files[split] = list(domain.train if split.startswith("train") else domain.test)
        if not files[split]:
            where = split if layout.kind == "ab" else f"{split[:-1]}/{domain.name}"
            raise EvalDataError(f"{layout.root}: no images in {where} (expected trainA, trainB, testA, testB "
                                "or AFHQ train/<class>/ and val/<class>/)")
    return DomainFolders(layout.root, layout.kind, files)


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
