"""Every way a command line can go wrong ends in one line and exit 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ftops import FtopsError
from ftops.cli import _main
from tests.conftest import MakeProject


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        _main.main(list(args))
    captured = capsys.readouterr()
    assert isinstance(e.value.code, int)
    return e.value.code, captured.out, captured.err


@pytest.mark.parametrize(("args", "expected"), [
    (["plan", "--bogus"], "error: No such option: --bogus"),
    (["nosuchcmd"], "error: No such command 'nosuchcmd'."),
    (["plan", "--format", "xml"], "error: Invalid value for '--format'"),
    (["drift", "-f", "yaml"], "error: Invalid value for '--format'"),
    (["validate", "a", "b", "c"], "error: Got unexpected extra argument(s) (b c)"),
    (["plan", "--out"], "error: Option '--out' requires an argument."),
    (["emulator", "advance", "--days", "abc"], "error: Invalid value for '--days'"),
    (["emulator", "advance", "--days", "nan"], "error: --days must be a number from 0 to 3650"),
    (["emulator", "faults", "--rate", "2"], "error: --rate must be a number from 0 to 1"),
    (["emulator", "faults", "--kinds", "\x1b[31mred"], "error: --kinds: unknown fault kind(s)"),
    (["emulator", "fail-job"], "error: give --job-id or --suffix"),
    (["emulator", "--port", "70000"], "error: --port must be from 0 to 65535"),
    (["--\x1b]0;title\x07"], "error: No such option: --"),
])
def test_usage_errors_are_one_line_exit_1(capsys: pytest.CaptureFixture[str], args: list[str], expected: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(capsys, *args)
    assert code == 1
    assert err.startswith(expected), err
    assert err.count("\n") == 1 and "Traceback" not in err and "\x1b" not in err and "\x07" not in err


def test_no_arguments_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 0 and "Usage" in out and err == ""


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "plan", "--help")[0] == 0
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("ftops ")


def test_an_unexpected_exception_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise KeyError("some\nmultiline \x1b[31mthing")

    monkeypatch.setattr("ftops.cli.commands.validate.validate_every", boom)
    code, _out, err = run(capsys, "validate", "x")
    assert code == 1
    assert err.startswith("internal error: KeyError: ") and err.rstrip().endswith("please report (FTOPS_LOG_LEVEL=DEBUG shows where)")
    assert err.count("\n") == 1 and "Traceback" not in err and "\x1b" not in err


def test_debug_log_level_keeps_the_traceback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("bad")

    monkeypatch.setattr("ftops.cli.commands.validate.validate_every", boom)
    monkeypatch.setenv("FTOPS_LOG_LEVEL", "DEBUG")
    monkeypatch.setattr("logging.root.handlers", [])  # let basicConfig apply the level again
    code, _out, err = run(capsys, "validate", "x")
    assert code == 1 and "Traceback" in err and "internal error: ValueError: bad" in err


def test_a_bogus_log_level_is_not_a_crash(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("FTOPS_LOG_LEVEL", "LOUD")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "validate", "nowhere")[0] == 1


def test_ctrl_c_is_exit_130_with_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ftops.cli.commands.validate.validate_every", interrupted)
    code, _out, err = run(capsys, "validate", "x")
    assert code == 130 and err.startswith("interrupted:") and err.count("\n") == 1


def test_eof_at_a_prompt_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-D at `Apply these actions?`: the prompt reads EOF, Typer raises its own Abort."""
    import typer

    def confirm_with_eof(*args: object, **kwargs: object) -> None:
        return typer.confirm("Apply these actions?", default=False)  # type: ignore[return-value]

    monkeypatch.setattr("ftops.cli.commands.validate.validate_every", confirm_with_eof)
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 (EOF at once)
    code, _out, err = run(capsys, "validate", "x")
    assert code == 1 and err.splitlines()[-1] == "aborted: no input (nothing was changed)"


def test_ftops_errors_are_escaped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise FtopsError("Foundry says \x1b]0;owned\x07\x1b[31mno\x1b[0m\nsecond line")

    monkeypatch.setattr("ftops.cli.commands.validate.validate_every", refused)
    code, _out, err = run(capsys, "validate", "x")
    assert code == 1 and err == "error: Foundry says no second line\n"


def test_validate_problems_with_control_characters_stay_one_line_each(make_project: MakeProject,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_project(spec="apiVersion: ftops/v1\nkind: \"Found\\e[31mry\\nX\"\nmetadata: {name: x}\nspec: {}\n")
    code, _out, err = run(capsys, "validate", "specs")
    assert code == 1 and "\x1b" not in err
    assert all(line.startswith("specs") for line in err.splitlines()), err


def test_console_script_usage_error_has_no_traceback(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "ftops", "plan", "--bogus"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_a_reader_that_leaves_early_is_not_an_error_message(tmp_path: Path) -> None:
    """`ftops schema | head -c0`: the pipe breaks; exit 1 quietly (Typer handles EPIPE), no "internal error".
    In a process of its own: the parser swaps the process's stdout and stderr when the pipe breaks."""
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "schema"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the first byte
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and err == b"", err


class _FullDevice:
    """A stdout on a full disk (`> /dev/full`)."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")

    def isatty(self) -> bool:
        return False


def test_a_full_stdout_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`ftops schema > /dev/full` said "internal error ... please report"; the result was not delivered."""
    with pytest.raises(SystemExit) as e:
        monkeypatch.setattr("sys.stdout", _FullDevice())
        _main.main(["schema"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert e.value.code == 1 and err == "error: cannot write to standard output: No space left on device\n"


def test_a_closed_stdout_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`ftops validate >&-` (Python's sys.stdout is then None) said "internal error: AttributeError ... please
    report"."""
    with pytest.raises(SystemExit) as e:
        monkeypatch.setattr("sys.stdout", None)
        _main.main(["schema"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert e.value.code == 1 and err == "error: cannot write to standard output: it is closed\n"


def test_a_png_name_of_another_format_is_refused_before_any_work(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    """`--png curves.jpg` wrote PNG bytes into curves.jpg; `--png x.xyz` was an internal error."""
    for name in ("curves.jpg", "x.xyz"):
        code, _out, err = run(capsys, "metrics", "clippy", str(tmp_path / "nowhere"), "--png", str(tmp_path / name))
        assert code == 1 and err == (f"error: --png {tmp_path / name}: the file name must end in .png (or have no "
                                     "suffix); ftops writes PNG only\n")
        assert not (tmp_path / name).exists()
