"""`Dataset.spec.url`: exactly one of path and url; `${VAR}` in a url is checked at load, kept, and expanded
only when sent (`expand_env`)."""

from __future__ import annotations

import pytest

from ftops import FtopsError, ValidationFailed, load_project
from ftops.spec import expand_env
from tests.conftest import BASE_SPEC, MakeProject

URL_SPEC = BASE_SPEC.replace("spec: {path: data/train.jsonl}", "spec: {url: 'URL'}")


def _problems(make_project: MakeProject, spec: str) -> list[str]:
    make_project(spec=spec)
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    return [str(p) for p in e.value.problems]


def test_a_url_dataset_is_kept_as_written(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TEST_SAS", "sv=1&sig=SECRET")
    make_project(spec=URL_SPEC.replace("URL", "https://acct.blob.core.windows.net/c/train.jsonl?${AZURE_TEST_SAS}"))
    project = load_project("specs")
    assert project.datasets["train"].spec.url == "https://acct.blob.core.windows.net/c/train.jsonl?${AZURE_TEST_SAS}"
    assert "train" not in project.dataset_paths


@pytest.mark.parametrize("spec", ["spec: {}", "spec: {path: data/train.jsonl, url: 'https://h/x.jsonl'}"])
def test_exactly_one_of_path_and_url(make_project: MakeProject, spec: str) -> None:
    problems = _problems(make_project, BASE_SPEC.replace("spec: {path: data/train.jsonl}", spec))
    assert any("exactly one of path" in p and p.startswith("specs/main.yaml:") for p in problems), problems


@pytest.mark.parametrize(("ref", "words"), [
    ("${GITHUB_TOKEN}", "variable GITHUB_TOKEN may not be used"),
    ("${not a name}", "is not a variable reference"),
    ("${AZURE_SAS", "an unterminated ${"),
])
def test_variable_references_follow_the_foundry_rules(make_project: MakeProject, ref: str, words: str) -> None:
    problems = _problems(make_project, URL_SPEC.replace("URL", f"https://h/x.jsonl?{ref}"))
    line = next(p for p in problems if words in p)
    assert line.startswith("specs/main.yaml:9: spec.url"), line


def test_a_sas_written_into_the_spec_is_refused(make_project: MakeProject) -> None:
    problems = _problems(make_project, URL_SPEC.replace("URL", "https://acct.blob.core.windows.net/c/x?sv=1&sig=abc"))
    assert any("holds a SAS token" in p for p in problems)
    assert not any("sig=abc" in p for p in problems)


def test_an_evaluation_needs_a_file_of_the_project(make_project: MakeProject) -> None:
    spec = URL_SPEC.replace("URL", "https://h/train.jsonl") + """---
apiVersion: ftops/v1
kind: Evaluation
metadata: {name: quality}
spec:
  dataset: train
  criteria: [{type: string_check, name: same, operation: eq}]
  pass: {thresholds: {same: 0.5}}
"""
    problems = _problems(make_project, spec)
    assert any("an Evaluation's held-out set must be a file of the project" in p for p in problems), problems


def test_expand_env_sends_the_value_and_names_an_unset_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TEST_SAS", "sv=1&sig=SECRET")
    monkeypatch.delenv("FTOPS_UNSET", raising=False)
    assert expand_env("https://h/x?${AZURE_TEST_SAS}", "url") == "https://h/x?sv=1&sig=SECRET"
    with pytest.raises(FtopsError) as e:
        expand_env("https://h/x?${FTOPS_UNSET}", "url", "specs/main.yaml", 9)
    assert str(e.value) == "specs/main.yaml:9: environment variable FTOPS_UNSET is not set (spec.url)"
