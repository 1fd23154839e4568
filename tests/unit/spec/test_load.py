from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftops import ValidationFailed, load_project
from tests.conftest import BASE_SPEC, MakeProject


def test_env_substitution_in_foundry_values_only(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTOPS_TEST_ACCOUNT", "acme")
    spec = BASE_SPEC.replace("{local: true, region: swedencentral}",
                             "{local: true, region: swedencentral, account: '${FTOPS_TEST_ACCOUNT}'}")
    make_project(spec=spec)
    project = load_project("specs")
    assert project.foundry is not None and project.foundry.spec.account == "acme"


def test_env_syntax_elsewhere_is_not_expanded(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTOPS_TEST_SUFFIX", "x")
    make_project(spec=BASE_SPEC.replace("suffix: clippy", "suffix: '${FTOPS_TEST_SUFFIX}'"))
    assert load_project("specs").jobs["clippy"].spec.suffix == "${FTOPS_TEST_SUFFIX}"


def test_a_symlink_out_of_the_project_root_is_refused(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project()
    outside = tmp_path.parent / f"{tmp_path.name}-secret.jsonl"
    outside.write_text("{}\n")
    (root / "specs" / "data" / "train.jsonl").unlink()
    os.symlink(outside, root / "specs" / "data" / "train.jsonl")
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert any("resolves outside the project root" in str(p) for p in e.value.problems)


def test_a_symlink_inside_the_root_is_followed(make_project: MakeProject) -> None:
    root = make_project()
    (root / "shared").mkdir()
    (root / "specs" / "data" / "train.jsonl").rename(root / "shared" / "train.jsonl")
    os.symlink(root / "shared" / "train.jsonl", root / "specs" / "data" / "train.jsonl")
    project = load_project("specs")
    assert project.dataset_paths["train"] == (root / "shared" / "train.jsonl").resolve()


def test_many_files_and_documents(make_project: MakeProject) -> None:
    parts = BASE_SPEC.split("---\n")
    files = {f"specs/part{i}.yml": p for i, p in enumerate(parts[1:])}
    make_project(files=files, spec=parts[0])
    project = load_project("specs")
    assert set(project.datasets) == {"train", "valid"} and set(project.jobs) == {"clippy"}
