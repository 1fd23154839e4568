"""Run the CLI in-process on a scratch project and check the contract every input must keep."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ftops.cli import main
from tests.conftest import BASE_SPEC, chat_jsonl

# A line of our output: a located problem, a warning, an error, or a result of validate.
_ALLOWED_EXIT = (0, 1, 2)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def write_project(root: Path, spec: str | bytes = BASE_SPEC, files: dict[str, str | bytes] | None = None) -> Path:
    content: dict[str, str | bytes] = {"specs/main.yaml": spec, "specs/data/train.jsonl": chat_jsonl(60),
                                       "specs/data/valid.jsonl": chat_jsonl(12), **(files or {})}
    for name, data in content.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8", errors="surrogatepass")
    return root


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_cli(*args: str, where: Path | None = None) -> tuple[int, str, str]:
    """`ftops ARGS` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            (cwd(where) if where is not None else contextlib.nullcontext()):
        try:
            main(list(args))
        except SystemExit as e:
            code = e.code
    assert isinstance(code, int), code
    return code, out.getvalue(), err.getvalue()


def assert_contract(code: int, stdout: str, stderr: str, *, max_lines: int = 200) -> None:
    """Exit 0, 1 or 2; no traceback; no internal error; stderr is lines without control characters."""
    assert code in _ALLOWED_EXIT, (code, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert "internal error:" not in stderr, stderr
    assert not _CONTROL.search(stderr.replace("\n", "").replace("\t", "")), repr(stderr)
    assert len(stderr.splitlines()) <= max_lines, len(stderr.splitlines())
