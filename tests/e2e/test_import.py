"""`ftops import` against the local Foundry: objects made with the plain openai and ARM clients are adopted,
the next plan is empty, apply uploads, trains and deploys nothing, and a spec edit trains one new job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

from ftops.emulator import EmulatorServer
from tests.e2e.conftest import TRAIN, VALID, Foundry, Project, clients

FOUNDRY_ONLY = """\
apiVersion: ftops/v1
kind: Foundry
metadata: {name: local}
spec:
  local: true
  namespace: adopters
"""


def _foundry_only(project: Project) -> None:
    project.spec.write_text(FOUNDRY_ONLY)
    project.set("speed", 20000.0)


def _by_hand(live: Foundry) -> dict[str, Any]:
    """A file pair, a job on them and (once it succeeded) a deployment of its model: no ftops involved."""
    train, valid = live.upload(TRAIN), live.upload(VALID)
    job = live.job(train, validation_file=valid, suffix="support-bot", hyperparameters={"n_epochs": 2})
    live.admin.advance(seconds=4 * 3600)
    done = live.wait_job(job.id)
    assert done.status == "succeeded", done
    live.deploy("support-prod", done.fine_tuned_model, sku="GlobalStandard", capacity=20,
                tags={"owner": "team-a"}).result()
    return {"train": train, "valid": valid, "job": job.id, "model": done.fine_tuned_model}


def _listings(live: Foundry) -> tuple[int, int, list[tuple[str, str, int]]]:
    rg, acct = live.conn.resource_group, live.conn.account
    deps = sorted((d.name, d.properties.model.name, d.sku.capacity)
                  for d in live.arm.deployments.list(rg, acct))
    return len(live.oai.files.list().data), len(live.oai.fine_tuning.jobs.list().data), deps


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_import_adopts_hand_made_objects_and_the_next_plan_is_empty(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        made = _by_hand(live)
        before = _listings(live)

    r = project.ftops("import", "specs", "--out", "specs/imported.yaml")
    assert r.code == 0, r.out + r.err
    docs = _docs(project.root / "specs" / "imported.yaml")
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Dataset", "clippy-train"), ("Dataset", "clippy-valid"), ("FineTuningJob", "support-bot"),
        ("Deployment", "support-prod")]
    job = docs[2]["spec"]
    assert job["adopt"] == made["job"] and job["trainingData"] == "clippy-train"
    assert job["hyperparameters"]["n_epochs"] == 2 and job["suffix"] == "support-bot"
    assert docs[3]["spec"] == {"model": {"job": "support-bot", "checkpoint": "final"},
                               "sku": {"name": "GlobalStandard", "capacity": 20}, "adopt": True}
    assert (project.root / "specs" / "data" / "clippy-train.jsonl").read_bytes() == TRAIN.read_bytes()
    assert project.ftops("validate", "specs").code == 0

    plan = project.ftops("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert project.ftops("drift").code == 0
    status = project.ftops("status")
    assert status.code == 0 and "support-prod" in status.out
    assert project.ftops("metrics", "support-bot", "specs").code == 0
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        assert _listings(live) == before  # nothing uploaded, trained or deployed

    # A second import finds everything named by the specs: nothing to write.
    again = project.ftops("import", "specs", "--out", "specs/again.yaml")
    assert again.code == 0 and "Nothing to import" in again.out
    assert not (project.root / "specs" / "again.yaml").exists()

    # An edit of the job is a new job, as any spec edit is; the adopted job stays as it was.
    path = project.root / "specs" / "imported.yaml"
    path.write_text(path.read_text().replace("n_epochs: 2", "n_epochs: 3"))
    actions = project.actions()
    assert actions["FineTuningJob/support-bot"] == "create", actions
    assert actions["Dataset/clippy-train"] == "no-op"
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        jobs = live.oai.fine_tuning.jobs.list().data
    assert len(jobs) == 2 and len(before[2]) == 1


def test_import_by_id_and_the_edge_cases_are_one_line_each(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        made = _by_hand(live)
        failed = live.job(made["train"], suffix="broken")
        live.oai.fine_tuning.jobs.cancel(failed.id)
        orphan_file = live.upload(VALID)
        orphaned = live.job(orphan_file, suffix="orphaned")
        live.admin.advance(seconds=4 * 3600)
        live.wait_job(orphaned.id)
        live.oai.files.delete(orphan_file)
        base = Deployment(sku=Sku(name="GlobalStandard", capacity=1), properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="gpt-4.1-mini", version="2025-04-14")))
        live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "base-prod",
                                                    base).result()

    missing = project.ftops("import", "specs", "--out", "specs/one.yaml", "--id", "ftjob-nosuch")
    assert missing.code == 1 and missing.err.count("\n") == 1 and "--id ftjob-nosuch" in missing.err

    r = project.ftops("import", "specs", "--out", "specs/one.yaml", "--id", "support-prod", "--id", failed.id,
                      "--id", "base-prod", "--id", orphaned.id)
    assert r.code == 0, r.err
    assert f"skipped job {orphaned.id}: its training file {orphan_file} is deleted" in r.err
    assert f"skipped job {failed.id}: it cancelled" in r.err
    assert "skipped deployment base-prod: it serves gpt-4.1-mini, which no fine-tuning job" in r.err
    kinds = [(d["kind"], d["metadata"]["name"]) for d in _docs(project.root / "specs" / "one.yaml")]
    assert ("Deployment", "support-prod") in kinds and ("FineTuningJob", "support-bot") in kinds

    exists = project.ftops("import", "specs", "--out", "specs/one.yaml")
    assert exists.code == 1 and "exists" in exists.err and "--force" in exists.err
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_a_deployment_of_an_intermediate_checkpoint_is_imported_as_its_epoch(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        made = _by_hand(live)
        cps = sorted(live.oai.fine_tuning.jobs.checkpoints.list(made["job"]).data, key=lambda c: c.step_number)
        live.deploy("support-epoch1", cps[0].id, sku="Standard", capacity=5).result()
    r = project.ftops("import", "specs", "--out", "specs/imported.yaml", "--id", "support-epoch1")
    assert r.code == 0, r.err
    dep = next(d for d in _docs(project.root / "specs" / "imported.yaml") if d["kind"] == "Deployment")
    assert dep["spec"]["model"] == {"job": "support-bot", "checkpoint": {"epoch": 1}}
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_an_untagged_deployment_without_adopt_is_still_foreign(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        _by_hand(live)
    assert project.ftops("import", "specs", "--out", "specs/imported.yaml").code == 0
    path = project.root / "specs" / "imported.yaml"
    path.write_text(path.read_text().replace("  adopt: true\n", ""))
    assert project.actions()["Deployment/support-prod"] == "blocked:no-op"


def test_an_adopted_deployment_gets_ftops_tags_with_its_next_change(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        _by_hand(live)
    assert project.ftops("import", "specs", "--out", "specs/imported.yaml").code == 0
    path = project.root / "specs" / "imported.yaml"
    path.write_text(path.read_text().replace("capacity: 20", "capacity: 25"))
    assert project.actions()["Deployment/support-prod"] == "update"
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "support-prod")
    assert dep.sku.capacity == 25 and dep.tags["owner"] == "team-a" and dep.tags["ftops-project"] == "adopters"
    assert project.ftops("plan", "--detailed-exitcode").code == 0  # tagged now: an ordinary managed deployment


def test_import_for_one_of_several_foundries_names_it_in_every_spec(project: Project) -> None:
    _foundry_only(project)
    project.append("---\napiVersion: ftops/v1\nkind: Foundry\nmetadata: {name: other}\nspec: {local: true}\n")
    server = EmulatorServer(project.root / ".ftops" / "emulator", speed=20000.0).start()  # local: the primary account
    try:
        _by_hand(clients(server.connection, server))
    finally:
        server.stop()

    r = project.ftops("import", "specs", "--out", "specs/imported.yaml", "--foundry", "local")
    assert r.code == 0, r.out + r.err
    docs = _docs(project.root / "specs" / "imported.yaml")
    assert len(docs) == 4 and {d["metadata"]["foundry"] for d in docs} == {"local"}
    assert project.ftops("validate", "specs").code == 0  # without metadata.foundry, each would be an error
    plan = project.ftops("plan", "--foundry", "local", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
