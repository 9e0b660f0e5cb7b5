"""Files as CV Lens reads and creates them: only regular files read, new files made as ``open`` makes them.

Reading: a dataset's index can name any path: ``/dev/zero`` reads forever, a FIFO blocks ``open``
until a writer comes. Dataset files are opened through :func:`open_regular` / :func:`read_regular`:
only regular files are read, the open itself never blocks, and a read stops at a size limit.

Writing: every file is replaced atomically (:func:`write_atomic`, :func:`atomic_writer` for streams): a
temporary file beside it, created as any other file the user's programs create, then a rename.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask says: renamed into place,
an exported table or a saved mask would then be unreadable to the user's group, unlike the label
exports (written with ``open``) beside them. Here the file is created with 0666 and the process's
umask takes off what the user wants taken off (0644 under the usual 022), exactly as ``open`` does.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

#: Mode asked for; the umask is applied by the OS, as for ``open(path, "w")``.
MODE = 0o666


def create_temp_beside(path: str | Path, suffix: str = "") -> tuple[int, Path]:
    """A new, empty, hidden file next to ``path`` (same folder, so a rename is atomic): (fd, its path).

    :func:`atomic_writer` and :func:`write_atomic` write through it and rename it onto ``path``.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}{suffix}")
        try:
            return os.open(tmp, flags, MODE), tmp
        except FileExistsError:  # another writer picked the same name: draw again
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


@contextmanager
def atomic_writer(path: str | Path, suffix: str = ".tmp", *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file whose content replaces ``path`` when the ``with`` block ends without an error.

    For writers that stream (``np.savez`` into a file, a zip archive, a download): the file is a
    temporary one beside ``path`` (created as ``open`` creates files, see :func:`create_temp_beside`,
    its name ending in ``suffix`` for clean-ups that look for it); at the end of the block it is
    flushed, fsync-ed when ``durable`` and renamed onto ``path``. On any error, a cancel included,
    it is removed and ``path`` is as it was.
    """
    path = Path(path)
    fd, tmp = create_temp_beside(path, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:  # without it a crash soon after the rename can leave an empty file under the name
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably: a temporary file beside it (created as ``open``
    creates files), fsync, rename. On failure nothing is left behind and ``path`` is as it was."""
    with atomic_writer(path) as handle:
        handle.write(data)


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
