"""The console script's fast start and exit (`ftops.cli._startup`): same exit codes and output as a
normal exit, exit handlers run, and worker threads are still waited for."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ftops.cli._startup import exit_code, loading


def test_loading_pauses_the_gc_and_restores_it() -> None:
    assert gc.isenabled()
    with loading():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_loading_leaves_a_disabled_gc_disabled() -> None:
    gc.disable()
    try:
        with loading():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_loading_restores_the_gc_when_the_import_fails() -> None:
    with pytest.raises(ImportError), loading():
        import ftops_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (2, 2), (130, 130), ("bye", 1)])
def test_exit_code_is_what_sys_exit_would_give(code: int | str | None, expected: int) -> None:
    assert exit_code(SystemExit(code)) == expected


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_leave_flushes_output_and_runs_the_exit_handlers(tmp_path: Path) -> None:
    r = _python("""
        import atexit, sys
        from ftops.cli._startup import leave
        atexit.register(lambda: print("handler ran"))
        print("out", end=" ")
        print("err", file=sys.stderr, end="")
        leave(3)
        print("never")
    """, tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out handler ran\n", "err")


def test_leave_waits_for_a_worker_thread_still_running(tmp_path: Path) -> None:
    r = _python("""
        import threading, time, pathlib
        from ftops.cli._startup import leave
        def work():
            time.sleep(0.3)
            pathlib.Path("done").write_text("yes")
        threading.Thread(target=work).start()
        leave(0)
    """, tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "done").read_text() == "yes"


def test_the_console_script_keeps_exit_codes_and_output(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "ftops", "--version"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("ftops "), r.stderr
    r = subprocess.run([sys.executable, "-m", "ftops", "validate", "nosuchdir"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr


# Ctrl-C while the command line still loads (about 0.3 s of imports, before `_main` handles Ctrl-C itself): a
# finder that stops the import of `ftops.cli._main` until the test has sent SIGINT, so the signal lands there.
_SLOW_LOAD = """
    import sys, time
    class Slow:
        def find_spec(self, name, path=None, target=None):
            if name == "ftops.cli._main":
                print("loading", flush=True)
                time.sleep(30)
            return None
    sys.meta_path.insert(0, Slow())
    sys.argv = ["ftops", "validate", "--no-tokens", "nosuchdir"]
    from ftops.cli import {entry}
    {entry}()
"""


@pytest.mark.parametrize("entry", ["run", "main"])
def test_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130(tmp_path: Path, entry: str) -> None:
    import signal

    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_SLOW_LOAD.format(entry=entry))], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline() == "loading\n"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert (p.returncode, out, err) == (130, "", "interrupted: nothing half-done is left that the next apply cannot "
                                                "finish\n")
