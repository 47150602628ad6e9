"""Reading odd image files and writing atomically, with real files on disk."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from i2i_common.images import IMAGE_EXTENSIONS, ImageReadError, ImageWriteError, is_image_path, read_image, write_image


def encode(image: np.ndarray, suffix: str) -> bytes:
    ok, buf = cv2.imencode(suffix, image)
    assert ok
    return buf.tobytes()


def test_color_jpeg_is_rgb(tmp_path):
    bgr = np.zeros((20, 30, 3), np.uint8)
    bgr[:, :, 2] = 200  # red in OpenCV's BGR order
    (tmp_path / "red.jpg").write_bytes(encode(bgr, ".jpg"))
    rgb = read_image(tmp_path / "red.jpg")
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
    assert rgb[..., 0].mean() > 190 and rgb[..., 2].mean() < 10


def test_gray_png(tmp_path):
    gray = np.tile(np.arange(40, dtype=np.uint8), (10, 1))
    (tmp_path / "g.png").write_bytes(encode(gray, ".png"))
    rgb = read_image(tmp_path / "g.png")
    assert rgb.shape == (10, 40, 3)
    assert np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 1], gray)


def test_alpha_png_keeps_alpha(tmp_path):
    bgra = np.zeros((8, 9, 4), np.uint8)
    bgra[..., 0] = 255  # blue
    bgra[..., 3] = np.arange(9, dtype=np.uint8) * 20
    (tmp_path / "a.png").write_bytes(encode(bgra, ".png"))
    rgba = read_image(tmp_path / "a.png")
    assert rgba.shape == (8, 9, 4)
    assert (rgba[..., 2] == 255).all() and (rgba[..., 0] == 0).all()
    assert np.array_equal(rgba[0, :, 3], np.arange(9) * 20)


def test_gray_alpha_png(tmp_path):
    """OpenCV cannot write 2-channel PNGs: build one by hand (colour type 4)."""
    h, w = 3, 4
    rows = b"".join(b"\0" + bytes([100, 7] * w) for _ in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 4, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    (tmp_path / "ga.png").write_bytes(png)
    rgba = read_image(tmp_path / "ga.png")
    assert rgba.shape == (3, 4, 4)
    assert (rgba[..., :3] == 100).all() and (rgba[..., 3] == 7).all()


def test_16_bit_png(tmp_path):
    img = np.full((5, 6, 3), 65535, np.uint16)
    img[0, 0] = (0, 257 * 128, 65535)
    (tmp_path / "deep.png").write_bytes(encode(img, ".png"))
    rgb = read_image(tmp_path / "deep.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (5, 6, 3)
    assert tuple(rgb[0, 0]) == (255, 128, 0) and (rgb[1:] == 255).all()


def test_truncated_jpeg(tmp_path, shared_data):
    real = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0]
    assert read_image(real).shape == (256, 256, 3)
    source = real.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(source[: len(source) // 2])
    with pytest.raises(ImageReadError, match="truncated JPEG"):
        read_image(tmp_path / "cut.jpg")


def test_text_file_renamed_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("these are not pixels", encoding="utf-8")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(tmp_path / "notes.jpg")


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="the file is empty"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(ImageReadError, match="cannot be read"):
        read_image(tmp_path / "absent.png")


def test_decompression_bomb_header(tmp_path):
    """A PNG header claiming 100000 x 100000 pixels is refused before decoding."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    (tmp_path / "bomb.png").write_bytes(png)
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "bomb.png")


def test_max_pixels_guard(tmp_path):
    (tmp_path / "big.png").write_bytes(encode(np.zeros((100, 100, 3), np.uint8), ".png"))
    assert read_image(tmp_path / "big.png").shape == (100, 100, 3)
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "big.png", max_pixels=5000)
    (tmp_path / "big.webp").write_bytes(encode(np.zeros((100, 100, 3), np.uint8), ".webp"))
    with pytest.raises(ImageReadError, match="too large"):  # from the header, in every format
        read_image(tmp_path / "big.webp", max_pixels=5000)


def test_unicode_path_round_trip(tmp_path):
    folder = tmp_path / "фото 写真"
    img = np.random.default_rng(0).integers(0, 255, (12, 14, 3), dtype=np.uint8)
    out = write_image(folder / "кот 猫.png", img)
    assert out.is_file()
    assert np.array_equal(read_image(out), img)


def test_write_refuses_to_overwrite(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    path = write_image(tmp_path / "x.png", img)
    before = path.read_bytes()
    with pytest.raises(ImageWriteError, match="already exists"):
        write_image(path, img + 50)
    assert path.read_bytes() == before
    write_image(path, img + 50, overwrite=True)
    assert read_image(path)[0, 0, 0] == 50
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temp files left


def test_write_rgba_png_and_jpeg(tmp_path):
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 90
    assert np.array_equal(read_image(write_image(tmp_path / "a.png", rgba)), rgba)
    jpg = read_image(write_image(tmp_path / "a.jpg", rgba))
    assert jpg.shape == (6, 6, 3) and jpg[..., 0].mean() > 240


def test_write_unknown_extension(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write .gif"):
        write_image(tmp_path / "x.gif", np.zeros((2, 2, 3), np.uint8))
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="permissions are not enforced for root")
def test_write_to_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ImageWriteError, match="cannot be written"):
            write_image(folder / "x.png", np.zeros((2, 2, 3), np.uint8))
    finally:
        folder.chmod(0o755)


def test_write_into_a_file_path_fails_cleanly(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ImageWriteError, match="cannot be written"):
        write_image(tmp_path / "file" / "out.png", np.zeros((2, 2, 3), np.uint8))


def test_extensions():
    assert is_image_path(Path("A.JPG")) and not is_image_path("Thumbs.db")
    assert ".png" in IMAGE_EXTENSIONS


def test_full_disk_keeps_the_existing_output_and_leaves_no_temp_file(tmp_path, monkeypatch):
    import errno

    from i2i_common import images

    target = write_image(tmp_path / "out.png", np.full((4, 4, 3), 7, np.uint8))
    before = target.read_bytes()

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(images.os, "replace", no_space)
    with pytest.raises(ImageWriteError, match="No space left on device"):
        write_image(target, np.zeros((4, 4, 3), np.uint8), overwrite=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
