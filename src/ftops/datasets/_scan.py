"""Scan a JSONL dataset: hash its bytes, check every record, count examples and tokens.

The size is checked with fstat before a byte is read: a file over Foundry's limit is refused unread
and unhashed (hashing 600 MB that can never be uploaded only costs time; nothing downstream uses the
hash of a report that carries an error). Then:

- sha256 runs over the whole file, in order, on a thread (hashlib releases the GIL);
- the records are checked in ranges of whole lines (`_lines.cut`), by worker processes for a large
  file (both cores) and in-process for a small one (a process start costs more than it saves there);
- each range reports line numbers relative to itself and its line count; the ranges are merged in
  file order, so problems keep the file's order and the MAX_PROBLEMS kept are the first ones.

Workers are forked when the calling process has a single thread (cheap, and they inherit the loaded
token ranks); a process that runs other threads spawns them instead, because forking a threaded
process can copy a lock some other thread holds. Peak memory: per worker one block plus one line
(bounded by `ScanOptions.max_line_bytes`), whatever the file size.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import BrokenExecutor
from pathlib import Path

import orjson

from . import _ahead
from ._chunk import ChunkJob, ChunkResult, mismatch_problem, scan_chunk
from ._lines import BLOCK, Chunk, cut, iter_lines, open_regular, pread
from ._options import BOM, MAX_PROBLEMS, DatasetReport, LineProblem, ScanOptions
from ._records import Stats, infer_format

MAX_WORKERS = 4  # each worker holds a block and a line: more cores would buy speed with memory
CHUNK_BYTES = 32 * 1024 * 1024  # about this much per range; at least two ranges per worker (balance)
# Counting tokens costs ~20x the CPU per byte of checking, so ranges are smaller: the last range a
# worker takes (while the others may idle) is then ~0.2 s of work rather than ~0.8 s.
TOKEN_CHUNK_BYTES = 8 * 1024 * 1024
PROBE_LINES = 1000  # the dataset's format is inferred from the first record that parses in these
# Smallest files worth worker processes. A forked pool costs ~25 ms to start and gather: about what
# checking 8 MiB costs, or counting the tokens of 1 MiB (so parallel counting pays from ~4 MiB).
# Spawning costs ~0.2 s plus imports, and loading the token ranks again (~1 s) when counting tokens.
_PARENT_CHECK = 0.25  # seconds between a worker's looks at whether the command still runs
_PARALLEL_MIN = {("fork", False): 8 << 20, ("fork", True): 4 << 20,
                 ("spawn", False): 64 << 20, ("spawn", True): 16 << 20}


def hash_file(path: Path) -> str:
    """sha256 of a file's bytes, read in large blocks."""
    fd, st = open_regular(str(path))
    try:
        return hash_fd(fd, st.st_size)
    finally:
        os.close(fd)


def hash_fd(fd: int, size: int) -> str:
    h = hashlib.sha256()
    pos = 0
    while pos < size:
        block = pread(fd, min(BLOCK, size - pos), pos)
        if not block:
            break
        h.update(block)
        pos += len(block)
    return h.hexdigest()


class _HashThread(threading.Thread):
    def __init__(self, fd: int, size: int) -> None:
        super().__init__(daemon=True, name="ftops-sha256")
        self._fd, self._size = fd, size
        self._digest = ""
        self._error: OSError | None = None

    def run(self) -> None:
        try:
            self._digest = hash_fd(self._fd, self._size)
        except OSError as e:
            self._error = e

    def digest(self) -> str:
        self.join()
        if self._error is not None:
            raise self._error
        return self._digest


def _unread(size: int, opts: ScanOptions, message: str) -> DatasetReport:
    return DatasetReport(sha256="", size=size, bom=False, format=opts.expected_format,
                         problems=[LineProblem(None, message)])


def scan_file(path: Path, opts: ScanOptions, *, workers: int | None = None,
              pieces: int | None = None) -> DatasetReport:
    """Read `path` and report everything Foundry would reject or silently mishandle.

    `workers` None picks in-process or worker processes by file size; an int forces that many
    processes (1: in-process). `pieces` forces the number of ranges (tests cut small files with it).
    """
    try:
        fd, st = open_regular(str(path))
    except OSError as e:
        return _unread(0, opts, f"cannot read the file: {e.strerror or e}")
    try:
        if st.st_size > opts.max_file_bytes:
            return _unread(st.st_size, opts, f"file is {st.st_size / 2**20:.1f} MiB; Foundry accepts at most "
                                             f"{opts.max_file_bytes / 2**20:.0f} MiB per file (not read)")
        return _scan_open(str(path), fd, st, opts, workers, pieces)
    except OSError as e:  # the file vanished, was replaced or became unreadable while being read
        return _unread(st.st_size, opts, f"cannot read the file: {e.strerror or e}")
    except BrokenExecutor:  # a BrokenProcessPool (its module loads with the first pool: plan needs none)
        return _unread(st.st_size, opts, "a worker process checking the file died (out of memory?)")
    finally:
        os.close(fd)


def _start_method() -> str:
    """fork where the process runs one thread and the platform forks (the multiprocessing start methods
    include fork exactly where `os.fork` exists), else spawn. Not multiprocessing's own list: a scan that
    takes a file read ahead (`_ahead`) then never loads multiprocessing."""
    return "fork" if threading.active_count() == 1 and hasattr(os, "fork") else "spawn"


def worker_count(size: int, opts: ScanOptions, method: str) -> int:
    if size < _PARALLEL_MIN[(method, opts.count_tokens)]:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _scan_open(path: str, fd: int, st: os.stat_result, opts: ScanOptions, workers: int | None,
               pieces: int | None) -> DatasetReport:
    method = _start_method()
    n = workers if workers is not None else worker_count(st.st_size, opts, method)
    jobs, bom, fmt = plan_jobs(path, fd, st, opts, n, pieces)
    ahead = _ahead.take(st, jobs) if workers is None and pieces is None else None
    if ahead is not None:  # the same ranges, checked the same way, of the same file, unchanged: scanned ahead
        return merge_results(*ahead, st.st_size, bom, fmt, opts)
    hasher = _HashThread(fd, st.st_size)
    try:
        results = _in_workers(jobs, n, method, opts, hasher) if n > 1 else None
        if results is None:
            hasher.start()
            results = [scan_chunk(job) for job in jobs]
        digest = hasher.digest()
    finally:
        if hasher.is_alive():
            hasher.join()  # it reads `fd`, which the caller closes once this returns
    return merge_results(results, digest, st.st_size, bom, fmt, opts)


def plan_jobs(path: str, fd: int, st: os.stat_result, opts: ScanOptions, n: int,
              pieces: int | None = None) -> tuple[list[ChunkJob], bool, str | None]:
    """The ranges a scan by `n` processes checks (`pieces` of them, default by size), whether the file starts
    with a BOM, and its format (`_probe`): decided from the file's head, the same in every process."""
    size = st.st_size
    if pieces is None:
        chunk = TOKEN_CHUNK_BYTES if opts.count_tokens else CHUNK_BYTES
        pieces = 1 if n == 1 else max(2 * n, -(-size // chunk))
    chunks = cut(fd, size, pieces) or [Chunk(0, 0)]
    bom = pread(fd, 3, 0) == BOM
    fmt, mismatch, at = _probe(fd, size, opts, bom)
    jobs = [ChunkJob(path, (st.st_dev, st.st_ino), c, fmt or "chat", opts,
                     _relative(fd, mismatch, c) if mismatch is not None and c.start <= at < c.end else None)
            for c in chunks]
    return jobs, bom, fmt


def _in_workers(jobs: list[ChunkJob], n: int, method: str, opts: ScanOptions,
                hasher: _HashThread) -> list[ChunkResult] | None:
    """The jobs' results from `n` worker processes, with `hasher` started once they exist; None where
    processes cannot be had (no working sem_open in a sandbox, fork refused): the caller scans in-process."""
    if opts.count_tokens and method == "fork":
        from ._tokens import get_encoding

        get_encoding(opts.encoding)  # loaded once here, inherited by every forked worker
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        pool = ProcessPoolExecutor(max_workers=min(n, len(jobs)), mp_context=multiprocessing.get_context(method),
                                   initializer=_end_with, initargs=(os.getpid(),))
    except (OSError, ImportError, NotImplementedError):
        return None
    with pool:
        try:
            pending = pool.map(scan_chunk, jobs)  # submits every job: the workers fork here, before
        except OSError:
            return None
        hasher.start()  # this process starts a thread of its own
        return list(pending)


def _end_with(parent: int) -> None:
    """A worker's start: it ends when `parent` does. A pool's workers wait for work on a queue whose other end
    they hold themselves, so a command killed outright (`kill`, SIGKILL) left them waiting forever, holding its
    standard output and error (a reader of them never saw the command end)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="ftops-parent-watch", daemon=True).start()


def _probe(fd: int, size: int, opts: ScanOptions, bom: bool) -> tuple[str | None, LineProblem | None, int]:
    """The dataset's format, from the first record that parses among the first PROBE_LINES lines, and the
    problem to report there (with the line's byte offset) if it contradicts the format the jobs need."""
    fmt = opts.expected_format
    at = 0
    for lineno, raw in enumerate(iter_lines(fd, Chunk(0, size), opts.max_line_bytes()), 1):
        if lineno > PROBE_LINES:
            break
        start, at = at, at + (raw if isinstance(raw, int) else len(raw)) + 1
        if isinstance(raw, int):
            continue
        line = bytes(raw)[3:] if lineno == 1 and bom else bytes(raw)
        try:
            rec = orjson.loads(line.removesuffix(b"\r"))
        except orjson.JSONDecodeError:
            continue
        inferred = infer_format(rec)
        if fmt is None:
            return inferred, None, 0
        if inferred is not None and inferred != fmt:
            return fmt, mismatch_problem(lineno, inferred, fmt), start
        break
    return fmt, None, 0


def _relative(fd: int, problem: LineProblem, chunk: Chunk) -> LineProblem:
    """`problem` (at an absolute line among the first PROBE_LINES) numbered from the start of `chunk`."""
    before = 0
    pos = 0
    while pos < chunk.start:
        piece = pread(fd, min(BLOCK, chunk.start - pos), pos)
        if not piece:
            break
        before += piece.count(b"\n")
        pos += len(piece)
    return LineProblem((problem.line or 0) - before, problem.message, problem.severity)


def merge_results(results: list[ChunkResult], digest: str, size: int, bom: bool,
           fmt: str | None, opts: ScanOptions) -> DatasetReport:
    problems: list[LineProblem] = []
    omitted = 0
    stats = Stats()
    offset = 0
    for r in results:
        problems.extend(LineProblem(p.line + offset if p.line is not None else None, p.message, p.severity)
                        for p in r.problems)
        omitted += r.omitted
        offset += r.lines
        stats.examples += r.stats.examples
        for role, count in r.stats.tokens_by_role.items():
            stats.tokens_by_role[role] = stats.tokens_by_role.get(role, 0) + count
        stats.trained_tokens += r.stats.trained_tokens
        stats.max_tokens = max(stats.max_tokens, r.stats.max_tokens)
    omitted += max(0, len(problems) - MAX_PROBLEMS)
    del problems[MAX_PROBLEMS:]
    report = DatasetReport(sha256=digest, size=size, bom=bom, format=fmt, examples=stats.examples,
                           tokens_by_role=stats.tokens_by_role, trained_tokens=stats.trained_tokens,
                           max_tokens_in_example=stats.max_tokens, tokens_counted=opts.count_tokens,
                           problems=problems, problems_omitted=omitted)
    _file_problems(report, opts)
    return report


def _file_problems(report: DatasetReport, opts: ScanOptions) -> None:
    def add(message: str, severity: str = "error") -> None:
        if len(report.problems) < MAX_PROBLEMS:
            report.problems.append(LineProblem(None, message, severity))
        else:
            report.problems_omitted += 1

    if report.size == 0:
        add("no examples: the file is empty")
    elif report.examples == 0:
        add("no examples: no line holds a valid record")
    elif report.examples < opts.min_examples:
        add(f"{report.examples} examples; Foundry needs at least {opts.min_examples}")
    elif report.examples < opts.recommended_examples:
        add(f"{report.examples} examples; at least {opts.recommended_examples} are recommended", "warning")
