"""One read of a file another process writes: never through a symbolic link, never waiting on a FIFO, never past
a bound, and telling whether the file changed while it was read. The run store and the job store each word what
they refuse in their own terms (`Refused.kind`)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# O_NONBLOCK: opening a FIFO named `x.json` would otherwise wait for a writer forever.
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class Refused(Exception):
    """Why the path was not read. `kind`: "symlink", "directory", "not_regular", "too_big" (its `size` known
    before reading), "over_limit" (found while reading), or "error" (the OS's `detail` and `errno`, opening or
    reading)."""

    def __init__(self, kind: str, *, size: int = 0, detail: str = "", error_number: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.size = size
        self.detail = detail
        self.errno = error_number


def read_bounded(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result, bool]:
    """The file's bytes, its status after the read, and whether it changed while it was read (size or mtime
    moved, or fewer bytes than its size). Raises FileNotFoundError (a path component that is a file included)
    or Refused."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise
    except NotADirectoryError:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path)) from None
    except OSError as error:
        kind = "symlink" if error.errno == errno.ELOOP else "error"
        raise Refused(kind, detail=error.strerror or str(error), error_number=error.errno) from None
    try:
        before = os.fstat(fd)
        if stat.S_ISDIR(before.st_mode):
            raise Refused("directory")
        if not stat.S_ISREG(before.st_mode):
            raise Refused("not_regular")
        if before.st_size > max_bytes:
            raise Refused("too_big", size=before.st_size)
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        after = os.fstat(fd)
    except OSError as error:
        raise Refused("error", detail=error.strerror or str(error), error_number=error.errno) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise Refused("over_limit")
    changed = (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size
    return data, after, changed
