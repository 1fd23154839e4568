"""A run narrowed to `prod` (`--foundry prod`, as each runner of a CI fleet runs) promotes prod exactly as a run
over both accounts would: it reads and plans `dev`, the account prod follows, for what dev offers only (never
applied, never shown as this run's changes, not in its plan file). A prod plan saved before dev moved is refused
once dev has moved."""

from __future__ import annotations

import json

from .conftest import Project
from .test_stages import _dev_id, _served, live, stages

__all__ = ["stages"]  # the fixture, shared with test_stages.py

STALE = ("what the accounts it follows offer changed since the plan was made (a stage moved on, or finished what "
         "it was doing); run `ftops plan` again")
READ_ONLY = "Read for upstream facts only (planned, never applied; not this run's changes): Foundry dev."


def _chat(stages: Project, *args: str) -> dict[str, object]:
    """prod's one-account JSON plan (stdout stays one document: the read-only line goes to stderr)."""
    r = stages.ftops("plan", "--foundry", "prod", "--format", "json", *args)
    assert r.code == 0, r.out + r.err
    assert READ_ONLY in r.err, r.err
    plan = json.loads(r.out)
    assert {a["resource"].split("/")[0] for a in plan["actions"]} == {"Deployment"}, plan  # prod's only
    [chat] = plan["actions"]
    return dict(chat)


def test_plan_and_apply_narrowed_to_prod_promote_what_dev_passed(stages: Project) -> None:
    assert stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait").code == 0
    r = stages.ftops("plan", "--foundry", "prod", "--detailed-exitcode")  # the local Foundry adds prod's account
    assert r.code == 2, r.out + r.err  # the promotion is a change of this run; dev's nothing
    with live(stages) as (dev, _):
        winner = _served(dev, "clippy-prod").properties.model.name
    assert READ_ONLY in r.out and "== Foundry" not in r.out, r.out
    chat = _chat(stages)
    assert (chat["op"], chat["action"], chat["model"], chat["pending"]) == ("deployment.promote", "create", winner,
                                                                             False), chat
    assert chat["source"] == _dev_id_of(stages)

    r = stages.ftops("apply", "--foundry", "prod", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert READ_ONLY in r.out and r.out.count("Apply complete.") == 1, r.out
    with live(stages) as (dev, prod):
        chat_live = _served(prod, "chat")
        assert chat_live.properties.model.name == winner
        assert chat_live.properties.model.source == _dev_id(dev)  # ARM: dev's account is the model's source
    assert stages.ftops("drift", "--foundry", "prod").code == 0
    assert stages.ftops("plan", "--foundry", "prod", "--detailed-exitcode").code == 0


def test_a_saved_prod_plan_applies_and_one_saved_before_dev_moved_is_refused(stages: Project) -> None:
    assert stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait").code == 0
    r = stages.ftops("plan", "--foundry", "prod", "--out", "before.plan.json")
    assert r.code == 0, r.out + r.err
    saved = json.loads((stages.root / "before.plan.json").read_text())
    assert saved["foundry"] == "prod" and [a["name"] for a in saved["actions"]] == ["chat"]  # no dev approval
    [promote] = saved["actions"]
    first = promote["model"]
    assert first and not promote["pending"], promote

    stages.edit("seed: 105", "seed: 106")  # dev trains, evaluates and serves a new winner; prod is not applied
    assert stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait").code == 0
    with live(stages) as (dev, prod):
        new = _served(dev, "clippy-prod").properties.model.name
        assert new != first and not list(prod.arm.deployments.list(prod.conn.resource_group, prod.conn.account))
    r = stages.ftops("apply", "before.plan.json", "--auto-approve")  # made before dev moved: stale, refused whole
    assert r.code == 1, r.out + r.err
    assert "error: " + STALE in r.err, r.err
    with live(stages) as (_, prod):
        assert not list(prod.arm.deployments.list(prod.conn.resource_group, prod.conn.account))  # nothing applied

    assert stages.ftops("plan", "--foundry", "prod", "--out", "prod.plan.json").code == 0
    r = stages.ftops("apply", "prod.plan.json", "--auto-approve")  # apply FILE computes dev's upstream again
    assert r.code == 0, r.out + r.err
    assert READ_ONLY in r.out, r.out
    with live(stages) as (dev, prod):
        assert _served(prod, "chat").properties.model.name == new
        assert _served(prod, "chat").properties.model.source == _dev_id(dev)

    # A prod plan made while dev is about to train (prod waits for it), applied after dev moved: refused too.
    stages.edit("seed: 106", "seed: 107")
    assert stages.ftops("plan", "--foundry", "prod", "--out", "waiting.plan.json").code == 0
    pending = _chat(stages)
    assert pending["pending"] and "waits for dev/clippy-prod" in str(pending["reason"]), pending
    assert stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait").code == 0
    r = stages.ftops("apply", "waiting.plan.json", "--auto-approve")
    assert r.code == 1 and "error: " + STALE in r.err, r.err
    with live(stages) as (dev, prod):
        latest = _served(dev, "clippy-prod").properties.model.name
        assert _served(prod, "chat").properties.model.name == new
    # what the fleet's apply job does with a stale file: plan prod again (with dev read again), and apply that
    r = stages.ftops("apply", "waiting.plan.json", "--auto-approve", "--on-stale", "replan")
    assert r.code == 0, r.out + r.err
    assert f"the saved plan is stale ({STALE}); planning again" in r.err, r.err
    with live(stages) as (_, prod):
        assert _served(prod, "chat").properties.model.name == latest != new


def _dev_id_of(stages: Project) -> str:
    with live(stages) as (dev, _):
        return _dev_id(dev)


def test_a_narrowed_run_never_writes_the_account_it_reads_for_upstream_facts(stages: Project) -> None:
    """dev has changes of its own (a new seed: a new job to train); `apply --foundry prod` plans dev to learn what
    it offers, and must neither submit dev's job nor promote into prod what dev has not settled."""
    assert stages.ftops("apply", "--auto-approve", "--wait").code == 0
    with live(stages) as (dev, prod):
        jobs_before = sorted(j.id for j in dev.oai.fine_tuning.jobs.list().data)
        files_before = sorted(f.id for f in dev.oai.files.list().data)
        served = _served(prod, "chat").properties.model.name
    stages.edit("seed: 105", "seed: 106")
    r = stages.ftops("apply", "--foundry", "prod", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert READ_ONLY in r.out, r.out
    with live(stages) as (dev, prod):
        assert sorted(j.id for j in dev.oai.fine_tuning.jobs.list().data) == jobs_before  # no job submitted in dev
        assert sorted(f.id for f in dev.oai.files.list().data) == files_before
        assert _served(prod, "chat").properties.model.name == served  # prod waits for dev, which has not moved
    r = stages.ftops("plan", "--foundry", "dev", "--detailed-exitcode")
    assert r.code == 2, r.out + r.err  # dev's new job is still a change: of dev's own run
