"""The evaluation gate in the pure planner, offline: verdicts reused, re-evaluation, failed gates, canaries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ftops.foundry import LiveDeployment, LiveEval, LiveFile, LiveJob
from ftops.plan import Candidate, DeleteDeployment, DeleteFile, EvaluateCandidates, Judging, NoOp, RollOut, status_rows
from ftops.plan import _evaluations as evaluations
from ftops.plan._drift import drift_items
from tests.conftest import BASE_SPEC, SYSTEM, MakeProject
from tests.unit.plan.snapshots import World, by_resource, new_id, world

EVAL_SPEC = BASE_SPEC.replace(
    "  sku: {name: GlobalStandard, capacity: 50}\n",
    "  sku: {name: GlobalStandard, capacity: 50}\n  evaluation: {name: quality}\n") + """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: heldout}
spec: {path: data/heldout.jsonl}
---
apiVersion: ftops/v1
kind: Evaluation
metadata: {name: quality}
spec:
  dataset: heldout
  criteria:
    - {type: text_similarity, name: similar, metric: fuzzy_match, threshold: 0.6}
    - {type: string_check, name: exact}
  pass: {thresholds: {similar: 0.5}, beatBaselineBy: 0.05, minItems: 10}
"""


def heldout(n: int = 12) -> str:
    return "".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                            {"role": "user", "content": f"Held-out question {i}?"},
                                            {"role": "assistant", "content": f"Held-out answer {i}."}]}) + "\n"
                   for i in range(n))


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project({"specs/data/heldout.jsonl": heldout()}, EVAL_SPEC))


def finished(w: World) -> tuple[LiveJob, list[str]]:
    """A succeeded 3-epoch job and its candidate models (epoch 1, epoch 2, final)."""
    w.uploads()
    job = w.job("clippy")
    cps = w.checkpoints_for(job, [0.9, 0.6, 0.7])
    assert job.fine_tuned_model is not None
    return job, [cps[0].id, cps[1].id, job.fine_tuned_model]


def record(w: World, scores: dict[str, tuple[float | None, float | None]], *, criteria: str | None = None,
           items: int = 12) -> None:
    """An eval in Foundry that holds these models' mean scores (similar, exact) for the current inputs."""
    ev = w.checked.project.evaluations["quality"]
    chash = criteria or evaluations.criteria_hash(w.checked, ev)
    meta = evaluations.eval_metadata(w.project, "clippy-prod", "quality", chash)
    for model, (similar, exact) in scores.items():
        entry = evaluations.Stored(model, (similar, exact), items if similar is not None else 0)
        meta[evaluations.SCORE_PREFIX + evaluations.inputs_hash(model, chash)] = evaluations.score_entry(entry)
    w.evals.append(LiveEval(new_id("eval_"), "ftops", ("similar", "exact"), meta, 1))


def test_finished_job_without_a_verdict_plans_the_evaluation_and_a_gated_rollout(w: World) -> None:
    job, models = finished(w)
    plan = w.plan()
    a = by_resource(plan)
    ev = a["Evaluation/quality"]
    assert isinstance(ev, EvaluateCandidates)
    assert [c.model for c in ev.candidates] == models and ev.baseline == job.model
    assert [c.label for c in ev.candidates] == ["epoch 1", "epoch 2", "final"]
    assert len(ev.canaries) == 4 and all(n.startswith("clippy-prod-eval-") for n in ev.canaries)
    assert ev.tokens > 0 and ev.canary_sku == "Developer" and ev.is_change
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.gated and dep.depends_on == [ev.id] and dep.model is None


def test_a_verdict_for_the_same_inputs_is_reused_and_the_winner_promoted(w: World) -> None:
    job, models = finished(w)
    record(w, {models[0]: (0.70, 0.2), models[1]: (0.90, 0.4), models[2]: (0.80, 0.3), job.model: (0.3, 0.0)})
    a = by_resource(w.plan())
    assert "Evaluation/quality" not in a  # never re-run
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.model == models[1] and dep.loss == 0.6
    assert dep.verdict is not None and dep.verdict.passed and "epoch 2 wins" in dep.verdict.reason

    # Promoted: the deployment serves the winner and records the baseline; nothing to do, no drift.
    d = w.deploy("clippy-prod", job, models[1])
    w.deployments[-1] = replace(d, tags={**d.tags, evaluations.TAG_BASELINE: job.model})
    plan = w.plan()
    dep = by_resource(plan)["Deployment/clippy-prod"]
    assert isinstance(dep, NoOp) and dep.verdict is not None and not plan.has_changes
    row = next(r for r in status_rows(plan) if r.name == "clippy-prod")
    assert row.status == "in sync" and "evaluation quality passed" in row.detail


def test_a_changed_criterion_evaluates_again(w: World) -> None:
    job, models = finished(w)
    record(w, {m: (0.9, 0.5) for m in [*models, job.model]}, criteria="0123456789abcdef")
    plan = w.plan()
    ev = by_resource(plan)["Evaluation/quality"]
    assert isinstance(ev, EvaluateCandidates) and "criteria or held-out data changed" in ev.reason
    assert ("unapplied", "Evaluation/quality") in {(d.kind, d.resource) for d in drift_items(plan)}


def test_only_the_missing_models_are_evaluated(w: World) -> None:
    _, models = finished(w)
    record(w, {models[0]: (0.7, 0.2), models[1]: (0.9, 0.4)})
    ev = by_resource(w.plan())["Evaluation/quality"]
    assert isinstance(ev, EvaluateCandidates) and sorted(ev.reuse) == sorted(models[:2])
    assert len(ev.canaries) == 2 and "2 verdict(s) reused" in ev.reason


def test_a_failed_gate_blocks_the_rollout_keeps_the_old_model_and_is_not_drift(w: World) -> None:
    job, models = finished(w)
    old = w.deploy("clippy-prod", job, "gpt-4.1-mini-2025-04-14.ft-old")
    record(w, {models[0]: (0.40, 0.0), models[1]: (0.45, 0.1), models[2]: (0.42, 0.0), str(old.model): (0.3, 0.0)})
    plan = w.plan()
    dep = by_resource(plan)["Deployment/clippy-prod"]
    assert isinstance(dep, NoOp) and dep.blocked and "no candidate passes" in dep.blocked
    assert f"keeps serving {old.model}" in dep.reason and "similar 0.450 < 0.5" in dep.blocked
    assert dep.verdict is not None and not dep.verdict.passed and dep.verdict.baseline is not None
    assert drift_items(plan) == []
    assert next(r for r in status_rows(plan) if r.name == "clippy-prod").status == "blocked"


def test_a_candidate_must_beat_the_baseline_by_the_margin(w: World) -> None:
    job, models = finished(w)
    record(w, {models[0]: (0.70, 0.2), models[1]: (0.72, 0.2), models[2]: (0.71, 0.2), job.model: (0.70, 0.2)})
    dep = by_resource(w.plan())["Deployment/clippy-prod"]
    assert dep.blocked and "does not beat the baseline's 0.450 by 0.05" in dep.blocked


def test_too_few_graded_items_fail_the_gate(w: World) -> None:
    job, models = finished(w)
    record(w, {m: (0.9, 0.9) for m in [*models, job.model]}, items=3)
    dep = by_resource(w.plan())["Deployment/clippy-prod"]
    assert dep.blocked and "3 items graded < minItems 10" in dep.blocked


def test_a_running_job_plans_a_pending_evaluation(w: World) -> None:
    w.uploads()
    w.job("clippy", status="running")
    a = by_resource(w.plan())
    ev, dep = a["Evaluation/quality"], a["Deployment/clippy-prod"]
    assert isinstance(ev, EvaluateCandidates) and ev.pending and ev.candidates == []
    assert isinstance(dep, RollOut) and dep.pending and dep.gated and dep.depends_on == [ev.id]


def test_a_canary_left_behind_is_deleted_before_the_next_evaluation(w: World) -> None:
    job, models = finished(w)
    name = evaluations.canary_name("clippy-prod", models[0])
    w.deploy("clippy-prod", job, models[0])
    canary = LiveDeployment(name=name, model=models[0], sku_name="DeveloperTier", capacity=1,
                            tags={"ftops-project": w.project, evaluations.TAG_CANARY: "clippy-prod"},
                            provisioning_state="Succeeded")
    w.deployments.append(canary)
    plan = w.plan()  # without --prune: a canary is ftops' own
    delete = next(x for x in plan.actions if isinstance(x, DeleteDeployment))
    assert delete.name == name and "left behind" in delete.reason
    ev = by_resource(plan)["Evaluation/quality"]
    assert delete.id in ev.depends_on


def test_a_canary_another_apply_holds_is_left_alone_until_its_lease_ends(w: World) -> None:
    # A concurrent apply is evaluating on it: deleting it as "left behind" would break that apply's runs.
    _, models = finished(w)
    name = evaluations.canary_name("clippy-prod", models[0])
    held = LiveDeployment(name=name, model=models[0], sku_name="DeveloperTier", capacity=1, tags={
        "ftops-project": w.project, evaluations.TAG_CANARY: "clippy-prod",
        evaluations.TAG_LEASE: evaluations.lease("0a1b2c3d", w.now)}, provisioning_state="Succeeded")
    w.deployments.append(held)
    assert not any(isinstance(x, DeleteDeployment) for x in w.plan().actions)
    w.now += evaluations.LEASE_SECONDS + 1  # its apply was killed: the lease ran out
    delete = next(x for x in w.plan().actions if isinstance(x, DeleteDeployment))
    assert delete.name == name and "left behind" in delete.reason


def test_eval_items_uploads_show_in_use_then_as_prune_candidates(w: World) -> None:
    finished(w)

    def items(holder: str, expires_in: float, project: str | None = None) -> LiveFile:
        name = evaluations.items_file_name(project or w.project, "clippy-prod", "0123456789abcdef",
                                           evaluations.lease(holder, w.now, expires_in))
        f = LiveFile(id=new_id("file-"), filename=name, bytes=100, status="processed", purpose="evals", created_at=1)
        w.eval_files.append(f)
        return f
    live, left, foreign = items("aaaa0001", 600), items("bbbb0002", -1), items("cccc0003", -1, "other-project")
    a = by_resource(w.plan())
    in_use, leftover = a[f"File/{live.filename}"], a[f"File/{left.filename}"]
    assert isinstance(in_use, NoOp) and in_use.drift is None and "in use by an apply until" in in_use.reason
    assert isinstance(leftover, NoOp) and leftover.drift == "unapplied" and "`apply --prune` deletes it" in leftover.reason
    assert f"File/{foreign.filename}" not in a  # another project's
    pruned = by_resource(w.plan(prune=True))
    assert isinstance(pruned[f"File/{left.filename}"], DeleteFile)
    assert isinstance(pruned[f"File/{live.filename}"], NoOp)


def test_judge_picks_the_passing_candidate_with_the_best_mean() -> None:
    from ftops.spec import EvaluationSpec

    spec = EvaluationSpec.model_validate({"dataset": "d", "criteria": [
        {"type": "string_check", "name": "a"}, {"type": "string_check", "name": "b"}],
        "pass": {"thresholds": {"a": 0.5}, "minItems": 1}})
    cands = [Candidate(model="m1", label="epoch 1"), Candidate(model="m2", label="final")]
    scores = {"m1": evaluations.Stored("m1", (0.4, 1.0), 5), "m2": evaluations.Stored("m2", (0.6, 0.6), 5)}
    how = Judging(evaluation="q", criteria=["a", "b"], rule=spec.pass_rule, criteria_hash="0" * 16)
    v = evaluations.judge(how, cands, scores, None)
    assert v.passed and v.winner == "m2" and "no baseline" in v.reason  # m1 has the better mean but misses a
    assert v.candidates[0].why == "a 0.400 < 0.5"


def test_a_gated_plan_round_trips_through_a_plan_file_and_renders_its_verdicts(w: World, tmp_path: Path) -> None:
    from ftops.cli._render import plan_markdown, plan_text
    from ftops.session import load_plan_file, save_plan_file, verify_plan

    job, models = finished(w)
    record(w, {models[0]: (0.40, 0.0), models[1]: (0.45, 0.1), models[2]: (0.42, 0.0), job.model: (0.3, 0.0)})
    plan = w.plan()
    save_plan_file(plan, tmp_path / "plan.json")
    loaded = load_plan_file(tmp_path / "plan.json")
    assert loaded.to_dict() == plan.to_dict()
    verify_plan(loaded, w.checked)
    md = plan_markdown(plan)
    assert "#### evaluation `quality` for `clippy-prod`: **failed**" in md
    assert "| epoch 2 | 0.4500 (+0.1500) | 0.1000 (+0.1000) | fail: similar 0.450 \\< 0.5 |" in md

    w.evals.clear()  # no verdict: the evaluation is planned, with its token estimate
    text = plan_text(w.plan())
    assert "Evaluation/quality" in text and "eval tokens (4 Developer canaries)" in text


def test_the_shipped_example_validates() -> None:
    from ftops.checks import validate_dir

    root = Path(__file__).resolve().parents[3] / "examples" / "evaluation"
    checked = validate_dir(root / "specs", root)
    dep = checked.project.deployments["clippy-prod"].spec
    assert dep.evaluation is not None and dep.evaluation.name in checked.project.evaluations


def test_a_changed_python_grader_changes_the_inputs(make_project: MakeProject) -> None:
    spec = EVAL_SPEC.replace("    - {type: string_check, name: exact}\n",
                             "    - {type: string_check, name: exact}\n    - {type: python, name: graded, source: g.py}\n")
    grader = "def grade(sample, item):\n    return 1.0\n"
    root = make_project({"specs/data/heldout.jsonl": heldout(), "specs/g.py": grader}, spec)
    first = world(root)
    before = evaluations.criteria_hash(first.checked, first.checked.project.evaluations["quality"])
    (root / "specs" / "g.py").write_text(grader.replace("1.0", "0.5"))
    second = world(root)
    assert evaluations.criteria_hash(second.checked, second.checked.project.evaluations["quality"]) != before


def test_a_baseline_that_could_not_be_deployed_is_recorded_and_not_tried_again(w: World) -> None:
    job, models = finished(w)
    record(w, {models[0]: (0.70, 0.2), models[1]: (0.90, 0.4), models[2]: (0.80, 0.3), job.model: (None, None)})
    a = by_resource(w.plan())
    assert "Evaluation/quality" not in a
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.model == models[1]
    assert dep.verdict is not None and "no baseline (not deployable)" in dep.verdict.reason


def test_a_judge_deployment_rolled_out_by_the_plan_comes_before_the_evaluation(make_project: MakeProject) -> None:
    spec = EVAL_SPEC.replace("    - {type: string_check, name: exact}\n",
                             "    - {type: string_check, name: exact}\n"
                             "    - {type: score_model, name: judged, deployment: judge}\n") + """---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: judge}
spec:
  model: {job: clippy}
  sku: {name: GlobalStandard, capacity: 1}
"""
    w = world(make_project({"specs/data/heldout.jsonl": heldout()}, spec))
    finished(w)
    a = by_resource(w.plan())
    ev = a["Evaluation/quality"]
    assert isinstance(ev, EvaluateCandidates) and a["Deployment/judge"].id in ev.depends_on
    report = w.checked.reports["heldout"]
    per_run = sum(report.tokens_by_role.values())
    assert per_run > 0 and ev.tokens == per_run * 4 * 2  # 3 candidates + baseline, sampled and judged


def test_a_plan_file_evaluation_for_other_criteria_is_refused(w: World) -> None:
    from ftops import PlanNotApproved
    from ftops.session import verify_plan

    finished(w)
    plan = w.plan()
    ev = by_resource(plan)["Evaluation/quality"]
    verify_plan(plan, w.checked)
    other = "0123456789abcdef"  # the action's judging says the same hash: the plan file is consistent, not ours
    bad = ev.model_copy(update={"criteria_hash": other, "judging": ev.judging.model_copy(update={"criteria_hash": other})})
    plan.actions = [bad if a is ev else a for a in plan.actions]
    with pytest.raises(PlanNotApproved, match="not for these criteria"):
        verify_plan(plan, w.checked)


def test_every_canary_name_is_one_validate_reserves() -> None:
    from ftops.spec._evaluation import CANARY_NAME

    for deployment in ("a", "clippy-prod", "x" * 63, "abc-" + "d" * 59):
        for model in ("gpt-4.1-mini-2025-04-14", "ftchkpt-0123", "m.ft-abc"):
            assert CANARY_NAME.fullmatch(evaluations.canary_name(deployment, model))


def test_the_canaries_hosting_is_in_the_plans_cost(make_project: MakeProject) -> None:
    """Canaries were left out of the cost: on GlobalStandard each is an hour of fine-tuned hosting."""
    from ftops.cli._render import plan_markdown, plan_text

    spec = EVAL_SPEC.replace("pass: {thresholds:", "canarySku: GlobalStandard\n  pass: {thresholds:")
    w = world(make_project({"specs/data/heldout.jsonl": heldout()}, spec))
    finished(w)
    plan = w.plan()
    ev = by_resource(plan)["Evaluation/quality"]
    assert len(ev.canaries) == 4 and ev.cost.canary_hosting_usd == 4 * 1.7
    assert plan.totals()["canary_hosting_usd"] == 6.8 and plan.to_dict()["cost"]["canary_hosting_usd"] == 6.8
    assert "| evaluation canaries (this plan: 1 evaluation(s), billed by the hour, about 1 h each; tokens billed " \
           "besides) | | $6.80 | |" in plan_markdown(plan)
    assert "+ evaluation canaries (this plan: 1 evaluation(s)" in plan_text(plan)


def test_developer_canaries_are_shown_at_no_hosting_cost(w: World) -> None:
    finished(w)
    plan = w.plan()
    assert plan.totals()["canary_hosting_usd"] == 0.0
    from ftops.cli._render import plan_markdown

    assert "| evaluation canaries (this plan: 1 evaluation(s)" in plan_markdown(plan)
