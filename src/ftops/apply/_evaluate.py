"""Apply an `evaluation.run`: canaries, eval runs with retries, scores read from the runs, the verdict.

Every model (candidates and baseline) is scored from an eval run of its inputs: a completed run found in
Foundry is read, never run again; otherwise the model is deployed on a throwaway canary (writes under
`rt.deploy_lock`, like every deployment write), evaluated, and the canary is deleted again, also on
failure. Models run concurrently within MAX_PARALLEL.

Scores always come from the runs' output items, which nobody can edit; the eval's metadata only caches
them for the next plan. So a rollout the plan decided from that cache is confirmed against the runs
before it promotes anything (`confirm`), and metadata that says otherwise is corrected.

Canaries and the uploaded eval items carry a lease (an expiry on Foundry's clock and this apply as its
holder; renewed while runs are polled): another apply or plan cleans up only expired ones, and this
apply will not take over a canary another one holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._exceptions import FoundryNotFound, FtopsError, PermanentFoundryError, PlanNotApproved, StalePlanError
from ..datasets import hash_file
from ..foundry import Criterion, DeploymentWrite, EvalsClient, LiveEval, LiveEvalRun, chat_eval_item, models_by_id
from ..plan import (
    LEASE_SECONDS,
    MAX_SCORE_KEYS,
    META_DEPLOYMENT,
    META_INPUTS,
    META_MODEL,
    META_PROJECT,
    SCORE_PREFIX,
    TAG_CANARY,
    TAG_LEASE,
    Candidate,
    EvaluateCandidates,
    RollOut,
    Stored,
    Verdict,
    canary_name,
    candidate_models,
    eval_metadata,
    find_eval,
    inputs_hash,
    items_file_name,
    judge,
    lease,
    lease_expired,
    lease_until,
    same_scores,
    score_entry,
    stored_scores,
    utc_text,
)
from ._runtime import Runtime

MAX_PARALLEL = 4  # eval runs (and canaries) at once; Foundry documents no limit, this keeps quota modest
RUN_ATTEMPTS = 3  # an eval run that fails or is cancelled is started again, at most this many times in all
CANARY_CAPACITY = 1
ITEMS_LEASE_SECONDS = 6 * 3600  # the items upload's lease (in its name, never renewed: it covers the retries)


@dataclass
class _Eval:
    """One evaluation of one deployment, as its models' threads share it."""

    rt: Runtime
    client: EvalsClient
    live: LiveEval
    deployment: str
    chash: str
    names: list[str]  # the criteria, in order
    sku: str
    holder: str = field(default_factory=lambda: secrets.token_hex(4))  # this apply, in leases
    runs: list[LiveEvalRun] = field(default_factory=list)

    def lease(self, seconds: float = LEASE_SECONDS) -> str:
        return lease(self.holder, self.client.clock(), seconds)

    def from_runs(self, models: list[Candidate]) -> dict[str, Stored]:
        """The scores of each model that has a completed eval run of its inputs, read from that run."""
        self.runs = self.client.list_runs(self.live.id)
        found = {}
        for c in models:
            run = self.backing_run(c.model)
            if run is not None:
                found[c.model] = self.read(run, c.model)
        return found

    def backing_run(self, model: str) -> LiveEvalRun | None:
        """The newest completed run of these inputs that sampled this model's canary (run metadata is immutable)."""
        inputs = inputs_hash(model, self.chash)
        canary = canary_name(self.deployment, model)
        done = [r for r in self.runs if r.status == "completed" and r.model == canary
                and r.metadata.get(META_INPUTS) == inputs
                and r.metadata.get(META_MODEL) == model[:512]]
        return max(done, key=lambda r: (r.created_at, r.id)) if done else None

    def read(self, run: LiveEvalRun, model: str) -> Stored:
        scores = self.client.scores(self.live.id, run.id)
        by_name = {s.name: s for s in scores.criteria}
        for s in scores.criteria:
            if s.out_of_range:
                self.rt.note(f"evaluation of {model}: {s.out_of_range} score(s) of criterion {s.name} were outside "
                             "0..1 and count as errors (ftops reads every criterion on a 0 to 1 scale)")
        means = tuple(by_name[n].mean if n in by_name else None for n in self.names)
        graded = min((by_name[n].graded if n in by_name else 0 for n in self.names), default=0)
        return Stored(model, means, graded, run.id)


def evaluate(rt: Runtime, a: EvaluateCandidates) -> str:
    job = rt.await_job(a, a.job, a.job_hash)
    # The candidates come from the job's checkpoints, now (a plan made before the job finished has none;
    # a saved plan's list must be the same models).
    candidates, _, blocked = candidate_models(job, rt.client.checkpoints(job.id), a.selection)
    if blocked:
        raise FtopsError(f"evaluation blocked: {blocked}")
    if a.candidates and [c.model for c in a.candidates] != [c.model for c in candidates]:
        raise StalePlanError(f"evaluation {a.name}: the candidates are not the ones the plan was made for; plan again")
    baseline = Candidate(model=a.baseline or job.model, label="baseline")
    items = _items(rt, a)
    client = EvalsClient(rt.client)
    meta = eval_metadata(rt.plan.project, a.deployment, a.name, a.criteria_hash)
    live = find_eval(client.find_evals(meta), meta) or client.create_eval(
        f"ftops {rt.plan.project} {a.deployment}", _criteria(rt, a), meta)
    e = _Eval(rt, client, live, a.deployment, a.criteria_hash, a.judging.criteria, a.canary_sku)
    unique = {c.model: c for c in [baseline, *reversed(candidates)]}  # one canary per model: a candidate's label wins
    models = list(reversed(unique.values()))
    scores = e.from_runs(models)
    todo = [c for c in models if c.model not in scores]
    if todo:
        rt.reporter.status(a, f"evaluating {len(todo)} model(s) on canaries")
        scores.update(_on_canaries(e, a, todo, items))
    _record(client, live, meta, {**stored_scores(live), **_keyed(scores, a.criteria_hash)},
            {inputs_hash(c.model, a.criteria_hash) for c in models})
    verdict = judge(a.judging, candidates, scores, baseline)
    with rt.lock:
        rt.verdicts[a.deployment] = verdict
    return verdict.reason


def _keyed(scores: dict[str, Stored], chash: str) -> dict[str, Stored]:
    return {inputs_hash(model, chash): s for model, s in scores.items()}


def _on_canaries(e: _Eval, a: EvaluateCandidates, todo: list[Candidate], items: list[dict[str, Any]]
                 ) -> dict[str, Stored]:
    """Run each model on a canary; a baseline that cannot be deployed is recorded as such (with a note)."""
    name = items_file_name(e.rt.plan.project, a.deployment, a.criteria_hash,
                                       e.lease(ITEMS_LEASE_SECONDS))
    upload = e.client.upload_items(items, name)
    try:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo)), thread_name_prefix="ftops-eval") as pool:
            results = list(pool.map(lambda c: _one(e, a, upload.id, c), todo))
    finally:
        with contextlib.suppress(FtopsError):
            e.rt.client.delete_file(upload.id)
    out = {}
    for c, got in zip(todo, results, strict=True):
        if got is None:  # recorded as such: later plans do not try to deploy it again
            e.rt.note(f"no baseline: {c.model} could not be deployed, so beatBaselineBy is not applied")
            got = Stored(c.model, tuple(None for _ in e.names), 0)
        out[c.model] = got
    return out


def _one(e: _Eval, a: EvaluateCandidates, file_id: str, c: Candidate) -> Stored | None:
    """Scores of one model from a run on a canary; None when a baseline cannot be deployed."""
    canary = canary_name(a.deployment, c.model)
    if not _put_canary(e, canary, c.model, refuse_baseline=c.label == "baseline"):
        return None
    try:
        e.rt.client.smoke(canary, stop=e.rt.stop)  # Azure reports `Succeeded` before a deployment answers
        return _run_with_retries(e, a, file_id, canary, c)
    finally:
        with e.rt.deploy_lock:
            e.rt.client.delete_deployment(canary)


def _put_canary(e: _Eval, canary: str, model: str, *, refuse_baseline: bool) -> bool:
    """Deploy (or renew the lease of) our canary; False when Foundry refuses a baseline's model."""
    _claim(e, canary)
    tags = {META_PROJECT: e.rt.plan.project, TAG_CANARY: e.deployment,
            META_MODEL: model[:256], TAG_LEASE: e.lease()}
    try:
        write = _baseline_write(e, model, tags) if refuse_baseline else None
        with e.rt.deploy_lock:
            e.rt.client.put_deployment(canary, write or DeploymentWrite(model, e.sku, CANARY_CAPACITY, tags))
    except PermanentFoundryError:
        if refuse_baseline:
            return False  # e.g. a base model that cannot be deployed here: compare on thresholds only
        raise
    return True


def _baseline_write(e: _Eval, model: str, tags: dict[str, str]) -> DeploymentWrite | None:
    """A base model baseline deploys as Azure names it: ARM's name, version and format from the account's
    models list (`gpt-4.1-mini-2025-04-14` is gpt-4.1-mini, version 2025-04-14); None for a fine-tuned model."""
    base = models_by_id(e.rt.client.list_models()).get(model)
    if base is None or not base.name or not base.version:
        return None
    # The canary's SKU if the model is offered on it, else one it is offered on (GlobalStandard first:
    # billed per token, no hosting fee).
    sku = e.sku if e.sku in base.skus or not base.skus else "GlobalStandard" if "GlobalStandard" in base.skus \
        else base.skus[0]
    return DeploymentWrite(base.name, sku, CANARY_CAPACITY, tags, format=base.format or "OpenAI",
                           version=base.version)


def _claim(e: _Eval, canary: str) -> None:
    """Refuse a canary another apply holds (an unexpired lease that is not ours)."""
    try:
        live = e.rt.client.get_deployment(canary)
    except FoundryNotFound:
        return
    held = live.tags.get(TAG_LEASE)
    if lease_expired(held, e.client.clock()) or (held or "").endswith("/" + e.holder):
        return
    until = utc_text(lease_until(held), "%H:%M:%S UTC")  # a hand-edited lease may be no date
    raise FtopsError(f"evaluation canary {canary} is in use by another apply until {until} (Foundry's clock); "
                     "run one apply at a time, or apply again after that")


def _run_with_retries(e: _Eval, a: EvaluateCandidates, file_id: str, canary: str, c: Candidate) -> Stored:
    meta = {META_PROJECT: e.rt.plan.project, META_DEPLOYMENT: a.deployment,
            META_INPUTS: inputs_hash(c.model, a.criteria_hash),
            META_MODEL: c.model[:512]}
    renew = _renewer(e, canary, c.model)
    last: LiveEvalRun | None = None
    for attempt in range(1, RUN_ATTEMPTS + 1):
        run = e.client.start_run(e.live.id, canary, file_id, f"{c.label} ({canary}) #{attempt}", meta)
        e.rt.reporter.status(a, f"{c.label}: run {run.id} {run.status}")
        last = e.client.wait_run(e.live.id, run.id, tick=renew)
        if last.status == "completed":
            return e.read(last, c.model)
        if e.rt.stop.is_set():
            break
    assert last is not None
    raise FtopsError(f"evaluation of {c.label} ({c.model}): eval run {last.id} {last.status} "
                     f"{RUN_ATTEMPTS} times ({last.error or 'no reason given'})")


def _renewer(e: _Eval, canary: str, model: str) -> Any:
    """A tick for wait_run: renews the canary's lease once a third of it has passed."""
    renewed = [e.client.clock()]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            if e.client.clock() - renewed[0] < LEASE_SECONDS / 3:
                return
            renewed[0] = e.client.clock()
        _put_canary(e, canary, model, refuse_baseline=False)
    return tick


def _record(client: EvalsClient, live: LiveEval, meta: dict[str, str], stored: dict[str, Stored],
            current: set[str]) -> None:
    """Keep the current models' scores (and as many others as fit) in the eval's metadata."""
    keep = sorted(stored, key=lambda h: (h not in current, h))[:MAX_SCORE_KEYS]
    entries = {SCORE_PREFIX + h: score_entry(stored[h]) for h in keep}
    client.update_metadata(live.id, {**meta, **entries})


# -- a verdict the plan read from the cache ----------------------------------------------------
def confirm(rt: Runtime, a: RollOut, verdict: Verdict) -> Verdict:
    """The plan's verdict, recomputed from the eval runs before it promotes anything.

    Scores the metadata records but no completed run backs are removed (the next apply evaluates those
    models again); scores that differ from their runs are corrected; a verdict that then differs from the
    plan's refuses the rollout with both.
    """
    how = a.judging
    if how is None or how.evaluation != verdict.evaluation:
        raise StalePlanError(f"deployment {a.name}: the plan's verdict is not of its evaluation; plan again")
    chash = how.criteria_hash
    client = EvalsClient(rt.client)
    meta = eval_metadata(rt.plan.project, a.name, how.evaluation, chash)
    live = find_eval(client.find_evals(meta), meta)
    if live is None:
        raise StalePlanError(f"deployment {a.name}: the eval holding the verdict of {how.evaluation} is gone; plan "
                             "again")
    e = _Eval(rt, client, live, a.name, chash, how.criteria, how.canary_sku)
    candidates = [Candidate(model=r.model, label=r.label) for r in verdict.candidates]
    baseline = Candidate(model=verdict.baseline_model, label="baseline") if verdict.baseline_model else None
    models = [*candidates, *([baseline] if baseline else [])]
    scores = e.from_runs(models)
    if baseline is not None and baseline.model not in scores and _undeployable(e, baseline.model):
        scores[baseline.model] = Stored(baseline.model, tuple(None for _ in e.names), 0)
    recorded = stored_scores(live)
    unbacked = [c for c in models if c.model not in scores]
    wrong = [m for m, s in scores.items()
             if (r := recorded.get(inputs_hash(m, chash))) is None or not same_scores(r, s)]
    if unbacked or wrong:
        fixed = {h: s for h, s in {**recorded, **_keyed(scores, chash)}.items()
                 if h not in {inputs_hash(c.model, chash) for c in unbacked}}
        _record(client, live, meta, fixed, set(_keyed(scores, chash)))
    if unbacked:
        raise FtopsError(f"rollout refused: Foundry's eval metadata records scores of "
                         f"{', '.join(f'{c.label} ({c.model})' for c in unbacked)} that no completed eval run of "
                         "those inputs backs (changed outside ftops, or its runs were deleted); removed, so the "
                         "next apply evaluates again")
    truth = judge(how, candidates, scores, baseline)
    if truth.passed != verdict.passed or truth.winner != verdict.winner:
        raise FtopsError(f"rollout refused: the verdict Foundry's eval metadata gave ({verdict.reason}) is not what "
                         f"its eval runs say ({truth.reason}); the metadata was changed outside ftops and is "
                         "corrected now: plan again")
    if wrong:
        rt.note(f"evaluation {how.evaluation}: scores in Foundry's eval metadata differed from its runs (changed "
                "outside ftops); corrected, and the verdict stands")
    return truth


def _undeployable(e: _Eval, model: str) -> bool:
    """Whether Foundry still refuses to deploy the baseline (recorded so, without a run): tried once more."""
    canary = canary_name(e.deployment, model)
    if not _put_canary(e, canary, model, refuse_baseline=True):
        return True
    with e.rt.deploy_lock:
        e.rt.client.delete_deployment(canary)
    return False


# -- inputs ---------------------------------------------------------------------------------
def _items(rt: Runtime, a: EvaluateCandidates) -> list[dict[str, Any]]:
    path = rt.checked.project.root / a.items_path
    if hash_file(path) != a.data_sha256:
        raise StalePlanError(f"evaluation {a.name}: the held-out data changed since the plan was made; plan again")
    items = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip() and (item := chat_eval_item(orjson.loads(line))) is not None:
                items.append(item)
    return items


def _criteria(rt: Runtime, a: EvaluateCandidates) -> list[Criterion]:
    """The testing criteria as Foundry's Evals API takes them, from the action (a python source is read from
    its file and sent only when it is the source the plan was made for)."""
    out: list[Criterion] = []
    for c in a.criteria:
        if c.type == "string_check":
            out.append(Criterion.string_check(c.name, c.operation))
        elif c.type == "text_similarity":
            out.append(Criterion.text_similarity(c.name, c.metric, c.threshold))
        elif c.type == "score_model":
            out.append(Criterion.score_model(c.name, c.deployment, c.prompt, pass_threshold=c.threshold))
        else:
            out.append(Criterion.python(c.name, _python_source(rt, a, c.name), c.threshold))
    return out


def _python_source(rt: Runtime, a: EvaluateCandidates, criterion: str) -> str:
    grader = a.graders.get(criterion)
    if grader is None:
        raise PlanNotApproved(f"plan action {a.id}: python criterion {criterion} names no source; refusing it")
    source = (rt.checked.project.root / grader.path).read_text(encoding="utf-8")
    if hashlib.sha256(source.encode()).hexdigest() != grader.sha256:
        raise StalePlanError(f"evaluation {a.name}: python grader {criterion} changed since the plan; plan again")
    return source


def verdict_of(rt: Runtime, deployment: str) -> Verdict | None:
    with rt.lock:
        return rt.verdicts.get(deployment)

