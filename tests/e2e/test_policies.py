"""Policies on the plan and `ftops destroy`, against the local Foundry with the real openai and ARM clients
(issue 18): a mandatory Policy blocks at plan and apply with nothing applied, an override with a reason lets
a soft-mandatory one through and lands on the deployment's tags, CEL rules the same, and destroy leaves no
deployment and no file of the project while its jobs stay."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Foundry, Project

SKUS = """
---
apiVersion: ftops/v1
kind: Policy
metadata: {{name: standard-only}}
spec:
  enforcement: {enforcement}
  allowedDeploymentSkus: [Standard]
"""

CEL = """
---
apiVersion: ftops/v1
kind: Policy
metadata: {{name: no-global}}
spec:
  enforcement: {enforcement}
  expression: >-
    plan.actions.all(a, a.kind != "Deployment" || a.action == "delete" || !has(a.sku) || a.sku != "GlobalStandard")
  message: no GlobalStandard deployments in production
"""


def _deployments(live: Foundry) -> list[Any]:
    return list(live.arm.deployments.list(live.conn.resource_group, live.conn.account))


def _nothing_applied(project: Project) -> None:
    with project.live() as live:
        assert _deployments(live) == []
        assert live.oai.fine_tuning.jobs.list().data == []
        assert live.oai.files.list().data == []


@pytest.mark.parametrize("policy", [SKUS, CEL], ids=["allowedDeploymentSkus", "expression"])
def test_a_hard_mandatory_policy_blocks_plan_and_apply_and_nothing_is_applied(project: Project, policy: str) -> None:
    project.append(policy.format(enforcement="hard-mandatory"))
    name = "standard-only" if "standard-only" in policy else "no-global"
    r = project.ftops("plan")
    assert r.code == 1, r.out + r.err
    assert f"policy {name} (hard-mandatory" in r.err and "Deployment/clippy-prod" in r.err + r.out
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert f"policy {name}" in r.out and "BLOCKS" in r.out  # the plan shows it too

    data = json.loads(project.ftops("plan", "--format", "json").out)
    assert data["policy_blocks"] == [name]
    (result,) = data["policies"]
    assert (result["policy"], result["passed"]) == (name, False)
    # A built-in names what breaks it; an expression concerns the whole plan (every change it would make).
    assert "Deployment/clippy-prod" in result["resources"]
    assert result["resources"] == ["Deployment/clippy-prod"] or name == "no-global"
    md = project.ftops("plan", "--format", "markdown")
    assert md.code == 1 and f"policy `{name}`" in md.out and "BLOCKS" in md.out

    r = project.ftops("apply", "--auto-approve")
    assert r.code == 1 and f"policy {name}" in r.err
    refused = project.ftops("apply", "--auto-approve", "--override", name, "--reason", "needed")
    assert refused.code == 1 and "hard-mandatory and cannot be overridden" in refused.err
    _nothing_applied(project)


@pytest.mark.parametrize("policy", [SKUS, CEL], ids=["allowedDeploymentSkus", "expression"])
def test_a_soft_mandatory_policy_blocks_until_overridden_and_the_override_is_on_the_tags(
        project: Project, policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octo-lead")
    project.append(policy.format(enforcement="soft-mandatory"))
    name = "standard-only" if "standard-only" in policy else "no-global"
    blocked = project.ftops("apply", "--auto-approve", "--wait")
    assert blocked.code == 1 and f"--override {name} --reason TEXT" in blocked.err
    _nothing_applied(project)
    assert project.ftops("apply", "--auto-approve", "--override", name).code == 1  # a reason is required

    shown = project.ftops("plan", "--override", name, "--reason", "launch week: GlobalStandard approved")
    assert shown.code == 0 and "overridden by octo-lead: launch week" in shown.out
    md = project.ftops("plan", "--format", "markdown", "--override", name, "--reason", "launch week")
    assert md.code == 0 and "overridden by octo-lead" in md.out

    r = project.ftops("apply", "--auto-approve", "--wait", "--override", name, "--reason",
                      "launch week: GlobalStandard approved")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        (dep,) = _deployments(live)
        assert dep.sku.name == "GlobalStandard"
        assert dep.tags["ftops-override"] == f"{name} by octo-lead: launch week: GlobalStandard approved"
        (job,) = live.oai.fine_tuning.jobs.list().data
        # Only what the override let through carries it: the sku rule concerns the deployment; an
        # expression concerns every change of the plan, the job's creation too.
        assert job.metadata.get("ftops-override") == (dep.tags["ftops-override"] if name == "no-global" else None)


def test_an_advisory_policy_is_shown_and_passes(project: Project) -> None:
    project.append(SKUS.format(enforcement="advisory"))
    r = project.ftops("plan")
    assert r.code == 0 and "policy standard-only (advisory, allowedDeploymentSkus): advisory" in r.out


def test_a_saved_plan_is_refused_by_a_blocking_policy_and_carries_its_override(
        project: Project, tmp_path: Path) -> None:
    project.append(SKUS.format(enforcement="soft-mandatory"))
    saved = tmp_path / "plan.json"
    assert project.ftops("plan", "--out", str(saved)).code == 1  # saved anyway, for the PR's record
    assert project.ftops("apply", str(saved), "--auto-approve").code == 1
    _nothing_applied(project)
    assert project.ftops("plan", "--out", str(saved), "--override", "standard-only", "--reason", "ok").code == 0
    assert json.loads(saved.read_text())["policies"][0]["override"]["reason"] == "ok"
    r = project.ftops("apply", str(saved), "--auto-approve")
    assert r.code == 0, r.out + r.err


def test_destroy_deletes_deployments_and_files_and_keeps_jobs(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        jobs_before = [(j.id, j.status) for j in live.oai.fine_tuning.jobs.list().data]
        assert _deployments(live) and live.oai.files.list().data
    r = project.ftops("destroy", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert "Deployment/clippy-prod" in r.out and "-> $0.00/month" in r.out
    with project.live() as live:
        assert _deployments(live) == []
        assert [f for f in live.oai.files.list().data if f.filename.startswith("ftops.")] == []
        assert [(j.id, j.status) for j in live.oai.fine_tuning.jobs.list().data] == jobs_before
    again = project.ftops("destroy", "--auto-approve")
    assert again.code == 0 and "Nothing to destroy." in again.out


def test_destroy_honours_no_delete_serving(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.append("""
---
apiVersion: ftops/v1
kind: Policy
metadata: {name: keep-serving}
spec: {enforcement: hard-mandatory, noDeleteServing: true}
""")
    r = project.ftops("destroy", "--auto-approve")
    assert r.code == 1 and "policy keep-serving (hard-mandatory, noDeleteServing)" in r.err
    with project.live() as live:
        assert [d.name for d in _deployments(live)] == ["clippy-prod"]


def test_destroy_without_a_terminal_refuses_unless_auto_approve(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    r = subprocess.run([sys.executable, "-m", "ftops", "destroy"], cwd=project.root, capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "refusing to destroy without a terminal" in r.stderr, r.stderr
    assert "Deployment/clippy-prod" in r.stdout  # the plan was shown first
    with project.live() as live:
        assert [d.name for d in _deployments(live)] == ["clippy-prod"]
