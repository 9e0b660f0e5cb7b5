"""Hostile image files: decompression bombs, lying headers, truncated data, devices (issue 11)."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.datasets import SampleError, imageio
from core.datasets.imageio import declared_size, decode_image, read_image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height with one scanline of data: a bomb's header, built instantly."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1 + 3 * min(width, 4096)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_png_declaring_30000_squared_is_refused_from_its_header() -> None:
    start = time.monotonic()
    with pytest.raises(SampleError, match="30000 x 30000 = 900,000,000 pixels, over the limit of 89,478,485"):
        decode_image(_png_header_only(30000, 30000), "bomb.png")
    assert time.monotonic() - start < 1


def test_the_pixel_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    _ok, buffer = cv2.imencode(".png", np.zeros((40, 30, 3), np.uint8))
    monkeypatch.setattr(imageio, "_max_pixels", imageio.max_image_pixels())
    imageio.set_max_image_pixels(1000)
    with pytest.raises(SampleError, match="30 x 40 = 1,200 pixels, over the limit of 1,000"):
        decode_image(buffer.tobytes(), "small.png")
    imageio.set_max_image_pixels(1200)
    assert decode_image(buffer.tobytes(), "small.png").shape == (40, 30, 3)


def test_opencvs_own_limit_is_a_sample_error_not_a_cv2_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imageio, "_max_pixels", 10**10)  # past ours, OpenCV's CV_IO_MAX_IMAGE_PIXELS asserts
    with pytest.raises(SampleError, match=r"huge\.png: "):
        decode_image(_png_header_only(65500, 65500), "huge.png")


def _jpeg(width: int = 512, height: int = 512) -> bytes:
    rng = np.random.default_rng(0)
    _ok, buffer = cv2.imencode(".jpg", rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    return buffer.tobytes()


def test_a_truncated_jpeg_is_a_failed_sample_not_a_grey_picture() -> None:
    data = _jpeg()
    assert declared_size(data) == (512, 512)
    with pytest.raises(SampleError, match=r"truncated.*|header says 512 x 512"):
        decode_image(data[: len(data) // 3], "cut.jpg")
    with pytest.raises(SampleError, match="header says 512 x 512"):
        decode_image(data[:2000], "cut.jpg")


def test_a_complete_jpeg_with_bytes_after_its_end_still_decodes() -> None:
    data = _jpeg(64, 48) + b"camera trailer \x00\x01"
    assert decode_image(data, "ok.jpg").shape == (48, 64, 3)


def test_dev_zero_and_a_fifo_are_refused_without_reading(tmp_path: Path) -> None:
    with pytest.raises(SampleError, match="character device"):
        read_image("/dev/zero")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(SampleError, match="FIFO"):
        read_image(fifo)
    assert time.monotonic() - start < 2
