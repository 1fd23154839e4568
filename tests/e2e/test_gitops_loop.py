"""The GitOps loop against the local Foundry: merge -> apply (no wait) -> sync ticks -> drift, and saved plans."""

from __future__ import annotations

import json
import time

from tests.e2e.conftest import Project


def _drift(project: Project) -> tuple[int, list[tuple[str, str]]]:
    r = project.ftops("drift", "--format", "json")
    data = json.loads(r.out)
    assert data["format_version"] == 2
    return r.code, [(i["kind"], i["resource"]) for i in data["items"]]


def _wait_for_job(project: Project, status: str = "succeeded") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with project.live() as live:
            if any(j.status == status for j in live.oai.fine_tuning.jobs.list().data):
                return
        time.sleep(0.3)
    raise AssertionError(f"no job reached {status}")


def test_merge_apply_then_sync_ticks_promote_and_drift_follows(project: Project) -> None:
    project.set("speed", 60)  # about 6 s of training: long enough for a tick to find it running
    r = project.ftops("apply", "--auto-approve")  # the merge: no --wait, as CI runs it
    assert r.code == 0, r.out + r.err
    assert "Waiting for Foundry" in r.out
    code, items = _drift(project)  # a job in training is not drift
    assert (code, items) == (0, [])
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    tick = project.ftops("apply", "--auto-approve")  # a sync tick while it trains: short, exit 0
    assert tick.code == 0 and "Waiting for Foundry" in tick.out

    _wait_for_job(project)
    assert _drift(project) == (2, [("unapplied", "Deployment/clippy-prod")])  # finished; rollout not applied
    assert project.ftops("plan", "--detailed-exitcode").code == 2
    tick = project.ftops("apply", "--auto-approve")
    assert tick.code == 0 and "1 done" in tick.out
    assert _drift(project) == (0, [])

    # A capacity change in git is unapplied until the next tick.
    project.edit("capacity: 50", "capacity: 70")
    assert _drift(project) == (2, [("unapplied", "Deployment/clippy-prod")])
    assert project.ftops("apply", "--auto-approve").code == 0
    assert _drift(project) == (0, [])

    # Changed by hand: modified.
    with project.live() as live:
        rg, acct = live.conn.resource_group, live.conn.account
        dep = live.arm.deployments.get(rg, acct, "clippy-prod")
        live.deploy("clippy-prod", dep.properties.model.name, capacity=60, tags=dep.tags).result()
    assert _drift(project) == (2, [("modified", "Deployment/clippy-prod")])
    assert project.ftops("apply", "--auto-approve").code == 0

    # Deleted by hand, a while after the rollout: deleted.
    with project.live() as live:
        live.admin.advance(seconds=7200)
        live.arm.deployments.begin_delete(rg, acct, "clippy-prod").result()
    assert _drift(project) == (2, [("deleted", "Deployment/clippy-prod")])
    assert project.ftops("apply", "--auto-approve").code == 0
    assert _drift(project) == (0, [])

    # Removed by Foundry's 15-day rule: deleted.
    with project.live() as live:
        live.admin.advance(days=16)
    assert _drift(project) == (2, [("deleted", "Deployment/clippy-prod")])
    md = project.ftops("drift", "--format", "markdown")
    assert md.code == 2 and "| deleted | `Deployment/clippy-prod` |" in md.out
    assert project.ftops("apply", "--auto-approve").code == 0
    assert _drift(project) == (0, [])


def test_a_deployment_deleted_right_after_apply_wait_is_deleted_drift(project: Project) -> None:
    """The apply that followed the job recorded on it which deployment specs it rolled out at the end."""
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        live.arm.deployments.begin_delete(live.conn.resource_group, live.conn.account, "clippy-prod").result()
    assert _drift(project) == (2, [("deleted", "Deployment/clippy-prod")])
    assert project.ftops("apply", "--auto-approve").code == 0
    assert _drift(project) == (0, [])
    # A capacity edited in git since the job was submitted: not what that apply rolled out.
    project.edit("capacity: 50", "capacity: 70")
    with project.live() as live:
        live.arm.deployments.begin_delete(live.conn.resource_group, live.conn.account, "clippy-prod").result()
    assert _drift(project) == (2, [("unapplied", "Deployment/clippy-prod")])


def test_a_saved_plan_is_refused_when_the_specs_changed_and_a_fresh_one_applies_exactly(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("n_epochs: 3", "n_epochs: 2")
    assert project.ftops("plan", "--out", "pr.plan.json").code == 0
    project.edit("capacity: 50", "capacity: 40")  # edited after the reviewer saw the plan
    r = project.ftops("apply", "pr.plan.json", "--auto-approve")
    assert r.code == 1 and r.err.count("\n") == 1 and "specs or their data changed" in r.err
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 1  # nothing was done
    replanned = project.ftops("apply", "pr.plan.json", "--auto-approve", "--on-stale", "replan")
    assert replanned.code == 0, replanned.out + replanned.err
    assert "planning again" in replanned.err

    project.edit("n_epochs: 2", "n_epochs: 1")
    assert project.ftops("plan", "--out", "fresh.plan.json").code == 0
    saved = json.loads((project.root / "fresh.plan.json").read_text())
    expected = {a["id"] for a in saved["actions"] if a["action"] not in ("no-op",)}
    ok = project.ftops("apply", "fresh.plan.json", "--auto-approve")
    assert ok.code == 0, ok.out + ok.err
    done = {line.split(" ")[1] for line in ok.err.splitlines() if line.startswith("✓")}
    assert done <= {a["resource"] for a in saved["actions"] if a["id"] in expected}


def test_a_plan_file_cannot_send_apply_outside_the_checkout(project: Project) -> None:
    assert project.ftops("plan", "--out", "pr.plan.json").code == 0
    path = project.root / "pr.plan.json"
    saved = json.loads(path.read_text())
    for elsewhere in ("../elsewhere/specs", "/etc"):
        path.write_text(json.dumps({**saved, "spec_dir": elsewhere}))
        r = project.ftops("apply", "pr.plan.json", "--auto-approve", "--on-stale", "replan")
        assert r.code != 0 and r.err.count("\n") == 1 and "outside the directory apply runs in" in r.err
    with project.live() as live:
        assert live.oai.files.list().data == []  # nothing was done


def test_a_replan_never_interrupts_serving_the_review_did_not_show(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("capacity: 50", "capacity: 40")
    assert project.ftops("plan", "--out", "pr.plan.json").code == 0  # reviewed: a capacity change
    project.edit("name: GlobalStandard", "name: Developer")  # merged later: a sku change (delete + create)
    with project.live() as live:
        before = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod").etag
    r = project.ftops("apply", "pr.plan.json", "--auto-approve", "--on-stale", "replan", "--allow-downtime")
    assert r.code != 0 and "which the reviewed plan did not" in r.err and "Traceback" not in r.err
    with project.live() as live:
        assert live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod").etag == before


def test_markdown_plan_for_a_reviewer(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("n_epochs: 3", "n_epochs: 4")
    project.edit("capacity: 50", "capacity: 70")
    md = project.ftops("plan", "--format", "markdown")
    assert md.code == 0
    assert "`n_epochs`: 3 → 4" in md.out
    assert "| hosting (monthly) |" in md.out and "before" in md.out
    assert "00000000-0000-0000-0000-000000000000" not in md.out  # no subscription id
    assert "ftops-hash" not in md.out
