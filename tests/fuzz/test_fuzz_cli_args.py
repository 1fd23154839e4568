"""Random command lines: exit 0, 1 or 2, one line per error, never a traceback.

Commands that would connect or serve cannot: the scratch directory has no specs, and the emulator's
subcommands are given an empty state directory (`ftops emulator` with no subcommand is never drawn,
since it serves until Ctrl-C)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ._harness import assert_contract, run_cli
from .strategies import CONTROL_TEXT

COMMANDS = ["validate", "plan", "apply", "drift", "status", "schema", "metrics"]
EMULATOR = ["state", "advance", "faults", "fail-job"]
OPTIONS = ["--format", "-f", "--out", "--detailed-exitcode", "--prune", "--verbose", "-v", "--auto-approve", "--wait",
           "--tokens", "--no-tokens", "--days", "--seconds", "--rate", "--kinds", "--seed", "--latency-ms",
           "--job-id", "--suffix", "--message", "--png", "--width", "--bogus", "-x", "--", "-", "--format=xml", "--days=-1", "--rate=nan"]
VALUES = st.one_of(st.sampled_from(["text", "json", "markdown", "xml", "", "nan", "inf", "-1", "1e999", "0", "specs",
                                    "/", "/etc/passwd", "/dev/null", ".", "..", "429,bogus", "\x00"]),
                   CONTROL_TEXT, st.text(max_size=12))
TOKENS = st.lists(st.one_of(st.sampled_from(OPTIONS), VALUES), max_size=6)


def check(args: list[str]) -> None:
    args = [a.replace("\x00", "") for a in args]  # a real argv cannot hold NUL
    with tempfile.TemporaryDirectory() as tmp:
        code, out, err = run_cli(*args, where=Path(tmp))
        assert_contract(code, out, err, max_lines=5)


@given(st.sampled_from(COMMANDS), TOKENS)
def test_random_command_lines(command: str, rest: list[str]) -> None:
    check([command, *rest])


@given(st.sampled_from(EMULATOR), TOKENS)
def test_random_emulator_admin_command_lines(command: str, rest: list[str]) -> None:
    with tempfile.TemporaryDirectory() as empty:
        check(["emulator", command, *rest, "--data-dir", empty])


@given(st.lists(VALUES, min_size=1, max_size=4))
def test_random_words(words: list[str]) -> None:
    if words[0] == "emulator" or (words[0].startswith("-") and "emulator" in words):
        words = ["--help"]
    check(words)
