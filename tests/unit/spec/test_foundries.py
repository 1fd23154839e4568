"""Several Foundry documents in one spec directory: defaults, metadata.foundry, refused cross-references,
one account per document, and the Project of one Foundry (`choose_foundry`)."""

from __future__ import annotations

import pytest

from ftops import ValidationFailed, load_project
from ftops._exceptions import EXIT_USAGE, FoundryNotChosen
from ftops.spec import account_entries, choose_foundry
from ftops.spec._foundries import local_data_dir
from tests.conftest import BASE_SPEC, MakeProject

PROD = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec: {local: true, region: eastus2}
"""


def _placed(spec: str, foundry: str) -> str:
    """BASE_SPEC's resources with `metadata.foundry: foundry` (the Foundry document itself left as it is)."""
    return spec.replace("metadata: {name: ", f"metadata: {{foundry: {foundry}, name: ").replace(
        f"metadata: {{foundry: {foundry}, name: local}}", "metadata: {name: local}")


PROD_RESOURCES = """apiVersion: ftops/v1
kind: Dataset
metadata: {name: prod-train, foundry: prod}
spec: {path: data/train.jsonl}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: prod-job, foundry: prod}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  method: supervised
  trainingType: GlobalStandard
  trainingData: prod-train
  suffix: prodjob
"""


def _errors(e: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [str(p) for p in e.value.problems if p.severity == "error"]


def test_one_foundry_is_every_resources_default(make_project: MakeProject) -> None:
    make_project()
    project = load_project("specs")
    assert project.foundry is not None and list(project.foundries) == ["local"]
    assert {r.foundry for col in project.resources.values() for r in col.values()} == {"local"}


def test_several_foundries_place_each_resource(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD + "---\n" + PROD_RESOURCES})
    project = load_project("specs")
    assert project.foundry is None and sorted(project.foundries) == ["local", "prod"]
    assert project.jobs["clippy"].foundry == "local" and project.jobs["prod-job"].foundry == "prod"


def test_a_resource_without_foundry_among_several_is_a_located_error(make_project: MakeProject) -> None:
    make_project(files={"specs/prod.yaml": PROD})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert "specs/main.yaml:8: Dataset 'train' names no Foundry, and this directory has several: add " \
           "metadata.foundry: one of local, prod" in _errors(e)


def test_an_unknown_foundry_is_a_located_error_naming_the_choices(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC.replace("metadata: {name: train}", "metadata: {name: train, foundry: staging}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert "specs/main.yaml:8: metadata.foundry names Foundry 'staging', which no spec defines (Foundry documents: " \
           "local)" in _errors(e)


def test_a_foundry_document_may_not_name_a_foundry(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC.replace("metadata: {name: local}", "metadata: {name: local, foundry: local}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert any(r.startswith("specs/main.yaml:3: metadata.foundry is for the resources") for r in _errors(e))


def test_a_deployment_of_another_foundrys_job_takes_its_final_model_ungated(make_project: MakeProject) -> None:
    spec = _placed(BASE_SPEC, "local").replace("metadata: {foundry: local, name: clippy-prod}",
                                               "metadata: {foundry: prod, name: clippy-prod}")
    make_project(spec=spec, files={"specs/prod.yaml": PROD})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    [err] = _errors(e)
    assert err.startswith("specs/main.yaml:33: model.checkpoint: FineTuningJob 'clippy' is in Foundry 'local': a "
                          "deployment in another account serves its final model as it is; deploy it with gates and "
                          "evaluation in its own account and follow that deployment")
    make_project(spec=spec.replace("checkpoint: best", "checkpoint: final"), files={"specs/prod.yaml": PROD})
    assert load_project("specs").deployments["clippy-prod"].foundry == "prod"


def test_a_job_trained_on_another_foundrys_dataset_is_refused(make_project: MakeProject) -> None:
    resources = PROD_RESOURCES.replace("trainingData: prod-train", "trainingData: train")
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD + "---\n" + resources})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert any(r.startswith("specs/prod.yaml:18: trainingData names Dataset 'train' of Foundry 'local'")
               for r in _errors(e))


def test_two_foundries_of_one_account_are_refused(make_project: MakeProject) -> None:
    remote = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: NAME}
spec: {endpoint: 'https://acme.openai.azure.com/', subscription: s, region: eastus2}
"""
    make_project(spec=remote.replace("NAME", "a") + "---\n" + remote.replace("NAME", "b").replace(
        "acme.openai.azure.com/", "ACME.openai.azure.com"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert "specs/main.yaml:8: Foundry 'b' names the same endpoint as Foundry 'a' (at specs/main.yaml:3): one " \
           "account is managed by one Foundry document" in _errors(e)


def test_two_local_foundries_get_a_data_dir_each(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD})
    project = load_project("specs")
    assert project.foundries["local"].spec.data_dir == local_data_dir("local")
    assert project.foundries["prod"].spec.data_dir == local_data_dir("prod")


def test_two_local_foundries_sharing_an_explicit_data_dir_are_refused(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local").replace("{local: true,", "{local: true, dataDir: .ftops/x,"),
                 files={"specs/prod.yaml": PROD.replace("{local: true,", "{local: true, dataDir: .ftops/x,")})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert any("names the same local data directory as Foundry 'local'" in r for r in _errors(e))


def test_one_foundry_keeps_its_default_data_dir(make_project: MakeProject) -> None:
    make_project()
    foundry = load_project("specs").foundry
    assert foundry is not None and foundry.spec.data_dir == ".ftops/emulator"


def test_choose_foundry_narrows_to_its_resources(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD + "---\n" + PROD_RESOURCES})
    project = load_project("specs")
    prod = choose_foundry(project, "prod")
    assert prod.foundry is not None and prod.foundry.name == "prod" and list(prod.foundries) == ["prod"]
    assert list(prod.jobs) == ["prod-job"] and list(prod.datasets) == ["prod-train"] and not prod.deployments
    assert list(prod.dataset_paths) == ["prod-train"] and prod.project_name == "prod"
    assert sorted(project.jobs) == ["clippy", "prod-job"]  # the whole project is left as it was


def test_choose_foundry_without_a_name_among_several_is_a_usage_error(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD})
    project = load_project("specs")
    with pytest.raises(FoundryNotChosen) as e:
        choose_foundry(project, None)
    assert e.value.exit_code == EXIT_USAGE == 2
    assert str(e.value) == ("specs declares several Foundry documents (local, prod): pass --foundry NAME to work on "
                            "one, or use `ftops matrix` for one CI job per account")
    with pytest.raises(FoundryNotChosen, match=r"--foundry nope: no such Foundry document in specs \(Foundry "
                                               r"documents: local, prod\)"):
        choose_foundry(project, "nope")


def test_choose_foundry_of_one_is_the_project(make_project: MakeProject) -> None:
    make_project()
    project = load_project("specs")
    assert choose_foundry(project, None) is project
    assert choose_foundry(project, "local").jobs.keys() == project.jobs.keys()


def test_unset_connection_variables_belong_to_their_foundry(make_project: MakeProject,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_PROD_ACCOUNT", raising=False)
    prod = PROD.replace("{local: true, region: eastus2}", "{local: true, region: eastus2, "
                        "account: '${AZURE_PROD_ACCOUNT}'}")
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": prod})
    project = load_project("specs")
    assert not choose_foundry(project, "local").unresolved_env
    assert [u.variable for u in choose_foundry(project, "prod").unresolved_env] == ["AZURE_PROD_ACCOUNT"]


def test_account_entries_name_every_foundry(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": PROD.replace(
        "{local: true,", "{local: true, account: acme-prod,")})
    entries = account_entries(load_project("specs"))
    assert [(e.foundry, e.account, e.region) for e in entries] == [("local", None, "swedencentral"),
                                                                  ("prod", "acme-prod", "eastus2")]
