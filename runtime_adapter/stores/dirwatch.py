"""Which files of a run directory changed, from Linux inotify (no polling, no thread).

The runtime rewrites a run file in place when the run moves on; a file that changed
keeps its name and often its size, so without a full scan (a stat per file) the index
would only notice rewrites of runs it knows to be live. A watch reports every write,
rename and deletion in the directory as it happens; the index reads its queue on
each query. Where inotify is missing (not Linux, a network filesystem, no watches
left) `DirectoryWatch.open` returns None and the periodic full scan does the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import threading

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
_FILE_EVENTS = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
_LOST = _IN_Q_OVERFLOW | _IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF  # events were (or will be) missed
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then the name, NUL-padded to len

_libc: ctypes.CDLL | None = None


def _loaded() -> None:
    return None  # ctypes.CDLL(None): the program and the libraries it has loaded


def _named() -> str | None:
    return ctypes.util.find_library("c")


def _inotify() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        # The C library the interpreter has loaded already (None), else the one `find_library` names: it runs
        # `ldconfig -p` (or a compiler), 77-87 ms of a file store's first page in each worker.
        for find in (_loaded, _named):
            try:
                libc = ctypes.CDLL(find(), use_errno=True)
                libc.inotify_init1  # noqa: B018 - present on Linux only
            except (OSError, AttributeError, TypeError):
                continue
            _libc = libc
            break
    return _libc


class DirectoryWatch:
    """Names of `*.json` entries written, renamed or deleted since the last `changes()`."""

    def __init__(self, fd: int, directory: bytes) -> None:
        self._fd = fd
        self._pid = os.getpid()
        self.directory = directory
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> DirectoryWatch | None:
        libc = _inotify()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        path = os.fsencode(directory)
        if libc.inotify_add_watch(fd, path, _FILE_EVENTS | _IN_DELETE_SELF | _IN_MOVE_SELF) < 0:
            os.close(fd)
            return None
        return cls(fd, path)

    def changes(self) -> set[bytes] | None:
        """What changed since the last call; None when events were lost (scan everything)."""
        if os.getpid() != self._pid:
            return None  # a forked child shares the parent's queue: it cannot trust it
        names: set[bytes] = set()
        lost = False
        with self._lock:
            if self._fd < 0:
                return None
            while True:
                try:
                    data = os.read(self._fd, 64 * 1024)
                except BlockingIOError:
                    break
                except OSError:
                    return None
                offset = 0
                while offset + _HEADER.size <= len(data):
                    _, mask, _, length = _HEADER.unpack_from(data, offset)
                    name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
                    offset += _HEADER.size + length
                    if mask & _LOST:
                        lost = True
                    elif name.endswith(b".json"):
                        names.add(name)
        return None if lost else names

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0 and os.getpid() == self._pid:
                os.close(self._fd)
            self._fd = -1
