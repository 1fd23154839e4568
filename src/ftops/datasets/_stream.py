"""Scan a dataset that can be read only once, in order: the body of a URL, as an iterator of byte pieces.

The bytes are hashed, counted and capped at Foundry's size limit as they pass; lines are cut and bounded by
the file scanner's own splitter (`_lines.split_lines`) and checked by its own loop (`_chunk.check_lines`), in
one pass. Only the dataset's format needs a pass of its own for a file (`_scan._probe` reads the head
twice); here the lines before the first record that parses are reported as they come (a line that is not
JSON reads the same in every format), that record decides the format, and the loop goes on from it.
Memory: one block, one line (bounded) and the piece being copied, whatever the size of the stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from ._chunk import ChunkResult, Problems, check_lines, mismatch_problem, parse_line, too_long
from ._lines import split_lines
from ._options import BOM, DatasetReport, LineProblem, ScanOptions
from ._records import Checker, infer_format
from ._scan import PROBE_LINES, merge_results

STREAM_BLOCK = 1024 * 1024  # lines are cut in blocks of this size (a smaller block than a file's: less memory)
_NONE = object()  # no record parsed among the first PROBE_LINES lines


class TooLarge(Exception):
    """The stream went past the size limit (it is not read further)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Source:
    """The stream's pieces, hashed, counted and capped as they pass; `fill` feeds `split_lines`."""

    def __init__(self, pieces: Iterator[bytes], cap: int) -> None:
        self._pieces = pieces
        self._cap = cap
        self._pending = memoryview(b"")
        self.size = 0
        self.head = b""
        self.sha256 = hashlib.sha256()

    def fill(self, view: memoryview) -> int:
        while not self._pending:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self.size += len(piece)
            if self.size > self._cap:
                raise TooLarge(self.size)
            self.sha256.update(piece)
            if len(self.head) < len(BOM):
                self.head = (self.head + piece[:len(BOM)])[:len(BOM)]
            self._pending = memoryview(piece)
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def scan_stream(pieces: Iterable[bytes], opts: ScanOptions) -> DatasetReport:
    """Check a whole stream as `scan_file` checks a file, and report the same. Raises TooLarge past
    `opts.max_file_bytes`; an error of the source (a dropped connection) propagates to the caller."""
    source = _Source(iter(pieces), opts.max_file_bytes)
    lines = iter(split_lines(source.fill, STREAM_BLOCK, opts.max_line_bytes()))
    problems = Problems()
    fmt, mismatch, lineno, rec = _probe(lines, opts, problems)
    checker = Checker(fmt or "chat", opts, problems.add)
    if rec is not _NONE:
        if mismatch is not None:
            problems.add(mismatch.line, mismatch.message, mismatch.severity)
        checker.check(rec, lineno)
    result: ChunkResult = check_lines(lines, checker, problems, first=lineno == 0, lineno=lineno)
    return merge_results([result], source.sha256.hexdigest(), source.size, source.head == BOM, fmt, opts)


def _probe(lines: Iterator[memoryview | bytes | int], opts: ScanOptions,
           problems: Problems) -> tuple[str | None, LineProblem | None, int, Any]:
    """Read up to the first record that parses (among the first PROBE_LINES lines), reporting the lines
    before it; (format, its mismatch with the jobs' format, its line, the record or _NONE)."""
    limit = opts.max_line_bytes()
    lineno = 0
    for raw in lines:
        lineno += 1
        if isinstance(raw, int):
            problems.add(lineno, too_long(raw, limit))
        else:
            line = bytes(raw)[len(BOM):] if lineno == 1 and raw[:len(BOM)] == BOM else bytes(raw)
            parsed, rec = parse_line(line.removesuffix(b"\r"), lineno, problems)
            if parsed:
                fmt, inferred = opts.expected_format, infer_format(rec)
                if fmt is None:
                    return inferred, None, lineno, rec
                if inferred is not None and inferred != fmt:
                    return fmt, mismatch_problem(lineno, inferred, fmt), lineno, rec
                return fmt, None, lineno, rec
        if lineno >= PROBE_LINES:
            break
    return opts.expected_format, None, lineno, _NONE
