"""Opening files that a dataset names, without hanging or reading forever.

A dataset's index can name any path: ``/dev/zero`` reads forever, a FIFO blocks ``open`` until
a writer comes, ``/dev/random`` never ends. Readers open dataset files through here: only
regular files are read, the open itself never blocks, and a read stops at a size limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotARegularFile(OSError):
    """The path exists but is a FIFO, a device, a socket or a folder."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _opener(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_NONBLOCK)  # a FIFO opens at once instead of waiting for a writer
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is {_kind(mode)}, not a file")
    os.set_blocking(fd, True)
    return fd


def open_regular(path: str | Path) -> BinaryIO:
    """``open(path, "rb")`` for regular files only (:class:`NotARegularFile` otherwise)."""
    return open(path, "rb", opener=_opener)


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``ValueError`` when larger)."""
    with open_regular(path) as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {_size(limit)}")
    return data


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"
