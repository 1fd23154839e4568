"""Malformed and hostile JSONL: every case ends in problem lines with the right line number, never an
exception, a hang, or a line read whole into memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ftops.datasets import ScanOptions, scan_file
from ftops.datasets._options import BYTES_PER_TOKEN, INLINE_IMAGE_BYTES
from tests.conftest import chat_line

GOOD = [chat_line(i).encode() for i in range(12)]


def with_bad_line(tmp_path: Path, bad: bytes, at: int = 5) -> Path:
    """12 good records with `bad` as line `at` (1-based)."""
    lines = [*GOOD[:at - 1], bad, *GOOD[at - 1:]]
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def errors(path: Path, opts: ScanOptions | None = None) -> list[tuple[int | None, str]]:
    r = scan_file(path, opts or ScanOptions())
    return [(p.line, p.message) for p in r.problems if p.severity == "error"]


def msg(role: object = "user", content: object = "hi", **extra: object) -> dict[str, object]:
    return {"role": role, "content": content, **extra}


def rec(*msgs: object, **top: object) -> bytes:
    return json.dumps({"messages": list(msgs), **top}).encode()


ASSISTANT = msg("assistant", "yes")

MALFORMED = {
    "invalid utf-8": (b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}', "invalid UTF-8 at byte"),
    "bom mid-file": (b"\xef\xbb\xbf" + GOOD[0], "byte-order mark in the middle"),
    "nul byte": (GOOD[0][:10] + b"\0" + GOOD[0][10:], "NUL byte at byte 11"),
    "nul after record": (GOOD[0] + b"\0", "NUL byte at byte"),
    "lone surrogate": (rec(msg("user", "x"), ASSISTANT).replace(b'"x"', b'"\\ud800"'), "invalid JSON"),
    "deep nesting": (b"[" * 5000 + b"]" * 5000, "invalid JSON"),
    "deep nesting in a record": (rec(msg("user", "x"), ASSISTANT).replace(b'"x"', b"[" * 3000 + b"]" * 3000),
                                 "invalid JSON"),
    "huge integer": (rec(msg("user", "x"), ASSISTANT).replace(b'"x"', b"1" * 500), "invalid JSON"),
    "huge float": (rec(msg("user", "x"), ASSISTANT).replace(b'"x"', b"1e999"), "invalid JSON"),
    "huge weight": (rec(msg("user", "x"), msg("assistant", "y", weight=10**30)), "weight must be 0 or 1"),
    "blank": (b"   ", "blank line"),
    "not an object": (b"[1, 2, 3]", "must be a JSON object"),
    "a string": (b'"messages"', "must be a JSON object"),
    "null": (b"null", "must be a JSON object"),
    "messages an object": (json.dumps({"messages": {"role": "user"}}).encode(), "missing \"messages\""),
    "messages empty": (json.dumps({"messages": []}).encode(), "missing \"messages\""),
    "message a string": (rec("hello", ASSISTANT), "messages[0] must be an object"),
    "message null": (rec(None, ASSISTANT), "messages[0] must be an object"),
    "role a list": (rec(msg(["user"]), ASSISTANT), "unknown role"),
    "role a dict": (rec(msg({"a": 1}), ASSISTANT), "unknown role"),
    "role a number": (rec(msg(7), ASSISTANT), "unknown role"),
    "role unknown": (rec(msg("robot"), ASSISTANT), "unknown role"),
    "content a number": (rec(msg("user", 5), ASSISTANT), "content must be a string or a list"),
    "content a dict": (rec(msg("user", {"text": "x"}), ASSISTANT), "content must be a string or a list"),
    "content part a string": (rec(msg("user", ["x"]), ASSISTANT), "a content part must be"),
    "content part bad text": (rec(msg("user", [{"type": "text", "text": 5}]), ASSISTANT), "a content part must be"),
    "content blank": (rec(msg("user", "  \n"), ASSISTANT), "empty content"),
    "weight a string": (rec(msg("user", "x"), msg("assistant", "y", weight="1")), "weight must be 0 or 1"),
    "weight true": (rec(msg("user", "x"), msg("assistant", "y", weight=True)), "weight must be 0 or 1"),
    "weight null": (rec(msg("user", "x"), msg("assistant", "y", weight=None)), "weight must be 0 or 1"),
    "weight on user": (rec(msg("user", "x", weight=1), ASSISTANT), "weight is only allowed on assistant"),
    "tool calls without tools": (rec(msg("user", "x"), msg("assistant", None, tool_calls=[{"id": 1}])),
                                 "tool calls without their tools"),
    "no assistant": (rec(msg("user", "x"), msg("system", "y")), "no assistant message"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("workers", [1, 2])
def test_each_malformed_line_is_one_problem_on_its_line(tmp_path: Path, name: str, workers: int) -> None:
    bad, words = MALFORMED[name]
    p = with_bad_line(tmp_path, bad, at=5)
    r = scan_file(p, ScanOptions(expected_format="chat"), workers=workers, pieces=3)
    errs = [(x.line, x.message) for x in r.problems if x.severity == "error"]
    assert len(errs) == 1, errs
    assert errs[0][0] == 5 and words in errs[0][1], errs
    assert r.examples == 12


@pytest.mark.parametrize("bad", [rec(msg("user", "x"), ASSISTANT, tools="nope"),
                                 rec(msg("user", "x"), ASSISTANT, tools=[1, 2]),
                                 json.dumps({"messages": [msg("user", "x"), ASSISTANT], "7": {"a": [None]}}).encode()])
def test_wrong_types_at_the_top_level_never_raise(tmp_path: Path, bad: bytes) -> None:
    r = scan_file(with_bad_line(tmp_path, bad), ScanOptions(expected_format="chat"))
    assert all(x.line in (5, None) for x in r.problems)


@pytest.mark.parametrize("fmt", ["preference", "reinforcement"])
@pytest.mark.parametrize("bad", [b"{}", b'{"input": 5}', b'{"input": {"messages": "x"}}',
                                 b'{"input": {"messages": [5]}, "preferred_output": {}}',
                                 b'{"messages": [{"role": ["user"], "content": 1}]}',
                                 b'{"preferred_output": [1], "non_preferred_output": null, "input": {"messages": [{}]}}'])
def test_wrong_types_in_other_formats_are_one_problem(tmp_path: Path, fmt: str, bad: bytes) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(bad + b"\n")
    r = scan_file(p, ScanOptions(expected_format=fmt))
    line_problems = [x for x in r.problems if x.line is not None]
    assert line_problems and {x.line for x in line_problems} == {1}  # (+ a format mismatch when it is one)


def test_crlf_everywhere_and_a_bom_first_are_fine(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(GOOD) + b"\r\n")
    r = scan_file(p, ScanOptions())
    assert r.ok and r.bom and r.examples == 12


def test_a_line_longer_than_the_bound_is_reported_not_parsed(tmp_path: Path) -> None:
    opts = ScanOptions(vision=False, max_example_tokens=100)  # bound: 100 tokens x 32 bytes = 3200 bytes
    assert opts.max_line_bytes() == 100 * BYTES_PER_TOKEN
    long_line = rec(msg("user", "x" * 10_000), ASSISTANT)
    p = with_bad_line(tmp_path, long_line, at=3)
    assert errors(p, opts) == [(3, "line is 0.0 MiB; longer than the 0 MiB ftops reads per line "
                                   "(it is not parsed: an example that long cannot fit the model's token limit)")]


def test_a_40_mb_line_with_default_options(tmp_path: Path) -> None:
    """Over the default bound (2 MiB of text + 28 MiB of inline images): reported with its size."""
    limit = ScanOptions().max_line_bytes()
    assert limit == 65_536 * BYTES_PER_TOKEN + INLINE_IMAGE_BYTES
    p = tmp_path / "d.jsonl"
    with open(p, "wb") as f:
        f.write(b"\n".join(GOOD[:6]) + b"\n")
        f.write(b'{"messages": [{"role": "user", "content": "' + b"a" * (40 * 2**20) + b'"}]}\n')
        f.write(b"\n".join(GOOD[6:]))  # and no final newline
    for workers in (1, 2):
        r = scan_file(p, ScanOptions(), workers=workers, pieces=4)
        assert [(x.line, x.message[:18]) for x in r.problems if x.severity == "error"] == [(7, "line is 40.0 MiB; ")]
        assert r.examples == 12


def test_a_long_last_line_without_newline(tmp_path: Path) -> None:
    opts = ScanOptions(vision=False, max_example_tokens=10)
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\n".join(GOOD) + b"\n" + b"x" * 1000)
    assert [line for line, _ in errors(p, opts)] == [13]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    with open(p, "wb") as f:  # sparse: 600 MiB of NUL bytes that take no disk and would not parse
        f.truncate(600 * 2**20)
    r = scan_file(p, ScanOptions())
    assert [(x.line, x.message) for x in r.problems] == [
        (None, "file is 600.0 MiB; Foundry accepts at most 512 MiB per file (not read)")]
    assert r.sha256 == "" and r.size == 600 * 2**20 and not r.ok


@pytest.mark.parametrize("kind", ["directory", "fifo", "missing", "symlink loop"])
def test_what_is_not_a_regular_file_is_one_problem_and_no_hang(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "d.jsonl"
    if kind == "directory":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)  # opening it for reading would block until a writer came
    elif kind == "symlink loop":
        p.symlink_to(p)
    r = scan_file(p, ScanOptions())
    assert len(r.problems) == 1 and r.problems[0].message.startswith("cannot read the file: ")
    assert r.sha256 == "" and not r.ok


def test_format_mismatch_is_reported_on_the_first_record(tmp_path: Path) -> None:
    dpo = json.dumps({"input": {"messages": [msg("user", "x")]}, "preferred_output": [ASSISTANT],
                      "non_preferred_output": [ASSISTANT]}).encode()
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"not json\n" + dpo + b"\n" + b"\n".join(GOOD) + b"\n")
    for workers in (1, 2):
        r = scan_file(p, ScanOptions(expected_format="chat"), workers=workers, pieces=3)
        assert [x.line for x in r.problems if x.severity == "error"] == [1, 2, 2]  # mismatch, then the record's
        assert "record is in preference format" in r.problems[1].message and r.examples == 12


FRAGMENTS = [b'{"messages": [', b'{"role": "user", "content": "hi"}', b'{"role": "assistant", "content": "ok"}',
             b"]}", b",", b'"', b"\\u0000", b"\\ud83d", b"\xef\xbb\xbf", b"\r", b"\0", b"\xff", b"[" * 50, b"1e999",
             b'"weight": 1', b"null", b"{}", b"\r\n", b"\n", b"\n\n", b" ", b"\t", b'"tools": 3', b"true",
             "é東🙂".encode()]


@pytest.mark.parametrize("seed", range(25))
def test_random_garbage_is_reported_never_raised(tmp_path: Path, seed: int) -> None:
    """Lines stitched from JSON fragments and hostile bytes: a report with every problem on a real line,
    the same in-process and across workers, whatever the bytes."""
    import random

    rng = random.Random(seed)
    data = b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 600)))
    data += b"\n".join(GOOD[: rng.randint(0, 12)])
    p = tmp_path / "d.jsonl"
    p.write_bytes(data)
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    opts = ScanOptions(count_tokens=seed % 2 == 0, vision=False, max_example_tokens=20)
    serial = scan_file(p, opts, workers=1)
    assert all(x.line is None or 1 <= x.line <= lines for x in serial.problems)
    assert scan_file(p, opts, workers=2, pieces=rng.randint(2, 9)) == serial
