"""Corrupt, odd and hostile image files are refused with a one-line reason; valid odd files still decode."""
from __future__ import annotations

import io
import os
import socket
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i_common.images import ImageReadError, read_image


@pytest.fixture(scope="module")
def cat_jpeg(shared_data) -> bytes:
    return sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0].read_bytes()


def pillow_bytes(image: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def read_image_bytes(tmp_path: Path, data: bytes, name: str = "plain.jpg") -> np.ndarray:
    (tmp_path / name).write_bytes(data)
    return read_image(tmp_path / name)


def refused(path: Path, match: str) -> str:
    with pytest.raises(ImageReadError, match=match) as info:
        read_image(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_jpeg_truncated_and_given_its_end_marker_back_is_refused(tmp_path, cat_jpeg, fraction):
    """libjpeg only warns "Corrupt JPEG data: premature end of data segment" and fills the rest with gray."""
    (tmp_path / "cut.jpg").write_bytes(cat_jpeg[: int(len(cat_jpeg) * fraction)] + b"\xff\xd9")
    refused(tmp_path / "cut.jpg", "corrupt JPEG.*premature end of data segment")


def test_jpeg_with_garbage_in_its_entropy_data_is_refused(tmp_path, cat_jpeg):
    start = cat_jpeg.index(b"\xff\xda")  # start of scan: what follows is the compressed picture
    middle = (start + len(cat_jpeg)) // 2
    spliced = cat_jpeg[:middle] + cat_jpeg[middle + 700:]  # a lost block of data: the decoder falls out of step
    (tmp_path / "spliced.jpg").write_bytes(spliced)
    refused(tmp_path / "spliced.jpg", "corrupt JPEG")


def test_jpeg_with_data_after_its_end_marker_still_decodes(tmp_path, cat_jpeg):
    """Cameras and editors append data after the end of image; the picture itself is complete."""
    (tmp_path / "trailer.jpg").write_bytes(cat_jpeg + b"appended thumbnail or metadata" * 4)
    assert np.array_equal(read_image(tmp_path / "trailer.jpg"), read_image_bytes(tmp_path, cat_jpeg))


def test_png_with_a_bad_checksum_or_cut_data_is_refused(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    png = pillow_bytes(pixels, "PNG")
    idat = png.index(b"IDAT")
    flipped = bytearray(png)
    flipped[idat + 20] ^= 0x10
    (tmp_path / "crc.png").write_bytes(bytes(flipped))
    refused(tmp_path / "crc.png", "cannot be decoded")
    (tmp_path / "cut.png").write_bytes(png[: idat + 200])
    refused(tmp_path / "cut.png", "cannot be decoded")


@pytest.mark.parametrize("fmt, options", [("WEBP", {"quality": 90}), ("WEBP", {"lossless": True}),
                                          ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"}),
                                          ("TIFF", {"compression": "tiff_adobe_deflate"}), ("BMP", {})])
def test_truncated_webp_tiff_and_bmp_are_refused(tmp_path, fmt, options):
    pixels = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    data = pillow_bytes(pixels, fmt, **options)
    assert np.array_equal(read_image_bytes(tmp_path, data, "whole.img").shape, pixels.shape)
    for fraction in (0.2, 0.5, 0.9):
        (tmp_path / "cut.img").write_bytes(data[: int(len(data) * fraction)])
        refused(tmp_path / "cut.img", "cannot be decoded|not an image")


def test_a_png_named_jpg_still_decodes(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 255, (9, 11, 3), dtype=np.uint8)
    assert np.array_equal(read_image_bytes(tmp_path, pillow_bytes(pixels, "PNG"), "really_a_png.jpg"), pixels)


def test_zero_size_images_are_refused(tmp_path):
    png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0))
           + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))
    (tmp_path / "empty.png").write_bytes(png)
    refused(tmp_path / "empty.png", "no pixels|not an image")
    bmp = bytearray(pillow_bytes(np.zeros((4, 4, 3), np.uint8), "BMP"))
    bmp[22:26] = struct.pack("<i", 0)  # height 0
    (tmp_path / "flat.bmp").write_bytes(bytes(bmp))
    refused(tmp_path / "flat.bmp", "no pixels|not an image")


def huge_headers() -> dict[str, bytes]:
    """Headers that declare 16000 x 16000 (or more) pixels followed by almost no data."""
    bmp = b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 60000, 60000, 1, 24,
                                                                   0, 0, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
           + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + png_chunk(b"IEND", b""))
    small = np.zeros((16, 16, 3), np.uint8)
    webp = bytearray(pillow_bytes(small, "WEBP", lossless=True))
    assert webp[12:16] == b"VP8L"  # 14-bit width-1 and height-1 after the signature byte
    webp[21:25] = struct.pack("<I", (16383 | 16383 << 14) | (struct.unpack("<I", bytes(webp[21:25]))[0] & ~0xFFFFFFF))
    tiff = bytearray(pillow_bytes(small, "TIFF"))
    ifd = struct.unpack("<I", tiff[4:8])[0]
    for entry in range(struct.unpack("<H", tiff[ifd:ifd + 2])[0]):
        at = ifd + 2 + 12 * entry
        tag, kind = struct.unpack("<HH", tiff[at:at + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            tiff[at + 8:at + 12] = struct.pack("<HH", 60000, 0) if kind == 3 else struct.pack("<I", 60000)
    jpeg = bytearray(pillow_bytes(small, "JPEG"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    return {"bomb.bmp": bmp, "bomb.png": png, "bomb.webp": bytes(webp), "bomb.tif": bytes(tiff),
            "bomb.jpg": bytes(jpeg)}


@pytest.mark.parametrize("name", sorted(huge_headers()))
def test_huge_declared_sizes_are_refused_before_decoding(tmp_path, name):
    (tmp_path / name).write_bytes(huge_headers()[name])
    refused(tmp_path / name, "too large")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_a_small_limit_is_checked_from_the_header(tmp_path, fmt):
    """The limit is checked before decoding: a file cut after its header gives "too large", not "truncated"."""
    data = pillow_bytes(np.zeros((100, 100, 3), np.uint8), fmt)
    (tmp_path / "big.img").write_bytes(data[: data.index(b"\xff\xda") + 20 if fmt == "JPEG" else 60])
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "big.img", max_pixels=5000)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_named_jpg_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "camera.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []
    reader = threading.Thread(target=lambda: outcome.append(_call(read_image, fifo)), daemon=True)
    reader.start()
    reader.join(30)  # a safety net: the broken reader blocks in open() for ever
    if reader.is_alive():  # release it so the test run can go on, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
    assert outcome and isinstance(outcome[0], ImageReadError), outcome
    assert "not an image file (a named pipe)" in str(outcome[0])


def _call(function, *args):
    try:
        return function(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread to inspect
        return exc


def test_folders_devices_and_sockets_are_refused(tmp_path):
    (tmp_path / "folder.jpg").mkdir()
    refused(tmp_path / "folder.jpg", r"not an image file \(a folder\)")
    if os.path.exists("/dev/zero"):
        refused(Path("/dev/zero"), r"not an image file \(a device\)")
    if hasattr(socket, "AF_UNIX"):
        path = tmp_path / "s.jpg"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            refused(path, r"not an image file \(a socket\)")


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_a_symlink_to_an_image_is_read(tmp_path, cat_jpeg):
    (tmp_path / "real.jpg").write_bytes(cat_jpeg)
    (tmp_path / "link.jpg").symlink_to(tmp_path / "real.jpg")
    assert np.array_equal(read_image(tmp_path / "link.jpg"), read_image(tmp_path / "real.jpg"))
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "absent.jpg")
    refused(tmp_path / "dangling.jpg", "cannot be read")


def test_other_formats_pillow_knows_are_not_opened(tmp_path):
    """Only the app's formats are parsed: an EPS (which Pillow would hand to Ghostscript) named .jpg is refused."""
    (tmp_path / "drawing.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    refused(tmp_path / "drawing.jpg", "not an image")
    gif = pillow_bytes(np.zeros((4, 4), np.uint8), "GIF")
    (tmp_path / "anim.png").write_bytes(gif)
    refused(tmp_path / "anim.png", "not an image")
