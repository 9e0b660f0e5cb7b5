"""Decoding image files into H x W x 3 uint8 RGB arrays, whatever they hold.

Grayscale, RGBA, palette and 16-bit images become RGB; JPEGs are turned upright by their
EXIF orientation. A file that cannot be decoded raises SampleError with the reason, so the
caller can show it on the sample's tile instead of crashing.

Bounds: an image whose header declares more than :func:`max_image_pixels` pixels is refused
before it is decoded (a 0.9 MB PNG can declare 30000 x 30000), only regular files are read
(``/dev/zero`` or a FIFO named by an index would never end), and a JPEG whose data stops
before its end-of-image marker is an error rather than a picture padded with grey.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np

from core.datasets.errors import SampleError
from core.datasets.filetype import STILL_IN_VIDEO_CONTAINER, describe_content, image_format
from core.system.files import NotARegularFile, read_regular

#: Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``): 89,478,485 pixels.
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485
#: Largest image file read whole into memory.
MAX_IMAGE_FILE_BYTES = 1 << 30
_max_pixels = int(os.environ.get("CVLENS_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def max_image_pixels() -> int:
    """Images declaring more pixels than this are refused from their header (setting: CVLENS_MAX_IMAGE_PIXELS)."""
    return _max_pixels


def set_max_image_pixels(pixels: int) -> None:
    """Change the pixel limit for this process (the GUI's and evaluate's setting)."""
    global _max_pixels
    if pixels < 1:
        raise ValueError(f"the pixel limit must be positive, not {pixels}")
    _max_pixels = int(pixels)


IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".jfif"}
)


def _silence_opencv() -> None:
    """Tell OpenCV not to print its own warnings for broken files: we raise our own message."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and hasattr(logging, "setLogLevel"):  # OpenCV >= 4.5 (cv2.setLogLevel is gone in 5)
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    elif hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)


_silence_opencv()


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def to_rgb8(array: np.ndarray) -> np.ndarray:
    """Any decoded array (H x W, H x W x 1/3/4, uint8/uint16/float) as H x W x 3 uint8.

    Channel order is taken to be RGB(A); callers holding BGR convert first.
    """
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise SampleError(f"unsupported image shape {array.shape}")
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype in (np.float32, np.float64):
        peak = 1.0 if array.size == 0 or float(np.nanmax(array)) <= 1.0 else 255.0
        array = np.clip(np.nan_to_num(array) * (255.0 / peak), 0, 255).round().astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    channels = array.shape[2]
    if channels in (1, 2):  # gray, gray + alpha
        gray = array[:, :, :1]
        if channels == 2:
            gray = _over_white(gray, array[:, :, 1:2])
        return np.ascontiguousarray(np.repeat(gray, 3, axis=2))
    if channels == 4:
        return np.ascontiguousarray(_over_white(array[:, :, :3], array[:, :, 3:4]))
    return np.ascontiguousarray(array)


def _over_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite over white, as image viewers show transparent pixels."""
    a = alpha.astype(np.float32) / 255.0
    out = color.astype(np.float32) * a + 255.0 * (1.0 - a)
    return out.round().astype(np.uint8)


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes (any format OpenCV or Pillow reads) into RGB uint8."""
    if not data:
        raise SampleError(f"{name}: empty file")
    _check_declared_size(data, name)
    _check_jpeg_complete(data, name)
    buffer = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_UNCHANGED keeps 16-bit depth and alpha, but skips the EXIF rotation that
    # IMREAD_COLOR applies; we apply it ourselves below for JPEGs.
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error as exc:  # OpenCV's own limits (CV_IO_MAX_IMAGE_PIXELS) assert instead of returning None
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise SampleError(f"{name}: OpenCV cannot decode it ({reason})") from None
    if decoded is None:
        return _decode_with_pillow(data, name)
    if decoded.ndim == 3:
        code = cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB
        decoded = cv2.cvtColor(decoded, code)
    image = to_rgb8(decoded)
    orientation = _exif_orientation(data)
    if orientation > 1:
        image = _apply_orientation(image, orientation)
    return image


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image's header, without decoding its pixels; None if it cannot tell.

    PNG and JPEG headers are parsed here (cheap: the runner decodes thousands a second),
    other formats by Pillow's lazy ``Image.open``.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24]) if len(data) >= 24 else None
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, before decoding and to every format
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:  # not an image Pillow knows: OpenCV or the fallback will say so
        return None


#: Start-of-frame markers (C0-CF but DHT C4, JPG C8 and DAC CC), which hold the image size.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG's marker segments up to its frame header."""
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0xDA:  # a scan before any frame header: not a JPEG we can size
            return None
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None


def _check_declared_size(data: bytes, name: str) -> None:
    size = declared_size(data)
    if size is not None:
        check_pixels(size, name)


def check_pixels(size: tuple[int, int], name: str) -> None:
    """SampleError when a (width, height) is over the pixel limit: checked before decoding."""
    width, height = size
    if width * height > _max_pixels:
        raise SampleError(
            f"{name}: {width} x {height} = {width * height:,} pixels, over the limit of {_max_pixels:,} "
            "(an image this large is refused before decoding; raise CVLENS_MAX_IMAGE_PIXELS to read it)"
        )


def _check_jpeg_complete(data: bytes, name: str) -> None:
    """A JPEG must end its last scan with an EOI marker (FF D9).

    libjpeg pads a truncated scan with grey and only warns; markers cannot occur inside
    entropy-coded data (FF is stuffed as FF 00), so the last SOS (FF DA) must be followed by
    an EOI. An EXIF thumbnail's own SOS/EOI pair comes before the main image's.
    """
    if data[:3] != b"\xff\xd8\xff":
        return
    if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        size = declared_size(data)
        claim = f" (its header says {size[0]} x {size[1]})" if size else ""
        raise SampleError(f"{name}: the JPEG data ends before the image does{claim}: the file is truncated")


def _decode_with_pillow(data: bytes, name: str) -> np.ndarray:
    """Fallback for what OpenCV does not read (GIF, palette quirks); what neither reads is described."""
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError

        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode == "P":
                img = img.convert("RGBA")
            elif img.mode not in ("RGB", "RGBA", "L", "LA", "I;16", "I", "F"):
                img = img.convert("RGB")
            array = np.asarray(img)
    except UnidentifiedImageError:  # its message is a repr of our buffer: say what the file is instead
        kind = image_format(data)
        if kind:
            raise SampleError(f"{name}: cannot decode (a damaged or truncated {kind} file)") from None
        what = describe_content(data)
        if what == STILL_IN_VIDEO_CONTAINER:
            raise SampleError(f"{name}: unsupported image format: {what}") from None
        raise SampleError(f"{name}: not an image: {what}") from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise SampleError(f"{name}: cannot decode ({type(exc).__name__}: {exc})") from None
    if array.dtype == np.int32:
        array = np.clip(array, 0, 65535).astype(np.uint16)
    return to_rgb8(array)


def _exif_orientation(data: bytes) -> int:
    if data[:2] != b"\xff\xd8":  # EXIF orientation is honoured for JPEGs only
        return 1
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return int(img.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image upright according to its EXIF orientation tag (values 2-8)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.transpose(a, (1, 0, 2)),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: np.transpose(a[::-1, ::-1], (1, 0, 2)),  # transverse: mirror on the anti-diagonal
        8: lambda a: np.rot90(a, k=1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(image)) if op else image


def read_encoded(path: str | Path) -> bytes:
    """An image file's encoded bytes, checked as :func:`decode_image` checks them, for decoders elsewhere
    (the GPU's JPEG decoder); SampleError names the file and the reason."""
    path = Path(path)
    try:
        data = read_regular(path, MAX_IMAGE_FILE_BYTES)
    except NotARegularFile as exc:
        raise SampleError(f"{path.name}: cannot read ({exc})") from None
    except OSError as exc:
        raise SampleError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise SampleError(f"{path.name}: not read ({exc})") from None
    if not data:
        raise SampleError(f"{path.name}: empty file")
    _check_declared_size(data, path.name)
    _check_jpeg_complete(data, path.name)
    return data


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file into RGB uint8; SampleError names the file and the reason."""
    return decode_image(read_encoded(path), Path(path).name)
