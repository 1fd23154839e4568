"""Planning a Deployment that serves another stage's model (issue 17): a follower (`model: {deployment: NAME,
soak: ...}`, in this account or another) and a deployment of another account's job (`model: {job: NAME}` of
another Foundry, its final model deployed with `source`).

What the stage before offers is an `Offer`, made from an `UpstreamDeployment` or `UpstreamJob` (`_upstream.py`:
an earlier account's plan, or, in this account, the plan being decided). The decision, in order: a foreign
name; nothing offered (the account before was not planned in this run); the upstream still moving (rolling
out, training, being evaluated): pending, keep serving; nothing deployed there, or a model its evaluation did
not pass: blocked; in sync: nothing to do; soak time not over: pending; else create or update to its model.
Pure: it reads `ctx.live` and `ctx.upstream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .._vocabulary import DriftClass
from ..foundry import LiveDeployment
from ..spec import DeploymentSpec, Resource, followed
from . import _matching as ident
from ._actions import Cost, NoOp, Promote, Soaking, known_after_apply, utc_text
from ._context import Ctx, serving
from ._cost import monthly_hosting
from ._deployment_fields import sku_and_field_changes
from ._deployments import DEFAULT_MODEL_FORMAT, deployment_hash, foreign, noop_fields
from ._requests import rollout_tags
from ._upstream import UpstreamDeployment, UpstreamJob, deployment_fact


@dataclass(frozen=True)
class Offer:
    """What the stage before offers a Deployment: a model, where it was trained, and whether it may be taken."""

    ref: str  # "<foundry>/<deployment or job>": the `ftops-source` tag, and what reasons name
    model: str | None
    source: str | None  # the account the model is deployed from (None: this one)
    settled: bool  # nothing planned or pending for it there
    passed: bool | None  # its evaluation's verdict for `model` (None: not gated)
    since: float | None = None
    job_id: str | None = None
    loss: float | None = None
    verdict: str | None = None
    waiting: str | None = None


def promotes(ctx: Ctx, dep: Resource[DeploymentSpec]) -> bool:
    """Whether `dep` serves another stage's model: it follows a Deployment, or names another account's job."""
    ref = dep.spec.job_ref
    return ref is None or ref.job not in ctx.checked.project.jobs


def deployment_order(ctx: Ctx) -> list[Resource[DeploymentSpec]]:
    """This account's Deployments, each after the ones of this account it follows (their plan is its upstream).
    Walked as a loop, not by recursion: a chain of follows written last-stage-first may be thousands long."""
    deployments = ctx.checked.project.deployments
    out: dict[str, Resource[DeploymentSpec]] = {}
    for dep in deployments.values():
        chain: list[Resource[DeploymentSpec]] = []  # dep, the one it follows, ... up to one placed already
        walked: set[str] = set()  # a cycle stops the walk (validate refuses one)
        current: Resource[DeploymentSpec] | None = dep
        while current is not None and current.name not in out and current.name not in walked:
            walked.add(current.name)
            chain.append(current)
            target = current.spec.follows
            current = deployments.get(target.deployment) if target is not None else None
        for d in reversed(chain):
            out[d.name] = d
    return list(out.values())


def plan_promotion(ctx: Ctx, dep: Resource[DeploymentSpec]) -> None:
    live = ctx.index.deployment(dep.name)
    noop = noop_fields(dep.name, live)
    keep = f"keeps serving {serving(live)}" if live else "not deployed"
    monthly = monthly_hosting(ctx.checked.served_model_info(dep), dep.spec.sku.name)
    held = Cost(monthly_usd=monthly if live else 0.0)
    if (why := foreign(ctx, dep, live)) is not None:
        ctx.add(NoOp(reason=why, blocked=why, drift="foreign", **noop))
        return
    stage = _stage(ctx, dep)
    offer = _offer(ctx, stage) if stage is not None else None
    if offer is None:
        ref = f"{stage.foundry}/{stage.name}" if stage is not None else "its stage"
        ctx.add(NoOp(reason=f"{keep}; serves the model of {ref}, whose account this run did not plan (plan it in "
                            "the same run: it is planned first)", cost=held, **noop))
    elif not offer.settled:
        ctx.add(_pending(ctx, dep, live, offer, f"waits for {offer.ref}: {offer.waiting}", monthly))
    elif offer.model is None:
        why = f"{offer.ref} serves nothing"
        ctx.add(NoOp(reason=f"{keep}; {why}", blocked=why, cost=held, **noop))
    elif offer.passed is False or (offer.passed is None and _gated(stage)):
        why = f"{offer.ref} serves {offer.model}, which its evaluation did not pass"
        if live is not None and live.model == offer.model:  # promoted before (e.g. a newer job lost): keep it
            ctx.add(NoOp(reason=f"serves {offer.model}, as {offer.ref} does; nothing new to promote ({why} in this "
                                "plan)", cost=held, in_sync=True, **noop))
        else:
            ctx.add(NoOp(reason=f"{keep}; {why}", blocked=why, cost=held, **noop))
    else:
        _plan_update(ctx, dep, live, offer, monthly, noop)


def upstream_fingerprint(ctx: Ctx) -> str | None:
    """A hash of what the stages of OTHER accounts offered this account's promotions (None: it consulted none,
    and its plan reads as it always did). A saved plan whose stage moved since is then stale, not unapproved:
    it was made from other facts (`check_fresh`), and `--on-stale replan` may plan it again."""
    project = ctx.checked.project
    here = project.foundry.name if project.foundry is not None else ""
    seen: list[Any] = []
    for dep in project.deployments.values():
        stage = _stage(ctx, dep) if promotes(ctx, dep) else None
        if stage is None or stage.foundry == here:
            continue
        key = (str(stage.foundry), stage.name)
        if stage.kind == "FineTuningJob":
            job = ctx.upstream.jobs.get(key)
            seen.append([*key, None if job is None else [job.account_id, job.job_id, job.model]])
        else:
            up = ctx.upstream.deployments.get(key)
            # not `waiting` (a reason, for people): the facts a follower decides by
            seen.append([*key, None if up is None else [up.account_id, up.source, up.model, up.settled, up.passed,
                                                        up.since, up.job_id, up.verdict]])
    return ident.canonical_hash(sorted(seen)) if seen else None


def _stage(ctx: Ctx, dep: Resource[DeploymentSpec]) -> Resource[Any] | None:
    """What `dep` serves the model of: the Deployment it follows, or another account's job (None: neither is
    defined, which validate refuses)."""
    project = ctx.checked.project
    target = followed(project, dep)
    if target is not None:
        return target
    ref = dep.spec.job_ref
    return project.every_job.get(ref.job) if ref is not None else None


def _gated(stage: Resource[Any] | None) -> bool:
    """Whether the specs put an evaluation gate on `stage`: then only a passing verdict of its own plan lets its
    model through (an upstream fact that says nothing of one is not enough, whatever the deployment's tags say)."""
    return stage is not None and stage.kind == "Deployment" and stage.spec.evaluation is not None


def _offer(ctx: Ctx, stage: Resource[Any]) -> Offer | None:
    """What `stage` offers, or None when its account was not planned before this one."""
    project = ctx.checked.project
    here = project.foundry.name if project.foundry is not None else ""
    key = (str(stage.foundry), stage.name)
    if stage.kind == "FineTuningJob":
        job = ctx.upstream.jobs.get(key)
        return _from_job(job) if job is not None else None
    if stage.foundry == here:  # this account: the plan being decided is the stage's
        fact = deployment_fact(here, stage.name, ctx.actions, ctx.index.deployment(stage.name), "", "")
        return _from_deployment(fact, fact.source)
    up = ctx.upstream.deployments.get(key)
    return _from_deployment(up, up.source or up.account_id) if up is not None else None


def _from_deployment(up: UpstreamDeployment, source: str | None) -> Offer:
    return Offer(up.ref, up.model, source or None, up.settled, up.passed, up.since, up.job_id, up.loss, up.verdict,
                 up.waiting)


def _from_job(up: UpstreamJob) -> Offer:
    """Another account's job: its final model once it succeeded (ungated: validate refuses gates there)."""
    return Offer(up.ref, up.model, up.account_id, up.model is not None, None, job_id=up.job_id,
                 waiting=up.waiting or "its job has not succeeded")


def _fields(ctx: Ctx, dep: Resource[DeploymentSpec], live: LiveDeployment | None, offer: Offer) -> dict[str, Any]:
    s = dep.spec
    info = ctx.checked.served_model_info(dep)
    tags = rollout_tags(ctx.project, dep.name, deployment_hash(s), job_id=offer.job_id, loss=offer.loss,
                        model=offer.model, source=ctx.source)
    tags[ident.TAG_SOURCE] = offer.ref
    if offer.verdict and offer.model is not None:
        tags[ident.TAG_VERDICT] = offer.verdict[:256]
    return {"name": dep.name, "upstream": offer.ref, "source": offer.source, "job_id": offer.job_id,
            "sku": s.sku.name, "capacity": s.sku.capacity, "spec_hash": deployment_hash(s),
            "model_format": (info.format if info is not None else None) or DEFAULT_MODEL_FORMAT,
            "tags": tags, "served_model": live.model if live else None,
            "served_capacity": live.capacity if live else None, "live_id": live.name if live else None,
            "settings": s.owned_settings(), "user_tags": dict(s.tags or {})}


def _pending(ctx: Ctx, dep: Resource[DeploymentSpec], live: LiveDeployment | None, offer: Offer, why: str,
             monthly: float, soaking: Soaking | None = None) -> Promote:
    """The stage before is not ready: keep serving what is served, and say what it waits for."""
    target = known_after_apply(f"what {offer.ref} serves once it is settled and passed")
    fields = {**_fields(ctx, dep, live, offer), "job_id": None}
    fields["tags"] = {k: v for k, v in fields["tags"].items() if k in (ident.META_PROJECT, ident.META_SPEC,
                                                                       ident.META_HASH, ident.TAG_SOURCE)}
    verb: Literal["create", "update"] = "update" if live is not None else "create"
    changes: dict[str, Any] = {"model": (live.model if live else None, target)}
    if live is None:
        changes["sku"] = (None, f"{dep.spec.sku.name} x{dep.spec.sku.capacity}")
    keep = f"keeps serving {serving(live)}" if live else "not deployed"
    return Promote(id=f"deployment.{dep.name}:{verb}", action=verb, pending=True, reason=f"{keep}; {why}",
                   changes=changes, cost=Cost(monthly_usd=monthly), soaking=soaking, **fields)


def _plan_update(ctx: Ctx, dep: Resource[DeploymentSpec], live: LiveDeployment | None, offer: Offer, monthly: float,
                 noop: dict[str, Any]) -> None:
    s, name = dep.spec, dep.name
    assert offer.model is not None
    fields = {**_fields(ctx, dep, live, offer), "model": offer.model}
    changes = _changes(live, s, offer, fields["tags"])
    cost = Cost(monthly_usd=monthly)
    if not changes:
        ctx.add(NoOp(reason=f"serves {offer.model}, as {offer.ref} does", cost=cost, in_sync=True,
                     carried_verdict=offer.verdict, **noop))
        return
    left = _soak_left(ctx, s, offer) if "model" in changes else 0.0
    if left is None:
        why = (f"{offer.ref} carries no ftops-rolled-at tag (rolled out before ftops wrote one): its soak time "
               "cannot be measured until its next rollout")
        ctx.add(NoOp(reason=f"keeps serving {serving(live)}; {why}" if live else f"not deployed; {why}",
                     blocked=why, cost=Cost(monthly_usd=monthly if live else 0.0), **noop))
        return
    if left > 0:
        since = utc_text(offer.since or 0, "%Y-%m-%d %H:%M UTC")
        soaking = Soaking(model=offer.model, until=ctx.live.now + left)
        ctx.add(_pending(ctx, dep, live, offer, f"waits for {offer.ref}: it serves {offer.model} since {since}, "
                                                f"soaks {_duration(left)} more", monthly, soaking))
        return
    verb: Literal["create", "update", "replace"] = "create" if live is None else (
        "replace" if "sku.name" in changes else "update")
    reason = f"serve {offer.model}, as {offer.ref} does" + (f" (verdict: {offer.verdict})" if offer.verdict else "")
    if verb == "replace":
        reason += (f"; INTERRUPTS SERVING: Azure changes a deployment's sku only by deleting it and creating it "
                   f"again, so {name} serves nothing in between (apply needs --allow-downtime)")
    ctx.add(Promote(id=f"deployment.{name}:{verb}", action=verb, reason=reason, changes=changes,
                    drift=_drift(live, s, changes), cost=cost, interrupts=verb == "replace", **fields))


def _changes(live: LiveDeployment | None, s: DeploymentSpec, offer: Offer,
             tags: dict[str, str]) -> dict[str, tuple[Any, Any]]:
    if live is None:
        return {"model": (None, offer.model), "sku": (None, f"{s.sku.name} x{s.sku.capacity}")}
    changes: dict[str, tuple[Any, Any]] = {}
    if live.model != offer.model:
        changes["model"] = (live.model, offer.model)
    if offer.source is not None and (live.source or "").lower() != offer.source.lower():  # ARM ids: any case
        changes["source"] = (live.source, offer.source)
    changes.update(sku_and_field_changes(live, s))
    if not changes and any(live.tags.get(k) != v for k, v in tags.items()):
        changes["tags"] = ("(as before)", f"(ftops' tags of {offer.ref}'s promotion)")  # retag, same model
    return changes


def _drift(live: LiveDeployment | None, s: DeploymentSpec, changes: dict[str, Any]) -> DriftClass | None:
    """`lags`: it serves an earlier model its upstream has moved on from; `modified`: changed by hand."""
    if live is None:
        return None
    if "model" in changes:
        return "lags" if live.tags.get(ident.TAG_MODEL) == live.model else "modified"
    if live.tags.get(ident.META_HASH) == deployment_hash(s):
        return "modified"  # the spec is what ftops wrote last: someone changed the deployment since
    return None


def _soak_left(ctx: Ctx, s: DeploymentSpec, offer: Offer) -> float | None:
    """Seconds of soak time left (0: none asked, or over); None when it cannot be measured."""
    follow = s.follows
    if follow is None or not follow.soak:
        return 0.0
    if offer.since is None:
        return None
    return max(0.0, offer.since + follow.soak - ctx.live.now)


def _duration(seconds: float) -> str:
    minutes = int(seconds + 59) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
