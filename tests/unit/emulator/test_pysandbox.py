"""The local Foundry's python grader jail holds: no secrets, no network, no writes outside, no survivors,
one memory cap for the whole tree of processes; and where no jail can be built, graders are refused.

Each test runs grader code the way an eval run does (`run_batch`) and checks the host afterwards. They
need Linux namespaces; where the jail cannot be built (another OS, a container that forbids them), they
are skipped, and `test_without_a_jail_python_graders_are_refused_not_run` shows what happens instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ftops.emulator import _pysandbox
from ftops.emulator._pysandbox import PyLimits, run_batch

LIMITS = PyLimits(timeout_s=20, memory_mb=256)
jailed = pytest.mark.skipif(_pysandbox.sandbox_problem() is not None,
                            reason=f"no python grader jail here: {_pysandbox.sandbox_problem()}")


def grade(source: str, n: int = 1, limits: PyLimits = LIMITS) -> list[_pysandbox.PyResult]:
    return run_batch(source, [({"output_text": "x"}, {"i": i}) for i in range(n)], limits)


@jailed
def test_a_grader_sees_no_secret_of_the_process_that_runs_it(tmp_path: Path) -> None:
    # The emulator's process was started with the secrets in its environment (as `ftops apply` is in CI):
    # /proc/<pid>/environ shows a process's environment as it was at exec.
    secret = f"s3cret-{uuid.uuid4().hex}"
    source = ("import os\n"
              "def grade(sample, item):\n"
              "    seen = repr(dict(os.environ))\n"
              "    for pid in [os.getppid(), 1, *[p for p in os.listdir('/proc') if p.isdigit()]]:\n"
              "        try:\n"
              "            seen += open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace')\n"
              "        except OSError:\n"
              "            pass\n"
              f"    return 1.0 if {secret!r} in seen else 0.0\n")
    script = ("import json, sys\nfrom ftops.emulator._pysandbox import run_batch, PyLimits\n"
              "r = run_batch(sys.stdin.read(), [({}, {})], PyLimits(timeout_s=20, memory_mb=256))[0]\n"
              "print(json.dumps([r.score, r.error]))\n")
    env = {**os.environ, "AZURE_OPENAI_API_KEY": secret, "GITHUB_TOKEN": secret}
    out = subprocess.run([sys.executable, "-c", script], input=source, capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    assert json.loads(out.stdout) == [0.0, None]


@jailed
def test_a_grader_cannot_reach_a_loopback_port_by_any_import() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        port = server.getsockname()[1]
        source = ("import sys, importlib\n"
                  "def grade(sample, item):\n"
                  "    sys.modules.pop('socket', None)\n"  # undo any patching of the socket module
                  "    for make in (lambda: importlib.import_module('socket').socket(),\n"
                  "                 lambda: importlib.import_module('_socket').socket(2, 1)):\n"
                  "        try:\n"
                  "            s = make()\n"
                  "            s.settimeout(2)\n"
                  f"            s.connect(('127.0.0.1', {port}))\n"
                  "            return 1.0\n"
                  "        except OSError:\n"
                  "            continue\n"
                  "    return 0.0\n")
        result = grade(source)[0]
        assert result.score == 0.0, result
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected


@jailed
def test_a_grader_writes_only_in_its_own_temporary_directory(tmp_path: Path) -> None:
    outside = [tmp_path / "escaped", Path(_pysandbox._site_dirs()[0]) / f"escaped-{uuid.uuid4().hex}"]
    source = ("import os\n"
              "def grade(sample, item):\n"
              "    open('own.txt', 'w').write('mine')\n"  # its working directory: its own tmpfs
              "    assert open(os.path.join(os.getcwd(), 'own.txt')).read() == 'mine'\n"
              f"    for path in {[str(p) for p in outside]!r}:\n"
              "        try:\n"
              "            open(path, 'w').write('x')\n"
              "            return 1.0\n"
              "        except OSError:\n"
              "            pass\n"
              "    return 0.0\n")
    try:
        result = grade(source)[0]
        assert result.score == 0.0, result
        assert not any(p.exists() for p in outside)
    finally:
        for p in outside:
            p.unlink(missing_ok=True)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and b"pytest" not in cmdline:
                found.append(int(entry.name))
    return found


@jailed
def test_a_grader_that_forks_64_children_leaves_none_behind() -> None:
    marker = f"{uuid.uuid4().int % 10 ** 6}.125"  # an argument of sleep no other process has
    source = ("import os\n"
              "def grade(sample, item):\n"
              "    started = 0\n"
              "    for _ in range(64):\n"
              "        try:\n"
              "            pid = os.fork()\n"
              "        except OSError:\n"
              "            break\n"
              "        if pid == 0:\n"
              "            os.setsid()\n"  # out of the worker's process group and session
              f"            os.execv('/bin/sleep', ['sleep', {marker!r}])\n"
              "        started += 1\n"
              "    return float(started)\n")
    try:
        result = grade(source)[0]
        assert result.score is not None and result.score >= 32, result  # they did run
        assert _processes_with(marker) == []
    finally:
        for pid in _processes_with(marker):  # only if the test failed: the sleepers it started
            os.kill(pid, signal.SIGKILL)


@jailed
def test_a_grader_whose_forks_pass_the_memory_cap_is_killed_and_the_next_item_runs() -> None:
    # 4 processes of 100 MB: each is under the 256 MB limit, together they are not.
    source = ("import os, time\n"
              "def grade(sample, item):\n"
              "    if item['i'] == 0:\n"
              "        for _ in range(3):\n"
              "            if os.fork() == 0:\n"
              "                break\n"
              "        block = bytearray(100 * 1024 * 1024)\n"
              "        for k in range(0, len(block), 4096):\n"
              "            block[k] = 1\n"
              "        time.sleep(60)\n"
              "    return 0.5\n")
    first, second = grade(source, 2)
    assert first.score is None and first.error is not None
    assert "MemoryError" in first.error and "256 MB memory limit" in first.error
    assert second.score == 0.5


@jailed
def test_a_slow_grader_is_stopped_at_its_time_limit() -> None:
    source = "import time\ndef grade(sample, item):\n    time.sleep(60)\n    return 1.0\n"
    result = grade(source, limits=PyLimits(timeout_s=1, memory_mb=256))[0]
    assert result.timed_out and result.error == "python grader timed out after 1s"


def test_without_a_jail_python_graders_are_refused_not_run(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setattr(_pysandbox, "sandbox_problem", lambda: "unshare: Operation not permitted")
    marker = tmp_path / "ran"
    result = grade(f"def grade(sample, item):\n    open({str(marker)!r}, 'w')\n    return 1.0\n")[0]
    assert result.score is None and not marker.exists()
    assert result.error == _pysandbox.refusal("unshare: Operation not permitted")
    assert "\n" not in result.error and "cannot contain them (unshare: Operation not permitted)" in result.error


@pytest.mark.skipif(sys.platform != "linux", reason="the probe starts the jail only on Linux")
def test_the_probe_reports_why_the_jail_cannot_be_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # As the launcher reports it where unshare is forbidden (a container's seccomp profile, for example).
    fake = tmp_path / "jail.py"
    fake.write_text("import json, sys\nprint(json.dumps({'jail_error': 'unshare: Operation not permitted; Linux user, "
                    "pid, network and mount namespaces are needed'}), flush=True)\nsys.exit(3)\n")
    monkeypatch.setattr(_pysandbox, "JAIL", fake)
    monkeypatch.setattr(_pysandbox, "_probed", [])
    problem = _pysandbox.sandbox_problem()
    assert problem == "unshare: Operation not permitted; Linux user, pid, network and mount namespaces are needed"
    assert grade("def grade(sample, item):\n    return 1.0\n")[0].error == _pysandbox.refusal(problem)
