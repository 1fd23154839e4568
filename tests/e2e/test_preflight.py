"""Preflight against the local Foundry: what Foundry would refuse is refused by `plan` first, with the fix."""

from __future__ import annotations

import json

from tests.e2e.conftest import Project

EXTRA_DEPLOYMENT = """---
apiVersion: ftops/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  model: {{job: clippy, checkpoint: final}}
  sku: {{name: GlobalStandard, capacity: 1}}
"""


def _nothing_happened(project: Project) -> None:
    with project.live() as live:
        assert live.oai.files.list().data == [] and live.oai.fine_tuning.jobs.list().data == []


def test_an_11th_fine_tuned_deployment_is_refused_before_any_change(project: Project) -> None:
    with project.live() as live:
        live.admin.limits(max_deployments=1)  # as if nine others already used the quota of ten
    project.append(EXTRA_DEPLOYMENT.format(name="clippy-canary"))
    r = project.ftops("plan")
    assert r.code == 1 and "Traceback" not in r.out + r.err
    assert "error: preflight: Deployment/clippy-canary: this plan would bring fine-tuned deployments to 2; this " \
           "resource allows 1: delete one" in r.err
    assert project.ftops("apply", "--auto-approve").code == 1
    _nothing_happened(project)


def test_a_retired_base_model_is_refused_with_the_fix(project: Project) -> None:
    with project.live() as live:
        live.admin.model_lifecycle("gpt-4.1-mini-2025-04-14", fineTune="2025-01-01T00:00:00Z")
    r = project.ftops("plan")
    assert r.code == 1 and "was retired for fine-tuning on 2025-01-01; change baseModel" in r.err
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "nothing was applied" in r.err
    _nothing_happened(project)


def test_a_file_count_over_quota_is_refused(project: Project) -> None:
    with project.live() as live:
        live.admin.limits(max_files=1)
    r = project.ftops("plan", "--format", "json")
    assert r.code == 1
    findings = json.loads(r.out)["findings"]
    assert [(f["severity"], f["kind"], f["resource"]) for f in findings] == [("error", "quota", "Dataset/clippy-valid")]
    _nothing_happened(project)


def test_a_model_retiring_within_90_days_is_a_warning_and_retiring_drift(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        status = live.admin.state()
        now = status.get("now") or status.get("clock", {}).get("now")
        import time

        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now or time.time()) + 30 * 86400))
        live.admin.model_lifecycle("gpt-4.1-mini-2025-04-14", inference=soon)
    plan = project.ftops("plan")
    assert plan.code == 0 and "warning: Deployment/clippy-prod: models fine-tuned from gpt-4.1-mini" in plan.out
    drift = project.ftops("drift", "--format", "json")
    assert drift.code == 2
    assert [(i["kind"], i["resource"]) for i in json.loads(drift.out)["items"]] == [("retiring", "Deployment/clippy-prod")]


def test_a_saved_plan_that_preflight_refused_is_never_applied(project: Project) -> None:
    with project.live() as live:
        live.admin.limits(max_files=1)
    assert project.ftops("plan", "--out", "refused.json").code == 1
    r = project.ftops("apply", "refused.json", "--auto-approve")
    assert r.code == 1 and "preflight" in r.err
    _nothing_happened(project)
