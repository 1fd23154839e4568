"""Dataset paths are resolved as `Path.resolve()` would, with each directory resolved once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftops.spec._project import _Resolver


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "specs" / "team").mkdir(parents=True)
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.jsonl").write_text("{}\n")
    (tmp_path / "data" / "sub" / "b.jsonl").write_text("{}\n")
    os.symlink(tmp_path / "data" / "a.jsonl", tmp_path / "data" / "link.jsonl")
    os.symlink(tmp_path / "data" / "sub", tmp_path / "data" / "linkdir")
    os.symlink(tmp_path / "data" / "loop1", tmp_path / "data" / "loop2")
    os.symlink(tmp_path / "data" / "loop2", tmp_path / "data" / "loop1")
    os.symlink("/etc/passwd", tmp_path / "data" / "outside.jsonl")
    return tmp_path


@pytest.mark.parametrize("rel", ["../../data/a.jsonl", "../../data/link.jsonl", "../../data/linkdir/b.jsonl",
                                 "../../data/sub/../a.jsonl", "../../data/missing.jsonl", "../../data/outside.jsonl",
                                 "../../data/linkdir/../a.jsonl", "../../data/..", "../../data/.", "x/../../../data/a.jsonl"])
def test_the_same_as_path_resolve(tree: Path, rel: str) -> None:
    path = tree / "specs" / "team" / rel
    resolver = _Resolver()
    assert resolver.resolve(path) == path.resolve()
    assert resolver.resolve(path) == path.resolve()  # again, from the directory cache


def test_a_symlink_loop_and_a_nul_byte_raise_as_resolve_does(tree: Path) -> None:
    base = tree / "specs" / "team" / "../../data"
    with pytest.raises(RuntimeError):
        (base / "loop1").resolve()
    with pytest.raises(RuntimeError):
        _Resolver().resolve(base / "loop1")
    with pytest.raises(ValueError):
        _Resolver().resolve(base / "a\0.jsonl")
