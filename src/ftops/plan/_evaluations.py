"""Evaluation-gated promotion: which candidates to evaluate, which verdicts Foundry already holds, the winner.

Pure, like the rest of the planner. The verdicts live in Foundry: one eval per (project, deployment,
criteria hash) carries ftops metadata, and each model's mean scores are kept in that eval's metadata
under `ftops-s.<inputs hash>` (inputs = the model, the held-out data's sha256 and the criteria), so a
later plan finds them with one listing and never runs an evaluation of unchanged inputs again.

That metadata is a cache, not evidence: anyone who may call `evals.update` can rewrite it. The plan
reads it to decide what to show; apply promotes only on scores it recomputed from the eval runs' own
output items (`apply/_evaluate.py`), which no update can change. Canaries and the uploaded eval items
carry a lease (an expiry on Foundry's clock and the apply that holds it): only expired ones are
cleaned up by another apply or plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from ..checks import CheckedProject
from ..foundry import LiveCheckpoint, LiveDeployment, LiveEval, LiveJob
from ..spec import (
    DeploymentSpec,
    EpochPick,
    EvaluationRef,
    EvaluationSpec,
    PythonCriterion,
    Resource,
    ScoreModelCriterion,
)
from . import _matching as ident
from ._actions import (
    Candidate,
    CandidateScores,
    Cost,
    DeleteFile,
    EvaluateCandidates,
    GraderSource,
    Judging,
    NoOp,
    Verdict,
    known_after_apply,
    utc_text,
)
from ._context import Ctx, JobState, serving
from ._cost import canary_hosting
from ._resolve import Resolved

META_DEPLOYMENT = "ftops-deployment"
META_EVALUATION = "ftops-evaluation"
META_CRITERIA = "ftops-criteria"
META_INPUTS = "ftops-inputs"
META_MODEL = "ftops-model"
TAG_LEASE = "ftops-lease"  # on a canary: "<expiry, Foundry's clock>/<holder>"; renewed while its runs go on
LEASE_SECONDS = 1800  # a killed apply's canaries and eval items are cleaned up at most this long after
ITEMS_PREFIX = "ftops-eval."  # eval items uploads: ftops-eval.<project>.<deployment>.<criteria>.<expiry>.<holder>.jsonl
SCORE_PREFIX = "ftops-s."  # eval metadata: ftops-s.<inputs hash> -> {"m": model, "s": [scores], "n": items}
TAG_CANARY = "ftops-canary"  # a throwaway evaluation deployment: the Deployment it evaluates for
TAG_VERDICT = ident.TAG_VERDICT  # on a promoted deployment: the verdict that allowed it
TAG_BASELINE = "ftops-baseline"  # on a promoted deployment: the model its winner was compared with
MAX_SCORE_KEYS = 12  # Foundry keeps 16 metadata pairs; 4 identify the eval
DEFAULT_EPOCHS = 3


@dataclass(frozen=True)
class Stored:
    model: str
    scores: tuple[float | None, ...]  # in criteria order
    items: int
    run: str | None = None  # the eval run the scores came from (None: the model could not be deployed)


# -- identities -----------------------------------------------------------------------------
def job_of(spec: DeploymentSpec) -> str:
    """The job a Deployment of this account's job names (`model.job`): one with a gate, or planned by
    `plan_deployment` (a follower and another account's job are planned by `_follow.py`)."""
    ref = spec.job_ref
    assert ref is not None, "a promotion is planned by plan_promotion"
    return ref.job


def criteria_hash(checked: CheckedProject, ev: Resource[EvaluationSpec]) -> str:
    """The eval's identity: the held-out data's sha256 and the criteria (a python source by its sha256)."""
    crits: list[Any] = []
    for c in ev.spec.criteria:
        d = c.model_dump(mode="json")
        if isinstance(c, PythonCriterion):
            d["source"] = checked.project.grader_sha256[(ev.name, c.name)]
        crits.append(d)
    return ident.canonical_hash({"data": checked.reports[ev.spec.dataset].sha256, "criteria": crits})


def judging(checked: CheckedProject, ev: Resource[EvaluationSpec]) -> Judging:
    """How evaluation `ev`'s verdicts are reached, as its actions carry it."""
    s = ev.spec
    return Judging(evaluation=ev.name, criteria=[c.name for c in s.criteria], rule=s.pass_rule,
                   criteria_hash=criteria_hash(checked, ev), canary_sku=s.canary_sku)


def _request(checked: CheckedProject, dep: Resource[DeploymentSpec], ev: Resource[EvaluationSpec]) -> dict[str, Any]:
    """What an evaluation sends besides its judging: the criteria, python sources by file, the items' file."""
    project = checked.project

    def relative(path: Path) -> str:
        return Path(path).relative_to(project.root).as_posix()

    graders = {c.name: GraderSource(path=relative(project.grader_paths[(ev.name, c.name)]),
                                    sha256=project.grader_sha256[(ev.name, c.name)])
               for c in ev.spec.criteria if isinstance(c, PythonCriterion)}
    assert dep.spec.evaluation is not None
    return {"judging": judging(checked, ev), "criteria": list(ev.spec.criteria), "graders": graders,
            "items_path": relative(project.dataset_paths[ev.spec.dataset]), "selection": dep.spec.evaluation}


def inputs_hash(model: str, chash: str) -> str:
    return ident.canonical_hash({"model": model, "criteria": chash})


def canary_name(deployment: str, model: str) -> str:
    return f"{deployment[:40]}-eval-{ident.canonical_hash(model)[:8]}"


def eval_metadata(project: str, deployment: str, evaluation: str, chash: str) -> dict[str, str]:
    return {ident.META_PROJECT: project, META_DEPLOYMENT: deployment, META_EVALUATION: evaluation,
            META_CRITERIA: chash}


def stored_scores(live: LiveEval | None) -> dict[str, Stored]:
    """inputs hash -> the scores recorded in the eval's metadata (entries ftops cannot read are ignored)."""
    out: dict[str, Stored] = {}
    for key, value in (live.metadata if live else {}).items():
        if not key.startswith(SCORE_PREFIX):
            continue
        try:
            d = orjson.loads(value)
            out[key[len(SCORE_PREFIX):]] = Stored(str(d["m"]), tuple(None if s is None else float(s) for s in d["s"]),
                                                  int(d["n"]), str(d["r"]) if d.get("r") else None)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return out


def score_entry(stored: Stored) -> str:
    entry: dict[str, Any] = {"m": stored.model, "s": [None if s is None else round(s, 4) for s in stored.scores],
                             "n": stored.items}
    if stored.run:
        entry["r"] = stored.run
    return orjson.dumps(entry).decode()


def same_scores(a: Stored, b: Stored) -> bool:
    """Whether two records say the same (scores as recorded: rounded to 4 places)."""
    return score_entry(replace(a, run=None)) == score_entry(replace(b, run=None))


# -- leases ---------------------------------------------------------------------------------
def lease(holder: str, now: float, seconds: float = LEASE_SECONDS) -> str:
    """The lease a canary (tag) or an eval items upload (file name) carries: an expiry and its holder."""
    return f"{int(now + seconds)}/{holder}"


def lease_expired(value: str | None, now: float) -> bool:
    """A lease past its expiry (Foundry's clock), or none at all (made before leases: left behind)."""
    try:
        return value is None or int(value.split("/", 1)[0]) <= now
    except ValueError:
        return True


def lease_until(value: str | None) -> int:
    try:
        return int((value or "").split("/", 1)[0])
    except ValueError:
        return 0


def items_file_name(project: str, deployment: str, chash: str, lease_value: str) -> str:
    expiry, _, holder = lease_value.partition("/")
    return f"{ITEMS_PREFIX}{project}.{deployment}.{chash[:16]}.{expiry}.{holder}.jsonl"


def parse_items_file(filename: str) -> tuple[str, str, str] | None:
    """(project, deployment, lease) of an eval items upload's name, else None."""
    if not filename.startswith(ITEMS_PREFIX) or not filename.endswith(".jsonl"):
        return None
    parts = filename[len(ITEMS_PREFIX):-len(".jsonl")].split(".")
    if len(parts) != 5 or not parts[3].isdigit():
        return None
    return parts[0], parts[1], f"{parts[3]}/{parts[4]}"


def find_eval(evals: list[LiveEval], meta: dict[str, str]) -> LiveEval | None:
    found = [e for e in evals if all(e.metadata.get(k) == v for k, v in meta.items())]
    return min(found, key=lambda e: (e.created_at, e.id)) if found else None


# -- candidates -----------------------------------------------------------------------------
def candidate_models(job: LiveJob, checkpoints: list[LiveCheckpoint], ref: EvaluationRef
                     ) -> tuple[list[Candidate], dict[str, float | None], str | None]:
    """(candidates in order, validation loss by model, why a candidate is not deployable)."""
    assert job.fine_tuned_model is not None
    cps = sorted(checkpoints, key=lambda c: c.step_number)
    n = job.n_epochs or len(cps)
    by_epoch = {n - (len(cps) - 1 - i): c for i, c in enumerate(cps)}
    model_of = {e: (job.fine_tuned_model if e == n else c.id) for e, c in by_epoch.items()}
    loss = {model_of[e]: c.loss for e, c in by_epoch.items()}
    loss.setdefault(job.fine_tuned_model, cps[-1].loss if cps else None)
    picks: list[Candidate] = []
    wanted = ref.candidates
    if wanted == "all":
        picks = [Candidate(model=model_of[e], label="final" if e == n else f"epoch {e}") for e in sorted(model_of)]
        if not picks:
            picks = [Candidate(model=job.fine_tuned_model, label="final")]
    else:
        for w in wanted:
            if w == "final":
                picks.append(Candidate(model=job.fine_tuned_model, label="final"))
            elif w == "best":
                scored = [c for c in cps if c.loss is not None]
                best = min(scored, key=lambda c: (c.loss, -c.step_number)) if scored else None
                model = job.fine_tuned_model if best is None or best is cps[-1] else best.id
                picks.append(Candidate(model=model, label="best"))
            else:
                assert isinstance(w, EpochPick)
                if w.epoch not in model_of:
                    have = ", ".join(str(e) for e in sorted(model_of)) or "none"
                    return [], loss, (f"candidate epoch {w.epoch} is not deployable: Foundry keeps the last three "
                                      f"checkpoints (epochs {have})")
                picks.append(Candidate(model=model_of[w.epoch], label=f"epoch {w.epoch}"))
    unique: dict[str, Candidate] = {}
    for c in picks:
        unique.setdefault(c.model, c)
    return list(unique.values()), loss, None


def estimated_tokens(checked: CheckedProject, ev: EvaluationSpec, runs: int) -> int:
    """Tokens the runs sample and grade: each held-out conversation per run, again per judge criterion."""
    report = checked.reports[ev.dataset]
    per_run = sum(report.tokens_by_role.values()) or report.size // 4
    judges = sum(1 for c in ev.criteria if isinstance(c, ScoreModelCriterion))
    return per_run * runs * (1 + judges)


# -- the verdict ----------------------------------------------------------------------------
def judge(how: Judging, candidates: list[Candidate], scores: dict[str, Stored], baseline: Candidate | None) -> Verdict:
    """Apply the pass rule to the candidates' scores; the winner is the passing one with the best mean."""
    name, names, rule = how.evaluation, how.criteria, how.rule
    base = _row(baseline, scores, names) if baseline is not None and baseline.model in scores else None
    rows = [_row(c, scores, names) for c in candidates]
    for r in rows:
        misses = [f"{c} {_fmt(r.scores.get(c))} < {t}" for c, t in rule.thresholds.items()
                  if r.scores.get(c) is None or r.scores[c] < t]  # type: ignore[operator]
        if r.items < rule.min_items:
            misses.append(f"{r.items} items graded < minItems {rule.min_items}")
        if rule.beat_baseline_by is not None and base is not None and base.overall is not None and (
                r.overall is None or r.overall < base.overall + rule.beat_baseline_by):
            misses.append(f"mean {_fmt(r.overall)} does not beat the baseline's {_fmt(base.overall)} by "
                          f"{rule.beat_baseline_by}")
        r.passed, r.why = not misses, "; ".join(misses)
    passing = [r for r in rows if r.passed]
    winner = max(passing, key=lambda r: r.overall if r.overall is not None else -1.0, default=None)
    table = ", ".join(f"{r.label} {_fmt(r.overall)}" for r in rows) + (
        f"; baseline {_fmt(base.overall)}" if base is not None and base.overall is not None else
        "; no baseline (not deployable)" if base is not None else "; no baseline")
    if winner is not None:
        reason = f"evaluation {name} passed: {winner.label} wins ({_scores(winner)}; means: {table})"
    else:
        top = max(rows, key=lambda r: r.overall if r.overall is not None else -1.0, default=None)
        reason = f"evaluation {name} failed: no candidate passes" + (f" (best {top.label}: {top.why})" if top else "")
        reason += f" [means: {table}]"
    return Verdict(evaluation=name, passed=winner is not None, winner=winner.model if winner else None,
                   reason=reason, criteria=names, candidates=rows, baseline=base,
                   baseline_model=baseline.model if baseline else None)


def _row(c: Candidate, scores: dict[str, Stored], names: list[str]) -> CandidateScores:
    s = scores[c.model]
    values = dict(zip(names, s.scores, strict=False))
    known = [v for v in values.values() if v is not None]
    return CandidateScores(model=c.model, label=c.label, scores=values,
                           overall=sum(known) / len(known) if known else None, items=s.items)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _scores(r: CandidateScores) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in r.scores.items())


def verdict_tag(v: Verdict) -> str:
    """What a promoted deployment's tag says (Azure tag values: 256 characters)."""
    return v.reason[:256]


# -- planning -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gate:
    """What the evaluation step decided for a deployment: a model to promote, or actions already added."""

    resolved: Resolved | None = None
    verdict: Verdict | None = None
    evaluate_id: str | None = None  # the rollout must wait for this evaluation action


def plan_gate(ctx: Ctx, dep: Resource[DeploymentSpec], job: LiveJob, live: LiveDeployment | None,
              noop: dict[str, Any], held: Cost) -> Gate:
    """For a finished job: reuse the verdict Foundry holds for these inputs, or plan the evaluation."""
    ref = dep.spec.evaluation
    assert ref is not None
    ev = ctx.checked.project.evaluations[ref.name]
    cps = ctx.live.checkpoints_of(job.id)
    evals = ctx.live.evals_listed()
    if cps is None or evals is None:  # the refresh step reads them and plans again
        ctx.add(NoOp(reason="reading the job's checkpoints and the evaluation verdicts", **noop))
        return Gate()
    candidates, losses, blocked = candidate_models(job, cps, ref)
    if blocked:
        keep = f"keeps serving {serving(live)}" if live else "not deployed"
        ctx.add(NoOp(reason=f"{keep}; {blocked}", blocked=blocked, cost=held, **noop))
        return Gate()
    chash = criteria_hash(ctx.checked, ev)
    found = find_eval(evals, eval_metadata(ctx.project, dep.name, ev.name, chash))
    stored = stored_scores(found)
    baseline = Candidate(model=baseline_model(live, job), label="baseline")
    models = [c.model for c in [*candidates, baseline]]
    known = {m: stored[inputs_hash(m, chash)] for m in models if inputs_hash(m, chash) in stored}
    missing = [m for m in models if m not in known]
    if missing:
        return Gate(evaluate_id=_evaluate(ctx, dep, ev, candidates, baseline, chash, known, missing, found).id)
    verdict = judge(judging(ctx.checked, ev), candidates, known, baseline)
    if not verdict.passed or verdict.winner is None:
        keep = f"keeps serving {serving(live)}" if live else "not deployed"
        ctx.add(NoOp(reason=f"{keep}; {verdict.reason}", blocked=verdict.reason, verdict=verdict, cost=held, **noop))
        return Gate(verdict=verdict)
    return Gate(Resolved(verdict.winner, losses.get(verdict.winner), verdict.reason), verdict)


def baseline_model(live: LiveDeployment | None, job: LiveJob) -> str:
    """What the candidates are compared with: what the deployment served before this job's promotion
    (kept in a tag once promoted, else what it serves now), or the base model on first rollout."""
    if live is not None and live.tags.get(ident.TAG_JOB) == job.id and live.tags.get(TAG_BASELINE):
        return live.tags[TAG_BASELINE]
    return live.model if live is not None and live.model else job.model


def _evaluate(ctx: Ctx, dep: Resource[DeploymentSpec], ev: Resource[EvaluationSpec], candidates: list[Candidate],
              baseline: Candidate, chash: str, known: dict[str, Stored], missing: list[str],
              found: LiveEval | None) -> EvaluateCandidates:
    state = ctx.jobs[job_of(dep.spec)]
    why = "criteria or held-out data changed" if found is None and _any_eval_for(ctx, dep.name) else \
        "no verdict for these inputs yet"
    reason = (f"evaluate {len(missing)} model(s) on canaries ({why}); "
              f"{len(known)} verdict(s) reused" if known else f"evaluate {len(missing)} model(s) on canaries ({why})")
    a = EvaluateCandidates(
        id=f"evaluation.{dep.name}:run", name=ev.name, deployment=dep.name, job=job_of(dep.spec), job_hash=state.hash,
        candidates=candidates, baseline=baseline.model, criteria_hash=chash,
        data_sha256=ctx.checked.reports[ev.spec.dataset].sha256,
        inputs={c.model: inputs_hash(c.model, chash) for c in [*candidates, baseline]}, reuse=sorted(known),
        canaries=[canary_name(dep.name, m) for m in missing], canary_sku=ev.spec.canary_sku,
        tokens=estimated_tokens(ctx.checked, ev.spec, len(missing)), reason=reason, **_request(ctx.checked, dep, ev),
        cost=_canary_cost(ctx, dep, ev, len(missing)),
        changes={"verdict": (None, known_after_apply(
            f"evaluation {ev.name} of {', '.join(c.label for c in candidates)} against the baseline"))})
    ctx.add(a)
    return a


def _canary_cost(ctx: Ctx, dep: Resource[DeploymentSpec], ev: Resource[EvaluationSpec], canaries: int) -> Cost:
    """The canaries' hosting for one run (billed by the hour; their tokens are billed besides)."""
    info = ctx.checked.base_model_info(job_of(dep.spec))
    return Cost(canary_hosting_usd=canary_hosting(info, ev.spec.canary_sku, canaries))


def _any_eval_for(ctx: Ctx, deployment: str) -> bool:
    return any(e.metadata.get(ident.META_PROJECT) == ctx.project and e.metadata.get(META_DEPLOYMENT) == deployment
               for e in ctx.live.evals or [])


def plan_pending_evaluation(ctx: Ctx, dep: Resource[DeploymentSpec], state: JobState,
                            live: LiveDeployment | None) -> str:
    """The job has not finished: evaluate its candidates once it has (they are known at apply time)."""
    ref = dep.spec.evaluation
    assert ref is not None and state.action_id is not None
    ev = ctx.checked.project.evaluations[ref.name]
    n = DEFAULT_EPOCHS if ref.candidates == "all" else len(ref.candidates)
    a = EvaluateCandidates(
        id=f"evaluation.{dep.name}:run", name=ev.name, deployment=dep.name, job=job_of(dep.spec), job_hash=state.hash,
        baseline=live.model if live else None, criteria_hash=criteria_hash(ctx.checked, ev),
        data_sha256=ctx.checked.reports[ev.spec.dataset].sha256, canary_sku=ev.spec.canary_sku,
        tokens=estimated_tokens(ctx.checked, ev.spec, n + 1), depends_on=[state.action_id],
        **_request(ctx.checked, dep, ev),
        cost=_canary_cost(ctx, dep, ev, n + 1),
        reason=f"evaluate the candidates of job {job_of(dep.spec)} on canaries once it finishes",
        changes={"verdict": (None, known_after_apply(
            f"evaluation {ev.name} of the candidates of job {job_of(dep.spec)} against the baseline"))})
    ctx.add(a)
    return a.id


def plan_eval_items(ctx: Ctx) -> None:
    """Eval items uploads of this project: in use while their lease lasts, then prune candidates (an apply
    that was killed, or lost the answer to its upload, left them behind)."""
    for f in ctx.live.eval_files or []:
        parsed = parse_items_file(f.filename)
        if parsed is None or parsed[0] != ctx.project:
            continue
        what = f"{f.id}: eval items of deployment {parsed[1]}"
        if not lease_expired(parsed[2], ctx.live.now):
            ctx.add(NoOp(id=f"file.{f.id}:no-op", kind="File", name=f.filename, live_id=f.id,
                         reason=f"{what}, in use by an apply until {_clock(lease_until(parsed[2]))} (if that apply "
                                "was interrupted, they are a prune candidate then)"))
        elif ctx.prune:
            ctx.add(DeleteFile(id=f"file.{f.id}:delete", name=f.filename, file_id=f.id, live_id=f.id,
                               reason=f"{what}, left behind by an interrupted apply; pruned (--prune)"))
        else:
            ctx.add(NoOp(id=f"file.{f.id}:no-op", kind="File", name=f.filename, live_id=f.id, drift="unapplied",
                         reason=f"{what}, left behind by an interrupted apply; `apply --prune` deletes it"))


def _clock(ts: int) -> str:
    return utc_text(ts, "%Y-%m-%d %H:%M UTC")
