"""Read any image file robustly as uint8 RGB(A); write images atomically.

Reading opens regular files only (a FIFO, device or folder named ``x.jpg`` is refused, never waited on),
reads the bytes (so non-ASCII paths work everywhere), sniffs the header with Pillow restricted to the
formats of :data:`IMAGE_EXTENSIONS` and refuses empty, zero-size or oversized images before decoding.
JPEG is decoded by libjpeg-turbo in strict mode (simplejpeg): a "Corrupt JPEG data" warning, which other
decoders print and then return a damaged picture for, is an error here. The other formats are decoded by
Pillow, which refuses truncated data and bad PNG checksums. The EXIF orientation is applied for every
format. Pixel types: 16-bit is scaled by 1/257, float is taken as 0..1, other integer types (int16, int32,
uint32) are stretched from their minimum to their maximum; gray, palette, CMYK and 1-bit become RGB, and
alpha is kept as a 4th channel. Anything unusable raises :class:`ImageReadError` with a one-line reason.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from i2i_common.atomic import write_bytes

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
DEFAULT_MAX_PIXELS = 80_000_000  # about 9000 x 9000: far above anything a translation model needs
MAX_FILE_BYTES = 1 << 30  # an uncompressed 80-megapixel 16-bit RGBA TIFF is 640 MB
JPEG_QUALITY = 95
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")  # never Pillow's other plugins (EPS runs Ghostscript)
_EXIF_ORIENTATION = 0x0112
_ORIENT = {  # EXIF orientation -> the transform that shows the picture upright (as Pillow's exif_transpose)
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1),
}
_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))

# This module enforces its own pixel limit before decoding; Pillow's warning would only add a second line.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# Pillow's TIFF directory reader (also used for EXIF) warns about malformed tags; unreadable EXIF means "no
# orientation", and the pixels are checked by the decoder, which raises.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")


class ImageReadError(Exception):
    """An input image cannot be used; the message names the file and the reason."""


class ImageWriteError(Exception):
    """An output image could not be written; nothing was left behind."""


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return text or type(exc).__name__


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is ("a named pipe"...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "a special file")


def _read_bytes(path: Path) -> bytes:
    """The whole file; only regular files (or links to them) are opened, and never waited on."""
    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind is None:  # O_NONBLOCK: a FIFO swapped in after the stat cannot block the open
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
            with os.fdopen(fd, "rb") as file:
                info = os.fstat(file.fileno())
                kind = _not_regular(info.st_mode)
                if kind is None:
                    if info.st_size > MAX_FILE_BYTES:
                        raise ImageReadError(f"{path}: the file is too large ({info.st_size:,} bytes, "
                                             f"limit {MAX_FILE_BYTES:,})")
                    return file.read()
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    raise ImageReadError(f"{path}: not an image file ({kind})")


def _stretch(image: np.ndarray) -> np.ndarray:
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return np.zeros(image.shape, np.uint8)
    return ((image.astype(np.float64) - low) * (255.0 / (high - low)) + 0.5).astype(np.uint8)


def _to_uint8(image: np.ndarray, path: Path) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype.kind == "f":
        return (np.clip(np.nan_to_num(image.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.dtype.kind in "iu":
        return _stretch(image)
    raise ImageReadError(f"{path}: unsupported pixel type {image.dtype}")


def _to_rgb(image: np.ndarray, path: Path) -> np.ndarray:
    """OpenCV's gray / gray+alpha / BGR / BGRA as RGB or RGBA."""
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


def _decode_jpeg(data: bytes, image: Image.Image, path: Path) -> np.ndarray:
    """Strict libjpeg-turbo decode: any corrupt-data warning is an error."""
    cmyk = image.mode == "CMYK"
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="CMYK" if cmyk else "RGB", strict=True)
    except ValueError as exc:
        if "Premature end of JPEG file" in str(exc):
            raise ImageReadError(f"{path}: truncated JPEG (the file ends before the image does)") from None
        raise ImageReadError(f"{path}: corrupt JPEG ({_reason(exc)})") from None
    if cmyk:  # valid; Pillow knows Adobe's inverted CMYK
        image.load()
        return np.asarray(image.convert("RGB"))
    return pixels


def _pillow_pixels(image: Image.Image, path: Path) -> np.ndarray:
    """A loaded Pillow image as uint8 RGB or RGBA."""
    if image.mode.startswith("I;16"):
        return _to_rgb(_to_uint8(np.asarray(image).astype(np.uint16), path), path)
    if image.mode in ("I", "F"):
        return _to_rgb(_to_uint8(np.asarray(image), path), path)
    alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if alpha else "RGB"))


def _is_wide_sample_tiff(data: bytes) -> bool:
    """True for a TIFF whose first directory reads and declares signed, float or 32/64-bit samples: the
    valid files Pillow cannot decode (float64, multi-channel int16/int32/float32) and OpenCV can."""
    try:
        directory = TiffImagePlugin.ImageFileDirectory_v2(data[:8])
        stream = io.BytesIO(data)
        stream.seek(directory.next)
        directory.load(stream)
        sample_formats = np.atleast_1d(directory.get(339, 1))
        bits = np.atleast_1d(directory.get(258, 8))
    except Exception:  # noqa: BLE001 - a directory that does not read is a corrupt file, not a wide one
        return False
    return bool(np.isin(sample_formats, (2, 3)).any() or (bits >= 32).any())


def _decode_opencv(data: bytes, path: Path, max_pixels: int) -> np.ndarray:
    """The TIFFs of :func:`_is_wide_sample_tiff`."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        detail = (str(exc).strip().splitlines() or ["decoder error"])[-1].split("error: ")[-1].strip()
        raise ImageReadError(f"{path}: the image cannot be decoded ({detail})") from None
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: the TIFF cannot be decoded (corrupt, or a sample format this app "
                             "does not support)")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageReadError(f"{path}: image is too large ({image.shape[1]}x{image.shape[0]} pixels, "
                             f"limit {max_pixels:,})")
    return _to_rgb(_to_uint8(image, path), path)


def _decode(data: bytes, path: Path, max_pixels: int) -> tuple[np.ndarray, int]:
    """(uint8 RGB/RGBA pixels as stored, EXIF orientation); sizes are checked before any decoding."""
    try:
        image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    except UnidentifiedImageError:
        image = None
    if image is None:
        if _is_wide_sample_tiff(data):
            return _decode_opencv(data, path, max_pixels), 1
        raise ImageReadError(f"{path}: not an image, or a format this app cannot read")
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageReadError(f"{path}: the image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise ImageReadError(f"{path}: image is too large ({width}x{height} pixels, limit {max_pixels:,})")
        if image.format in ("JPEG", "MPO"):
            pixels = _decode_jpeg(data, image, path)
        else:
            image.load()
            pixels = _pillow_pixels(image, path)
        try:
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
        except Exception:  # noqa: BLE001 - unreadable EXIF is no orientation, never a failure
            orientation = 1
    return pixels, orientation


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as uint8 ``HxWx3`` RGB, or ``HxWx4`` RGBA when it has an alpha channel,
    turned upright by its EXIF orientation. Raises :class:`ImageReadError` for anything unusable
    (not a regular file, empty, truncated, corrupt, too large, not one of the supported formats)."""
    path = Path(path)
    data = _read_bytes(path)
    if not data:
        raise ImageReadError(f"{path}: the file is empty")
    try:
        pixels, orientation = _decode(data, path, max_pixels)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(f"{path}: image is too large (limit {max_pixels:,} pixels)") from None
    except Exception as exc:  # noqa: BLE001 - the parsers of untrusted files raise many types
        raise ImageReadError(f"{path}: the image cannot be decoded (corrupt: {_reason(exc)})") from None
    upright = _ORIENT.get(orientation)
    return np.ascontiguousarray(upright(pixels) if upright else pixels)


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
