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
        live.admin.faults(latency_ms=400)  # every request is slow, so kills land between and inside steps
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
    assert kills >= 3, kills
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


def _ctrl_c_as_on_a_terminal() -> None:
    """In the child before exec: SIGINT at its default, as in a shell on a terminal. A non-interactive shell
    starts background commands (`make test &`) with SIGINT ignored, every process below inherits that, and
    Python then installs no KeyboardInterrupt handler: the SIGINT below would be ignored, as it should be."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_promptly_and_the_next_apply_finishes(project: Project) -> None:
    project.set("speed", 20)  # the job would train for about 25 s
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_on_a_terminal)
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


def _spawn_logged(root: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=root,
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "CI": "1"})


def test_three_racing_applies_leave_no_duplicate_and_say_what_they_did(project: Project) -> None:
    project.set("speed", 100)
    for round_ in range(2):  # the second round races on a changed spec: new job, same uploads
        if round_:
            project.edit("n_epochs: 3", "n_epochs: 2")
        logs = [project.root / f"apply-{round_}-{i}.log" for i in range(3)]
        procs = [_spawn_logged(project.root, log) for log in logs]
        codes = [p.wait(timeout=180) for p in procs]
        text = "\n".join(log.read_text() for log in logs)
        assert codes == [0, 0, 0], text
        assert "no reason given" not in text and "Traceback" not in text
        files, jobs = _counts(project)
        assert sorted(files.values()) == [1, 1], files  # one upload per dataset version, never two
        assert all(n == 1 for n in jobs.values()), jobs
        assert project.ftops("drift").code == 0
        for line in text.splitlines():  # a note about a cancelled duplicate names one that really is cancelled
            if "cancelled our duplicate" in line:
                dup = line.rsplit(" ", 1)[-1]
                with project.live() as live:
                    assert live.oai.fine_tuning.jobs.retrieve(dup).status == "cancelled"


def test_a_job_paused_by_hand_ends_apply_wait_with_one_line(project: Project) -> None:
    project.set("speed", 20)  # about 25 s of training
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    job_id = None
    while time.monotonic() < deadline and job_id is None:
        time.sleep(0.3)
        with project.live() as live:
            running = [j for j in live.oai.fine_tuning.jobs.list().data if j.status == "running"]
            if running:
                job_id = running[0].id
                live.oai.fine_tuning.jobs.pause(job_id)
    assert job_id is not None
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in out + err
    assert f"({job_id}) was paused outside ftops" in out + err


def test_apply_wait_rides_out_an_outage_and_says_so(project: Project) -> None:
    project.set("speed", 30)  # about 15 s of training
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _counts(project)[1]:
        time.sleep(0.3)
    with project.live() as live:
        live.admin.faults(outage_s=4, scope="all")  # every request is cut for 4 s
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "Foundry unreachable for" in err and "Foundry answers again" in err
    with project.live() as live:
        live.admin.clear_faults()
    assert project.ftops("drift").code == 0
