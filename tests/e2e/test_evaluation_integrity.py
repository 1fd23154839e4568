"""The evaluation gate against the local Foundry cannot be talked into a promotion, and cleans up only its own.

Scores rewritten in the eval's metadata do not promote a failed candidate (the runs' output items
decide); an apply does not take over (or delete) a canary another apply holds; a dropped answer to the
eval items upload leaves no file behind. On the example under examples/evaluation/specs.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from ftops.plan import _evaluations as evaluations
from tests.e2e.conftest import FAST, ROOT, Foundry, Project

EXAMPLE = ROOT / "examples" / "evaluation" / "specs"


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    shutil.copytree(EXAMPLE, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")
    return Project(tmp_path, capsys, FAST)


def deployments(live: Foundry) -> set[str]:
    return {str(d.name) for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account)}


def runs_of(live: Foundry) -> list[Any]:
    return [r for e in live.oai.evals.list().data for r in live.oai.evals.runs.list(e.id).data]


def test_scores_rewritten_in_eval_metadata_do_not_promote_a_failed_candidate(gated: Project) -> None:
    gated.edit("thresholds: {similar: 0.5}", "thresholds: {similar: 0.99}")
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "no candidate passes" in r.out + r.err
    with gated.live() as live:
        assert deployments(live) == set()
        for ev in live.oai.evals.list().data:  # what anyone allowed to call evals.update can do
            meta = dict(ev.metadata or {})
            for key, value in meta.items():
                entry = json.loads(value) if key.startswith(evaluations.SCORE_PREFIX) else None
                if entry and entry["n"]:  # the candidates at 0.99, the base model's baseline at 0.1
                    forged = 0.1 if entry["m"] == "gpt-4.1-mini-2025-04-14" else 0.99
                    meta[key] = json.dumps({**entry, "s": [forged] * len(entry["s"]), "n": 20})
            live.oai.evals.update(ev.id, metadata=meta)
    rollout = next(a for a in gated.plan_json()["actions"] if a["resource"] == "Deployment/clippy-prod")
    assert not rollout["blocked"] and rollout["model"]  # the plan reads the (forged) cache

    r = gated.ftops("apply", "--auto-approve")
    assert r.code == 1, r.out + r.err
    assert "rollout refused" in r.err and "changed outside ftops" in r.err, r.err
    with gated.live() as live:
        assert deployments(live) == set() and len(runs_of(live)) == 4  # nothing promoted, nothing run again
    rollout = next(a for a in gated.plan_json()["actions"] if a["resource"] == "Deployment/clippy-prod")
    assert rollout["blocked"] and "no candidate passes" in rollout["blocked"]  # the metadata was corrected


def test_an_apply_leaves_alone_a_canary_another_apply_holds(gated: Project) -> None:
    assert gated.ftops("apply", "--auto-approve", "--wait").code == 0
    with gated.live() as live:
        run = runs_of(live)[0]
        canary, model = run.model, run.metadata["ftops-model"]
        # Another apply is evaluating this model right now: its canary, its lease.
        live.deploy(canary, model, sku="DeveloperTier", tags={
            "ftops-project": "clippy-eval", "ftops-canary": "clippy-prod", "ftops-model": model,
            evaluations.TAG_LEASE: evaluations.lease("0a1b2c3d", time.time() + 10 ** 8)}).result()
    gated.edit("operation: ilike", "operation: like")  # new criteria: every model is evaluated again
    assert f"Deployment/{canary}" not in gated.actions()  # not "left behind"
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and f"evaluation canary {canary} is in use by another apply" in r.err, r.err
    with gated.live() as live:
        assert deployments(live) == {"clippy-prod", canary}  # ours are gone, theirs is intact
        assert live.arm.deployments.get(live.conn.resource_group, live.conn.account, canary).tags[
            evaluations.TAG_LEASE].endswith("/0a1b2c3d")


def test_a_dropped_answer_to_the_eval_items_upload_leaves_no_file(gated: Project) -> None:
    assert gated.ftops("apply", "--auto-approve", "--wait").code == 0
    gated.edit("operation: ilike", "operation: like")  # evaluate again: one more items upload
    with gated.live() as live:
        # Every upload is processed, and its answer cut off: the ambiguous failure.
        live.admin.faults(rate=1.0, kinds=["drop"], only=["POST /openai/v1/files"])
    r = gated.ftops("apply", "--auto-approve", "--wait")
    with gated.live() as live:
        live.admin.clear_faults()
        assert live.oai.files.list(purpose="evals").data == []
    assert r.code == 0, r.out + r.err  # the upload was found by its name and used
