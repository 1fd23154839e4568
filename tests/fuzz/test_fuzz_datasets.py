"""JSONL training files, random and mutated, and damaged hash caches: `ftops validate` answers with
located lines and exit 0/1, never a traceback. (The scanner itself belongs to `ftops.datasets`.)"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ftops.datasets import ScanOptions, scan_file, scan_stream
from tests.conftest import chat_jsonl, chat_line

from ._harness import assert_contract, run_cli, write_project
from .strategies import VALUES, mutated_text

TRAIN = "specs/data/train.jsonl"
CACHE = ".ftops/cache/datasets.json"


def check_validate(files: dict[str, str | bytes], *, tokens: bool = False, twice: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), files=files)
        for _ in range(2 if twice else 1):
            code, out, err = run_cli("validate", "--tokens" if tokens else "--no-tokens", "specs", where=root)
            assert_contract(code, out, err)
            assert code in (0, 1)
            for line in err.splitlines():
                assert line.startswith(("specs", "error: ", "warning: ")), line


@st.composite
def record(draw: st.DrawFn) -> str:
    """A chat record with one value replaced by a hostile one, or a hostile JSON value."""
    rec = json.loads(chat_line(0))
    where = draw(st.sampled_from(["top", "messages", "message", "content", "role", "whole", "extra"]))
    value = draw(VALUES)
    if where == "top":
        rec = value
    elif where == "messages":
        rec["messages"] = value
    elif where == "message":
        rec["messages"][draw(st.integers(0, 2))] = value
    elif where == "content":
        rec["messages"][draw(st.integers(0, 2))]["content"] = value
    elif where == "role":
        rec["messages"][draw(st.integers(0, 2))]["role"] = value
    elif where == "extra":
        rec[draw(st.sampled_from(["weight", "tools", "functions", "parallel_tool_calls", "x"]))] = value
    else:
        return draw(st.text(max_size=80))
    return json.dumps(rec, allow_nan=True) if draw(st.booleans()) else str(rec)  # NaN: a JSON error to report


@given(st.lists(record(), min_size=1, max_size=5), st.booleans())
def test_hostile_records_among_good_ones(records: list[str], tokens: bool) -> None:
    check_validate({TRAIN: "\n".join(records) + "\n" + chat_jsonl(12)}, tokens=tokens)


@given(st.binary(max_size=300))
def test_random_bytes_as_training_data(data: bytes) -> None:
    check_validate({TRAIN: data})


@given(st.data())
def test_mutated_training_data(data: st.DataObject) -> None:
    check_validate({TRAIN: data.draw(mutated_text(chat_jsonl(12)))}, tokens=True)


@given(st.one_of(VALUES.map(lambda v: json.dumps(v, allow_nan=True)), st.text(max_size=50),
                 st.builds(lambda e: json.dumps({"version": 1, "entries": e}, allow_nan=True), VALUES)))
def test_damaged_hash_cache(cache: str) -> None:
    check_validate({CACHE: cache}, twice=True)


@given(st.one_of(st.binary(max_size=400), mutated_text(chat_jsonl(12)).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.integers(1, 64), st.sampled_from([None, "chat", "preference", "reinforcement"]), st.booleans())
def test_a_stream_reads_as_its_file(data: bytes, piece: int, fmt: str | None, tokens: bool) -> None:
    """A URL's body (`scan_stream`, read once, in pieces of any size) gets the report its file gets."""
    opts = ScanOptions(expected_format=fmt, count_tokens=tokens)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.jsonl"
        path.write_bytes(data)
        expected = scan_file(path, opts, workers=1).to_dict()
    assert scan_stream([data[i:i + piece] for i in range(0, len(data), piece)], opts).to_dict() == expected
