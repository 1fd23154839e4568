"""One spec directory, two local Foundry accounts (dev, prod): each command works on one, chosen by
`--foundry NAME`; without it the commands that connect exit 2; `ftops matrix` names both."""

from __future__ import annotations

import json

import pytest

from ftops.emulator import EmulatorServer

from .conftest import FAST, Project, clients

PROD = f"""---
apiVersion: ftops/v1
kind: Foundry
metadata: {{name: prod}}
spec:
  local: true
  speed: {FAST}
  namespace: clippy-prod-account
  region: eastus2
---
apiVersion: ftops/v1
kind: Dataset
metadata: {{name: prod-train, foundry: prod}}
spec: {{path: data/clippy.train.jsonl}}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {{name: prod-job, foundry: prod}}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  method: supervised
  trainingType: GlobalStandard
  trainingData: prod-train
  hyperparameters: {{n_epochs: 1}}
  suffix: prodjob
"""


def _two_accounts(project: Project) -> None:
    """The shipped specs become Foundry `dev` with its resources, beside a Foundry `prod` with its own."""
    text = project.spec.read_text().replace("metadata: {name: local}", "metadata: {name: dev}")
    text = text.replace("metadata: {name: clippy", "metadata: {foundry: dev, name: clippy")
    project.spec.write_text(text + PROD)


def test_each_command_works_on_the_foundry_it_is_given(project: Project) -> None:
    _two_accounts(project)
    assert project.ftops("validate").code == 0  # offline: checks both

    r = project.ftops("plan")
    assert r.code == 2
    [line] = r.err.strip().splitlines()
    assert line.endswith("specs declares several Foundry documents (dev, prod): pass --foundry NAME to work on one, "
                         "or use `ftops matrix` for one CI job per account"), line

    matrix = project.ftops("matrix", "--format", "json")
    assert matrix.code == 0, matrix.err
    include = json.loads(matrix.out)["include"]
    assert [(e["foundry"], e["region"]) for e in include] == [("dev", "swedencentral"), ("prod", "eastus2")]

    planned = project.actions("--foundry", "dev")
    assert planned and not [k for k in planned if "prod-train" in k or "prod-job" in k], planned
    assert any("clippy-train" in k for k in planned), planned

    r = project.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert project.ftops("plan", "--foundry", "dev", "--detailed-exitcode").code == 0
    dev_dir, prod_dir = project.root / ".ftops" / "emulators" / "dev", project.root / ".ftops" / "emulators" / "prod"
    assert dev_dir.is_dir() and not prod_dir.exists()  # prod's account was never started, let alone written
    server = EmulatorServer(dev_dir, speed=FAST).start()
    try:
        dev = clients(server.connection, server)
        assert [d.name for d in dev.arm.deployments.list(dev.conn.resource_group, dev.conn.account)] == ["clippy-prod"]
    finally:
        server.stop()


def test_a_plan_file_applies_to_the_foundry_it_was_made_for(project: Project) -> None:
    _two_accounts(project)
    assert project.ftops("plan", "--foundry", "prod", "--out", "prod.plan.json").code == 0
    assert json.loads((project.root / "prod.plan.json").read_text())["foundry"] == "prod"

    r = project.ftops("apply", "prod.plan.json", "--foundry", "dev", "--auto-approve")
    assert r.code == 2 and "the plan file was made for Foundry 'prod', not --foundry dev" in r.err, r.err

    r = project.ftops("apply", "prod.plan.json", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert (project.root / ".ftops" / "emulators" / "prod").is_dir()
    assert not (project.root / ".ftops" / "emulators" / "dev").exists()


def test_ftops_foundry_in_the_environment_chooses_as_the_flag_does(project: Project,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _two_accounts(project)
    monkeypatch.setenv("FTOPS_FOUNDRY", "prod")  # what a matrix job of the GitHub Action sets (docs/ci.md)
    planned = project.actions()
    assert any("prod-job" in k for k in planned) and not any("clippy" in k for k in planned), planned


def test_an_unknown_foundry_is_a_usage_error(project: Project) -> None:
    _two_accounts(project)
    r = project.ftops("status", "--foundry", "staging")
    assert r.code == 2
    assert "--foundry staging: no such Foundry document in specs (Foundry documents: dev, prod)" in r.err
