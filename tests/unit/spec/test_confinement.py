"""Confinement: the project root comes from the spec directory (never the current directory),
datasets and local state stay inside it, and ${VAR} reads only allowed variables of connection fields."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftops import FtopsError, ValidationFailed, load_project
from ftops.spec import find_root, require_connection
from tests.conftest import BASE_SPEC, MakeProject

REMOTE = BASE_SPEC.replace(
    "{local: true, region: swedencentral}",
    "\n  endpoint: ${AZURE_OPENAI_ENDPOINT}\n  subscription: ${AZURE_SUBSCRIPTION_ID}\n"
    "  resourceGroup: ${FTOPS_RG}\n  account: acme")


def test_root_is_the_spec_dirs_parent_without_a_repository(make_project: MakeProject) -> None:
    root = make_project()
    assert find_root(root / "specs") == root.resolve()


def test_root_is_the_repository_holding_the_spec_dir(make_project: MakeProject) -> None:
    root = make_project(files={"deep/er/specs/main.yaml": BASE_SPEC, "deep/er/specs/data/train.jsonl": "",
                               ".git/HEAD": "ref: refs/heads/main\n"})
    assert find_root(root / "deep" / "er" / "specs") == root.resolve()


@pytest.mark.parametrize("cwd", ["specs", "/", "elsewhere"])
def test_root_does_not_depend_on_the_current_directory(make_project: MakeProject, cwd: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(files={"elsewhere/x": ""})
    monkeypatch.chdir(root / cwd if cwd != "/" else "/")
    project = load_project(root / "specs")
    assert project.root == root.resolve()
    assert project.dataset_paths["train"] == (root / "specs" / "data" / "train.jsonl").resolve()


def test_running_from_slash_cannot_reach_etc_passwd(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(spec=BASE_SPEC.replace("path: data/train.jsonl", "path: ../../../../../../../../etc/passwd"))
    monkeypatch.chdir("/")
    with pytest.raises(ValidationFailed) as e:
        load_project(root / "specs")
    assert any("resolves outside the project root" in str(p) for p in e.value.problems)


def test_a_spec_file_symlinked_out_of_the_root_is_not_read(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text("apiVersion: ftops/v1\n")
    os.symlink(outside, root / "specs" / "zz.yaml")
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert [str(p) for p in e.value.problems] == [
        f"specs/zz.yaml: spec file resolves outside the project root ({root.resolve()}); refusing to read it"]


def test_a_symlink_loop_is_not_a_spec_file(make_project: MakeProject) -> None:
    root = make_project()
    os.symlink(root / "specs" / "loop.yaml", root / "specs" / "loop.yaml")
    os.symlink(root / "specs", root / "specs" / "again")  # a directory loop is not walked either
    assert set(load_project("specs").datasets) == {"train", "valid"}


def test_unset_connection_variables_are_fine_offline_and_an_error_to_connect(
        make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_SUBSCRIPTION_ID", "FTOPS_RG"):
        monkeypatch.delenv(name, raising=False)
    make_project(spec=REMOTE)
    project = load_project("specs")  # validate is offline: no error
    assert [(u.field, u.variable, u.line) for u in project.unresolved_env] == [
        ("endpoint", "AZURE_OPENAI_ENDPOINT", 5), ("subscription", "AZURE_SUBSCRIPTION_ID", 6), ("resourceGroup", "FTOPS_RG", 7)]
    with pytest.raises(FtopsError) as e:
        require_connection(project)
    assert str(e.value) == ("specs/main.yaml:5: environment variable AZURE_OPENAI_ENDPOINT is not set (spec.endpoint) "
                            "(and 2 more: AZURE_SUBSCRIPTION_ID, FTOPS_RG)")


def test_set_connection_variables_expand_and_connecting_is_allowed(make_project: MakeProject,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://acme.openai.azure.com")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "0000")
    monkeypatch.setenv("FTOPS_RG", "rg")
    make_project(spec=REMOTE)
    project = load_project("specs")
    require_connection(project)
    assert project.foundry is not None and project.foundry.spec.endpoint == "https://acme.openai.azure.com"


def test_a_disallowed_variable_is_refused_without_printing_its_value(make_project: MakeProject,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecretvalue")
    make_project(spec=REMOTE.replace("account: acme", "account: ${GITHUB_TOKEN}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    text = str(e.value)
    assert "specs/main.yaml:8: spec.account: variable GITHUB_TOKEN may not be used" in text
    assert "ghp_supersecretvalue" not in text


def test_a_foundry_document_that_fails_gives_no_second_no_foundry_error(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: maybe}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    rendered = [str(p) for p in e.value.problems]
    assert len(rendered) == 1 and "spec.local" in rendered[0], rendered


def test_an_unparsable_file_gives_no_missing_reference_errors(make_project: MakeProject) -> None:
    datasets, rest = BASE_SPEC.split("---\napiVersion: ftops/v1\nkind: FineTuningJob", 1)
    make_project(files={"specs/jobs.yaml": "apiVersion: ftops/v1\nkind: FineTuningJob" + rest + "\n: : [\n"},
                 spec=datasets)
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    rendered = [str(p) for p in e.value.problems]
    assert len(rendered) == 1 and rendered[0].startswith("specs/jobs.yaml:"), rendered
