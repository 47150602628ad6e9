"""EXIF orientation in every format, and every pixel type a valid file may hold, read as uint8 RGB(A)."""
from __future__ import annotations

import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from i2i_common.images import ImageReadError, read_image

ORIENTATION = 0x0112


def quadrants(height: int = 20, width: int = 32) -> np.ndarray:
    """Four flat colours, so every flip and rotation gives a different picture."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (255, 0, 0)
    image[: height // 2, width // 2:] = (0, 255, 0)
    image[height // 2:, : width // 2] = (0, 0, 255)
    image[height // 2:, width // 2:] = (255, 255, 0)
    return image


def tagged(image: np.ndarray, fmt: str, orientation: int) -> bytes:
    """``image`` saved as ``fmt`` with the EXIF orientation tag set (TIFF keeps it in its own tags)."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    options = {"TIFF": {"tiffinfo": {ORIENTATION: orientation}}, "WEBP": {"lossless": True, "exif": exif},
               "JPEG": {"quality": 98, "exif": exif}, "PNG": {"exif": exif}}[fmt]
    Image.fromarray(image).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_in_every_format(tmp_path, fmt, orientation):
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(tagged(quadrants(), fmt, orientation))
    with Image.open(path) as stored:
        assert stored.getexif().get(ORIENTATION) == orientation
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB")).astype(int)
    upright = read_image(path)
    assert upright.shape == expected.shape == ((20, 32, 3) if orientation < 5 else (32, 20, 3))
    assert np.abs(upright.astype(int) - expected).max() <= (40 if fmt == "JPEG" else 0)


def test_a_png_tagged_rotate_90_comes_out_portrait(tmp_path):
    """The issue's case: a 320x200 PNG tagged "rotate 90 clockwise" (orientation 6) is 200 wide, 320 tall."""
    (tmp_path / "landscape.png").write_bytes(tagged(quadrants(200, 320), "PNG", 6))
    upright = read_image(tmp_path / "landscape.png")
    assert upright.shape == (320, 200, 3)
    assert tuple(upright[0, -1]) == (255, 0, 0)  # the top-left red corner turned to the top right


def tiff_bytes(image: np.ndarray) -> bytes:
    """An uncompressed little-endian TIFF of any numpy sample type (Pillow cannot write most of these)."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    samples = 1 if image.ndim == 2 else image.shape[2]
    sample_format = {"u": 1, "i": 2, "f": 3}[image.dtype.kind]
    bits = image.dtype.itemsize * 8
    pixels = image.astype(image.dtype.newbyteorder("<")).tobytes()
    extra_at = 8 + len(pixels)  # per-sample BitsPerSample and SampleFormat arrays, when there are several
    extra = struct.pack(f"<{2 * samples}H", *[bits] * samples, *[sample_format] * samples) if samples > 1 else b""
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, samples, bits if samples == 1 else extra_at),
            (259, 3, 1, 1), (262, 3, 1, 1 if samples == 1 else 2), (273, 4, 1, 8), (277, 3, 1, samples),
            (278, 4, 1, height), (279, 4, 1, len(pixels)),
            (339, 3, samples, sample_format if samples == 1 else extra_at + 2 * samples)]
    entries = b"".join(struct.pack("<HHI", tag, kind, count)
                       + (struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value))
                       for tag, kind, count, value in tags)
    directory = struct.pack("<H", len(tags)) + entries + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", extra_at + len(extra)) + pixels + extra + directory


RAMP = np.arange(24 * 16).reshape(16, 24)


@pytest.mark.parametrize("dtype, scale", [("int16", 1), ("int32", 1000), ("uint32", 100000), ("int32", -7)])
def test_wide_integer_tiffs_are_stretched_to_8_bits(tmp_path, dtype, scale):
    """No white point is defined for these types: the darkest sample becomes 0 and the brightest 255."""
    (tmp_path / "wide.tif").write_bytes(tiff_bytes((RAMP * scale).astype(dtype)))
    rgb = read_image(tmp_path / "wide.tif")
    assert rgb.shape == (16, 24, 3) and rgb.dtype == np.uint8
    expected = np.round((RAMP - RAMP.min()) * 255 / (RAMP.max() - RAMP.min())).astype(np.uint8)
    if scale < 0:
        expected = 255 - expected
    assert np.abs(rgb[..., 1].astype(int) - expected).max() <= 1
    assert np.array_equal(rgb[..., 0], rgb[..., 2])


def test_int32_tiff_written_by_pillow(tmp_path):
    """The issue's case: a valid 32-bit integer TIFF was refused."""
    Image.fromarray((RAMP * 50000).astype(np.int32)).save(tmp_path / "depth.tif")
    rgb = read_image(tmp_path / "depth.tif")
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channels", [1, 3])
def test_float_tiffs_are_read_as_0_to_1(tmp_path, dtype, channels):
    values = np.linspace(-0.5, 1.5, 16 * 24).reshape(16, 24)
    image = values if channels == 1 else np.dstack([values, values * 0 + 0.5, 1 - values])
    (tmp_path / "hdr.tif").write_bytes(tiff_bytes(image.astype(dtype)))
    rgb = read_image(tmp_path / "hdr.tif")
    assert rgb.shape == (16, 24, 3)
    expected = (np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.abs(rgb[..., 0].astype(int) - expected).max() <= 1
    if channels == 3:
        assert (np.abs(rgb[..., 1].astype(int) - 128) <= 1).all()


def test_multichannel_16_bit_integer_tiff(tmp_path):
    image = np.dstack([RAMP, RAMP * 2, RAMP * 3]).astype(np.int16)
    (tmp_path / "rgb16s.tif").write_bytes(tiff_bytes(image))
    rgb = read_image(tmp_path / "rgb16s.tif")
    assert rgb.shape == (16, 24, 3) and rgb.min() == 0 and rgb.max() == 255


def test_unsupported_sample_formats_are_refused_in_one_line(tmp_path):
    (tmp_path / "half.tif").write_bytes(tiff_bytes(RAMP.astype(np.float16)))
    with pytest.raises(ImageReadError, match="half.tif: the TIFF cannot be decoded") as info:
        read_image(tmp_path / "half.tif")
    assert "\n" not in str(info.value)


def test_16_bit_tiffs_and_pngs(tmp_path):
    deep = (RAMP * 170).astype(np.uint16)
    (tmp_path / "gray16.tif").write_bytes(tiff_bytes(deep))
    expected = ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8)
    assert np.array_equal(read_image(tmp_path / "gray16.tif")[..., 1], expected)
    bgra = np.dstack([deep, deep, deep, np.full_like(deep, 65535 // 3)])
    cv2.imwrite(str(tmp_path / "rgba16.png"), bgra)
    rgba = read_image(tmp_path / "rgba16.png")
    assert rgba.shape == (16, 24, 4) and rgba.dtype == np.uint8
    assert np.abs(rgba[..., 0].astype(int) - expected).max() <= 1 and (rgba[..., 3] == 85).all()


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP"])
def test_one_bit_images(tmp_path, fmt):
    bits = (RAMP % 3 == 0)
    Image.fromarray(bits).save(tmp_path / f"bits.{fmt.lower()}", fmt)
    rgb = read_image(tmp_path / f"bits.{fmt.lower()}")
    assert rgb.shape == (16, 24, 3) and np.array_equal(rgb[..., 0], bits.astype(np.uint8) * 255)


def test_palette_images_with_and_without_transparency(tmp_path):
    palette = Image.fromarray(quadrants()).quantize(4)
    palette.save(tmp_path / "plain.png")
    assert np.array_equal(read_image(tmp_path / "plain.png"), np.asarray(palette.convert("RGB")))
    palette.info["transparency"] = 0
    palette.save(tmp_path / "cutout.png", transparency=0)
    rgba = read_image(tmp_path / "cutout.png")
    assert rgba.shape == (20, 32, 4)
    assert set(np.unique(rgba[..., 3])) == {0, 255}


def test_gray_alpha_and_palette_alpha(tmp_path):
    gray = (RAMP % 256).astype(np.uint8)
    Image.fromarray(np.dstack([gray, 255 - gray]), "LA").save(tmp_path / "la.png")
    rgba = read_image(tmp_path / "la.png")
    assert rgba.shape == (16, 24, 4)
    assert np.array_equal(rgba[..., 1], gray) and np.array_equal(rgba[..., 3], 255 - gray)


def test_cmyk_and_gray_jpegs(tmp_path):
    rgb = quadrants()
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg", quality=98)
    decoded = read_image(tmp_path / "print.jpg")
    assert decoded.shape == (20, 32, 3) and np.abs(decoded.astype(int) - rgb).mean() < 8
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.jpg", quality=98)
    gray = read_image(tmp_path / "gray.jpg")
    assert gray.shape == (20, 32, 3) and np.array_equal(gray[..., 0], gray[..., 2])
    assert np.abs(gray[..., 0].astype(int) - rgb[..., 0]).max() <= 8


def test_a_multi_picture_jpeg_reads_its_first_picture(tmp_path):
    """MPO (stereo cameras): Pillow names the format MPO; the strict JPEG decoder reads the first picture."""
    pictures = [Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (30, 220)]
    pictures[0].save(tmp_path / "stereo.jpg", "MPO", save_all=True, append_images=pictures[1:])
    with Image.open(tmp_path / "stereo.jpg") as stored:
        assert stored.format == "MPO"
    assert np.abs(read_image(tmp_path / "stereo.jpg").astype(int) - 30).max() <= 2
