"""`scan_stream` (a URL's body, read once) reports what `scan_file` reports for the same bytes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ftops.datasets import ScanOptions, scan_file, scan_stream
from ftops.datasets._stream import TooLarge
from tests.conftest import chat_jsonl, chat_line

BOM = b"\xef\xbb\xbf"
RFT = json.dumps({"messages": [{"role": "user", "content": "q"}], "answer": "a"})
DPO = json.dumps({"input": {"messages": [{"role": "user", "content": "q"}]},
                  "preferred_output": [{"role": "assistant", "content": "a"}],
                  "non_preferred_output": [{"role": "assistant", "content": "b"}]})


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _same(tmp_path: Path, data: bytes, opts: ScanOptions) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(data)
    expected = scan_file(path, opts, workers=1).to_dict()
    for size in (1, 7, 4096, len(data) or 1):
        assert scan_stream(_pieces(data, size), opts).to_dict() == expected, size


CASES = {
    "plain": chat_jsonl(60).encode(),
    "bom and crlf": BOM + chat_jsonl(30).replace("\n", "\r\n").encode(),
    "junk before the first record": b"nope\n\n[1,\n" + chat_jsonl(20).encode(),
    "no final newline": chat_jsonl(20).encode().rstrip(b"\n"),
    "rft first": (RFT + "\n" + chat_jsonl(20)).encode(),
    "dpo": ((DPO + "\n") * 12).encode(),
    "a bare object": b'{"x": 1}\n' + chat_jsonl(12).encode(),
    "empty": b"",
    "bom only": BOM,
    "weights and tools": (chat_line(1, tools=[{"type": "function"}]) + "\n" + chat_jsonl(11)).encode(),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fmt", [None, "chat", "preference", "reinforcement"])
def test_a_stream_reads_as_its_file(tmp_path: Path, name: str, fmt: str | None) -> None:
    _same(tmp_path, CASES[name], ScanOptions(expected_format=fmt, count_tokens=True))


def test_random_mixtures(tmp_path: Path) -> None:
    rng = random.Random(7)
    kinds = [b"not json", b"", b"   ", RFT.encode(), DPO.encode(), b'"a string"', b"{\"messages\": []}"]
    for _ in range(20):
        lines = [rng.choice(kinds) if rng.random() < 0.2 else chat_line(rng.randint(0, 9)).encode()
                 for _ in range(rng.randint(1, 120))]
        _same(tmp_path, b"\n".join(lines), ScanOptions(expected_format=rng.choice([None, "chat"])))


def test_more_than_probe_lines_of_junk_then_records(tmp_path: Path) -> None:
    _same(tmp_path, b"x\n" * 1005 + chat_jsonl(12).encode(), ScanOptions())


def test_a_long_line_is_counted_not_kept(tmp_path: Path) -> None:
    opts = ScanOptions(vision=False, max_example_tokens=1000)  # lines over 32,000 bytes are not parsed
    _same(tmp_path, chat_jsonl(12).encode() + b"[" * 100_000 + b"\n" + chat_jsonl(3).encode(), opts)


def test_the_size_cap_stops_the_stream() -> None:
    pulled = 0

    def endless():  # type: ignore[no-untyped-def]
        nonlocal pulled
        while True:
            pulled += 1
            yield chat_jsonl(10).encode()

    with pytest.raises(TooLarge):
        scan_stream(endless(), ScanOptions(max_file_bytes=100_000))
    assert pulled < 200
