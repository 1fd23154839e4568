"""Crash safety and concurrency: kill -9 at any moment, two applies at once. Counted in the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.e2e.conftest import Project


def _spawn(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "1"})


def _counts(project: Project) -> tuple[Counter[str], Counter[str]]:
    with project.live() as live:
        files = Counter(f.filename for f in live.oai.files.list(purpose="fine-tune").data)
        jobs = Counter(j.metadata["ftops-hash"] for j in live.oai.fine_tuning.jobs.list().data
                       if j.status != "cancelled")
    return files, jobs


def test_kill_9_at_any_moment_then_reapply_leaves_no_duplicates(project: Project) -> None:
    project.set("speed", 600)
    with project.live() as live:
        live.admin.faults(latency_ms=120)  # every request is slow, so kills land between and inside steps
    kills = 0
    for delay in (1.2, 1.5, 1.8, 2.1, 2.4, 2.7, 3.0, 3.4, 3.8, 4.3):
        proc = _spawn(project.root)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        files, jobs = _counts(project)
        assert all(n == 1 for n in files.values()), files
        assert all(n == 1 for n in jobs.values()), jobs
    assert kills >= 3
    with project.live() as live:
        live.admin.clear_faults()
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    files, jobs = _counts(project)
    assert sorted(files.values()) == [1, 1] and list(jobs.values()) == [1]
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_two_applies_at_once_end_with_one_job_per_spec_hash(project: Project) -> None:
    project.set("speed", 100)  # jobs run for about 5 s, as real ones run for hours
    procs = [_spawn(project.root), _spawn(project.root)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    _, jobs = _counts(project)
    assert list(jobs.values()) == [1]
    assert project.ftops("drift").code == 0
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_ctrl_c_stops_promptly_and_the_next_apply_finishes(project: Project) -> None:
    project.set("speed", 20)  # the job would train for about 25 s
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the job exists, so the apply is waiting on it
        time.sleep(0.3)
        if _counts(project)[1]:
            break
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    project.set("speed", 20000)
    with project.live() as live:
        live.admin.advance(seconds=60)  # let the job finish
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    files, jobs = _counts(project)
    assert sorted(files.values()) == [1, 1] and list(jobs.values()) == [1]
