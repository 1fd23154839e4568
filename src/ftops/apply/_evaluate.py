"""Apply an `evaluation.run`: canaries, eval runs with retries, scores recorded in Foundry, the verdict.

Each model without a recorded score (candidates and the baseline) is deployed on a throwaway canary
tagged as ftops' own (writes under `rt.deploy_lock`, like every deployment write), evaluated, and the
canary is deleted again, also on failure. Models run concurrently within MAX_PARALLEL. A completed run
of the same inputs found in Foundry is read, never run again. The scores go into the eval's metadata,
where the next plan finds them; the verdict goes to the rollout that depends on this action.
"""

from __future__ import annotations

import contextlib
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import FtopsError, PermanentFoundryError, StalePlanError
from ..datasets import hash_file
from ..foundry import Criterion, DeploymentWrite, EvalsClient, LiveEval, LiveEvalRun, chat_eval_item
from ..plan import Candidate, EvaluateCandidates, Verdict, evaluations, identity
from ..spec import (
    EvaluationSpec,
    PythonCriterion,
    ScoreModelCriterion,
    StringCheckCriterion,
    TextSimilarityCriterion,
)
from ._runtime import Runtime

MAX_PARALLEL = 4  # eval runs (and canaries) at once; Foundry documents no limit, this keeps quota modest
RUN_ATTEMPTS = 3  # an eval run that fails or is cancelled is started again, at most this many times in all
CANARY_CAPACITY = 1


def evaluate(rt: Runtime, a: EvaluateCandidates) -> str:
    job = rt.await_job(a, a.job, a.job_hash)
    ev = rt.checked.project.evaluations[a.name]
    # The candidates come from the job's checkpoints, now (a plan made before the job finished has none;
    # a saved plan's list must be the same models).
    spec = rt.checked.project.deployments[a.deployment].spec
    assert spec.evaluation is not None
    candidates, _, blocked = evaluations.candidate_models(job, rt.client.checkpoints(job.id), spec.evaluation)
    if blocked:
        raise FtopsError(f"evaluation blocked: {blocked}")
    if a.candidates and [c.model for c in a.candidates] != [c.model for c in candidates]:
        raise StalePlanError(f"evaluation {a.name}: the candidates are not the ones the plan was made for; plan again")
    baseline = Candidate(model=a.baseline or job.model, label="baseline")
    items = _items(rt, ev.spec, a)
    client = EvalsClient(rt.client)
    meta = evaluations.eval_metadata(rt.plan.project, a.deployment, a.name, a.criteria_hash)
    live = evaluations.find_eval(client.find_evals(meta), meta) or client.create_eval(
        f"ftops {rt.plan.project} {a.deployment}", _criteria(rt, ev.spec, a.name), meta)
    stored = evaluations.stored_scores(live)
    names = [c.name for c in ev.spec.criteria]
    unique = {c.model: c for c in [baseline, *reversed(candidates)]}  # one canary per model: a candidate's label wins
    todo = [c for c in reversed(unique.values()) if evaluations.inputs_hash(c.model, a.criteria_hash) not in stored]
    runs = client.list_runs(live.id) if todo else []
    notes: list[str] = []
    if todo:
        rt.reporter.status(a, f"evaluating {len(todo)} model(s) on canaries")
        upload = client.upload_items(items, f"ftops-eval.{rt.plan.project}.{a.deployment}.{a.criteria_hash}.jsonl")
        try:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo)), thread_name_prefix="ftops-eval") as pool:
                results = list(pool.map(lambda c: _one(rt, a, client, live, runs, upload.id, c, names), todo))
        finally:
            with contextlib.suppress(FtopsError):
                rt.client.delete_file(upload.id)
        for c, got in zip(todo, results, strict=True):
            if got is None:  # recorded as such: later plans do not try to deploy it again
                notes.append(f"no baseline: {c.model} could not be deployed, so beatBaselineBy is not applied")
                got = evaluations.Stored(c.model, tuple(None for _ in names), 0)
            stored[evaluations.inputs_hash(c.model, a.criteria_hash)] = got
        _record(client, live, meta, stored, {a.inputs.get(c.model) or evaluations.inputs_hash(c.model, a.criteria_hash)
                                              for c in [*candidates, baseline]})
    by_model = {s.model: s for h, s in stored.items()
                if h == evaluations.inputs_hash(s.model, a.criteria_hash)}
    verdict = evaluations.judge(a.name, ev.spec, candidates, by_model, baseline)
    with rt.lock:
        rt.verdicts[a.deployment] = verdict
    for note in notes:
        rt.note(note)
    return verdict.reason


def _one(rt: Runtime, a: EvaluateCandidates, client: EvalsClient, live: LiveEval, runs: list[LiveEvalRun],
         file_id: str, c: Candidate, names: list[str]) -> evaluations.Stored | None:
    """Scores of one model: a completed run of the same inputs if Foundry has one, else a run on a canary."""
    inputs = evaluations.inputs_hash(c.model, a.criteria_hash)
    done = [r for r in runs if r.metadata.get(evaluations.META_INPUTS) == inputs and r.status == "completed"]
    if done:
        return _stored(client, live.id, max(done, key=lambda r: (r.created_at, r.id)), c.model, names)
    canary = evaluations.canary_name(a.deployment, c.model)
    tags = {identity.META_PROJECT: rt.plan.project, evaluations.TAG_CANARY: a.deployment,
            evaluations.META_MODEL: c.model[:256]}
    try:
        with rt.deploy_lock:
            rt.client.put_deployment(canary, DeploymentWrite(c.model, a.canary_sku, CANARY_CAPACITY, tags))
    except PermanentFoundryError:
        if c.label == "baseline":
            return None  # e.g. a base model that cannot be deployed here: compare on thresholds only
        raise
    try:
        rt.client.smoke(canary, stop=rt.stop)  # Azure reports `Succeeded` before a deployment answers
        return _run_with_retries(rt, a, client, live, file_id, canary, c, inputs, names)
    finally:
        with rt.deploy_lock:
            rt.client.delete_deployment(canary)


def _run_with_retries(rt: Runtime, a: EvaluateCandidates, client: EvalsClient, live: LiveEval, file_id: str,
                      canary: str, c: Candidate, inputs: str, names: list[str]) -> evaluations.Stored:
    meta = {identity.META_PROJECT: rt.plan.project, evaluations.META_DEPLOYMENT: a.deployment,
            evaluations.META_INPUTS: inputs, evaluations.META_MODEL: c.model[:512]}
    last: LiveEvalRun | None = None
    for attempt in range(1, RUN_ATTEMPTS + 1):
        run = client.start_run(live.id, canary, file_id, f"{c.label} ({canary}) #{attempt}", meta)
        rt.reporter.status(a, f"{c.label}: run {run.id} {run.status}")
        last = client.wait_run(live.id, run.id)
        if last.status == "completed":
            return _stored(client, live.id, last, c.model, names)
        if rt.stop.is_set():
            break
    assert last is not None
    raise FtopsError(f"evaluation of {c.label} ({c.model}): eval run {last.id} {last.status} "
                     f"{RUN_ATTEMPTS} times ({last.error or 'no reason given'})")


def _stored(client: EvalsClient, eval_id: str, run: LiveEvalRun, model: str, names: list[str]) -> evaluations.Stored:
    scores = client.scores(eval_id, run.id)
    by_name = {s.name: s for s in scores.criteria}
    means = tuple(by_name[n].mean if n in by_name else None for n in names)
    graded = min((by_name[n].graded if n in by_name else 0 for n in names), default=0)
    return evaluations.Stored(model, means, graded)


def _record(client: EvalsClient, live: LiveEval, meta: dict[str, str], stored: dict[str, evaluations.Stored],
            current: set[str]) -> None:
    """Keep the current models' scores (and as many others as fit) in the eval's metadata."""
    keep = sorted(stored, key=lambda h: (h not in current, h))[:evaluations.MAX_SCORE_KEYS]
    entries = {evaluations.SCORE_PREFIX + h: evaluations.score_entry(stored[h]) for h in keep}
    client.update_metadata(live.id, {**meta, **entries})


def _items(rt: Runtime, ev: EvaluationSpec, a: EvaluateCandidates) -> list[dict[str, Any]]:
    path = rt.checked.project.dataset_paths[ev.dataset]
    if hash_file(path) != a.data_sha256:
        raise StalePlanError(f"evaluation {a.name}: the held-out data changed since the plan was made; plan again")
    items = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip() and (item := chat_eval_item(orjson.loads(line))) is not None:
                items.append(item)
    return items


def _criteria(rt: Runtime, ev: EvaluationSpec, name: str) -> list[Criterion]:
    out: list[Criterion] = []
    for c in ev.criteria:
        if isinstance(c, StringCheckCriterion):
            out.append(Criterion.string_check(c.name, c.operation))
        elif isinstance(c, TextSimilarityCriterion):
            out.append(Criterion.text_similarity(c.name, c.metric, c.threshold))
        elif isinstance(c, ScoreModelCriterion):
            out.append(Criterion.score_model(c.name, c.deployment, c.prompt, pass_threshold=c.threshold))
        else:
            assert isinstance(c, PythonCriterion)
            source = Path(rt.checked.project.grader_paths[(name, c.name)]).read_text(encoding="utf-8")
            if hashlib.sha256(source.encode()).hexdigest() != rt.checked.project.grader_sha256[(name, c.name)]:
                raise StalePlanError(f"evaluation {name}: python grader {c.name} changed since the plan; plan again")
            out.append(Criterion.python(c.name, source, c.threshold))
    return out


def verdict_of(rt: Runtime, deployment: str) -> Verdict | None:
    with rt.lock:
        return rt.verdicts.get(deployment)
