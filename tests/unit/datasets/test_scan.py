from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ftops.datasets import HashCache, ScanOptions, get_encoding, hash_file, scan_file
from ftops.datasets._tokens import rank_file_bytes
from tests.conftest import chat_jsonl


def test_hash_matches_hashlib(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"x" * (9 * 1024 * 1024 + 7))
    assert hash_file(p) == hashlib.sha256(p.read_bytes()).hexdigest()
    assert scan_file(p, ScanOptions()).sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_bom_is_accepted_and_reported(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + chat_jsonl(12).encode())
    r = scan_file(p, ScanOptions())
    assert r.bom and r.ok and r.examples == 12
    q = tmp_path / "nobom.jsonl"
    q.write_text(chat_jsonl(12))
    assert not scan_file(q, ScanOptions()).bom


def test_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    p = tmp_path / "crlf.jsonl"
    p.write_bytes(chat_jsonl(12).replace("\n", "\r\n").encode().rstrip(b"\r\n"))
    r = scan_file(p, ScanOptions())
    assert r.ok and r.examples == 12


def test_token_counts_and_trained_tokens(tmp_path: Path) -> None:
    p = tmp_path / "w.jsonl"
    rec = {"messages": [{"role": "user", "content": "Hello world"},
                        {"role": "assistant", "content": "Hi", "weight": 0},
                        {"role": "user", "content": "More"},
                        {"role": "assistant", "content": "Hello world"}]}
    p.write_text("\n".join(json.dumps(rec) for _ in range(10)) + "\n")
    r = scan_file(p, ScanOptions(count_tokens=True))
    enc = get_encoding("o200k_base")
    hw = len(enc.encode_ordinary("Hello world")) + 3
    assert r.trained_tokens == 10 * hw  # the weight-0 turn is not trained
    assert r.tokens_by_role["assistant"] == 10 * (hw + len(enc.encode_ordinary("Hi")) + 3)


def test_encodings_are_verified_and_match_known_ids() -> None:
    assert hashlib.sha256(rank_file_bytes("cl100k_base")).hexdigest().startswith("223921b7")
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert get_encoding("o200k_base").encode_ordinary("Hello world") == [13225, 2375]


def test_problem_list_is_bounded(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text("not json\n" * 500)
    r = scan_file(p, ScanOptions())
    assert len(r.problems) <= 51 and r.problems_omitted > 0 and not r.ok


def test_cache_skips_rehash_until_the_file_changes(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text(chat_jsonl(12))
    c1 = HashCache(tmp_path)
    first = c1.scan(p, ScanOptions())
    c1.save()
    c2 = HashCache(tmp_path)
    again = c2.scan(p, ScanOptions())
    assert (c2.hits, c2.misses) == (1, 0) and again.sha256 == first.sha256
    p.write_text(chat_jsonl(13))
    c3 = HashCache(tmp_path)
    changed = c3.scan(p, ScanOptions())
    assert c3.misses == 1 and changed.sha256 != first.sha256 and changed.examples == 13


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".ftops" / "cache").mkdir(parents=True)
    (tmp_path / ".ftops" / "cache" / "datasets.json").write_text("{nope")
    p = tmp_path / "a.jsonl"
    p.write_text(chat_jsonl(12))
    assert HashCache(tmp_path).scan(p, ScanOptions()).examples == 12


def test_files_over_the_size_limit_are_errors(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    p.write_text(chat_jsonl(12))
    r = scan_file(p, ScanOptions(max_file_bytes=100))
    assert not r.ok and any("Foundry accepts at most" in x.message for x in r.problems)


def test_preference_and_reinforcement_formats_are_inferred(tmp_path: Path) -> None:
    dpo = {"input": {"messages": [{"role": "user", "content": "Hi"}]},
           "preferred_output": [{"role": "assistant", "content": "Hello!"}],
           "non_preferred_output": [{"role": "assistant", "content": "What."}]}
    rft = {"messages": [{"role": "user", "content": "2+2?"}], "answer": "4"}
    for rec, fmt in ((dpo, "preference"), (rft, "reinforcement")):
        p = tmp_path / f"{fmt}.jsonl"
        p.write_text("\n".join(json.dumps(rec) for _ in range(12)) + "\n")
        r = scan_file(p, ScanOptions())
        assert r.ok and r.format == fmt and r.examples == 12
