"""Reading ahead (`datasets/_ahead`): which files a spec directory names (`_named`), and when a scan takes a
result read ahead (`take`, `ChunkJob.serves`): only for the same file unchanged, checked the same way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ftops.datasets import ScanOptions, _ahead
from ftops.datasets._cache import stat_key
from ftops.datasets._chunk import ChunkJob, ChunkResult
from ftops.datasets._lines import Chunk
from ftops.datasets._named import named_files
from ftops.datasets._records import Stats

DATASET = "apiVersion: ftops/v1\nkind: Dataset\nmetadata: {{name: {name}}}\nspec: {{path: {path}}}\n"


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_named_files_are_the_dataset_paths_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    a, b = write(tmp_path / "specs" / "data" / "a.jsonl"), write(tmp_path / "data" / "b.jsonl")
    write(tmp_path / "specs" / "main.yaml", DATASET.format(name="a", path="data/a.jsonl") + "---\n"
          + DATASET.format(name="again", path="./data/a.jsonl") + "---\n"
          + "apiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {name: j}\nspec: {path: data/a.jsonl}\n")
    write(tmp_path / "specs" / "sub" / "b.yml", DATASET.format(name="b", path="../../data/b.jsonl"))
    write(tmp_path / "specs" / ".hidden" / "c.yaml", DATASET.format(name="c", path="../data/a.jsonl"))
    write(tmp_path.parent / "outside.jsonl")
    write(tmp_path / "specs" / "out.yaml", DATASET.format(name="o", path="../../outside.jsonl") + "---\n"
          + DATASET.format(name="m", path="data/missing.jsonl") + "---\n" + DATASET.format(name="d", path="data"))
    write(tmp_path / "specs" / "broken.yaml", "kind: Dataset\nspec: {path: [\n")
    (tmp_path / "specs" / "binary.yaml").write_bytes(b"\xff\xfe")
    assert named_files(tmp_path / "specs") == (tmp_path.resolve(), [a.resolve(), b.resolve()])


def test_the_root_is_the_spec_directorys_parent_without_git(tmp_path: Path) -> None:
    write(tmp_path / "p" / "specs" / "main.yaml", DATASET.format(name="a", path="../../x.jsonl"))
    write(tmp_path / "x.jsonl")
    assert named_files(tmp_path / "p" / "specs") == ((tmp_path / "p").resolve(), [])


def test_a_spec_file_that_is_a_fifo_is_passed_over_not_waited_on(tmp_path: Path) -> None:
    """A pipe named *.yaml (the spec loader passes over what is not a regular file): opening it waited for a writer
    forever, and so did `validate --no-tokens`, for the lead's first message."""
    import threading

    (tmp_path / ".git").mkdir()
    a = write(tmp_path / "specs" / "data" / "a.jsonl")
    write(tmp_path / "specs" / "main.yaml", DATASET.format(name="a", path="data/a.jsonl"))
    os.mkfifo(tmp_path / "specs" / "pipe.yaml")
    (tmp_path / "specs" / "linked.yml").symlink_to(tmp_path / "specs" / "pipe.yaml")
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.append(named_files(tmp_path / "specs")), daemon=True)
    reader.start()
    reader.join(10)
    assert found == [(tmp_path.resolve(), [a.resolve()])]


def job(opts: ScanOptions, chunk: Chunk = Chunk(0, 10), fmt: str = "chat") -> ChunkJob:
    return ChunkJob("/d.jsonl", (1, 2), chunk, fmt, opts)


def result(vision_free: bool = True) -> ChunkResult:
    return ChunkResult(3, Stats(examples=3), vision_free=vision_free)


def test_a_result_serves_a_job_checked_the_same_way() -> None:
    guess = job(ScanOptions(vision=False))
    assert guess.serves(result(), job(ScanOptions(vision=False, expected_format="chat", min_examples=1,
                                                  recommended_examples=0, max_file_bytes=10)))
    assert guess.serves(result(), job(ScanOptions(vision=True)))  # nothing in the range needed vision
    assert not guess.serves(result(vision_free=False), job(ScanOptions(vision=True)))
    assert guess.serves(result(vision_free=False), job(ScanOptions(vision=False)))
    assert not guess.serves(result(), job(ScanOptions(vision=False, count_tokens=True)))
    assert not guess.serves(result(), job(ScanOptions(vision=False), fmt="preference"))
    assert not guess.serves(result(), job(ScanOptions(vision=False), chunk=Chunk(0, 11)))
    assert not guess.serves(result(), replace(job(ScanOptions(vision=False)), identity=(1, 3)))
    # max_example_tokens only decides line lengths when tokens are not counted: the same limit, the same work
    assert not guess.serves(result(), job(ScanOptions(vision=False, max_example_tokens=1000)))


class FakeLead(_ahead._Lead):
    """The parent's end of a lead that is this test: nothing to kill or reap."""

    def stop(self) -> None:
        self.ended = True


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """(the pipe to write a lead's messages to, the stat of a data file), with `take` reading that pipe."""
    data = write(tmp_path / "d.jsonl")
    r, w = os.pipe()
    _ahead._lead = FakeLead(os.getpid(), r)
    try:
        yield w, data.stat()
    finally:
        _ahead._lead = None
        os.close(r)
        os.close(w)


def ahead_of(st: os.stat_result, jobs: list[ChunkJob], results: list[ChunkResult] | None) -> _ahead.Ahead:
    return _ahead.Ahead((st.st_dev, st.st_ino), stat_key(st), jobs, results, "ab" * 32)


def test_take_hands_over_a_result_for_the_file_unchanged(lead: tuple[int, os.stat_result]) -> None:
    w, st = lead
    jobs = [replace(job(ScanOptions(vision=False)), identity=(st.st_dev, st.st_ino))]
    _ahead._send(w, {(st.st_dev, st.st_ino)})
    _ahead._send(w, ahead_of(st, jobs, [result()]))
    assert _ahead.take(st, jobs) == ([result()], "ab" * 32)
    assert _ahead.take(st, jobs) is None  # once


def test_take_refuses_a_file_changed_since_it_was_read_ahead(lead: tuple[int, os.stat_result]) -> None:
    w, st = lead
    jobs = [replace(job(ScanOptions(vision=False)), identity=(st.st_dev, st.st_ino))]
    _ahead._send(w, {(st.st_dev, st.st_ino)})
    _ahead._send(w, replace(ahead_of(st, jobs, [result()]), stat=[*stat_key(st)[:2], 0, *stat_key(st)[3:]]))
    assert _ahead.take(st, jobs) is None


def test_take_refuses_a_failed_read_and_files_not_read_ahead(lead: tuple[int, os.stat_result], tmp_path: Path
                                                             ) -> None:
    w, st = lead
    jobs = [replace(job(ScanOptions(vision=False)), identity=(st.st_dev, st.st_ino))]
    other = write(tmp_path / "other.jsonl").stat()
    _ahead._send(w, {(st.st_dev, st.st_ino)})
    assert _ahead.take(other, jobs) is None  # not announced: answered without waiting for the lead
    _ahead._send(w, ahead_of(st, jobs, None))  # a worker failed
    assert _ahead.take(st, jobs) is None
