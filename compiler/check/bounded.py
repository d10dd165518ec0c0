"""Bounded reads of regular files: how check-time code reads a file it was handed.

A size found by stat() is not a limit (`/dev/zero` reports 0 bytes, a FIFO
blocks, a file can grow after the check), so the limit is enforced by the
read itself: at most `limit + 1` bytes, from a file that fstat() says is
regular, opened without blocking.
"""

from __future__ import annotations

import os
import stat


class Refused(Exception):
    """A file that is not read: not a regular file, or over its size limit. The message says which."""

    def __init__(self, message: str, too_large: bool):
        super().__init__(message)
        self.too_large = too_large


def read_bounded(path: str, limit: int, follow_links: bool = True) -> bytes:
    """At most `limit` bytes of the regular file at `path`; Refused if it is larger or not a regular file.

    OSError (missing, unreadable) is left to the caller, which knows what the file is.
    """
    fd, st = _open_regular(path, follow_links)
    try:  # the size stat() reports, and one byte to see the end: usually one read
        data = _read_up_to(fd, limit + 1, st.st_size + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused(f"is larger than the limit of {limit:,} bytes", too_large=True)
    return data


def read_range(path: str, start: int, stop: int, follow_links: bool = True) -> tuple[bytes, int]:
    """Bytes `start` to `stop` of the regular file at `path`, and the file's size as fstat() gives it then.

    What is read is bounded by `stop - start` whatever the file holds (fewer bytes
    if it is shorter: the caller compares the size with the one it expects).
    Refused if it is not a regular file; OSError is left to the caller.
    """
    fd, st = _open_regular(path, follow_links)
    try:
        os.lseek(fd, start, os.SEEK_SET)
        data = _read_up_to(fd, stop - start, stop - start)
    finally:
        os.close(fd)
    return data, st.st_size


def _read_up_to(fd: int, n: int, first: int) -> bytes:
    """At most n bytes from fd, fewer at its end: `first` asked for at once, then up to 1 MiB a read."""
    chunks, size, want = [], 0, first
    while size < n:
        chunk = os.read(fd, min(n - size, want))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        want = 1 << 20
    return b"".join(chunks)


def _open_regular(path: str, follow_links: bool) -> tuple[int, os.stat_result]:
    """A descriptor of the file at `path` and its fstat(), or Refused (closed) if it is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)  # a FIFO must not block open()
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("is not a regular file", too_large=False)
    except BaseException:
        os.close(fd)
        raise
    return fd, st
