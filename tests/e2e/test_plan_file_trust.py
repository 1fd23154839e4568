"""A plan file is an approval, not a program (issue 19, finding 1): against the local Foundry, real clients.

Before the allow-list, apply trusted a saved plan for what it deletes and promotes: a `deployment.delete`
appended to a no-op plan deleted production (exit 0), and a failed gate's blocked no-op rewritten as an
ungated rollout deployed the checkpoint that failed, after which `drift` said "In sync". Apply now makes a
fresh decision from the specs and the live state and refuses, before any change, a file whose actions
are not exactly that decision.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ftops.checks import validate_dir
from ftops.plan._deployments import deployment_hash
from tests.e2e.conftest import FAST, ROOT, Foundry, Project

EXAMPLE = ROOT / "examples" / "evaluation" / "specs"


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    shutil.copytree(EXAMPLE, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")
    return Project(tmp_path, capsys, FAST)


def deployment(live: Foundry, name: str = "clippy-prod") -> Any:
    found = [d for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account) if d.name == name]
    return found[0] if found else None


def save_plan(project: Project, name: str = "plan.json") -> dict[str, Any]:
    r = project.ftops("plan", "--out", name)
    assert r.code == 0, r.out + r.err
    data: dict[str, Any] = json.loads((project.root / name).read_text())
    return data


def write_plan(project: Project, plan: dict[str, Any], name: str = "plan.json") -> None:
    (project.root / name).write_text(json.dumps(plan))


def action(plan: dict[str, Any], resource: str) -> dict[str, Any]:
    return next(a for a in plan["actions"] if a["resource"] == resource)


def test_a_delete_appended_to_a_no_op_plan_is_refused_and_production_keeps_serving(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    plan = save_plan(project)
    assert not plan["has_changes"]
    with project.live() as live:
        served = deployment(live).properties.model.name
    plan["actions"].append({"op": "deployment.delete", "id": "deployment.clippy-prod:delete", "name": "clippy-prod",
                            "kind": "Deployment", "action": "delete", "reason": "pruned", "live_id": "clippy-prod"})
    write_plan(project, plan)
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 1, r.out + r.err
    assert r.err.count("\n") == 1 and "deployment.clippy-prod:delete" in r.err, r.err
    # Tampering is not staleness: --on-stale replan refuses it too, instead of silently planning again.
    r = project.ftops("apply", "plan.json", "--auto-approve", "--on-stale", "replan")
    assert r.code == 1 and "deployment.clippy-prod:delete" in r.err, r.out + r.err
    with project.live() as live:
        assert deployment(live) is not None and deployment(live).properties.model.name == served


def test_a_blocked_gate_rewritten_as_an_ungated_rollout_is_refused(gated: Project) -> None:
    gated.edit("thresholds: {similar: 0.5}", "thresholds: {similar: 1.0}")  # no candidate can pass
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "no candidate passes" in r.out + r.err, r.out + r.err
    plan = save_plan(gated)
    blocked = action(plan, "Deployment/clippy-prod")
    assert blocked["op"] == "noop" and blocked["blocked"]
    job = action(plan, "FineTuningJob/clippy")
    checked = validate_dir(gated.root / "specs", gated.root)
    rollout = {"op": "deployment.rollout", "id": "deployment.clippy-prod:create", "name": "clippy-prod",
               "kind": "Deployment", "action": "create", "reason": "deploy", "job": "clippy",
               "job_hash": "0123456789abcdef", "sku": "GlobalStandard", "capacity": 50,
               "spec_hash": deployment_hash(checked.project.deployments["clippy-prod"].spec),
               "model": job["fine_tuned_model"], "job_id": job["live_id"], "gated": False}
    plan["actions"] = [rollout if a is blocked else a for a in plan["actions"]]
    write_plan(gated, plan)
    r = gated.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 1, r.out + r.err
    assert r.err.count("\n") == 1 and "deployment.clippy-prod:create" in r.err, r.err
    with gated.live() as live:
        assert deployment(live) is None  # the checkpoint that failed its evaluation was not deployed
    assert gated.ftops("drift").code == 0  # a failed gate is not drift; and nothing was deployed behind it


def test_an_untampered_saved_plan_still_applies_and_a_stale_one_still_replans(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("capacity: 50", "capacity: 60")
    save_plan(project)
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        assert deployment(live).sku.capacity == 60
    project.edit("capacity: 60", "capacity: 70")
    save_plan(project)
    with project.live() as live:  # the live state moves after the plan: stale, not tampered
        live.arm.deployments.begin_delete(live.conn.resource_group, live.conn.account, "clippy-prod").result()
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 1 and "live state changed" in r.err, r.err
    r = project.ftops("apply", "plan.json", "--auto-approve", "--on-stale", "replan")
    assert r.code == 0 and "planning again" in r.err, r.out + r.err
    with project.live() as live:
        assert deployment(live).sku.capacity == 70


def _set(request: dict[str, Any], field: str, value: Any) -> None:
    target, _, key = field.rpartition(".")
    (request[target] if target else request)[key] = value


@pytest.mark.parametrize("field,value", [
    ("hyperparameters", {"n_epochs": 9}),  # the reviewer saw 3 epochs
    ("training_file.made_by", None),  # apply must not train on another file than the upload the plan makes
    ("training_file.file_id", "file-0123456789abcdef0123456789abcdef"),
    ("seed", 7),
])
def test_a_plan_file_whose_job_request_was_edited_is_refused_before_any_change(
        project: Project, field: str, value: Any) -> None:
    plan = save_plan(project)
    create = action(plan, "FineTuningJob/clippy")
    assert create["op"] == "job.create" and create["request"]["hyperparameters"] == {"n_epochs": 3}
    assert create["request"]["training_file"]["made_by"], create["request"]  # the upload of this plan yields it
    _set(create["request"], field, value)
    write_plan(project, plan)
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 1, r.out + r.err
    assert r.err.count("\n") == 1 and "job.clippy:create" in r.err and "Traceback" not in r.err, r.err
    with project.live() as live:  # refused before any change: nothing uploaded, nothing trained, nothing deployed
        assert not list(live.oai.files.list()) and not list(live.oai.fine_tuning.jobs.list())
        assert deployment(live) is None


def test_a_plan_file_whose_rollout_tags_were_edited_is_refused(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("capacity: 50", "capacity: 60")
    plan = save_plan(project)
    rollout = action(plan, "Deployment/clippy-prod")
    assert rollout["op"] == "deployment.rollout" and rollout["tags"]["ftops-model"] == rollout["model"]
    rollout["tags"]["ftops-job"] = "ftjob-someone-elses"
    write_plan(project, plan)
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 1 and r.err.count("\n") == 1 and "deployment.clippy-prod:update" in r.err, r.out + r.err
    with project.live() as live:
        assert deployment(live).sku.capacity == 50
