"""Bounded line reading over a byte range of a JSONL file, and cutting a file into ranges.

A line is never held whole in memory past a limit: once the unfinished line grows beyond it, its
bytes are counted and dropped until the next newline, and the caller gets its length instead of its
bytes. Memory is therefore bounded by the block size plus the line limit, whatever the file holds.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BLOCK = 4 * 1024 * 1024
_SEEK_PIECE = 64 * 1024  # read size when looking for the next newline (a cut point)
# Non-blocking, so opening a FIFO named as a dataset does not wait for a writer (the flags that a
# platform lacks, such as O_NONBLOCK on Windows or O_BINARY elsewhere, count as 0).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class Chunk:
    """Bytes [start, end) of a file; start is 0 or follows a newline, end is the size or follows one."""

    start: int
    end: int


class NotRegularFile(OSError):
    """The path names a directory, a device or a pipe: nothing a dataset can be."""


class FileChanged(OSError):
    """The file at a path is no longer the one that was measured (replaced while being read)."""


def open_regular(path: str, expect: tuple[int, int] | None = None) -> tuple[int, os.stat_result]:
    """Open `path` for reading without blocking on a FIFO or device; refuse anything but a regular file.

    With `expect` = (st_dev, st_ino), also refuse a file that was replaced since it was measured.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(0, "not a regular file (a directory, device or pipe)")
        if expect is not None and (st.st_dev, st.st_ino) != expect:
            raise FileChanged(0, "the file was replaced while it was being read")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def pread(fd: int, n: int, at: int) -> bytes:
    """`os.pread`, or seek + read where there is none (each descriptor is read by one thread at a time)."""
    if hasattr(os, "pread"):
        return os.pread(fd, n, at)
    os.lseek(fd, at, os.SEEK_SET)
    return os.read(fd, n)


def _read_into(fd: int, view: memoryview, at: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], at)
    data = pread(fd, len(view), at)
    view[: len(data)] = data
    return len(data)


def iter_lines(fd: int, chunk: Chunk, limit: int, block_size: int = BLOCK) -> Iterator[memoryview | bytes | int]:
    """Each line of the range without its newline: its bytes, or its length (an int) when over `limit`.

    Lines are views of one reused buffer (no copy per line, no new buffer per block): a line is valid
    only until the next one is asked for. A line that spans blocks is joined into bytes of its own.
    """
    pos = chunk.start

    def fill(view: memoryview) -> int:
        nonlocal pos
        want = min(len(view), chunk.end - pos)
        if want <= 0:
            return 0
        n = _read_into(fd, view[:want], pos)
        pos += max(n, 0)
        return n  # 0 when the file shrank under us: read what is there
    return split_lines(fill, max(1, min(block_size, chunk.end - chunk.start)), limit)


def split_lines(fill: Callable[[memoryview], int], block_size: int, limit: int) -> Iterator[memoryview | bytes | int]:
    """`iter_lines` over any source: `fill(view)` writes the next bytes into `view` and says how many (0 at
    the end). A file range and an HTTP stream are cut into lines, and bounded, by this one loop."""
    buf = bytearray(max(1, block_size))
    view = memoryview(buf)
    find = buf.find
    parts: list[bytes] = []  # the start of the current line, copied from earlier blocks
    held = 0  # their length
    skipping = -1  # length so far of an over-long line whose bytes are dropped; -1 when not skipping
    while (n := fill(view)) > 0:
        nl = find(b"\n", 0, n)
        if nl < 0:  # no newline: the current line goes on
            if skipping >= 0:
                skipping += n
            elif held + n > limit:
                skipping, parts, held = held + n, [], 0
            else:
                parts.append(bytes(view[:n]))
                held += n
            continue
        if skipping >= 0:
            yield skipping + nl
            skipping = -1
        elif held + nl > limit:
            yield held + nl
        else:
            yield b"".join((*parts, view[:nl])) if parts else view[:nl]
        start = nl + 1
        while (end := find(b"\n", start, n)) >= 0:
            yield view[start:end] if end - start <= limit else end - start
            start = end + 1
        tail = n - start
        if tail > limit:
            skipping, parts, held = tail, [], 0
        else:
            parts, held = ([bytes(view[start:n])], tail) if tail else ([], 0)
    if skipping >= 0:
        yield skipping
    elif held:
        yield b"".join(parts)


def next_line_start(fd: int, pos: int, size: int) -> int:
    """The offset of the first line that starts at or after `pos` (`size` if none does)."""
    if pos <= 0:
        return 0
    at = pos - 1  # if the byte before `pos` is a newline, a line starts exactly at `pos`
    while at < size:
        piece = pread(fd, min(_SEEK_PIECE, size - at), at)
        if not piece:
            return size
        i = piece.find(b"\n")
        if i >= 0:
            return at + i + 1
        at += len(piece)
    return size


def cut(fd: int, size: int, pieces: int) -> list[Chunk]:
    """Cut [0, size) into about `pieces` ranges of whole lines (fewer when long lines span the cuts)."""
    cuts = [0]
    for k in range(1, pieces):
        nominal = k * size // pieces
        if nominal <= cuts[-1]:
            continue  # a long line carried the last cut past this one: each byte is searched once
        at = next_line_start(fd, nominal, size)
        if at >= size:
            break  # no line starts after this point
        cuts.append(at)
    cuts.append(size)
    return [Chunk(a, b) for a, b in itertools.pairwise(cuts) if b > a]
