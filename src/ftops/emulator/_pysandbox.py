"""Python graders: checked against Foundry's documented limits, run in a separate process.

Foundry's limits (Microsoft Learn, "Reinforcement fine-tuning", Python grader): source under 256 kB,
no network, 2 GB of memory and 1 GB of disk, one CPU core, 2 minutes of runtime, and a fixed list of
third-party modules next to the standard library. Here one worker process per batch calls
`grade(sample, item)` for each item over a JSON-lines pipe; the worker sets its own rlimits (memory,
file size, CPU) before it runs any grader code, replaces socket creation with an error, and is killed
(with its process group) when one call exceeds the time limit; the remaining items go to a new worker.
"""

from __future__ import annotations

import ast
import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
DISK_BYTES = 1024 ** 3
MAX_RESTARTS = 3  # consecutive worker deaths without one answer: give up on the rest

_WORKER = r'''
import json, resource, sys
mem, disk, cpu = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
import socket
def _no_network(*args, **kwargs):
    raise OSError("network access is not available to python graders")
socket.socket = _no_network
socket.create_connection = _no_network
out = sys.stdout
sys.stdout = sys.stderr  # a grader's print() must not corrupt the protocol
def reply(obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        namespace = {"__name__": "grader"}
        exec(compile(f.read(), "grader.py", "exec"), namespace)
    grade = namespace["grade"]
except BaseException as e:
    reply({"fatal": (type(e).__name__ + ": " + str(e))[:2000]})
    sys.exit(0)
for line in sys.stdin:
    req = json.loads(line)
    try:
        value = float(grade(req["sample"], req["item"]))
        if value != value:
            raise ValueError("grade() returned NaN")
        reply({"score": value})
    except MemoryError:
        reply({"error": "MemoryError: the grader exceeded its memory limit"})
    except BaseException as e:
        reply({"error": (type(e).__name__ + ": " + str(e))[:2000]})
'''


@dataclass(frozen=True)
class PyLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


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


def run_batch(source: str, calls: list[tuple[dict[str, Any], dict[str, Any]]], limits: PyLimits) -> list[PyResult]:
    """grade(sample, item) for each (sample, item), in order, in sandboxed worker processes."""
    results: list[PyResult] = []
    with tempfile.TemporaryDirectory(prefix="ftops-pygrader-") as tmp:
        src = Path(tmp) / "grader.py"
        src.write_text(source, encoding="utf-8")
        worker = Path(tmp) / "worker.py"
        worker.write_text(_WORKER, encoding="utf-8")
        deaths = 0
        while len(results) < len(calls):
            done_before = len(results)
            _Worker(worker, src, tmp, limits).serve(calls[len(results):], results)
            deaths = 0 if len(results) > done_before + 1 else deaths + 1
            if deaths >= MAX_RESTARTS and len(results) < len(calls):
                last = results[-1]
                results.extend(PyResult(None, last.error, last.timed_out) for _ in calls[len(results):])
    return results


class _Worker:
    def __init__(self, worker: Path, src: Path, cwd: str, limits: PyLimits) -> None:
        self.limits = limits
        cpu = int(limits.timeout_s) + 1
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cwd, "LANG": "C.UTF-8",
               "PYTHONHASHSEED": "0"}  # nothing of the emulator's environment (keys) reaches grader code
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(worker), str(src), str(limits.memory_mb * 1024 * 1024), str(DISK_BYTES),
             str(cpu)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd,
            env=env, start_new_session=True)
        self._buf = b""

    def serve(self, calls: list[tuple[dict[str, Any], dict[str, Any]]], results: list[PyResult]) -> None:
        """Answer calls in order until done, a timeout or the worker's death (the failing call is recorded)."""
        try:
            for i, (sample, item) in enumerate(calls):
                reply = self._ask(sample, item)
                if reply is None:
                    results.append(PyResult(None, f"python grader timed out after {self.limits.timeout_s:g}s",
                                            timed_out=True))
                    return
                if "fatal" in reply:
                    results.extend(PyResult(None, str(reply["fatal"])) for _ in calls[i:])
                    return
                if "score" in reply:
                    results.append(PyResult(float(reply["score"])))
                elif "error" in reply:
                    results.append(PyResult(None, str(reply["error"])))
                else:
                    results.append(PyResult(None, f"the grader process exited (code {self.proc.poll()})"))
                    return
        finally:
            self._stop()

    def _ask(self, sample: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(orjson.dumps({"sample": sample, "item": item}) + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone (or stopped at startup): its answer, if any, is already in the pipe
        deadline = time.monotonic() + self.limits.timeout_s
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return {}
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            reply: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError:
            return {}
        return reply

    def _stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
