"""What a file holds, from its first bytes, for the message shown when it is not an image.

A dataset folder collects strays (a README, a PDF of the paper, a zip of the originals saved with
an image's name); the user is told what the file is rather than that a decoder failed.
"""

from __future__ import annotations

#: Leading bytes -> what they start. Longer, more specific signatures first.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x93NUMPY", "a NumPy array (.npy)"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x80\x02", "a Python pickle"),
    (b"\x80\x03", "a Python pickle"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio/video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


#: Leading bytes of the image formats we read: a file starting so is a damaged image, not a stray.
IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


#: What ``describe_content`` says of AVIF/HEIF: an image, in a format OpenCV and Pillow (without plugins) cannot read.
STILL_IN_VIDEO_CONTAINER = "an AVIF/HEIF image"


def image_format(data: bytes) -> str | None:
    """ "PNG", "JPEG"... when ``data`` starts like an image file of that format (WebP too), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((name for signature, name in IMAGE_SIGNATURES if data.startswith(signature)), None)


def describe_content(data: bytes) -> str:
    """A few words for what ``data`` (a file's bytes, or its start) holds: "a PDF document", "text"."""
    head = data[:64]
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            return what
    if head[4:8] == b"ftyp":
        still = head[8:10] in (b"av", b"he", b"mi")  # avif, heic, mif1: still images in a video container
        return STILL_IN_VIDEO_CONTAINER if still else "an MP4/MOV video"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return "a WAV audio file" if head[8:12] == b"WAVE" else "an AVI video"
    if head[:4] in (b"\xd0\xcf\x11\xe0",):
        return "an old Office document"
    return _text_kind(data[:4096]) or "unknown binary data"


def _text_kind(sample: bytes) -> str | None:
    """ "HTML", "XML", "JSON" or "text" when ``sample`` decodes as UTF-8 without control bytes."""
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is still text
        if exc.start < len(sample) - 3:
            return None
        text = sample[: exc.start].decode("utf-8")
    if any(ch < " " and ch not in "\t\n\r\f" for ch in text):
        return None
    start = text.lstrip("\ufeff \t\r\n")[:100].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "an HTML page"
    if start.startswith("<svg") or ("<svg" in start and start.startswith("<?xml")):
        return "an SVG drawing (not a raster image)"
    if start.startswith("<?xml"):
        return "an XML file"
    if start.startswith(("{", "[")):
        return "JSON or other text"
    return "a text file"
