"""Python graders: checked against Foundry's documented limits, run in a jail of their own.

Foundry's limits (Microsoft Learn, "Reinforcement fine-tuning", Python grader): source under 256 kB,
no network, 2 GB of memory and 1 GB of disk, one CPU core, 2 minutes of runtime, and a fixed list of
third-party modules next to the standard library.

Each batch runs in a jail (`_jail`: new user, pid, network and mount namespaces; a read-only view of the
interpreter; a tmpfs /tmp of the disk limit as the only writable place; an empty environment; a uid of
its own; rlimits) whose pid 1 is the worker (`_pyworker`), fed one `grade(sample, item)` call per line.
While a call runs, a watchdog here sums the resident memory of every process in the jail's pid namespace
(RLIMIT_AS bounds one process, not a tree of forks) and kills the jail when the sum passes the memory
limit, when the call passes the time limit, or when the caller cancels. Killing the launcher kills the
jail's pid 1 (`PR_SET_PDEATHSIG`), and with it every process of the namespace; the watchdog then waits
until none is left. After a kill the remaining calls go to a new jail.

Where the jail cannot be built (no namespaces: another OS, a container that forbids them), python
graders are refused with the reason (`sandbox_problem`), never run unconfined.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

MAX_SOURCE_BYTES = 256 * 1024
# The third-party modules Foundry's python grader runtime provides (import names).
ALLOWED_PACKAGES = frozenset({
    "numpy", "scipy", "sympy", "pandas", "rapidfuzz", "sklearn", "rouge_score", "deepdiff", "jsonschema",
    "pydantic", "yaml", "nltk", "sqlparse", "rdkit", "skbio", "ast_grep_py",
})
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_DISK_MB = 1024
MAX_PROCESSES = 64  # processes and threads in one jail (Foundry documents no number; a fork bomb stops here)
MAX_RESTARTS = 3  # consecutive worker deaths without one answer: give up on the rest
WATCH_SECONDS = 0.05  # how often the watchdog sums the jail's memory while a call runs
START_SECONDS = 30.0  # launcher, jail and interpreter start (grader module code counts as a call)
GONE_SECONDS = 5.0  # how long a killed jail may take to empty
JAIL = Path(__file__).with_name("_jail.py")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/localtime")
PROBE_SOURCE = "def grade(sample, item):\n    return 1.0\n"

@dataclass(frozen=True)
class PyLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB  # for all the grader's processes together
    disk_mb: int = DEFAULT_DISK_MB
    processes: int = MAX_PROCESSES


@dataclass(frozen=True)
class PyResult:
    score: float | None
    error: str | None = None
    timed_out: bool = False


def source_problem(source: str) -> str | None:
    """Why Foundry would refuse this python grader source, or None."""
    if len(source.encode()) >= MAX_SOURCE_BYTES:
        return f"The python grader source must be less than 256 kB (it is {len(source.encode())} bytes)."
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return f"The python grader source does not compile: {e.msg} (line {e.lineno})."
    grade = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "grade"]
    if not grade or len(grade[0].args.args) < 2:
        return "The python grader source must define grade(sample, item)."
    for module in _imports(tree):
        top = module.split(".")[0]
        if top not in sys.stdlib_module_names and top not in ALLOWED_PACKAGES:
            return (f"The python grader imports {top!r}, which the grader runtime does not provide "
                    f"(standard library and {', '.join(sorted(ALLOWED_PACKAGES))}).")
    return None


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out



# -- availability ---------------------------------------------------------------------------
class JailUnavailable(Exception):
    """The jail could not be built here (the reason is the message)."""


_probe_lock = threading.Lock()
_probed: list[str | None] = []


def sandbox_problem() -> str | None:
    """Why python graders cannot be contained on this machine, or None (probed once per process)."""
    with _probe_lock:
        if not _probed:
            _probed.append(_probe())
        return _probed[0]


def refusal(problem: str) -> str:
    """The one line a refused python grader gets."""
    return (f"The local Foundry cannot run python graders on this machine: it cannot contain them ({problem}). "
            "Foundry runs them in its own sandbox; evaluate against Foundry, or where Linux namespaces are "
            "available.")


def _probe() -> str | None:
    if sys.platform != "linux":
        return f"its sandbox needs Linux namespaces, and this is {sys.platform}"
    try:
        result = _run(PROBE_SOURCE, [({}, {})], PyLimits(timeout_s=START_SECONDS, memory_mb=512), None)[0]
    except JailUnavailable as e:
        return str(e)
    return None if result.score == 1.0 else f"a trivial grader did not run in the sandbox: {result.error}"


# -- running --------------------------------------------------------------------------------
def run_batch(source: str, calls: list[tuple[dict[str, Any], dict[str, Any]]], limits: PyLimits,
              cancel: threading.Event | None = None) -> list[PyResult]:
    """grade(sample, item) for each (sample, item), in order, in jails; `cancel` stops it (the rest error)."""
    problem = sandbox_problem()
    if problem is not None:
        return [PyResult(None, refusal(problem)) for _ in calls]
    try:
        return _run(source, calls, limits, cancel)
    except JailUnavailable as e:  # it worked when probed: a passing shortage (processes, memory)
        return [PyResult(None, f"the python grader sandbox did not start: {e}") for _ in calls]


def _run(source: str, calls: list[tuple[dict[str, Any], dict[str, Any]]], limits: PyLimits,
         cancel: threading.Event | None) -> list[PyResult]:
    results: list[PyResult] = []
    deaths = 0
    while len(results) < len(calls):
        done_before = len(results)
        with _Jail(limits, cancel) as jail:
            jail.serve(source, calls[len(results):], results)
        deaths = 0 if len(results) > done_before + 1 else deaths + 1
        stopped = cancel is not None and cancel.is_set()
        if (deaths >= MAX_RESTARTS or stopped) and len(results) < len(calls):
            last = results[-1]
            results.extend(PyResult(None, last.error, last.timed_out) for _ in calls[len(results):])
    return results


def _binds() -> list[str]:
    """What the jail shows, read-only: the system's programs and libraries, the interpreter, its packages."""
    wanted = [*SYSTEM_PATHS, *_site_dirs(), *(os.path.realpath(p) for p in (
        sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))))]
    out: list[str] = []
    for path in sorted(set(wanted)):
        if not os.path.lexists(path) or path.startswith(("/proc", "/dev", "/sys")):
            continue
        if not any(path.startswith(kept + "/") for kept in out if not os.path.islink(kept)):
            out.append(path)
    return out


def _site_dirs() -> list[str]:
    """This interpreter's site-packages (where the allowed third-party modules are), symlinks resolved:
    the jail runs the interpreter itself, not a virtual environment's link to it."""
    return [os.path.realpath(p) for p in site.getsitepackages()]


@cache
def _worker_source() -> str:
    return Path(__file__).with_name("_pyworker.py").read_text(encoding="utf-8")


class _Jail:
    """One jailed worker: started by the launcher (`_jail.py`), watched, and emptied when done."""

    def __init__(self, limits: PyLimits, cancel: threading.Event | None) -> None:
        self.limits, self.cancel = limits, cancel
        self.root = tempfile.mkdtemp(prefix="ftops-pygrader-")  # a mount point only: the jail's tmpfs goes here
        config = {"root": self.root, "binds": _binds(), "python": os.path.realpath(sys.executable),
                  "worker": _worker_source(), "memory": limits.memory_mb * 2 ** 20, "disk": limits.disk_mb * 2 ** 20,
                  "cpu": int(limits.timeout_s) + 1, "nproc": limits.processes, "parent": os.getpid(),
                  "uid": 0x40000000 + secrets.randbelow(0x3FF00000), "inner_uid": max(os.getuid(), 1000),
                  "cpu_pick": secrets.randbelow(1024)}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(JAIL), json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={"LANG": "C.UTF-8"}, start_new_session=True)
        except OSError as e:  # no process to be had (EAGAIN): an error on these items, not on the server
            shutil.rmtree(self.root, ignore_errors=True)
            raise JailUnavailable(f"the launcher did not start: {e.strerror or e}") from None
        self._buf = b""
        self.ns: str | None = None
        self._checked = 0.0
        self.ended = False  # killed, or its output ended: no further call can be answered

    def __enter__(self) -> _Jail:
        hello = self._line(START_SECONDS, watch=False)
        if hello is None:
            self.__exit__()
            raise JailUnavailable(f"the sandbox did not start within {START_SECONDS:g} s")
        if "jail" not in hello:
            self.__exit__()
            raise JailUnavailable(str(hello.get("jail_error") or f"the launcher exited ({self._exit_reason()})"))
        self.ns = str(hello["ns"])
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def serve(self, source: str, calls: list[tuple[dict[str, Any], dict[str, Any]]],
              results: list[PyResult]) -> None:
        """Answer calls in order until done, a kill or the worker's death (the failing call is recorded)."""
        ready = self._ask({"source": source, "path": _site_dirs()})
        if "ready" not in ready:
            failed = self._result(ready)
            results.extend(PyResult(None, failed.error, failed.timed_out) for _ in calls)
            return
        for sample, item in calls:
            result = self._result(self._ask({"sample": sample, "item": item}))
            results.append(result)
            if self.ended:
                return

    def _result(self, reply: dict[str, Any]) -> PyResult:
        if "score" in reply:
            return PyResult(float(reply["score"]))
        if reply.get("timed_out"):
            return PyResult(None, f"python grader timed out after {self.limits.timeout_s:g}s", timed_out=True)
        if "error" in reply or "fatal" in reply:
            return PyResult(None, str(reply.get("error") or reply.get("fatal")))
        return PyResult(None, f"the grader process exited ({self._exit_reason()})")

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(orjson.dumps(request) + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # the worker is gone: its last words, if any, are already in the pipe
        reply = self._line(self.limits.timeout_s, watch=True)
        return {"timed_out": True} if reply is None else reply

    def _line(self, seconds: float, *, watch: bool) -> dict[str, Any] | None:
        """The next JSON line; None when `seconds` pass; {} at end of output; the watchdog's verdict."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + seconds
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    return None
                if watch and (verdict := self._watch()) is not None:
                    self._kill()
                    return {"error": verdict}
                if sel.select(timeout=min(left, WATCH_SECONDS)):
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self.ended = True
                        return {}
                    self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            reply: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError:
            return {}
        return reply

    def _watch(self) -> str | None:
        """Why the jail must die now (cancelled, or over its memory), or None."""
        if self.cancel is not None and self.cancel.is_set():
            return "the run was stopped (cancelled, or the local Foundry stopped)"
        now = time.monotonic()
        if now - self._checked < WATCH_SECONDS:
            return None
        self._checked = now
        members = self._members()
        rss = sum(_rss(pid) for pid in members)
        if rss > self.limits.memory_mb * 2 ** 20:
            return (f"MemoryError: the grader's {len(members)} process(es) used {rss / 2 ** 20:.0f} MB together, "
                    f"over the {self.limits.memory_mb} MB memory limit; they were killed")
        return None

    def _members(self) -> list[int]:
        """The host pids of every process in the jail's pid namespace."""
        out = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry.name}/ns/pid") == self.ns:
                        out.append(int(entry.name))
        return out

    def _exit_reason(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "no answer"
        return f"killed by signal {code - 128}" if code > 128 else f"code {code}"

    def _kill(self) -> None:
        """SIGKILL the launcher's process group: the jail's pid 1 dies with it, and the namespace with pid 1."""
        self.ended = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _stop(self) -> None:
        """End the worker (end of input), or kill it; return once no process of the jail is left."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill()
            self.proc.wait()
        deadline = time.monotonic() + GONE_SECONDS
        while self.ns is not None and self._members() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0
