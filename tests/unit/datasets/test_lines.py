"""The bounded line reader, against a plain split, at every block size and line limit."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ftops.datasets._lines import Chunk, cut, iter_lines, next_line_start, open_regular


def reference(data: bytes, limit: int) -> list[bytes | int]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [x if len(x) <= limit else len(x) for x in lines]


def read(p: Path, chunk: Chunk, limit: int, block: int) -> list[bytes | int]:
    fd, _ = open_regular(str(p))
    try:
        return [x if isinstance(x, int) else bytes(x) for x in iter_lines(fd, chunk, limit, block)]
    finally:
        os.close(fd)


@pytest.mark.parametrize("seed", range(30))
def test_lines_match_a_plain_split(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = [b"x" * rng.choice([0, 1, 2, 5, 9, 10, 11, 30, 64]) for _ in range(rng.randint(0, 40))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n", b"\n\n"])
    p = tmp_path / "d"
    p.write_bytes(data)
    for block in (1, 2, 3, 7, 10, 64, 4096):
        for limit in (0, 5, 10, 64):
            assert read(p, Chunk(0, len(data)), limit, block) == reference(data, limit), (block, limit)


@pytest.mark.parametrize("seed", range(10))
def test_ranges_from_cut_read_the_same_lines_as_the_whole(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = b"\n".join(b"y" * rng.randint(0, 50) for _ in range(rng.randint(1, 60))) + rng.choice([b"", b"\n"])
    p = tmp_path / "d"
    p.write_bytes(data)
    fd, _ = open_regular(str(p))
    try:
        for pieces in (1, 2, 3, 5, 17):
            chunks = cut(fd, len(data), pieces)
            assert b"".join(os.pread(fd, c.end - c.start, c.start) for c in chunks) == data
            joined = [x if isinstance(x, int) else bytes(x) for c in chunks for x in iter_lines(fd, c, 20, 4)]
            assert joined == reference(data, 20)
        assert next_line_start(fd, 0, len(data)) == 0
        assert next_line_start(fd, len(data), len(data)) == len(data)
    finally:
        os.close(fd)


def test_a_file_without_newlines_is_searched_once_for_cuts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "d"
    p.write_bytes(b"z" * 100_000)
    read_bytes = 0
    real = os.pread

    def counting(fd: int, n: int, at: int) -> bytes:
        nonlocal read_bytes
        data = real(fd, n, at)
        read_bytes += len(data)
        return data

    monkeypatch.setattr(os, "pread", counting)  # cut() reads through _lines.pread, which calls os.pread
    fd, _ = open_regular(str(p))
    try:
        assert cut(fd, 100_000, 16) == [Chunk(0, 100_000)]
    finally:
        os.close(fd)
    assert read_bytes <= 100_000
