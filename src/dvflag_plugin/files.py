"""Private files: what the plugin or its CLI creates is readable by its owner only, whatever the umask.

The audit JSON lines, exported lists and the default SQLite database hold personal data or its
trace; a permissive umask (0002, 0000) on a shared server must not make them world-readable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing folder is left as the host set it."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is reduced by the umask, never raised; be exact
    return path


def _open_fd(path: Path, flags: int) -> int:
    private_dir(path.parent)
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_append(path: Path) -> IO[str]:
    """Open a text file for appending, created 0600 (an existing file is made 0600 too)."""
    return os.fdopen(_open_fd(path, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")


def write_bytes(path: Path, content: bytes) -> None:
    """Write ``content`` to a file created (or truncated) as 0600."""
    with os.fdopen(_open_fd(path, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
        fh.write(content)


def touch(path: Path) -> Path:
    """Create an empty 0600 file unless it exists (e.g. the SQLite database before SQLite opens it)."""
    if not path.exists():
        os.close(_open_fd(path, os.O_WRONLY))
    return path
