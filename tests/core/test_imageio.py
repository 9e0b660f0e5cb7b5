"""Decoding image files into H x W x 3 uint8 RGB: odd modes, EXIF rotation, broken files."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from core.datasets import SampleError
from core.datasets.imageio import decode_image, read_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(12, 20, 3), dtype=np.uint8)


def _png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **kwargs)
    return buffer.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_rgb_png_round_trips_exactly(tmp_path: Path) -> None:
    image = read_image(_write(tmp_path, "a.png", _png(Image.fromarray(RGB))))
    assert image.dtype == np.uint8 and image.shape == (12, 20, 3)
    np.testing.assert_array_equal(image, RGB)


def test_grayscale_png_becomes_three_equal_channels(tmp_path: Path) -> None:
    gray = RGB[:, :, 0]
    image = read_image(_write(tmp_path, "g.png", _png(Image.fromarray(gray, "L"))))
    assert image.shape == (12, 20, 3)
    for c in range(3):
        np.testing.assert_array_equal(image[:, :, c], gray)


def test_rgba_png_is_composited_over_white(tmp_path: Path) -> None:
    alpha = np.full((12, 20), 255, np.uint8)
    alpha[:, :10] = 0
    rgba = np.dstack([RGB, alpha])
    image = read_image(_write(tmp_path, "a.png", _png(Image.fromarray(rgba, "RGBA"))))
    np.testing.assert_array_equal(image[:, 10:], RGB[:, 10:])
    assert (image[:, :10] == 255).all()


def test_palette_png_is_looked_up(tmp_path: Path) -> None:
    indices = RNG.integers(0, 4, size=(12, 20), dtype=np.uint8)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], np.uint8)
    img = Image.fromarray(indices, "P")
    img.putpalette(colours.ravel().tolist())
    image = read_image(_write(tmp_path, "p.png", _png(img)))
    np.testing.assert_array_equal(image, colours[indices])


def test_16bit_png_keeps_the_high_byte(tmp_path: Path) -> None:
    deep = RNG.integers(0, 65536, size=(12, 20, 3), dtype=np.uint16)
    ok, encoded = cv2.imencode(".png", deep[:, :, ::-1])  # OpenCV writes BGR
    assert ok
    image = decode_image(encoded.tobytes(), "deep.png")
    np.testing.assert_array_equal(image, (deep >> 8).astype(np.uint8))


def test_16bit_grayscale_png(tmp_path: Path) -> None:
    deep = RNG.integers(0, 65536, size=(12, 20), dtype=np.uint16)
    image = read_image(_write(tmp_path, "d.png", _png(Image.fromarray(deep))))
    np.testing.assert_array_equal(image[:, :, 2], (deep >> 8).astype(np.uint8))


def _jpeg_with_orientation(pixels: np.ndarray, orientation: int) -> bytes:
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_turns_jpeg_upright_like_pillow(orientation: int) -> None:
    # Four flat quadrants of distinct colours, so JPEG noise cannot hide a wrong rotation.
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:20, :30], pixels[:20, 30:], pixels[20:, :30], pixels[20:, 30:] = (
        (250, 0, 0),
        (0, 250, 0),
        (0, 0, 250),
        (250, 250, 0),
    )
    data = _jpeg_with_orientation(pixels, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    image = decode_image(data, "rotated.jpg")
    assert image.shape == expected.shape
    assert np.abs(image.astype(int) - expected).mean() < 3
    if orientation == 6:  # rotate 90 degrees clockwise to display: the top-left quadrant lands top-right
        assert image.shape == (60, 40, 3)
        assert np.abs(image[5, 35].astype(int) - (250, 0, 0)).max() < 8


def test_gif_decodes_through_pillow(tmp_path: Path) -> None:
    indices = RNG.integers(0, 3, size=(12, 20), dtype=np.uint8)
    img = Image.fromarray(indices, "P")
    img.putpalette([200, 0, 0, 0, 200, 0, 0, 0, 200] + [0] * (256 * 3 - 9))
    buffer = io.BytesIO()
    img.save(buffer, "GIF")
    image = read_image(_write(tmp_path, "a.gif", buffer.getvalue()))
    np.testing.assert_array_equal(image, np.array([[200, 0, 0], [0, 200, 0], [0, 0, 200]], np.uint8)[indices])


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(RGB).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.png", b"", "empty file"),
        ("notes.png", b"these are my holiday notes, not a picture\n" * 5, "not an image: a text file"),
        ("noise.jpg", RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "not an image: unknown binary data"),
        ("half.png", _encoded("PNG")[: len(_encoded("PNG")) // 2], "cannot decode"),
        ("half.jpg", _encoded("JPEG")[: len(_encoded("JPEG")) // 2], "cannot decode"),
        ("header.png", _encoded("PNG")[:30], "cannot decode"),
    ],
)
def test_broken_files_raise_sample_error_naming_the_file(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(SampleError, match=rf"^{name}: {reason}"):
        read_image(_write(tmp_path, name, data))


def test_missing_file_raises_sample_error(tmp_path: Path) -> None:
    with pytest.raises(SampleError, match=r"gone.jpg: cannot read"):
        read_image(tmp_path / "gone.jpg")


@pytest.mark.parametrize(
    "data, what",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40), "a zip archive"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "a gzip archive"),
        ("Überschrift: Katzen und Hunde\r\n".encode() * 3, "a text file"),
        (b"<!DOCTYPE html>\n<html><head><title>Not Found</title>", "an HTML page"),
        (b'<?xml version="1.0"?>\n<annotation><filename>1.jpg</filename>', "an XML file"),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'", "a NumPy array"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "an MP4/MOV video"),
    ],
)
def test_a_file_that_is_no_image_says_what_it_is_not_a_python_repr(tmp_path: Path, data: bytes, what: str) -> None:
    with pytest.raises(SampleError) as caught:
        read_image(_write(tmp_path, "0001.jpg", data))
    message = str(caught.value)
    assert message.startswith(f"0001.jpg: not an image: {what}")
    assert "<_io" not in message and "object at 0x" not in message


def test_an_avif_photo_is_named_an_unsupported_format_not_a_stray(tmp_path: Path) -> None:
    with pytest.raises(SampleError, match=r"^x.jpg: unsupported image format: an AVIF/HEIF image$"):
        read_image(_write(tmp_path, "x.jpg", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + bytes(64)))
