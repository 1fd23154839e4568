"""Planning deployments (roll forward, recreate, revert, gates) and the managed objects no spec names.

`plan_deployment` selects the live deployment and the state of its job, then decides in the order:
foreign name, job on hold or blocked, job still running (pending rollout), job finished (resolve the
checkpoint, gates, then create or update). Pure: it reads only `ctx.live`.
"""

from __future__ import annotations

from typing import Any, Literal

from ..foundry import LiveDeployment, LiveJob
from ..spec import DeploymentSpec, Resource, ScoreModelCriterion
from . import _matching as ident
from ._actions import Cost, DeleteDeployment, DeleteFile, EvaluateCandidates, NoOp, RollOut, known_after_apply
from ._adoption import takes_over
from ._context import Ctx, JobState, serving
from ._cost import monthly_hosting
from ._deployment_fields import hashed_fields, sku_and_field_changes
from ._evaluations import (
    TAG_CANARY,
    TAG_LEASE,
    job_of,
    judging,
    lease_expired,
    plan_gate,
    plan_pending_evaluation,
)
from ._requests import rollout_tags
from ._resolve import Resolved, needs_checkpoints, resolve_model, selector_of

DEVELOPER_NOTE = "Foundry deletes Developer-tier deployments after 24 h"
INACTIVE_NOTE = "Foundry deletes fine-tuned deployments unused for 15 days"
# A deployment still missing this long after its job finished was most likely deployed and then deleted
# (by a person, or by Foundry's inactivity and Developer-tier rules); sooner, its rollout is just unapplied.
ROLLOUT_GRACE_SECONDS = 3600
# ARM's model format of a fine-tuned model whose base model the catalog does not name (its own models say).
DEFAULT_MODEL_FORMAT = "OpenAI"


def deployment_hash(s: DeploymentSpec) -> str:
    fields: dict[str, Any] = {"model": s.model.model_dump(mode="json"), "sku": [s.sku.name, s.sku.capacity],
                              "gates": s.gates.model_dump(mode="json")}
    if s.evaluation is not None:  # only when set: the hash of an ungated deployment stays what it was
        fields["evaluation"] = s.evaluation.model_dump(mode="json")
    fields.update(hashed_fields(s))  # the ARM properties and user tags the spec sets, only when it sets them
    return ident.canonical_hash(fields)


def noop_fields(name: str, live: LiveDeployment | None) -> dict[str, Any]:
    """What a deployment's NoOp says of it whatever the reason: its id, name and what it serves."""
    return {"id": f"deployment.{name}:no-op", "kind": "Deployment", "name": name,
            "live_id": live.name if live else None, "served_model": live.model if live else None}


def foreign(ctx: Ctx, dep: Resource[DeploymentSpec], live: LiveDeployment | None) -> str | None:
    """Why the live deployment of this name is not ftops' to change (another project's, or made by hand and
    not adopted), else None."""
    if live is None or live.tags.get(ident.META_PROJECT) == ctx.project or takes_over(dep.spec, live):
        return None
    owner = live.tags.get(ident.META_PROJECT)
    return (f"a deployment named {dep.name} exists and is managed by project {owner}" if owner else
            f"a deployment named {dep.name} exists and is not managed by ftops") + "; ftops will not take it over"


def plan_deployment(ctx: Ctx, dep: Resource[DeploymentSpec]) -> None:
    """Deployment `dep` of a job of this account (`model: {job: NAME, checkpoint: ...}`)."""
    s, name = dep.spec, dep.name
    live = ctx.index.deployment(name)
    monthly = monthly_hosting(ctx.checked.base_model_info(job_of(s)), s.sku.name)
    state = ctx.jobs[job_of(s)]
    keep = f"keeps serving {serving(live)}" if live else "not deployed"
    held = Cost(monthly_usd=monthly if live else 0.0)
    noop = noop_fields(name, live)
    if (why := foreign(ctx, dep, live)) is not None:
        ctx.add(NoOp(reason=why, blocked=why, drift="foreign", **noop))
    elif state.paused:
        ctx.add(NoOp(reason=f"{keep}; rollout on hold while job {job_of(s)} is paused", cost=held, **noop))
    elif state.blocked and not state.succeeded:
        why = f"job {job_of(s)}: {state.blocked}"
        ctx.add(NoOp(reason=f"{keep}; rollout blocked ({why})", blocked=why, cost=held, **noop))
    elif not state.succeeded or state.live is None:
        rollout = _pending_rollout(ctx, dep, state, live, monthly)
        if s.evaluation is not None:
            rollout.depends_on = [plan_pending_evaluation(ctx, dep, state, live)]
            rollout.gated = True
        ctx.add(rollout)
    else:
        _plan_rollout(ctx, dep, state.live, state, live, monthly, noop)


def _rollout_fields(ctx: Ctx, dep: Resource[DeploymentSpec], state: JobState,
                    live: LiveDeployment | None) -> dict[str, Any]:
    s = dep.spec
    info = ctx.checked.base_model_info(job_of(s))
    return {"name": dep.name, "job": job_of(s), "job_hash": state.hash, "sku": s.sku.name,
            "model_format": (info.format if info is not None else None) or DEFAULT_MODEL_FORMAT,
            "capacity": s.sku.capacity, "spec_hash": deployment_hash(s), "served_model": live.model if live else None,
            "served_capacity": live.capacity if live else None,
            "served_loss": _served_loss(live), "live_id": live.name if live else None, "selector": selector_of(s),
            "evaluation": s.evaluation.name if s.evaluation is not None else None,
            "judging": judging(ctx.checked, ctx.checked.project.evaluations[s.evaluation.name])
            if s.evaluation is not None else None,
            "tags": rollout_tags(ctx.project, dep.name, deployment_hash(s), source=ctx.source),
            "settings": s.owned_settings(), "user_tags": dict(s.tags or {})}


def _pending_rollout(ctx: Ctx, dep: Resource[DeploymentSpec], state: JobState, live: LiveDeployment | None,
                     monthly: float) -> RollOut:
    """The job has not finished: the deployment keeps serving what it has until it does."""
    s = dep.spec
    assert state.action_id is not None
    what = f"{_selector(s)} of job {job_of(s)}"
    target = known_after_apply(f"the {_selector(s)} checkpoint of job {job_of(s)}")
    if s.evaluation is not None:
        target = known_after_apply(f"the winner of evaluation {s.evaluation.name}")
        what = f"the winner of evaluation {s.evaluation.name} (candidates of job {job_of(s)})"
    fields = _rollout_fields(ctx, dep, state, live)
    if live is not None:
        return RollOut(id=f"deployment.{dep.name}:update", action="update", depends_on=[state.action_id],
                       reason=f"pending rollout: keeps serving {serving(live)} until job {job_of(s)} finishes",
                       changes={"model": (live.model, target)}, cost=Cost(monthly_usd=monthly), **fields)
    return RollOut(id=f"deployment.{dep.name}:create", action="create", depends_on=[state.action_id],
                   reason=f"deploy {what} once it finishes",
                   changes={"model": (None, target), "sku": (None, f"{s.sku.name} x{s.sku.capacity}")},
                   cost=Cost(monthly_usd=monthly), **fields)


def _resolve(ctx: Ctx, dep: Resource[DeploymentSpec], job: LiveJob, live: LiveDeployment | None) -> Resolved | None:
    """The model to serve; None when the job's checkpoints are needed and not fetched yet."""
    s = dep.spec
    if live is not None and live.tags.get(ident.TAG_JOB) == job.id and \
            live.tags.get(ident.META_HASH) == deployment_hash(s) and live.tags.get(ident.TAG_MODEL) == live.model \
            and live.model and dep.name not in ctx.followed:
        # ftops resolved this job's checkpoint when it rolled it out; a finished job's checkpoints do
        # not change, so a no-op plan needs no checkpoint call per deployment. Not for a stage another
        # Deployment follows: anyone who may write its tags could name a checkpoint ftops never picked, and
        # the follower would promote it (docs/reference.md, "What a follower trusts").
        return Resolved(live.model, _served_loss(live), "as rolled out")
    pick = selector_of(s)
    checkpoints = ctx.live.checkpoints_of(job.id) if needs_checkpoints(pick) else []
    if checkpoints is None:
        return None
    return resolve_model(job, checkpoints, pick, _served_loss(live))


def _plan_rollout(ctx: Ctx, dep: Resource[DeploymentSpec], job: LiveJob, state: JobState,
                  live: LiveDeployment | None, monthly: float, noop: dict[str, Any]) -> None:
    s, name = dep.spec, dep.name
    keep = f"keeps serving {serving(live)}" if live else "not deployed"
    verdict = None
    if s.evaluation is not None:
        gate = plan_gate(ctx, dep, job, live, noop, Cost(monthly_usd=monthly if live else 0.0))
        if gate.evaluate_id is not None:
            ctx.add(_gated_rollout(ctx, dep, state, live, monthly, gate.evaluate_id, job.id))
            return
        if gate.resolved is None:
            return  # plan_gate added why (reading, blocked, failed gate)
        resolved, verdict = gate.resolved, gate.verdict
    else:
        found = _resolve(ctx, dep, job, live)
        if found is None:  # the refresh step fetches the checkpoints and plans again
            ctx.add(NoOp(reason="reading the job's checkpoints", **noop))
            return
        resolved = found
    if resolved.blocked:
        ctx.add(NoOp(reason=f"{keep}; {resolved.blocked}", blocked=resolved.blocked,
                     cost=Cost(monthly_usd=monthly if live else 0.0), **noop))
        return
    fields = {**_rollout_fields(ctx, dep, state, live), "model": resolved.model, "loss": resolved.loss,
              "job_id": job.id, "verdict": verdict,
              "tags": rollout_tags(ctx.project, name, deployment_hash(s), job_id=job.id, loss=resolved.loss,
                                   model=resolved.model, verdict=verdict, source=ctx.source)}
    cost = Cost(monthly_usd=monthly)
    if live is None:
        ctx.add(_recreate(ctx, dep, job, resolved, fields, cost))
        return
    changes = _changes(live, s, resolved)
    if not changes:
        adopted = "; adopted: ftops' tags are written with its next change" if takes_over(s, live) else ""
        ctx.add(NoOp(reason=f"serves {serving(live)} ({resolved.note}){adopted}", cost=cost, verdict=verdict,
                     in_sync=True,
                     **noop))
        return
    by_hand = live.tags.get(ident.META_HASH) == deployment_hash(s) and live.tags.get(ident.TAG_JOB) == job.id
    if "model" in changes and not by_hand:
        reason = f"roll out {resolved.note}: {resolved.model}"
    elif by_hand:
        reason = "changed outside ftops; revert " + ", ".join(changes)
    else:
        reason = "spec changed: " + ", ".join(changes)
    verb: Literal["replace", "update"] = "replace" if "sku.name" in changes else "update"
    if verb == "replace":
        reason += (f"; INTERRUPTS SERVING: Azure changes a deployment's sku only by deleting it and creating it "
                   f"again, so {name} serves nothing in between (apply needs --allow-downtime)")
    ctx.add(RollOut(id=f"deployment.{name}:{verb}", action=verb, reason=reason, changes=changes,
                    drift="modified" if by_hand else None, cost=cost, interrupts=verb == "replace", **fields))


def _gated_rollout(ctx: Ctx, dep: Resource[DeploymentSpec], state: JobState, live: LiveDeployment | None,
                   monthly: float, evaluate_id: str, job_id: str) -> RollOut:
    """Promote whichever candidate the evaluation picks (known when it has run)."""
    s = dep.spec
    assert s.evaluation is not None
    target = known_after_apply(f"the winner of evaluation {s.evaluation.name}")
    fields = {**_rollout_fields(ctx, dep, state, live), "job_id": job_id, "gated": True, "depends_on": [evaluate_id]}
    if live is None:
        return RollOut(id=f"deployment.{dep.name}:create", action="create", cost=Cost(monthly_usd=monthly),
                       reason=f"deploy the winner of evaluation {s.evaluation.name}",
                       changes={"model": (None, target), "sku": (None, f"{s.sku.name} x{s.sku.capacity}")}, **fields)
    return RollOut(id=f"deployment.{dep.name}:update", action="update", cost=Cost(monthly_usd=monthly),
                   reason=f"promote the winner of evaluation {s.evaluation.name} (or keep serving {serving(live)} if "
                          "no candidate passes)", changes={"model": (live.model, target)}, **fields)


def _recreate(ctx: Ctx, dep: Resource[DeploymentSpec], job: LiveJob, resolved: Resolved, fields: dict[str, Any],
              cost: Cost) -> RollOut:
    """Deploy a missing deployment; `deleted` drift when it had been deployed for this job (see _missing)."""
    s = dep.spec
    why = _missing(ctx, dep, job)
    reason = f"deploy {resolved.note}: {resolved.model}" + (f" (missing: {why})" if why else "")
    return RollOut(id=f"deployment.{dep.name}:create", action="create", reason=reason,
                   changes={"model": (None, resolved.model), "sku": (None, f"{s.sku.name} x{s.sku.capacity}")},
                   drift="deleted" if why else None, cost=cost, **fields)


def _missing(ctx: Ctx, dep: Resource[DeploymentSpec], job: LiveJob) -> str | None:
    """Why a deployment of a finished job is missing, when it was deployed and is gone; None when it may
    simply not be rolled out yet. ftops keeps no state and Foundry no record of deletions, so two signals:
    the job's own record that the apply which submitted it rolled out this very spec when it finished
    (`--wait`), or, without it, an hour since the job finished (a sync tick deploys it before)."""
    note = DEVELOPER_NOTE if dep.spec.sku.name == "Developer" else INACTIVE_NOTE
    if ident.rolled_out_on_finish(job, dep.name, deployment_hash(dep.spec)):
        return (f"deployed by the apply that followed job {job.id} to its end; deleted since by a person, or "
                f"{note}, unless that apply was interrupted before deploying it")
    finished = job.finished_at or 0
    if finished and ctx.live.now - finished > ROLLOUT_GRACE_SECONDS:
        return f"deleted by a person, or {note}"
    return None


def _changes(live: LiveDeployment, s: DeploymentSpec, resolved: Resolved) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    if live.model != resolved.model:
        changes["model"] = (live.model, resolved.model)
    changes.update(sku_and_field_changes(live, s))
    if not changes and live.tags.get(ident.META_HASH) != deployment_hash(s) and not takes_over(s, live):
        # (an adopted deployment keeps its tags until its next real change)
        changes["gates"] = ("(as before)", "(changed in the spec)")  # only gates changed: retag, same model
    return changes


def _selector(spec: DeploymentSpec) -> str:
    c = spec.job_ref.checkpoint if spec.job_ref is not None else "final"
    return c if isinstance(c, str) else f"epoch {c.epoch}"


def _served_loss(live: LiveDeployment | None) -> float | None:
    if live is None or ident.TAG_LOSS not in live.tags:
        return None
    try:
        loss = float(live.tags[ident.TAG_LOSS])
    except ValueError:
        return None
    return loss if loss == loss and abs(loss) != float("inf") else None


# -- orphans ------------------------------------------------------------------------------
PRUNE_HINT = "managed by ftops but no spec names it; `apply --prune` deletes it"


def plan_orphans(ctx: Ctx) -> None:
    p = ctx.checked.project
    _canaries(ctx)
    for d in ctx.live.snapshot.deployments:
        if d.tags.get(ident.META_PROJECT) == ctx.project and d.name not in p.deployments and TAG_CANARY not in d.tags:
            if ctx.prune:
                ctx.add(DeleteDeployment(id=f"deployment.{d.name}:delete", name=d.name, live_id=d.name,
                                         reason=f"serves {serving(d)}; no spec names it: pruned (--prune)"))
            else:  # it keeps costing until pruned: counted in the hosting after the plan
                ctx.add(NoOp(id=f"deployment.{d.name}:no-op", kind="Deployment", name=d.name, live_id=d.name,
                             served_model=d.model, reason=f"serves {serving(d)}; {PRUNE_HINT}", drift="unapplied",
                             cost=Cost(monthly_usd=ctx.prices.monthly(d) or 0.0)))
    _orphan_files(ctx)
    _orphan_jobs(ctx)


def _canaries(ctx: Ctx) -> None:
    """Evaluation canaries an interrupted apply left behind are ftops' own: deleted (no --prune needed) once
    their lease has expired (before that, another apply may be evaluating on them)."""
    deletes = []
    for d in ctx.live.snapshot.deployments:
        if d.tags.get(ident.META_PROJECT) == ctx.project and TAG_CANARY in d.tags and d.name not in \
                ctx.checked.project.deployments and lease_expired(d.tags.get(TAG_LEASE), ctx.live.now):
            deletes.append(ctx.add(DeleteDeployment(
                id=f"deployment.{d.name}:delete", name=d.name, live_id=d.name,
                reason=f"evaluation canary of {d.tags[TAG_CANARY]} left behind by an interrupted apply")).id)
    rollouts = {a.name: a.id for a in ctx.actions if isinstance(a, RollOut) and not a.gated}
    for a in ctx.actions:
        if not isinstance(a, EvaluateCandidates):
            continue
        # A canary of the same name may be deployed again: only after the cleanup. A judge deployment
        # (score_model) rolled out by this plan must exist before the runs that call it.
        ev = ctx.checked.project.evaluations[a.name].spec
        judges = [rollouts[c.deployment] for c in ev.criteria if isinstance(c, ScoreModelCriterion)
                  and c.deployment in rollouts and c.deployment != a.deployment]
        a.depends_on = list(dict.fromkeys([*a.depends_on, *deletes, *judges]))


def _orphan_files(ctx: Ctx) -> None:
    wanted = {f.id for f in ctx.dataset_files.values()}
    in_use = {f.filename: f.id for f in ctx.dataset_files.values()}
    active = {fid for j in ctx.live.snapshot.jobs if j.active for fid in (j.training_file, j.validation_file) if fid}
    for f in ctx.live.snapshot.files:
        parsed = ident.parse_file_name(f.filename)
        if not parsed or parsed[0] != ctx.project or f.id in wanted or f.id in active:
            continue
        dup = in_use.get(f.filename)  # a second upload of the same bytes (two applies raced)
        what = f"{f.id} duplicates the upload in use ({dup})" if dup else f"{f.id} ({f.bytes:,} bytes)"
        if ctx.prune:
            ctx.add(DeleteFile(id=f"file.{f.id}:delete", name=f.filename, file_id=f.id, live_id=f.id,
                               duplicate_of=dup, reason=f"{what}; pruned (--prune)"))
        else:
            ctx.add(NoOp(id=f"file.{f.id}:no-op", kind="File", name=f.filename, live_id=f.id, duplicate_of=dup,
                         reason=f"{what}; {PRUNE_HINT}", drift="unapplied"))


def _orphan_jobs(ctx: Ctx) -> None:
    from ._actions import CancelJob

    for j in ctx.live.snapshot.jobs:
        spec = j.metadata.get(ident.META_SPEC)
        if j.metadata.get(ident.META_PROJECT) != ctx.project or not j.active or spec in ctx.checked.project.jobs \
                or j.id in ctx.claimed:  # a renamed spec's job: re-attached by its content
            continue
        name = spec or j.id
        reason = f"{j.id} is {j.status} but no spec names {spec}" if spec else \
            f"{j.id} is {j.status} and carries this project's metadata but no spec name"
        if ctx.prune:
            ctx.add(CancelJob(id=f"job.{name}:orphan:{j.id}", name=name, job_id=j.id, live_id=j.id, cause="orphan",
                              reason=f"{reason}; cancelled (--prune; jobs are never deleted)"))
        else:
            ctx.add(NoOp(id=f"job.{name}:orphan:{j.id}", kind="FineTuningJob", name=name, live_id=j.id,
                         drift="unapplied", reason=f"{reason}; `apply --prune` cancels it (jobs are never deleted)"))
