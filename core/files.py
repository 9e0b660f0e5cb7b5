"""Temporary files for atomic writes, created as any other file the user's programs create.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask says: renamed into place,
an exported table or a saved mask would then be unreadable to the user's group, unlike the label
exports (written with ``open``) beside them. Here the file is created with 0666 and the process's
umask takes off what the user wants taken off (0644 under the usual 022), exactly as ``open`` does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Mode asked for; the umask is applied by the OS, as for ``open(path, "w")``.
MODE = 0o666


def create_temp_beside(path: str | Path, suffix: str = "") -> tuple[int, Path]:
    """A new, empty, hidden file next to ``path`` (same folder, so a rename is atomic): (fd, its path).

    The caller writes through ``fd`` (``os.fdopen``) or closes it and writes by name, then
    ``os.replace``-s it onto ``path``; on failure it unlinks it.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, flags, MODE), tmp
        except FileExistsError:  # another writer picked the same name: draw again
            continue
    raise FileExistsError(f"no free temporary name beside {path}")
