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


PROJECT_FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: acme}
spec:
  subscription: s
  endpoint: ENDPOINT
"""


@pytest.mark.parametrize("endpoint,project", [
    ("https://acme.services.ai.azure.com/api/projects/clippy-lab", "clippy-lab"),
    ("https://acme.services.ai.azure.com/api/projects/clippy-lab/", "clippy-lab"),
    ("https://acme.openai.azure.com", None),
    ("https://acme.openai.azure.com/openai/v1", None),
])
def test_a_project_endpoint_as_the_portal_shows_it(make_project: MakeProject, endpoint: str,
                                                   project: str | None) -> None:
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], PROJECT_FOUNDRY.replace("ENDPOINT", endpoint)))
    foundry = load_project("specs").foundry
    assert foundry is not None and foundry.spec.project_in_endpoint == project


@pytest.mark.parametrize("endpoint", [
    "https://acme.services.ai.azure.com/api/projects/clippy-lab/openai/v1",
    "https://acme.services.ai.azure.com/api/projects/",
    "https://acme.services.ai.azure.com/api/projects/x",
])
def test_a_malformed_project_endpoint_is_located(make_project: MakeProject, endpoint: str) -> None:
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], PROJECT_FOUNDRY.replace("ENDPOINT", endpoint)))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert [str(p) for p in e.value.problems] == [
        "specs/main.yaml:6: spec.endpoint: a Foundry project endpoint is https://<resource>.services."
        "ai.azure.com/api/projects/<project>, as the portal shows it (nothing after the project's name, which is 2 "
        "to 64 letters, digits, '_', '.' or '-')"]


@pytest.mark.parametrize("endpoint", [
    "https://acme.openai.azure.com/?sig=SECRET-SAS",
    "https://alice:SECRET-PW@acme.openai.azure.com",
    "https://acme.services.ai.azure.com/api/projects/clippy-lab?sig=SECRET-SAS",
    "https://SECRET-USER@acme.services.ai.azure.com/api/projects/clippy-lab",
    "https://acme.openai.azure.com/#SECRET-FRAGMENT",
])
def test_an_endpoint_carrying_a_secret_is_refused_without_showing_it(make_project: MakeProject,
                                                                       endpoint: str) -> None:
    # ftops prints its endpoints (the plan's header, plan files, errors): a password or a SAS would go too.
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], PROJECT_FOUNDRY.replace("ENDPOINT", endpoint)))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    [problem] = [str(p) for p in e.value.problems]
    assert problem.startswith("specs/main.yaml:6: spec.endpoint: ") and "credentials, a query" in problem
    assert "SECRET" not in problem


@pytest.mark.parametrize("endpoint", ["ftp://acme.openai.azure.com", "https://acme.openai.azure.com:99999",
                                      "acme.openai.azure.com", "https://"])
def test_an_endpoint_is_an_https_url_with_a_host(make_project: MakeProject, endpoint: str) -> None:
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], PROJECT_FOUNDRY.replace("ENDPOINT", endpoint)))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert "must be an https:// URL with a host" in str(e.value)


def test_a_project_endpoint_with_a_port_and_an_uppercase_host_is_read(make_project: MakeProject) -> None:
    endpoint = "https://ACME.SERVICES.AI.AZURE.COM:8443/api/projects/clippy-lab"
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], PROJECT_FOUNDRY.replace("ENDPOINT", endpoint)))
    foundry = load_project("specs").foundry
    assert foundry is not None and foundry.spec.project_in_endpoint == "clippy-lab"


def test_foundry_project_is_for_the_local_foundry(make_project: MakeProject) -> None:
    remote = PROJECT_FOUNDRY.replace("ENDPOINT", "https://acme.openai.azure.com") + "  foundryProject: lab\n"
    make_project(spec=BASE_SPEC.replace(BASE_SPEC.split("---\n")[0], remote))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert "foundryProject is for local: true; a remote Foundry names its project in endpoint" in str(e.value)
    local = BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, foundryProject: clippy-lab}")
    make_project(spec=local)
    foundry = load_project("specs").foundry
    assert foundry is not None and foundry.spec.foundry_project == "clippy-lab"


def test_namespace_and_its_old_spelling(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, namespace: team-a}"))
    project = load_project("specs")
    assert project.project_name == "team-a" and project.warnings == []
    make_project(spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, project: team-a}"))
    project = load_project("specs")
    assert project.project_name == "team-a"
    assert [str(w) for w in project.warnings] == [
        "specs/main.yaml:4: warning: spec.project is now spec.namespace (ftops' namespace for its tags and "
        "metadata, not a Foundry project); rename it, the value stays"]
    make_project(spec=BASE_SPEC.replace("{local: true, region: swedencentral}",
                                        "{local: true, project: team-a, namespace: team-a}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert [str(p) for p in e.value.problems] == [
        "specs/main.yaml:4: spec.project and spec.namespace are both set: spec.project is the old spelling of "
        "spec.namespace; keep only namespace"]
