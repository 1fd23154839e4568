"""The scan split into ranges across worker processes: same report as in-process, line numbers in file
order across range boundaries, token counts identical to a single-thread count."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from ftops.datasets import DatasetReport, ScanOptions, get_encoding, scan_file
from ftops.datasets._lines import Chunk, cut, iter_lines, open_regular
from ftops.datasets._options import MAX_PROBLEMS
from ftops.datasets._records import MESSAGE_OVERHEAD
from ftops.datasets._scan import worker_count
from tests.conftest import chat_line

WIDTH = 240  # every line is padded to this many bytes (JSON allows trailing spaces), so cuts are predictable


def padded(text: bytes) -> bytes:
    assert len(text) <= WIDTH
    return text + b" " * (WIDTH - len(text))


def dataset(tmp_path: Path, n: int, bad: dict[int, bytes], *, newline: bytes = b"\n", final: bool = True) -> Path:
    lines = [padded(bad.get(i, chat_line(i).encode())) for i in range(1, n + 1)]
    p = tmp_path / "d.jsonl"
    p.write_bytes(newline.join(lines) + (newline if final else b""))
    return p


def chunk_first_lines(p: Path, pieces: int) -> list[int]:
    fd, st = open_regular(str(p))
    try:
        return [1 + len(list(iter_lines(fd, Chunk(0, c.start), 10**9))) for c in cut(fd, st.st_size, pieces)]
    finally:
        os.close(fd)


def same(a: DatasetReport, b: DatasetReport) -> None:
    assert asdict(a) == asdict(b)


def test_cut_is_at_line_starts_and_covers_the_file(tmp_path: Path) -> None:
    p = dataset(tmp_path, 40, {})
    assert chunk_first_lines(p, 4) == [1, 11, 21, 31]
    fd, st = open_regular(str(p))
    try:
        chunks = cut(fd, st.st_size, 7)
        assert chunks[0].start == 0 and chunks[-1].end == st.st_size
        assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
        assert all(os.pread(fd, 1, c.start - 1) == b"\n" for c in chunks[1:])
    finally:
        os.close(fd)


def test_problems_on_the_first_and_last_line_of_each_range_keep_their_numbers(tmp_path: Path) -> None:
    bad_lines = [1, 10, 11, 20, 21, 30, 31, 40]
    p = dataset(tmp_path, 40, {i: b"not json" for i in bad_lines})
    assert chunk_first_lines(p, 4) == [1, 11, 21, 31]
    serial = scan_file(p, ScanOptions(), workers=1)
    parallel = scan_file(p, ScanOptions(), workers=2, pieces=4)
    assert [x.line for x in parallel.problems if x.line is not None] == bad_lines
    assert parallel.examples == 40 - len(bad_lines)
    same(serial, parallel)


@pytest.mark.parametrize("final", [True, False])
def test_crlf_at_a_boundary_and_no_final_newline(tmp_path: Path, final: bool) -> None:
    p = dataset(tmp_path, 40, {11: b"[]", 40: b"{}"}, newline=b"\r\n", final=final)
    for pieces in (1, 2, 3, 4, 5, 9):
        r = scan_file(p, ScanOptions(), workers=2, pieces=pieces)
        assert [x.line for x in r.problems if x.line is not None] == [11, 40], pieces
        assert r.examples == 38 and r.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_cut_inside_a_long_line_moves_to_the_next_line(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(chat_line(1).encode() + b"\n" + b"x" * 5000 + b"\n"
                  + b"".join(chat_line(i).encode() + b"\n" for i in range(2, 14)))
    opts = ScanOptions(vision=False, max_example_tokens=10)  # the 5000-byte line is over the bound
    for pieces in (2, 3, 8):
        r = scan_file(p, opts, workers=2, pieces=pieces)
        assert [x.line for x in r.problems if x.severity == "error"] == [2]
        assert r.examples == 13


def test_the_first_problems_kept_are_the_first_in_the_file(tmp_path: Path) -> None:
    n = 400
    p = dataset(tmp_path, n, {i: b"not json" for i in range(1, n + 1) if i % 3 == 0})
    serial = scan_file(p, ScanOptions(), workers=1)
    for pieces in (2, 5, 13):
        parallel = scan_file(p, ScanOptions(), workers=2, pieces=pieces)
        assert [x.line for x in parallel.problems] == [3 * k for k in range(1, MAX_PROBLEMS + 1)]
        assert parallel.problems_omitted == n // 3 - MAX_PROBLEMS
        same(serial, parallel)


def test_identical_reports_in_process_and_in_workers(tmp_path: Path) -> None:
    recs = []
    for i in range(300):
        msgs: list[dict[str, object]] = [{"role": "user", "content": f"question {i} " * (i % 7 + 1)},
                                          {"role": "assistant", "content": f"answer {i}", "weight": i % 2}]
        if i % 5 == 0:  # the slow path: content parts and tools
            msgs.append({"role": "user", "content": [{"type": "text", "text": "more"}]})
            msgs.append({"role": "assistant", "content": "done"})
        rec: dict[str, object] = {"messages": msgs}
        if i % 11 == 0:
            rec["extra"] = 1  # a warning
        recs.append(json.dumps(rec))
    recs[120] = "{broken"
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(recs) + "\n")
    for tokens in (False, True):
        opts = ScanOptions(count_tokens=tokens, max_example_tokens=20 if tokens else None)
        serial = scan_file(p, opts, workers=1)
        for pieces in (2, 3, 7):
            same(serial, scan_file(p, opts, workers=2, pieces=pieces))


def test_token_counts_equal_a_single_thread_count(tmp_path: Path) -> None:
    enc = get_encoding("o200k_base")
    texts = ["Hello world", "naïve café — 東京 🙂", "x" * 3000, "  spaced\n\tout  ", "1234567890" * 30]
    lines = []
    for i in range(200):
        lines.append(json.dumps({"messages": [{"role": "system", "content": texts[i % 5]},
                                              {"role": "user", "content": texts[(i + 1) % 5]},
                                              {"role": "assistant", "content": texts[(i + 2) % 5],
                                               "weight": i % 2}]}))
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(lines) + "\n")
    by_role: dict[str, int] = {}
    trained = 0
    for line in lines:  # the reference: one text at a time, one thread
        for m in json.loads(line)["messages"]:
            n = len(enc.encode_ordinary(m["content"])) + MESSAGE_OVERHEAD
            by_role[m["role"]] = by_role.get(m["role"], 0) + n
            trained += n if m["role"] == "assistant" and m.get("weight", 1) == 1 else 0
    for workers, pieces in ((1, None), (2, 2), (2, 6)):
        r = scan_file(p, ScanOptions(count_tokens=True), workers=workers, pieces=pieces)
        assert r.tokens_by_role == by_role and r.trained_tokens == trained and r.ok


def test_token_limit_problems_are_in_line_order(tmp_path: Path) -> None:
    long = "word " * 200
    lines = [json.dumps({"messages": [{"role": "user", "content": long if i % 4 == 0 else "hi"},
                                      {"role": "assistant", "content": "ok"}]}) for i in range(1, 61)]
    lines[9] = "not json"
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(lines) + "\n")
    opts = ScanOptions(count_tokens=True, max_example_tokens=100)
    for workers, pieces in ((1, None), (2, 4)):
        r = scan_file(p, opts, workers=workers, pieces=pieces)
        got = [x.line for x in r.problems if x.line is not None]
        assert got == sorted([i for i in range(1, 61) if i % 4 == 0] + [10])


def test_a_process_with_other_threads_spawns_its_workers_and_gets_the_same_report(tmp_path: Path) -> None:
    """Forking a threaded process can copy a lock another thread holds: such a process spawns."""
    import threading

    from ftops.datasets import _scan

    p = dataset(tmp_path, 40, {7: b"not json", 33: b"[]"})
    serial = scan_file(p, ScanOptions(count_tokens=True), workers=1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert _scan._start_method() == "spawn"
        same(serial, scan_file(p, ScanOptions(count_tokens=True), workers=2, pieces=3))
    finally:
        stop.set()
        other.join()


def test_without_worker_processes_the_scan_runs_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox without a working sem_open (or a refused fork) costs speed, not the report."""
    import concurrent.futures

    def no_processes(*args: object, **kwargs: object) -> None:
        raise NotImplementedError("This platform lacks a functioning sem_open implementation")

    p = dataset(tmp_path, 40, {7: b"not json"})
    serial = scan_file(p, ScanOptions(), workers=1)
    # the scan imports the pool class when it makes one (a plan that scans nothing never loads it)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_processes)
    same(serial, scan_file(p, ScanOptions(), workers=2, pieces=3))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_replaced_while_it_is_read_is_one_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          workers: int) -> None:
    from ftops.datasets import _scan

    p = dataset(tmp_path, 40, {})
    real_cut = _scan.cut

    def cut_then_replace(fd: int, size: int, pieces: int) -> list[Chunk]:
        chunks = real_cut(fd, size, pieces)
        other = tmp_path / "other.jsonl"
        other.write_bytes(p.read_bytes())
        os.replace(other, p)  # a new inode under the same name, after the scan measured the file
        return chunks

    monkeypatch.setattr(_scan, "cut", cut_then_replace)
    r = scan_file(p, ScanOptions(), workers=workers, pieces=3)
    assert [x.message for x in r.problems] == ["cannot read the file: the file was replaced while it was being read"]
    assert r.sha256 == "" and not r.ok


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir() or worker_count(10 << 20, ScanOptions(count_tokens=False), "fork") < 2,
                    reason="needs /proc and two cores")
def test_workers_end_when_the_command_is_killed(tmp_path: Path) -> None:
    """`kill <pid>` (or SIGKILL) of a validate that scanned in workers left them waiting for work forever, holding
    the command's stdout and stderr: a reader of its output (`| tee`, a CI log) never saw it end."""
    import signal
    import subprocess
    import sys
    import time

    p = dataset(tmp_path, 45_000, {})
    script = ("import sys; from pathlib import Path; from ftops.datasets import ScanOptions, scan_file\n"
              "print('scanning', flush=True)\n"
              "while True: scan_file(Path(sys.argv[1]), ScanOptions(count_tokens=False))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(p)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"scanning\n"
        deadline = time.monotonic() + 30
        while not workers and time.monotonic() < deadline:
            workers = _children(proc.pid)
        assert workers, "no worker process was seen"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers)
    finally:
        proc.kill()
        for w in workers:
            with contextlib.suppress(OSError):
                os.kill(w, signal.SIGKILL)
