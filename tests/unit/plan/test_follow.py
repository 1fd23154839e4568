"""Planning a Deployment that serves another stage's model, offline: a follower in the same account (its upstream
is the plan being decided), one in another account (`decide(..., upstream=Upstream(...))`), the facts an
account's plan offers the accounts after it (`upstream_of`), and a Deployment of another account's job."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ftops.checks import validate_dir
from ftops.foundry import ROLLED_AT_TAG, LiveDeployment
from ftops.plan import NoOp, Promote, RollOut, Soaking, Upstream, UpstreamDeployment, UpstreamJob, decide, upstream_of
from ftops.plan import _matching as matching
from ftops.plan._deployments import deployment_hash
from ftops.plan._drift import drift_items
from tests.conftest import BASE_SPEC, MakeProject, follower_spec
from tests.unit.plan.snapshots import NOW, World, by_resource, world

DEV_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/dev"
TRAINED_IN = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/lab"
MODEL = "gpt-4.1-mini-2025-04-14.ft-abc"
OLD_MODEL = "gpt-4.1-mini-2025-04-14.ft-old"


def _follower(name: str, follows: str, foundry: str | None = None, soak: str | None = None) -> str:
    return follower_spec(name, follows, foundry, f", soak: {soak}" if soak else "")


PROD = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec: {local: true, region: eastus2}
"""


def _dev_spec() -> str:
    """BASE_SPEC's resources in Foundry `local` (dev)."""
    return BASE_SPEC.replace("metadata: {name: ", "metadata: {foundry: local, name: ").replace(
        "metadata: {foundry: local, name: local}", "metadata: {name: local}")


def _prod_world(make_project: MakeProject, soak: str | None = None, extra: str = "") -> World:
    root = make_project(spec=_dev_spec(), files={
        "specs/prod.yaml": PROD + _follower("chat-prod", "clippy-prod", "prod", soak) + extra})
    return World(validate_dir(Path(root) / "specs", root, foundry="prod"))


def _fact(**changes: object) -> UpstreamDeployment:
    fact = UpstreamDeployment(foundry="local", name="clippy-prod", account_id=DEV_ID, region="swedencentral",
                              model=MODEL, settled=True, passed=True, since=NOW - 7200, job_id="ftjob-1", loss=0.25,
                              verdict="passed: exact 0.9 >= 0.8")
    return replace(fact, **changes)  # type: ignore[arg-type]


def _plan(w: World, fact: UpstreamDeployment | None) -> dict[str, object]:
    upstream = Upstream({("local", "clippy-prod"): fact}) if fact is not None else Upstream()
    return by_resource(decide(w.checked, w.state(), endpoint="s/g/prod", created_at=w.now, upstream=upstream))


def _deployed(w: World, name: str, model: str, **tags: str) -> None:
    spec = w.checked.project.deployments[name].spec
    base = matching.deployment_tags(w.project, name, deployment_hash(spec), "ftjob-0", None, model)
    w.deployments.append(LiveDeployment(name=name, model=model, sku_name="GlobalStandard", capacity=5,
                                        tags={**base, **tags}, provisioning_state="Succeeded", source=DEV_ID))


# -- another account ---------------------------------------------------------------------------------------------
def test_a_follower_deploys_what_its_passed_upstream_serves_from_that_account(make_project: MakeProject) -> None:
    a = _plan(_prod_world(make_project), _fact())["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.action == "create" and a.is_change
    assert (a.model, a.source, a.upstream, a.job_id) == (MODEL, DEV_ID, "local/clippy-prod", "ftjob-1")
    assert a.tags[matching.TAG_SOURCE] == "local/clippy-prod" and a.tags[matching.TAG_VERDICT].startswith("passed")
    assert a.tags[matching.TAG_MODEL] == MODEL and a.tags[matching.TAG_JOB] == "ftjob-1"
    assert a.cost.monthly_usd > 0  # priced by the base model of dev's job


def test_a_model_trained_in_a_third_account_is_deployed_from_there(make_project: MakeProject) -> None:
    a = _plan(_prod_world(make_project), _fact(source=TRAINED_IN))["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.source == TRAINED_IN


def test_an_unsettled_upstream_keeps_the_follower_serving_as_a_pending_change(make_project: MakeProject) -> None:
    w = _prod_world(make_project)
    _deployed(w, "chat-prod", OLD_MODEL)
    a = _plan(w, _fact(model=OLD_MODEL, settled=False, waiting="pending rollout: job clippy runs"))["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.pending and not a.is_change and a.model is None
    assert a.reason == f"keeps serving {OLD_MODEL}; waits for local/clippy-prod: pending rollout: job clippy runs"
    assert not [d for d in drift_items(decide(w.checked, w.state(), upstream=Upstream(
        {("local", "clippy-prod"): _fact(settled=False, waiting="x")}))) if d.resource == "Deployment/chat-prod"]


def test_a_model_its_evaluation_did_not_pass_is_not_followed(make_project: MakeProject) -> None:
    w = _prod_world(make_project)
    _deployed(w, "chat-prod", OLD_MODEL)
    a = _plan(w, _fact(passed=False, verdict=None))["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and a.blocked == f"local/clippy-prod serves {MODEL}, which its evaluation did not pass"


def test_a_soak_not_over_is_pending_with_the_time_left(make_project: MakeProject) -> None:
    w = _prod_world(make_project, soak="3h")
    a = _plan(w, _fact(since=NOW - 7200))["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.pending and a.model is None
    assert a.reason.endswith("soaks 1 h 00 min more")
    assert a.soaking == Soaking(model=MODEL, until=NOW + 3600)  # typed, for the chain view
    a = _plan(w, _fact(since=NOW - 3 * 3600))["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.is_change and a.model == MODEL and a.soaking is None
    a = _plan(w, _fact(since=None))["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and a.blocked and "ftops-rolled-at" in a.blocked


def test_a_follower_behind_its_upstream_lags_and_one_in_step_is_in_sync(make_project: MakeProject) -> None:
    w = _prod_world(make_project)
    _deployed(w, "chat-prod", OLD_MODEL)
    plan = decide(w.checked, w.state(), upstream=Upstream({("local", "clippy-prod"): _fact()}))
    a = by_resource(plan)["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.action == "update" and a.drift == "lags"
    assert a.changes["model"] == (OLD_MODEL, MODEL)
    assert [d.kind for d in drift_items(plan) if d.resource == "Deployment/chat-prod"] == ["lags"]
    w.deployments = []
    _deployed(w, "chat-prod", MODEL, **{matching.TAG_SOURCE: "local/clippy-prod", matching.TAG_JOB: "ftjob-1",
                                        matching.TAG_LOSS: "0.25", matching.TAG_VERDICT: "passed: exact 0.9 >= 0.8"})
    a = _plan(w, _fact())["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and a.in_sync, a.reason


def test_the_plan_records_what_its_upstream_offered_so_a_saved_one_goes_stale(make_project: MakeProject) -> None:
    w = _prod_world(make_project)

    def seen(fact: UpstreamDeployment | None) -> str | None:
        upstream = Upstream({("local", "clippy-prod"): fact}) if fact is not None else Upstream()
        return decide(w.checked, w.state(), endpoint="s/g/prod", created_at=w.now,
                      upstream=upstream).upstream_fingerprint

    first = seen(_fact())
    assert first is not None and first == seen(_fact(waiting="a reason for people only"))
    assert len({first, seen(_fact(model=OLD_MODEL)), seen(_fact(settled=False)), seen(_fact(source=TRAINED_IN)),
                seen(None)}) == 5  # each a fact the follower decides by; None: the account was not planned
    dev = validate_dir(Path("specs"), ".", foundry="local")  # follows no other account: the field stays empty
    assert decide(dev, World(dev).state(), endpoint="s/g/dev", created_at=NOW).upstream_fingerprint is None


def test_a_follower_whose_account_before_was_not_planned_keeps_serving(make_project: MakeProject) -> None:
    a = _plan(_prod_world(make_project), None)["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and not a.blocked and "this run did not plan" in a.reason


# -- the same account ------------------------------------------------------------------------------------------
@pytest.fixture
def same(make_project: MakeProject) -> World:
    return world(make_project(spec=BASE_SPEC + _follower("clippy-stage", "clippy-prod")))


def test_a_follower_in_the_same_account_takes_what_the_plan_leaves_its_upstream_serving(same: World) -> None:
    same.uploads()
    job = same.job("clippy")
    same.checkpoints_for(job, [0.5, 0.4, 0.3])
    same.deploy("clippy-prod", job)
    a = by_resource(same.plan())["Deployment/clippy-stage"]
    assert isinstance(a, Promote) and a.is_change and a.model == job.fine_tuned_model and a.source is None
    assert a.upstream == "local/clippy-prod"


def test_a_follower_in_the_same_account_waits_while_its_upstream_rolls_out(same: World) -> None:
    same.uploads()
    same.job("clippy", status="running")
    plan = same.plan()
    a = by_resource(plan)
    assert isinstance(a["Deployment/clippy-prod"], RollOut)
    stage = a["Deployment/clippy-stage"]
    assert isinstance(stage, Promote) and stage.pending and "waits for local/clippy-prod: " in stage.reason


# -- what an account offers the accounts after it ----------------------------------------------------------------
def test_upstream_of_reads_what_the_plan_leaves_each_deployment_and_job(same: World) -> None:
    same.uploads()
    job = same.job("clippy")
    same.checkpoints_for(job, [0.5, 0.4, 0.3])
    same.deploy("clippy-prod", job, **{ROLLED_AT_TAG: str(int(NOW - 60)), matching.TAG_VERDICT: "passed"})
    up = upstream_of("local", same.plan(), same.state(), DEV_ID, "swedencentral")
    fact = up.deployments[("local", "clippy-prod")]
    assert (fact.model, fact.settled, fact.passed, fact.since, fact.job_id) == (
        job.fine_tuned_model, True, None, NOW - 60, job.id)  # not gated: the tag is not a verdict
    assert fact.account_id == DEV_ID and fact.verdict is None  # ungated: its "passed" tag is nobody's verdict
    assert up.jobs[("local", "clippy")] == UpstreamJob("local", "clippy", DEV_ID, "swedencentral", job.id,
                                                       job.fine_tuned_model)
    stage = up.deployments[("local", "clippy-stage")]
    assert stage.model is None and not stage.settled  # to be created by this plan


def test_upstream_of_a_deployment_whose_job_trains_again_is_unsettled(same: World) -> None:
    same.uploads()
    old = same.job("clippy")
    same.deploy("clippy-prod", old)
    same.jobs = []
    same.job("clippy", status="running")
    up = upstream_of("local", same.plan(), same.state(), DEV_ID, "swedencentral")
    fact = up.deployments[("local", "clippy-prod")]
    assert fact.model == old.fine_tuned_model and not fact.settled and fact.waiting
    assert fact.passed is None  # no evaluation gate
    job = up.jobs[("local", "clippy")]
    assert job.model is None and job.waiting


# -- another account's job ---------------------------------------------------------------------------------------
CROSS_JOB = """---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: chat-eu, foundry: prod}
spec:
  model: {job: clippy}
  sku: {name: GlobalStandard, capacity: 5}
"""


def test_a_deployment_of_another_accounts_job_deploys_its_final_model_with_source(make_project: MakeProject) -> None:
    root = make_project(spec=_dev_spec(), files={"specs/prod.yaml": PROD + CROSS_JOB})
    w = World(validate_dir(Path(root) / "specs", root, foundry="prod"))
    done = UpstreamJob("local", "clippy", DEV_ID, "swedencentral", "ftjob-9", MODEL)
    plan = decide(w.checked, w.state(), upstream=Upstream(jobs={("local", "clippy"): done}))
    a = by_resource(plan)["Deployment/chat-eu"]
    assert isinstance(a, Promote) and (a.model, a.source, a.upstream, a.job_id) == (MODEL, DEV_ID, "local/clippy",
                                                                                     "ftjob-9")
    running = UpstreamJob("local", "clippy", DEV_ID, "swedencentral", "ftjob-9", None, "running")
    a = by_resource(decide(w.checked, w.state(), upstream=Upstream(jobs={("local", "clippy"): running})))[
        "Deployment/chat-eu"]
    assert isinstance(a, Promote) and a.pending and a.reason.endswith("waits for local/clippy: running")


# -- policies ------------------------------------------------------------------------------------------------------
POLICY = """---
apiVersion: ftops/v1
kind: Policy
metadata: {name: gated, foundry: prod}
spec:
  enforcement: hard-mandatory
  requireEvaluation: "chat-*"
"""


def test_require_evaluation_lets_through_a_promotion_only_of_a_model_a_verdict_passed(
        make_project: MakeProject) -> None:
    w = _prod_world(make_project, extra=POLICY)
    for fact, passed in ((_fact(), True), (_fact(passed=None, verdict=None), False)):
        plan = decide(w.checked, w.state(), upstream=Upstream({("local", "clippy-prod"): fact}))
        [result] = plan.policies
        assert result.passed is passed, result.message
    assert "Deployment/chat-prod serves local/clippy-prod's model, which no evaluation passed" in result.message


def test_a_follower_in_step_offers_its_stages_verdict_to_the_next_stage(make_project: MakeProject) -> None:
    """dev -> prod -> (a follower of prod): prod's fact carries dev's verdict and the account dev trained in."""
    w = _prod_world(make_project)
    a = _plan(w, _fact())["Deployment/chat-prod"]
    assert isinstance(a, Promote)
    w.deployments.append(replace(_live_of(a), tags={**a.tags, ROLLED_AT_TAG: str(int(NOW))}))
    plan = decide(w.checked, w.state(), upstream=Upstream({("local", "clippy-prod"): _fact()}))
    fact = upstream_of("prod", plan, w.state(), "/subscriptions/s/resourceGroups/g/providers/"
                       "Microsoft.CognitiveServices/accounts/prod", "eastus2").deployments[("prod", "chat-prod")]
    # prod has no gate of its own (passed None): it promoted MODEL only once dev's plan passed it; its next stage
    # follows it as settled, and copies dev's verdict text
    assert (fact.model, fact.settled, fact.passed, fact.since, fact.source) == (MODEL, True, None, NOW, DEV_ID)
    assert fact.verdict == "passed: exact 0.9 >= 0.8" and fact.job_id == "ftjob-1"


def _live_of(a: Promote) -> LiveDeployment:
    """The deployment `a` writes, as ARM would list it."""
    return LiveDeployment(name=a.name, model=a.model, sku_name=a.sku, capacity=a.capacity, tags=dict(a.tags),
                          provisioning_state="Succeeded", source=a.source)


# -- what a follower trusts in its upstream (hostile pass, issue 17) ---------------------------------------------
FORGED = {matching.TAG_VERDICT: "passed: forged by a person", ROLLED_AT_TAG: str(int(NOW - 86_400))}


@pytest.fixture
def gated(make_project: MakeProject) -> World:
    """clippy-prod gated by evaluation quality; clippy-stage follows it in the same account."""
    from tests.unit.plan.test_evaluations import EVAL_SPEC, heldout
    return world(make_project({"specs/data/heldout.jsonl": heldout()}, EVAL_SPEC + _follower("clippy-stage",
                                                                                              "clippy-prod")))


def test_a_forged_verdict_on_a_model_whose_gate_failed_is_not_followed(gated: World) -> None:
    """A person deploys a candidate that FAILED the gate into the gated stage and writes ftops' tags on it by hand
    (ftops-model naming it, ftops-verdict 'passed', ftops-rolled-at): the stage's own plan keeps it (the gate
    failed: it blocks, nothing to roll out), and the follower must not promote it on the strength of the tags."""
    from tests.unit.plan.test_evaluations import finished, record
    job, models = finished(gated)
    record(gated, {models[0]: (0.40, 0.0), models[1]: (0.45, 0.1), models[2]: (0.42, 0.0), job.model: (0.3, 0.0)})
    gated.deploy("clippy-prod", job, models[1], **FORGED)
    a = by_resource(gated.plan())
    assert isinstance(a["Deployment/clippy-prod"], NoOp) and a["Deployment/clippy-prod"].blocked
    stage = a["Deployment/clippy-stage"]
    assert isinstance(stage, NoOp) and stage.blocked, stage.reason
    assert "Promote" not in type(stage).__name__


def test_a_forged_verdict_on_a_model_nobody_evaluated_is_not_followed(gated: World) -> None:
    """The same with no verdict at all for the job yet: the stage's plan evaluates first, the follower waits."""
    from tests.unit.plan.test_evaluations import finished
    job, models = finished(gated)
    gated.deploy("clippy-prod", job, models[2], **FORGED)
    stage = by_resource(gated.plan())["Deployment/clippy-stage"]
    assert isinstance(stage, Promote) and stage.pending and stage.model is None


def test_the_verdict_a_follower_trusts_is_its_stages_plan_not_its_tag(gated: World) -> None:
    """The winner of a verdict Foundry holds is followed; its tag's text is not what says it passed: with the tag
    removed by hand the stage's plan still knows the winner passed, and with a passed tag on a model the verdict
    did not pick the stage's own plan rolls the winner back first (the follower waits)."""
    from tests.unit.plan.test_evaluations import finished, record
    job, models = finished(gated)
    record(gated, {models[0]: (0.70, 0.2), models[1]: (0.90, 0.4), models[2]: (0.80, 0.3), job.model: (0.3, 0.0)})
    from ftops.plan._evaluations import TAG_BASELINE
    gated.deploy("clippy-prod", job, models[1], **{ROLLED_AT_TAG: str(int(NOW - 60)), TAG_BASELINE: str(job.model)})
    # (no ftops-verdict tag: a person removed it)
    stage = by_resource(gated.plan())["Deployment/clippy-stage"]
    assert isinstance(stage, Promote) and stage.is_change and stage.model == models[1]
    gated.deploy("clippy-prod", job, models[2], **FORGED)  # the runner-up, with a forged verdict
    stage = by_resource(gated.plan())["Deployment/clippy-stage"]
    assert isinstance(stage, Promote) and stage.pending


def test_a_follower_already_serving_its_stages_model_keeps_it_when_a_newer_job_fails_the_gate(gated: World) -> None:
    """The stage keeps serving its earlier winner while a newer job's candidates lose: its follower, which
    serves that winner too, is in step (not blocked); one that does not serve it yet is blocked."""
    from tests.unit.plan.test_evaluations import finished, record
    job, models = finished(gated)
    old = "gpt-4.1-mini-2025-04-14.ft-old"
    record(gated, {models[0]: (0.40, 0.0), models[1]: (0.45, 0.1), models[2]: (0.42, 0.0), old: (0.3, 0.0)})
    gated.deploy("clippy-prod", job, old)
    stage = by_resource(gated.plan())["Deployment/clippy-stage"]
    assert isinstance(stage, NoOp) and stage.blocked
    gated.deploy("clippy-stage", job, old)
    stage = by_resource(gated.plan())["Deployment/clippy-stage"]
    assert isinstance(stage, NoOp) and not stage.blocked and stage.in_sync


def test_a_gated_stage_that_serves_a_model_without_a_verdict_its_plan_gave_is_not_followed(
        make_project: MakeProject) -> None:
    """Across accounts the follower knows from the specs that its stage is gated: an upstream fact that says
    nothing of a verdict (passed None: its plan rolled nothing out and judged nothing, e.g. its job is paused)
    offers nothing to promote."""
    from tests.unit.plan.test_evaluations import heldout
    dev = _dev_spec().replace("  sku: {name: GlobalStandard, capacity: 50}\n",
                              "  sku: {name: GlobalStandard, capacity: 50}\n  evaluation: {name: quality}\n")
    dev += """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: heldout, foundry: local}
spec: {path: data/heldout.jsonl}
---
apiVersion: ftops/v1
kind: Evaluation
metadata: {name: quality, foundry: local}
spec:
  dataset: heldout
  criteria: [{type: string_check, name: exact}]
  pass: {thresholds: {exact: 0.5}}
"""
    root = make_project(spec=dev, files={"specs/data/heldout.jsonl": heldout(),
                                         "specs/prod.yaml": PROD + _follower("chat-prod", "clippy-prod", "prod")})
    w = World(validate_dir(Path(root) / "specs", root, foundry="prod"))
    a = _plan(w, _fact(passed=None))["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and a.blocked and "evaluation" in a.blocked


def test_an_ungated_stage_that_is_followed_checks_its_checkpoint_not_its_tags(same: World) -> None:
    """A person deploys the worst checkpoint into an ungated stage with ftops' tags written by hand (ftops-job,
    ftops-hash, ftops-model naming it). A deployment nobody follows may trust those tags to skip reading the
    job's checkpoints on a no-op plan; one that is followed may not: its plan reads them, rolls the `best`
    checkpoint back, and its follower waits instead of promoting the hand-placed model."""
    same.uploads()
    job = same.job("clippy")
    worst = same.checkpoints_for(job, [0.5, 0.4, 0.3])[0]  # the best is the last: the final model
    same.deploy("clippy-prod", job, worst.id, **FORGED)
    a = by_resource(same.plan())
    prod, stage = a["Deployment/clippy-prod"], a["Deployment/clippy-stage"]
    assert isinstance(prod, RollOut) and prod.model == job.fine_tuned_model and prod.drift == "modified"
    assert isinstance(stage, Promote) and stage.pending and stage.model is None


def test_a_long_chain_of_follows_plans_with_bounded_reasons(make_project: MakeProject) -> None:
    """Hostile pass (issue 17): 300 Deployments each following the one before, in one account, while the job
    trains. Each pending follower's reason quoted its stage's whole reason, which quoted the one before: past
    about 100 stages a reason outgrew 4,000 characters and the plan ended in an internal error."""
    chain = "".join(_follower(f"s{i}", f"s{i - 1}" if i else "clippy-prod") for i in range(300))
    w = world(make_project(spec=BASE_SPEC + chain))
    w.uploads()
    w.job("clippy", status="running")
    a = by_resource(w.plan())
    last = a["Deployment/s299"]
    assert isinstance(last, Promote) and last.pending and last.reason.startswith("not deployed; waits for local/s298: ")
    assert max(len(x.reason) for x in a.values()) < 400


def test_a_chain_of_follows_written_last_stage_first_is_ordered_without_recursion(make_project: MakeProject) -> None:
    """Hostile pass (issue 17): 1,200 followers written from the last stage to the first. Ordering them by
    recursion went 1,200 calls deep and the plan ended in an internal error (RecursionError)."""
    stages = [_follower(f"s{i}", f"s{i - 1}" if i else "clippy-prod") for i in reversed(range(1200))]
    files = {f"specs/chain{k}.yaml": "".join(stages[k * 400:(k + 1) * 400]) for k in range(3)}  # 1,000 a file
    w = world(make_project(files=files))
    w.uploads()
    w.job("clippy", status="running")
    plan = w.plan()
    order = [a.name for a in plan.actions if a.kind == "Deployment"]
    assert order.index("clippy-prod") < order.index("s0") < order.index("s1") < order.index("s1199")


def test_a_follower_whose_stage_was_deleted_by_hand_keeps_serving_until_it_is_back(same: World) -> None:
    """Hostile pass (issue 17): clippy-prod deleted behind ftops' back while clippy-stage serves its model. The
    stage's plan creates it again; until then the follower keeps serving what it serves (pending, not blocked,
    not deleted), and its next plan follows the recreated stage."""
    same.uploads()
    job = same.job("clippy")
    same.checkpoints_for(job, [0.5, 0.4, 0.3])
    same.deploy("clippy-stage", job)
    a = by_resource(same.plan())
    assert isinstance(a["Deployment/clippy-prod"], RollOut) and a["Deployment/clippy-prod"].action == "create"
    stage = a["Deployment/clippy-stage"]
    assert isinstance(stage, Promote) and stage.pending and stage.model is None
    assert stage.reason.startswith(f"keeps serving {job.fine_tuned_model}; waits for local/clippy-prod: ")


def test_a_followers_source_edited_by_hand_is_planned_back(make_project: MakeProject) -> None:
    """Hostile pass (issue 17): a person points prod's deployment at another account's model of the same name
    (ARM's `model.source`). ftops reads `source` back: the follower is updated to dev's account again, as drift
    `modified`; only the case of an ARM id is not a change."""
    w = _prod_world(make_project)
    tags = {matching.TAG_SOURCE: "local/clippy-prod", matching.TAG_JOB: "ftjob-1", matching.TAG_LOSS: "0.25",
            matching.TAG_VERDICT: "passed: exact 0.9 >= 0.8"}
    _deployed(w, "chat-prod", MODEL, **tags)
    w.deployments[-1] = replace(w.deployments[-1], source=TRAINED_IN)
    a = _plan(w, _fact())["Deployment/chat-prod"]
    assert isinstance(a, Promote) and a.action == "update" and a.changes["source"] == (TRAINED_IN, DEV_ID)
    assert a.drift == "modified" and a.source == DEV_ID
    w.deployments[-1] = replace(w.deployments[-1], source=DEV_ID.upper())
    a = _plan(w, _fact())["Deployment/chat-prod"]
    assert isinstance(a, NoOp) and a.in_sync, a.reason


def test_a_forged_verdict_on_a_middle_stage_is_not_handed_down_the_chain(make_project: MakeProject) -> None:
    """Hostile pass (issue 17): dev has no evaluation gate; prod follows it, and a third stage follows prod under a
    `requireEvaluation` Policy. A person writes `ftops-verdict: passed` on prod's deployment. What prod offers the
    next stage is the verdict its own plan was handed (none: dev judged nothing), not that tag, so the Policy
    still refuses the promotion."""
    w = _prod_world(make_project)
    a = _plan(w, _fact(passed=None, verdict=None))["Deployment/chat-prod"]
    assert isinstance(a, Promote) and matching.TAG_VERDICT not in a.tags
    forged = {**a.tags, ROLLED_AT_TAG: str(int(NOW)), matching.TAG_VERDICT: "passed: forged by a person"}
    w.deployments.append(replace(_live_of(a), tags=forged))
    plan = decide(w.checked, w.state(), upstream=Upstream({("local", "clippy-prod"): _fact(passed=None, verdict=None)}))
    assert by_resource(plan)["Deployment/chat-prod"].in_sync
    fact = upstream_of("prod", plan, w.state(), "/subscriptions/s/resourceGroups/g/providers/"
                       "Microsoft.CognitiveServices/accounts/prod", "eastus2").deployments[("prod", "chat-prod")]
    assert fact.model == MODEL and fact.verdict is None
