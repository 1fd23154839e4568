"""The dataset report cache: keyed by a stat that includes ctime; a hostile cache file is ignored and
rebuilt; an entry is validated before it is used."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftops.datasets import HashCache, ScanOptions
from ftops.datasets._cache import CACHE_VERSION, MAX_CACHE_BYTES, stat_key
from tests.conftest import chat_jsonl

FAKE = "f" * 64


def cache_file(root: Path) -> Path:
    return root / ".ftops" / "cache" / "datasets.json"


def warm(root: Path) -> tuple[Path, str]:
    p = root / "a.jsonl"
    p.write_text(chat_jsonl(12))
    c = HashCache(root)
    sha = c.scan(p, ScanOptions()).sha256
    c.save()
    return p, sha


def rescan(root: Path, p: Path) -> tuple[HashCache, str]:
    c = HashCache(root)
    return c, c.scan(p, ScanOptions()).sha256


def test_an_in_place_edit_keeping_size_mtime_and_inode_is_rehashed(tmp_path: Path) -> None:
    p, first = warm(tmp_path)
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[data.index(b"Answer 0")] = ord("X")  # same size
    with open(p, "r+b") as f:  # in place: same inode
        f.write(data)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back, as `touch -r` or a careful tool would
    after = p.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert after.st_ctime_ns != st.st_ctime_ns
    c, sha = rescan(tmp_path, p)
    assert c.misses == 1 and sha == hashlib.sha256(data).hexdigest() != first


def test_an_unchanged_file_is_a_hit(tmp_path: Path) -> None:
    p, first = warm(tmp_path)
    c, sha = rescan(tmp_path, p)
    assert (c.hits, c.misses) == (1, 0) and sha == first


def entries_with(root: Path, p: Path, **changes: Any) -> None:
    """Rewrite the cache's entry for `p` with some report fields changed."""
    data = orjson.loads(cache_file(root).read_bytes())
    data["entries"][str(p)]["report"].update(changes)
    cache_file(root).write_bytes(orjson.dumps(data))


@pytest.mark.parametrize("changes", [
    {"sha256": "not hex"}, {"sha256": FAKE.upper()}, {"sha256": 7}, {"sha256": FAKE + "0"}, {"size": 1},
    {"size": "12"}, {"examples": -1}, {"examples": True}, {"problems": [{"line": "1", "message": "x"}]},
    {"problems": [{"line": 1, "message": "x", "severity": "fatal"}]}, {"problems": "none"},
    {"tokens_by_role": {"user": -5}}, {"tokens_by_role": []}, {"format": "pirate"}, {"bom": None},
])
def test_an_entry_that_does_not_validate_is_not_used(tmp_path: Path, changes: dict[str, Any]) -> None:
    p, first = warm(tmp_path)
    entries_with(tmp_path, p, **changes)
    c, sha = rescan(tmp_path, p)
    assert c.misses == 1 and sha == first


def test_a_valid_looking_entry_for_another_stat_cannot_inject_a_hash(tmp_path: Path) -> None:
    p, first = warm(tmp_path)
    data = orjson.loads(cache_file(tmp_path).read_bytes())
    entry = data["entries"][str(p)]
    entry["report"]["sha256"] = FAKE
    for i in range(len(entry["stat"])):  # any one stat field off: the entry is not used
        wrong = dict(entry, stat=[v + (k == i) for k, v in enumerate(entry["stat"])])
        cache_file(tmp_path).write_bytes(orjson.dumps({"version": CACHE_VERSION, "entries": {str(p): wrong}}))
        c, sha = rescan(tmp_path, p)
        assert c.misses == 1 and sha == first
    entry["stat"] = stat_key(p.stat())
    entry["opts"] = ScanOptions(count_tokens=True).key()  # other options: not this scan's report
    cache_file(tmp_path).write_bytes(orjson.dumps(data))
    assert rescan(tmp_path, p)[1] == first


def _write(content: bytes) -> Callable[[Path], None]:
    return lambda f: f.write_bytes(content)


def _fifo(f: Path) -> None:
    os.mkfifo(f)


def _huge(f: Path) -> None:
    with open(f, "wb") as out:
        out.write(b'{"version": 2, "entries": {')
        out.truncate(MAX_CACHE_BYTES + 10)


HOSTILE: dict[str, Callable[[Path], None]] = {
    "not json": _write(b"{nope"),
    "truncated": _write(b'{"version": 2, "entries": {"/a.jsonl": {"stat": [1, 2'),
    "empty": _write(b""),
    "a list": _write(b"[1, 2, 3]"),
    "a number": _write(b"12"),
    "wrong version": _write(b'{"version": "2", "entries": {}}'),
    "old version": _write(b'{"version": 1, "entries": {}}'),
    "entries a list": _write(b'{"version": 2, "entries": [1]}'),
    "entry a string": _write(b'{"version": 2, "entries": {"x": "y"}}'),
    "entry fields wrong": _write(b'{"version": 2, "entries": {"x": {"stat": "s", "opts": 1, "report": []}}}'),
    "deep nesting": _write(b'{"version": 2, "entries": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "invalid utf-8": _write(b'{"version": 2, "entries": {"\xff": 1}}'),
    "huge": _huge,
    "a directory": lambda f: f.mkdir(),
    "a fifo": _fifo,
    "a symlink loop": lambda f: f.symlink_to(f),
    "a dangling symlink": lambda f: f.symlink_to(f.parent / "gone"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_cache_file_is_ignored_and_rebuilt(tmp_path: Path, name: str) -> None:
    cache_file(tmp_path).parent.mkdir(parents=True)
    HOSTILE[name](cache_file(tmp_path))
    p = tmp_path / "a.jsonl"
    p.write_text(chat_jsonl(12))
    c = HashCache(tmp_path)
    r = c.scan(p, ScanOptions())
    assert c.misses == 1 and r.ok and r.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    c.save()  # never raises, even where the cache path is a directory or a fifo
    if cache_file(tmp_path).is_file():
        c2, _ = rescan(tmp_path, p)
        assert c2.hits == 1


def test_a_cache_dir_that_is_a_file_costs_only_a_rescan(tmp_path: Path) -> None:
    (tmp_path / ".ftops").mkdir()
    (tmp_path / ".ftops" / "cache").write_text("not a dir")
    p = tmp_path / "a.jsonl"
    p.write_text(chat_jsonl(12))
    c = HashCache(tmp_path)
    assert c.scan(p, ScanOptions()).ok
    c.save()
    assert not list((tmp_path / ".ftops").glob(".datasets.*"))


def test_a_missing_dataset_is_a_problem_not_a_cache_entry(tmp_path: Path) -> None:
    c = HashCache(tmp_path)
    r = c.scan(tmp_path / "gone.jsonl", ScanOptions())
    assert not r.ok and r.problems[0].message.startswith("cannot read the file")
    c.save()
    assert not cache_file(tmp_path).exists()


def test_the_state_directory_it_creates_is_ignored_by_git(tmp_path: Path) -> None:
    warm(tmp_path)
    assert (tmp_path / ".ftops" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (tmp_path / ".ftops" / "cache" / ".gitignore").exists()  # once, at the top of what it made


def test_an_existing_ftops_directory_is_left_as_its_owner_made_it(tmp_path: Path) -> None:
    (tmp_path / ".ftops").mkdir()
    warm(tmp_path)
    assert not (tmp_path / ".ftops" / ".gitignore").exists()
    assert (tmp_path / ".ftops" / "cache" / ".gitignore").is_file()
