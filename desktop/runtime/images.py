"""Read any image file robustly as uint8 RGB(A); write images atomically.

Reading goes through bytes (``np.fromfile`` + ``cv2.imdecode``) so non-ASCII paths work on every
platform. Grayscale, gray+alpha, 16-bit and float images are converted; alpha is kept as a 4th channel.
Truncated JPEGs (no end-of-image marker), decompression bombs, oversized images and files that are
not images raise :class:`ImageReadError` with a one-line reason instead of giving a broken picture.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from i2i_common.atomic import write_bytes

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
DEFAULT_MAX_PIXELS = 80_000_000  # about 9000 x 9000: far above anything a translation model needs
JPEG_QUALITY = 95


class ImageReadError(Exception):
    """An input image cannot be used; the message names the file and the reason."""


class ImageWriteError(Exception):
    """An output image could not be written; nothing was left behind."""


def _header_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, read without decoding; None if unknown."""
    head = data[:32].tobytes()
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"\xff\xd8"):
        raw = data.tobytes()
        i = 2
        while i + 9 < len(raw):
            if raw[i] != 0xFF:
                return None
            marker = raw[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", raw[i + 5:i + 9])
                return width, height
            i += 2 + struct.unpack(">H", raw[i + 2:i + 4])[0]
    return None


def _is_truncated_jpeg(data: np.ndarray) -> bool:
    raw = data[-64:].tobytes().rstrip(b"\x00")
    return not raw.endswith(b"\xff\xd9")


def _to_uint8(image: np.ndarray, path: Path) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ImageReadError(f"{path}: unsupported pixel type {image.dtype}")


def _to_rgb(image: np.ndarray, path: Path) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # gray + alpha
        rgb = cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
        return np.dstack([rgb, image[:, :, 1]])
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    raise ImageReadError(f"{path}: unsupported number of channels ({channels})")


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as uint8 ``HxWx3`` RGB, or ``HxWx4`` RGBA when it has an alpha channel.

    JPEG EXIF orientation is applied. Raises :class:`ImageReadError` for anything unusable.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{path}: the file is empty")
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    size = _header_size(data)
    if size and size[0] * size[1] > max_pixels:
        raise ImageReadError(f"{path}: image is too large ({size[0]}x{size[1]} pixels, limit {max_pixels:,})")
    if is_jpeg and _is_truncated_jpeg(data):
        raise ImageReadError(f"{path}: truncated JPEG (the file ends before the image does)")
    try:
        # IMREAD_COLOR applies the EXIF orientation; JPEG has no alpha or 16-bit to keep.
        image = cv2.imdecode(data, cv2.IMREAD_COLOR if is_jpeg else cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        detail = (str(exc).strip().splitlines() or ["decoder error"])[-1].split("error: ")[-1].strip()
        raise ImageReadError(f"{path}: the image cannot be decoded (too large or corrupt: {detail})") from None
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not an image, or a format OpenCV cannot read")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageReadError(f"{path}: image is too large ({image.shape[1]}x{image.shape[0]} pixels, "
                             f"limit {max_pixels:,})")
    return np.ascontiguousarray(_to_rgb(_to_uint8(image, path), path))


def is_image_path(path: str | os.PathLike) -> bool:
    """True if the file name has an image extension this module reads."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def encode_image(image: np.ndarray, suffix: str) -> bytes:
    """Encode uint8 RGB/RGBA (or gray) as the format of ``suffix``; alpha is dropped for JPEG."""
    suffix = suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise ImageWriteError(f"cannot write {suffix or 'files without an extension'} "
                              f"(use one of {', '.join(sorted(IMAGE_EXTENSIONS))})")
    if image.ndim == 3 and image.shape[2] == 4:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA) if suffix not in (".jpg", ".jpeg") \
            else cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
    elif image.ndim == 3:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    else:
        bgr = image
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(suffix, np.ascontiguousarray(bgr), params)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode the image as {suffix}")
    return buf.tobytes()


def write_image(path: str | os.PathLike, image: np.ndarray, overwrite: bool = False) -> Path:
    """Write ``image`` (uint8 RGB/RGBA) to ``path`` atomically (:mod:`i2i_common.atomic`, honouring the
    umask). An existing file is kept unless ``overwrite``. Raises :class:`ImageWriteError`."""
    path = Path(path)
    data = encode_image(image, path.suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where the folder should be, a read-only place
        raise ImageWriteError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    try:
        write_bytes(path, data, overwrite=overwrite)
    except FileExistsError:
        raise ImageWriteError(f"{path}: already exists (use overwrite to replace it)") from None
    except OSError as exc:
        raise ImageWriteError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path
