"""Scans started ahead: `ftops validate DIR --no-tokens` hashes and checks the data files its specs name while
the command line is still loading (about 0.15 s of imports on one core), and each file's scan later takes the
results instead of reading the file again.

`start` forks one child (the lead) before the command line loads, and returns at once. The lead finds the
files (`_named.named_files`), skips those the hash cache already holds at their stat (a warm validate reads
nothing ahead), tells the parent which files it will scan (a first message), then scans each as `scan_file`
would with `GUESS`: the same ranges (`_scan.plan_jobs`), checked by forked workers that take the ranges from
a shared pipe one at a time (so a busy core does not hold back the others), while the lead hashes. Each file's
results go to the parent as one message.

Nothing read ahead is trusted: `take` hands a file's results to its scan only for the same file unchanged (the
whole stat the hash cache keys on: size, mtime, ctime, inode, device, taken before the lead read a byte) cut
into the same ranges and checked the same way (`ChunkJob.serves`); a guess that missed (other options, a
file the specs do not name after all) or a lead or worker that failed leaves the scan to read the file as
usual. The lead and its workers form a process group of their own, killed when the command ends without
taking their results (a spec error, say); a command killed outright leaves them to finish their bounded work,
holding none of its standard streams. Only processes with `os.fork` read ahead.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import signal
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ._chunk import ChunkJob, ChunkResult, scan_chunk
from ._lines import BLOCK, open_regular
from ._options import ScanOptions

# The options guessed for a file read ahead: `--no-tokens`, the format the file's first record has, and no
# vision (most models' catalog entry), whose result also serves a model with vision where no line is over the
# limit and no record holds an image (`ChunkResult.vision_free`). A job that needs other record checks (a
# format the data does not have) takes nothing from it.
GUESS = ScanOptions(vision=False)
_log = logging.getLogger("ftops.datasets")
_LEN = struct.Struct("<Q")  # each message: its length, then its pickle
_MAX_PIECES = 255  # ranges are handed to workers as one byte each


@dataclass(frozen=True)
class Ahead:
    """One file's scan done ahead: its stat before reading (`_cache.stat_key`), its ranges, their results in
    order (None when a worker failed) and its sha256."""

    identity: tuple[int, int]
    stat: list[int]
    jobs: list[ChunkJob]
    results: list[ChunkResult] | None
    digest: str


class _Lead:
    """The parent's end of the lead: its pid, its pipe, what it said it scans and what it has sent."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.planned: set[tuple[int, int]] | None = None
        self.sent: dict[tuple[int, int], Ahead] = {}
        self.ended = False

    def receive(self) -> object | None:
        """The next message, or None at the end (the lead is then reaped)."""
        body = _receive(self.fd)
        if not body:
            self.stop()
            return None
        try:
            message: object = pickle.loads(body)  # from our own child, through a pipe only it and we hold
            return message
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            self.stop()
            return None

    def stop(self) -> None:
        if self.ended:
            return
        self.ended = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)  # done or not: its results are no longer wanted
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)


_lead: _Lead | None = None


def start(spec_dir: Path) -> None:
    """Begin scanning the data files under `spec_dir` in a forked child; a no-op where that cannot help."""
    global _lead
    if _lead is not None or not hasattr(os, "fork") or threading.active_count() > 1 or _cores() < 2:
        return  # forking a threaded process can copy a lock another thread holds (as `_scan` decides)
    try:
        r, w = _pipe()
    except OSError:
        return
    # Ctrl-C waits until the lead is forked and registered: raised in fork's handlers (logging's), it would be
    # lost in the parent ("Exception ignored") and, in the child, raised before it knows it is the lead.
    blocked = _block_sigint()
    try:
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:
            _be_the_lead(spec_dir, r, w)
        os.close(w)
        with contextlib.suppress(OSError):  # as the lead does: whichever runs first, `stop` can kill the group
            os.setpgid(pid, pid)
        _lead = _Lead(pid, r)
        atexit.register(_lead.stop)
    finally:
        if blocked:  # a Ctrl-C that came meanwhile is raised now, in the parent, which stops the lead at exit
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _pipe() -> tuple[int, int]:
    """A pipe whose ends are above descriptor 2: a command started with a standard stream closed would give them
    0 to 2, where the lead puts /dev/null (`_detach`): its messages would go there, and the parent wait for the
    lead's end to read each file again."""
    r, w = os.pipe()
    if r > 2 and w > 2:
        return r, w
    import fcntl

    try:
        high_r = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 3)
        try:
            return high_r, fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 3)
        except OSError:
            os.close(high_r)
            raise
    finally:
        os.close(r)
        os.close(w)


def _be_the_lead(spec_dir: Path, r: int, w: int) -> NoReturn:
    """The forked lead's life: it never returns, never runs the parent's exit handlers or flushes its output."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C sent before it left the group is the parent's
        os.close(r)
        os.setpgid(0, 0)
        _detach()
        _scan_all(spec_dir, w)
        code = 0
    finally:
        os._exit(code)


def _block_sigint() -> bool:
    """Hold SIGINT pending (not lost) in this thread; whether it was unblocked before and is blocked now."""
    if not hasattr(signal, "pthread_sigmask"):
        return False
    return signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _detach() -> None:
    """Hold none of the parent's standard streams: a reader of the command's output (a pipe, a CI log) sees it
    end when the command ends, even if the lead were left running (a parent killed by SIGKILL)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def take(st: os.stat_result, jobs: list[ChunkJob]) -> tuple[list[ChunkResult], str] | None:
    """The results and sha256 of `jobs` (a scan's ranges of the file `st` describes), if they were read ahead
    from that file unchanged and checked the same way; None otherwise (the caller reads the file)."""
    lead = _lead
    if lead is None:
        return None
    from ._cache import stat_key

    identity = (st.st_dev, st.st_ino)
    if lead.planned is None:
        planned = lead.receive()
        lead.planned = planned if isinstance(planned, set) else set()
    while identity in lead.planned and not lead.ended:  # each file's message comes once
        message = lead.receive()
        if isinstance(message, Ahead):
            lead.planned.discard(message.identity)
            lead.sent[message.identity] = message
    ahead = lead.sent.pop(identity, None)
    if ahead is None:
        return None
    if (ahead.results is None or ahead.stat != stat_key(st) or len(ahead.jobs) != len(jobs)
            or not all(a.serves(r, b) for a, r, b in zip(ahead.jobs, ahead.results, jobs, strict=True))):
        _log.debug("read ahead, not taken (changed, or checked otherwise): %s", jobs[0].path)
        return None
    _log.debug("read ahead, taken: %s", jobs[0].path)
    return ahead.results, ahead.digest


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _scan_all(spec_dir: Path, out: int) -> None:
    """The lead's work: announce the files, then send each one's scan."""
    from ._cache import HashCache, stat_key
    from ._named import named_files
    from ._scan import worker_count

    root, paths = named_files(spec_dir)
    cache = HashCache(root)
    todo: list[tuple[Path, int, os.stat_result]] = []
    for path in paths:
        try:
            fd, st = open_regular(str(path))
        except OSError:
            continue
        if (st.st_size > GUESS.max_file_bytes or worker_count(st.st_size, GUESS, "fork") < 2
                or cache.holds(path, stat_key(st)) or any(s.st_ino == st.st_ino and s.st_dev == st.st_dev
                                                          for _, _, s in todo)):
            os.close(fd)
            continue
        todo.append((path, fd, st))
    _send(out, {(st.st_dev, st.st_ino) for _, _, st in todo})
    for path, fd, st in todo:
        _send(out, _scan_one(str(path), fd, st, out))
        os.close(fd)


def _scan_one(path: str, fd: int, st: os.stat_result, out: int) -> Ahead:
    from ._cache import stat_key
    from ._scan import plan_jobs, worker_count

    n = worker_count(st.st_size, GUESS, "fork")
    jobs, _, _ = plan_jobs(path, fd, st, GUESS, n)
    results = None
    if len(jobs) <= _MAX_PIECES:
        queue_r, queue_w = os.pipe()
        os.write(queue_w, bytes(range(len(jobs))))  # at most 255 bytes: a pipe holds them without a reader
        os.close(queue_w)  # before the fork: a worker that finds the pipe empty reads its end
        workers = [_fork_worker(jobs, queue_r, out) for _ in range(min(n, len(jobs)))]
        os.close(queue_r)
        digest = _hash_mapped(fd, st.st_size)  # the lead hashes beside its workers
        results = _gather(workers, len(jobs))
    else:
        digest = ""
    return Ahead((st.st_dev, st.st_ino), stat_key(st), jobs, results, digest)


def _hash_mapped(fd: int, size: int) -> str:
    """sha256 of the file through mappings of it, a block at a time: the bytes are hashed where the page cache
    holds them, not copied first (0.015 to 0.02 s less CPU on 200 MB), and at most a block is mapped (the
    process's memory stays a block, as reading it would). Only here: a file truncated while mapped ends the
    process that reads it (SIGBUS), which for the lead only means that the scan reads the file itself."""
    import hashlib
    import mmap

    h = hashlib.sha256()
    pos = 0
    while pos < size:
        n = min(BLOCK, size - pos)  # a multiple of the page size, so each offset is one
        with mmap.mmap(fd, n, prot=mmap.PROT_READ, offset=pos) as mapped:
            h.update(mapped)
        pos += n
    return h.hexdigest()


def _fork_worker(jobs: list[ChunkJob], queue: int, lead_out: int) -> tuple[int, int]:
    """(pid, the read end of its results) of a worker checking ranges until the queue is empty."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.close(lead_out)  # the parent sees the lead's pipe end when the lead does, not its workers
            done: dict[int, ChunkResult] = {}
            while index := os.read(queue, 1):
                done[index[0]] = scan_chunk(jobs[index[0]])
            _send(w, done)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _gather(workers: list[tuple[int, int]], count: int) -> list[ChunkResult] | None:
    """Every range's result, in order, or None if a worker failed (it wrote nothing, or not every range)."""
    done: dict[int, ChunkResult] = {}
    failed = False
    for pid, r in workers:
        body = _receive(r)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        if not body or status != 0:
            failed = True
            continue
        done.update(pickle.loads(body))
    return None if failed or len(done) != count else [done[i] for i in range(count)]


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> bytes:
    """The body of the next message `_send` wrote to `fd`, or b"" at the pipe's end."""
    head = _read_exactly(fd, _LEN.size)
    return _read_exactly(fd, _LEN.unpack(head)[0]) if len(head) == _LEN.size else b""


def _read_exactly(fd: int, n: int) -> bytes:
    """`n` bytes from a pipe, or fewer at its end."""
    parts: list[bytes] = []
    while n > 0 and (part := os.read(fd, min(n, 1 << 20))):
        parts.append(part)
        n -= len(part)
    return b"".join(parts)
