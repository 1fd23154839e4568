"""Stream a JSONL dataset once: hash its bytes, check every record, count examples and tokens.

The file is read in large blocks; sha256 runs on a second thread over the same blocks (hashlib
releases the GIL on large buffers), so hashing costs little on top of parsing. Memory stays
bounded by the block size whatever the file size.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ._records import FORMATS, Checker, infer_format

BLOCK = 8 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
MAX_PROBLEMS = 50  # per file; the rest are counted, not listed


@dataclass
class ScanOptions:
    expected_format: str | None = None  # chat | preference | reinforcement; None = infer
    vision: bool = True  # may image_url parts appear (the model supports vision)?
    count_tokens: bool = False
    encoding: str = "o200k_base"
    max_example_tokens: int | None = None
    min_examples: int = 10
    recommended_examples: int = 50
    max_file_bytes: int = 512 * 1024 * 1024

    def key(self) -> str:
        return orjson.dumps(self.__dict__, option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class LineProblem:
    line: int | None
    message: str
    severity: str = "error"


@dataclass
class DatasetReport:
    sha256: str
    size: int
    bom: bool
    format: str | None
    examples: int = 0
    tokens_by_role: dict[str, int] = field(default_factory=dict)
    trained_tokens: int = 0
    max_tokens_in_example: int = 0
    tokens_counted: bool = False
    problems: list[LineProblem] = field(default_factory=list)
    problems_omitted: int = 0

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems) and self.problems_omitted == 0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["problems"] = [p.__dict__ for p in self.problems]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetReport:
        d = dict(d)
        d["problems"] = [LineProblem(**p) for p in d["problems"]]
        return cls(**d)


def _blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as f:
        while block := f.read(BLOCK):
            yield block


def hash_file(path: Path) -> str:
    """sha256 of a file's bytes, read in large blocks."""
    h = hashlib.sha256()
    for block in _blocks(path):
        h.update(block)
    return h.hexdigest()


class _Hasher:
    """sha256 on a worker thread, fed the blocks the parser reads."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while (block := self._q.get()) is not None:
            self._h.update(block)

    def feed(self, block: bytes) -> None:
        self._q.put(block)

    def hexdigest(self) -> str:
        self._q.put(None)
        self._t.join()
        return self._h.hexdigest()


def scan_file(path: Path, opts: ScanOptions) -> DatasetReport:
    """Read `path` once and report everything Foundry would reject or silently mishandle."""
    hasher = _Hasher()
    size = 0
    problems: list[LineProblem] = []
    omitted = 0
    checker: Checker | None = None
    fmt = opts.expected_format
    bom = False
    lineno = 0
    rest = b""
    first = True

    def report(line: int | None, msg: str, severity: str = "error") -> None:
        nonlocal omitted
        if len(problems) < MAX_PROBLEMS:
            problems.append(LineProblem(line, msg, severity))
        else:
            omitted += 1

    def handle(raw: bytes) -> None:
        nonlocal checker, fmt
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            report(lineno, "blank line (Foundry rejects empty lines in JSONL)")
            return
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as u:
                report(lineno, f"invalid UTF-8 at byte {u.start} of the line")
                return
            report(lineno, f"invalid JSON: {e.msg}")
            return
        if checker is None:
            inferred = infer_format(rec)
            if fmt is None:
                fmt = inferred
            elif inferred is not None and inferred != fmt:
                report(lineno, f"record is in {inferred} format, but this dataset must be {fmt} "
                               f"({FORMATS[fmt]})")
            checker = Checker(fmt or "chat", opts, report)
        checker.check(rec, lineno)

    for block in _blocks(path):
        hasher.feed(block)
        size += len(block)
        if first:
            first = False
            if block.startswith(BOM):
                bom = True
                block = block[3:]
        data = rest + block if rest else block
        lines = data.split(b"\n")
        rest = lines.pop()
        for raw in lines:
            lineno += 1
            handle(raw)
    if rest:
        lineno += 1
        handle(rest)
    digest = hasher.hexdigest()
    stats = checker.finish() if checker is not None else None
    report_ = DatasetReport(sha256=digest, size=size, bom=bom, format=fmt)
    if stats is not None:
        report_.examples = stats.examples
        report_.tokens_by_role = stats.tokens_by_role
        report_.trained_tokens = stats.trained_tokens
        report_.max_tokens_in_example = stats.max_tokens
        report_.tokens_counted = opts.count_tokens
    if size > opts.max_file_bytes:
        report(None, f"file is {size / 2**20:.1f} MiB; Foundry accepts at most "
                     f"{opts.max_file_bytes / 2**20:.0f} MiB per file")
    if size == 0 or report_.examples == 0:
        report(None, "no examples: the file is empty")
    elif report_.examples < opts.min_examples:
        report(None, f"{report_.examples} examples; Foundry needs at least {opts.min_examples}")
    elif report_.examples < opts.recommended_examples:
        report(None, f"{report_.examples} examples; at least {opts.recommended_examples} are recommended",
               "warning")
    report_.problems = problems
    report_.problems_omitted = omitted
    return report_
