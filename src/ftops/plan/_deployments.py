"""Planning deployments (roll forward, recreate, revert, gates) and the managed objects no spec names."""

from __future__ import annotations

from typing import Any

from ..foundry import LiveDeployment
from ..spec import Resource
from . import _identity as ident
from ._context import Ctx
from ._cost import monthly_hosting
from ._model import Action
from ._resolve import Resolved, resolve_model

DEVELOPER_NOTE = "Foundry deletes Developer-tier deployments after 24 h"
INACTIVE_NOTE = "Foundry deletes fine-tuned deployments unused for 15 days"


def plan_deployment(ctx: Ctx, dep: Resource[Any]) -> None:
    s = dep.spec
    name = dep.name
    aid = f"deployment.{name}"
    sku = ident.ARM_SKU[s.sku.name]
    dhash = ident.canonical_hash({"model": s.model.model_dump(mode="json"), "sku": [sku, s.sku.capacity],
                                  "gates": s.gates.model_dump(mode="json")})
    live = next((d for d in ctx.snap.deployments if d.name == name), None)
    info = ctx.checked.base_model_info(s.model.job)
    monthly = monthly_hosting(info, s.sku.name)
    state = ctx.jobs[s.model.job]
    params: dict[str, Any] = {"job": s.model.job, "job_hash": state.hash, "sku": sku, "capacity": s.sku.capacity,
                              "spec_hash": dhash, "served_loss": _served_loss(live)}
    if live is not None and live.tags.get(ident.META_PROJECT) != ctx.project:
        owner = live.tags.get(ident.META_PROJECT)
        why = (f"a deployment named {name} exists and is managed by project {owner!r}" if owner else
               f"a deployment named {name} exists and is not managed by ftops") + "; ftops will not take it over"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", why, blocked=why, drift="unmanaged"))
        return
    if state.paused:
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; rollout on hold while job "
                       f"{s.model.job} is paused", cost={"monthly_usd": monthly if live else 0.0}))
        return
    if state.blocked and not state.succeeded:
        why = f"job {s.model.job}: {state.blocked}"
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; rollout blocked ({why})", blocked=why,
                       cost={"monthly_usd": monthly if live else 0.0}))
        return
    if not state.succeeded or state.live is None:
        assert state.action_id is not None
        if live is not None:
            reason = f"pending rollout: keeps serving {live.model} until job {s.model.job} finishes"
            ctx.add(Action(f"{aid}:update", "Deployment", name, "update", reason,
                           changes={"model": [live.model, f"<{s.model.job}: {_selector(s)}>"]},
                           depends_on=[state.action_id], params=params, cost={"monthly_usd": monthly}))
        else:
            ctx.add(Action(f"{aid}:create", "Deployment", name, "create",
                           f"deploy {_selector(s)} of job {s.model.job} once it finishes",
                           changes={"model": [None, f"<{s.model.job}: {_selector(s)}>"], "sku": [None, sku]},
                           depends_on=[state.action_id], params=params, cost={"monthly_usd": monthly}))
        return
    served_loss = _served_loss(live)
    if live is not None and live.tags.get(ident.TAG_JOB) == state.live.id and live.tags.get(ident.META_HASH) == dhash \
            and live.tags.get(ident.TAG_MODEL) == live.model and live.model:
        # ftops resolved this job's checkpoint when it rolled it out; a finished job's checkpoints do
        # not change, so a no-op plan needs no checkpoint call per deployment.
        resolved = Resolved(live.model, served_loss, "as rolled out")
    else:
        resolved = resolve_model(ctx.client, state.live, s, served_loss)
    if resolved.blocked:
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; {resolved.blocked}",
                       blocked=resolved.blocked, cost={"monthly_usd": monthly if live else 0.0}))
        return
    params.update(model=resolved.model, loss=resolved.loss, job_id=state.live.id)
    if live is None:
        note = DEVELOPER_NOTE if sku == "DeveloperTier" else INACTIVE_NOTE
        ctx.add(Action(f"{aid}:create", "Deployment", name, "create",
                       f"deploy {resolved.note}: {resolved.model} "
                       f"(if it existed before: deleted by a person, or {note})",
                       changes={"model": [None, resolved.model], "sku": [None, f"{sku} x{s.sku.capacity}"]},
                       params=params, drift="missing", cost={"monthly_usd": monthly}))
        return
    changes: dict[str, list[Any]] = {}
    if live.model != resolved.model:
        changes["model"] = [live.model, resolved.model]
    if live.sku_name != sku:
        changes["sku.name"] = [live.sku_name, sku]
    if live.capacity != s.sku.capacity:
        changes["sku.capacity"] = [live.capacity, s.sku.capacity]
    if live.tags.get(ident.META_HASH) != dhash:
        changes["tags.ftops-hash"] = [live.tags.get(ident.META_HASH), dhash]
    if not changes:
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"serves {live.model} ({resolved.note})",
                       cost={"monthly_usd": monthly}))
        return
    by_hand = live.tags.get(ident.META_HASH) == dhash and live.tags.get(ident.TAG_JOB) == state.live.id
    if "model" in changes and not by_hand:
        reason = f"roll out {resolved.note}: {resolved.model}"
    elif by_hand:
        reason = "changed outside ftops; revert " + ", ".join(changes)
    else:
        reason = "spec changed: " + ", ".join(changes)
    action = "replace" if "sku.name" in changes else "update"
    ctx.add(Action(f"{aid}:{action}", "Deployment", name, action, reason, changes=changes, params=params,
                   drift="modified" if by_hand else None, cost={"monthly_usd": monthly}))


def _selector(spec: Any) -> str:
    c = spec.model.checkpoint
    return c if isinstance(c, str) else f"epoch {c.epoch}"


def _served_loss(live: LiveDeployment | None) -> float | None:
    if live is None or ident.TAG_LOSS not in live.tags:
        return None
    try:
        return float(live.tags[ident.TAG_LOSS])
    except ValueError:
        return None


# -- orphans ------------------------------------------------------------------------------
def plan_orphans(ctx: Ctx) -> None:
    p = ctx.checked.project
    hint = "managed by ftops but no spec names it; `apply --prune` deletes it"
    for d in ctx.snap.deployments:
        if d.tags.get(ident.META_PROJECT) == ctx.project and d.name not in p.deployments:
            ctx.add(_orphan(ctx, "Deployment", d.name, f"deployment.{d.name}", f"serves {d.model}; {hint}",
                            {"deployment": d.name}, "delete"))
    wanted = {f.id for f in ctx.dataset_files.values()}
    wanted_names = {f.filename for f in ctx.dataset_files.values()}
    active_files = {fid for j in ctx.snap.jobs if j.active for fid in (j.training_file, j.validation_file) if fid}
    for f in ctx.snap.files:
        parsed = ident.parse_file_name(f.filename)
        if parsed and parsed[0] == ctx.project and f.id not in wanted and f.id not in active_files:
            action = _orphan(ctx, "File", f.filename, f"file.{f.id}", f"{f.id} ({f.bytes:,} bytes); {hint}",
                             {"file_id": f.id}, "delete")
            if f.filename in wanted_names:  # a second upload of the same bytes (two applies raced): harmless
                action.drift = None
                action.reason = f"{f.id} duplicates the upload in use; `apply --prune` deletes it"
            ctx.add(action)
    for j in ctx.snap.jobs:
        spec = j.metadata.get(ident.META_SPEC)
        if j.metadata.get(ident.META_PROJECT) == ctx.project and j.active and spec not in p.jobs:
            ctx.add(_orphan(ctx, "FineTuningJob", spec or j.id, f"job.{spec}:orphan:{j.id}",
                            f"{j.id} is {j.status} but no spec names {spec!r}; `apply --prune` cancels it "
                            "(jobs are never deleted)", {"job_id": j.id}, "cancel"))


def _orphan(ctx: Ctx, kind: str, name: str, aid: str, reason: str, params: dict[str, Any], verb: str) -> Action:
    if ctx.prune:
        return Action(f"{aid}:{verb}", kind, name, verb, reason.split(";")[0] + "; pruned (--prune)",
                      params=params, drift="unmanaged")
    return Action(f"{aid}:no-op", kind, name, "no-op", reason, params=params, drift="unmanaged")
