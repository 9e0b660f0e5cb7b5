"""One writer per store: an exclusive OS lock on ``project.lock`` beside the database.

Why an OS lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) rather than a "lock" row
with a pid and a heartbeat, or SQLite's own locking:

- the kernel drops the lock when the process ends, however it ends (SIGKILL, power cut of a
  session, a crash), so there is never a stale lock to detect, time out or break by hand, and
  no pid-reuse ambiguity;
- SQLite's exclusive locking mode would shut the second copy out completely, while we want it
  to *read* the labels; WAL lets a reader in while the writer holds our lock.

The file also holds the holder's pid, host and start time, only to tell the user who has it.
``flock`` locks belong to an open file description, so a second open in the same process is
refused as well (the tests rely on it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

#: Windows locks byte ranges; lock one byte far past the text so the holder's info stays readable.
_WINDOWS_LOCK_OFFSET = 1 << 30


class StoreLock:
    """A non-blocking exclusive lock on a file; ``acquire`` says whether this process got it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if it is free; False when another copy of the app holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            return False
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, info.encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def holder(self) -> str:
        """Who holds the lock, in words ("pid 4242 on host, since 10:31"), or "" when unknown."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            since = time.strftime("%H:%M", time.localtime(float(info["since"])))
            return f"pid {int(info['pid'])} on {info['host']}, since {since}"
        except (OSError, ValueError, KeyError, TypeError):
            return ""


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
