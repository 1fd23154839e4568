"""Evaluation-gated promotion against the local Foundry, on the example under examples/evaluation/specs.

A 4-epoch job keeps three checkpoints; apply --wait evaluates them and the baseline on Developer canaries,
promotes the winner and deletes the canaries; a second apply runs nothing; a changed criterion evaluates
again; a threshold above every score blocks the rollout while the promoted model keeps serving.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST, ROOT, Foundry, Project

EXAMPLE = ROOT / "examples" / "evaluation" / "specs"


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    shutil.copytree(EXAMPLE, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path, capsys, FAST)


def runs_of(live: Foundry) -> list[Any]:
    return [r for e in live.oai.evals.list().data for r in live.oai.evals.runs.list(e.id).data]


def served(live: Foundry) -> Any:
    return live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")


def deployments(live: Foundry) -> set[str]:
    return {str(d.name) for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account)}


def test_first_rollout_scores_the_base_model_as_its_baseline(gated: Project) -> None:
    """Azure deploys an account's base models, so a first gated rollout compares the candidates with the
    base model on a canary (gpt-4.1-mini, version 2025-04-14), with a real score."""
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert "no baseline" not in r.out + r.err
    assert re.search(r"baseline \d", r.out + r.err), r.out + r.err  # the verdict names the baseline's score
    with gated.live() as live:
        runs = runs_of(live)
        assert len(runs) == 4 and deployments(live) == {"clippy-prod"}  # 3 checkpoints and the base model
        assert "gpt-4.1-mini-2025-04-14" in {(run.metadata or {}).get("ftops-model") for run in runs}
        assert [run.status for run in runs] == ["completed"] * 4
        model = served(live).properties.model.name
        # An apply killed mid-evaluation leaves a canary behind, and scores it never recorded.
        live.deploy("clippy-prod-eval-0badc0de", model, sku="DeveloperTier",
                    tags={"ftops-project": "clippy-eval", "ftops-canary": "clippy-prod"}).result()
        ev = live.oai.evals.list().data[0]
        live.oai.evals.update(ev.id, metadata={k: v for k, v in (ev.metadata or {}).items()
                                               if not k.startswith("ftops-s.")})
    actions = gated.actions()
    assert actions["Deployment/clippy-prod-eval-0badc0de"] == "delete"  # ftops' own: no --prune needed
    assert actions["Evaluation/clippy-quality"] == "create"
    r = gated.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    with gated.live() as live:
        assert deployments(live) == {"clippy-prod"}
        assert len(runs_of(live)) == 4  # the completed runs were read again, not run again
    assert gated.ftops("plan", "--detailed-exitcode").code == 0


def test_apply_evaluates_candidates_promotes_the_winner_and_reuses_verdicts(gated: Project) -> None:
    # The deployment serves an earlier model (a 1-epoch job, no gate): that is the baseline.
    spec = gated.spec.read_text()
    gated.edit("n_epochs: 4", "n_epochs: 1")
    gated.edit("  evaluation: {name: clippy-quality, candidates: all}\n", "")
    assert gated.ftops("apply", "--auto-approve", "--wait").code == 0
    with gated.live() as live:
        old_model = served(live).properties.model.name
    gated.spec.write_text(spec)

    plan = gated.plan_json()
    by = {a["resource"]: a for a in plan["actions"]}
    ev = by["Evaluation/clippy-quality"]
    assert ev["op"] == "evaluation.run" and ev["canary_sku"] == "Developer" and ev["tokens"] > 0
    assert ev["baseline"] == old_model
    assert by["Deployment/clippy-prod"]["depends_on"] == [ev["id"]] and by["Deployment/clippy-prod"]["gated"]
    assert "Evaluation/clippy-quality" in gated.ftops("plan").out

    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with gated.live() as live:
        job = next(j for j in live.oai.fine_tuning.jobs.list().data if j.hyperparameters.n_epochs == 4)
        cps = live.oai.fine_tuning.jobs.checkpoints.list(job.id).data
        candidates = {c.id for c in cps[1:]} | {job.fine_tuned_model}  # the three kept checkpoints (newest first)
        runs = runs_of(live)
        evaluated = {r.metadata["ftops-model"] for r in runs}
        assert len(runs) == 4 and evaluated == candidates | {old_model}  # 3 checkpoints and the baseline
        assert all(r.status == "completed" and r.model.startswith("clippy-prod-eval-") for r in runs)
        dep = served(live)
        assert dep.properties.model.name in candidates
        assert "passed" in dep.tags["ftops-verdict"]
        assert deployments(live) == {"clippy-prod"}  # the canaries are gone

    # A second apply runs no evaluation and changes nothing.
    second = gated.ftops("plan", "--detailed-exitcode")
    assert second.code == 0, second.out
    r = gated.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    status = gated.ftops("status", "--format", "json")
    row = next(x for x in json.loads(status.out) if x["name"] == "clippy-prod")
    assert "evaluation clippy-quality passed" in row["detail"]
    with gated.live() as live:
        assert len(runs_of(live)) == 4
        winner = served(live).properties.model.name
    # Its provenance: the job, the promoted model, the verdict (no git checkout here: no commit).
    assert row["provenance"]["model"] == winner and row["provenance"]["job"] == job.id
    assert "passed" in row["provenance"]["verdict"] and row["provenance"]["commit"] is None

    # A changed criterion is an unapplied re-evaluation; apply evaluates the candidates and the baseline again.
    gated.edit("operation: ilike", "operation: like")
    drift = json.loads(gated.ftops("drift", "--format", "json").out)
    assert ("unapplied", "Evaluation/clippy-quality") in {(i["kind"], i["resource"]) for i in drift["items"]}
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with gated.live() as live:
        assert len(runs_of(live)) == 8 and deployments(live) == {"clippy-prod"}
        assert len(live.oai.evals.list().data) == 2  # one per criteria hash

    # A threshold above every score blocks the rollout; the promoted model keeps serving; no new run.
    gated.edit("thresholds: {similar: 0.5}", "thresholds: {similar: 1.0}")
    gated.edit("beatBaselineBy: 0.05", "beatBaselineBy: 0.0")
    plan = gated.plan_json()
    dep_action = next(a for a in plan["actions"] if a["resource"] == "Deployment/clippy-prod")
    assert dep_action["blocked"] and "no candidate passes" in dep_action["blocked"]
    assert dep_action["verdict"]["passed"] is False and len(dep_action["verdict"]["candidates"]) == 3
    drift = gated.ftops("drift", "--format", "json")
    assert drift.code == 0, drift.out  # a failed gate is not drift
    r = gated.ftops("apply", "--auto-approve")
    assert r.code == 1 and "no candidate passes" in r.out + r.err
    with gated.live() as live:
        assert served(live).properties.model.name == winner and len(runs_of(live)) == 8


def test_failed_eval_runs_are_retried_within_a_budget_then_reported_and_canaries_removed(gated: Project) -> None:
    with gated.live() as live:
        live.admin.eval_fault("fail", times=2, message="grader pool exhausted")
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with gated.live() as live:
        runs = runs_of(live)
        assert sorted(r.status for r in runs).count("failed") == 2 and len(runs) == 6  # 3 checkpoints and the base model, 2 retried
        assert deployments(live) == {"clippy-prod"}
        live.admin.eval_fault("cancel", times=100)

    gated.edit("operation: ilike", "operation: like")  # a new criterion: every run is cancelled now
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1
    assert "canceled 3 times" in r.out + r.err and "skipped" in r.out + r.err, r.out + r.err
    with gated.live() as live:
        assert deployments(live) == {"clippy-prod"}  # the canaries were deleted on failure too
        assert "passed" in served(live).tags["ftops-verdict"]  # the promoted model keeps serving
