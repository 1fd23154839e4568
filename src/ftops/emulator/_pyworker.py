"""The python grader worker: pid 1 of the jail (`_jail`), run as `python -I -c <this file's text>`.

Standard library only. The first line on stdin is `{"source", "path"}`: it adds `path` (the emulator's
site-packages, where the allowed third-party modules are) as site directories, compiles the grader and
answers `{"ready": true}` (or `{"fatal": ...}`); then one line per call, `{"sample", "item"}` in,
`{"score"}` or `{"error"}` out. Grader code never sees the protocol's file descriptor as its stdout: `print()` goes to
stderr, which the emulator discards. On end of input it leaves at once (`os._exit`), without waiting for
threads or `atexit` handlers a grader may have left, and the kernel then kills whatever else runs in the
jail.
"""

from __future__ import annotations

import json
import math
import os
import site
import sys
from collections.abc import Callable
from typing import Any, TextIO


def _no_network(*args: Any, **kwargs: Any) -> Any:
    raise OSError("network access is not available to python graders")


def _friendly_socket() -> None:
    """A clear error for the common case; the jail's empty network namespace is what holds."""
    import socket

    socket.socket = _no_network  # type: ignore[assignment,misc]
    socket.create_connection = _no_network


def _reply(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def _compile(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "grader"}
    exec(compile(source, "grader.py", "exec"), namespace)
    grade: Callable[..., Any] = namespace["grade"]
    return grade


def _score(grade: Callable[..., Any], req: dict[str, Any]) -> dict[str, Any]:
    try:
        value = float(grade(req["sample"], req["item"]))
    except MemoryError:
        return {"error": "MemoryError: the grader exceeded its memory limit"}
    except BaseException as e:  # the grader's own failure is an error on this item, never the worker's
        return {"error": (type(e).__name__ + ": " + str(e))[:2000]}
    if not math.isfinite(value):
        return {"error": f"grade() returned {value!r}; a score must be a finite number"}
    return {"score": value}


def main() -> None:
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a grader's print() or os.write(1, ...) must not reach the protocol
    sys.stdout = sys.stderr
    _friendly_socket()
    try:
        first = json.loads(sys.stdin.readline())
        for path in first.get("path") or []:
            site.addsitedir(path)
        grade = _compile(first["source"])
    except BaseException as e:
        _reply(out, {"fatal": (type(e).__name__ + ": " + str(e))[:2000]})
        os._exit(0)
    _reply(out, {"ready": True})
    for line in sys.stdin:
        _reply(out, _score(grade, json.loads(line)))
    os._exit(0)


if __name__ == "__main__":
    main()
