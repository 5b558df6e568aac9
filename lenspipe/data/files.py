"""Writing a file atomically, readable as the umask allows.

Every file lenspipe writes (datasets, previews, truths, results) goes through
:func:`atomic_path`: a temporary file in the destination folder, given the mode a plain
``open`` would (``0666`` less the umask, where :func:`tempfile.mkstemp` gives ``0600``), flushed
to disk and moved into place with :func:`os.replace`, so a reader sees either the old file
or the whole new one, and teammates sharing a folder can read it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_file", "current_umask"]


def current_umask() -> int:
    """The process's umask (read from /proc where possible, which changes nothing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, fsync: bool = True):
    """Yield a temporary path beside ``path``; on success move it to ``path``.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if missing.
    fsync : bool
        Flush the file to disk before moving it into place.

    On any error (or interruption) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())
        yield Path(temporary)
        if fsync:
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(path, mode: str = "wb", *, fsync: bool = True):
    """Like :func:`atomic_path`, yielding the temporary file opened with ``mode``."""
    with atomic_path(path, fsync=fsync) as temporary, open(temporary, mode) as handle:
        yield handle
