"""Preflight: what apply would be refused, found before anything is spent (pure, on the LiveState).

Quota headroom from the account's usages (fine-tuned deployments, files, file bytes, queued jobs), base
models retired for training or deployment and the skus the account offers (its models list). Errors
refuse the plan with the fix; a model retiring within 90 days is a warning (and `retiring` drift).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..checks import root_base_model
from ..foundry import LiveModel
from ..spec import source_job_name
from ._actions import (
    CreateJob,
    DeleteDeployment,
    Finding,
    ImportDataset,
    PauseJob,
    Promote,
    ResumeJob,
    RollOut,
    UploadDataset,
    utc_text,
)
from ._context import Ctx

RETIRING_DAYS = 90
DAY = 86400.0
# The account's usage names for the quotas a plan can exceed (as the local Foundry reports them; Azure's
# names for fine-tuning quotas are not published, so an unknown name simply skips the check).
DEPLOYMENTS, FILES, FILE_BYTES, QUEUED_JOBS = ("FineTunedDeployments", "FineTuningFiles", "FineTuningFileBytes",
                                               "FineTuningQueuedJobs")


def preflight(ctx: Ctx) -> list[Finding]:
    findings = [*_pausing(ctx), *_models(ctx), *_quotas(ctx), *_developer_tier(ctx)]
    findings += [Finding(severity="warning", kind="unknown", resource="Foundry", message=f"not checked: {what}")
                 for what in ctx.live.unknown]
    return findings


def _date(ts: float) -> str:
    return utc_text(ts, "%Y-%m-%d")


def _models(ctx: Ctx) -> Iterator[Finding]:
    if ctx.live.models is None:
        return
    project = ctx.checked.project
    for a in ctx.actions:
        if isinstance(a, CreateJob) and not a.blocked:
            yield from _trainable(ctx, a.resource, root_base_model(project, a.name))
        elif isinstance(a, RollOut):
            yield from _deployable(ctx, a.resource, root_base_model(project, a.job), a.sku)
        elif isinstance(a, Promote) and a.name in project.deployments:  # the job behind the stage it follows
            job = source_job_name(project, project.deployments[a.name])
            yield from _deployable(ctx, a.resource, root_base_model(project, job), a.sku)
    rolled_out = {a.name for a in ctx.actions if isinstance(a, RollOut | Promote)}
    for name, dep in project.deployments.items():  # what serves now can retire too
        if name not in rolled_out:
            yield from _retiring(ctx, f"Deployment/{name}", root_base_model(project, source_job_name(project, dep)))


def _pausing(ctx: Ctx) -> Iterator[Finding]:
    """A pause or resume the base model does not support (validate refuses `paused: true`; a resume comes from
    a job paused outside ftops, or from a catalog that changed since): refused before any change."""
    project = ctx.checked.project
    for a in ctx.actions:
        if isinstance(a, PauseJob | ResumeJob) and a.name in project.jobs:
            info = ctx.checked.catalog.get(root_base_model(project, a.name))
            if info is not None and not info.pause_resume:
                verb = "pause" if isinstance(a, PauseJob) else "resume"
                yield Finding(severity="error", kind="unavailable", resource=a.resource, message=(
                    f"cannot {verb} {a.job_id}: Foundry does not pause or resume jobs on {info.name} "
                    f"({info.cite('pauseResume')}); cancel it or let it finish"))


def _offered(ctx: Ctx, resource: str, base: str) -> LiveModel | Finding:
    """The account's entry for `base`, or the finding that it offers no such model."""
    assert ctx.live.models is not None
    model = ctx.live.models.get(base)
    if model is None:
        info = ctx.checked.catalog.get(base)
        where = (" (it is offered on Foundry resources only, not on Azure OpenAI resources: "
                 f"{info.cite('methods')})") if info is not None and info.foundry_resources_only else ""
        return Finding(severity="error", kind="unavailable", resource=resource, message=(
            f"base model {base} is not offered by this account (its region or its models list){where}; pick one "
            "the account lists (`az cognitiveservices account list-models`)"))
    return model


def _trainable(ctx: Ctx, resource: str, base: str) -> Iterator[Finding]:
    model = _offered(ctx, resource, base)
    if isinstance(model, Finding):
        yield model
        return
    if model.fine_tune_retires is not None and model.fine_tune_retires <= ctx.live.now:
        yield Finding(severity="error", kind="retired", resource=resource, message=(
            f"base model {base} was retired for fine-tuning on {_date(model.fine_tune_retires)}; change "
            "baseModel to a model the account still fine-tunes"))
    elif model.lifecycle_status == "Deprecated":
        yield Finding(severity="error", kind="retired", resource=resource, message=(
            f"base model {base} is deprecated; change baseModel to a model the account still fine-tunes"))


def _deployable(ctx: Ctx, resource: str, base: str, sku: str) -> Iterator[Finding]:
    model = _offered(ctx, resource, base)
    if isinstance(model, Finding):
        yield model
        return
    if model.inference_retires is not None and model.inference_retires <= ctx.live.now:
        yield Finding(severity="error", kind="retired", resource=resource, message=(
            f"models fine-tuned from {base} stopped serving on {_date(model.inference_retires)}; retrain on a "
            "newer base model"))
        return
    if model.skus and sku not in model.skus:
        yield Finding(severity="error", kind="unavailable", resource=resource, message=(
            f"sku {sku} is not offered for {base} by this account (offered: {', '.join(model.skus)}); change "
            "sku.name"))
    yield from _retiring(ctx, resource, base)


def _retiring(ctx: Ctx, resource: str, base: str) -> Iterator[Finding]:
    model = (ctx.live.models or {}).get(base)
    when = model.inference_retires if model is not None else None
    if when is not None and ctx.live.now < when <= ctx.live.now + RETIRING_DAYS * DAY:
        days = int((when - ctx.live.now) // DAY)
        yield Finding(severity="warning", kind="retiring", resource=resource, message=(
            f"models fine-tuned from {base} stop serving on {_date(when)} (in {days} days); plan a retrain on a "
            "newer base model"))


def _developer_tier(ctx: Ctx) -> Iterator[Finding]:
    """A Deployment spec on the Developer tier: Azure deletes it 24 h after it is created, so it cannot
    keep serving (evaluation canaries are meant to be throwaway and are not Deployment specs)."""
    for name, dep in ctx.checked.project.deployments.items():
        if dep.spec.sku.name == "Developer":
            yield Finding(severity="warning", kind="ephemeral", resource=f"Deployment/{name}", message=(
                "sku Developer: Azure deletes Developer-tier deployments 24 hours after they are created (drift "
                "`deleted` the next day, recreated by the next apply); use Standard or GlobalStandard for a "
                "deployment that must keep serving"))


def _quotas(ctx: Ctx) -> Iterator[Finding]:
    usages = ctx.live.usages
    if usages is None:
        return
    new_deployments = [a for a in ctx.actions if isinstance(a, RollOut | Promote) and a.action == "create"
                       and not a.blocked]
    deleted = sum(1 for a in ctx.actions if isinstance(a, DeleteDeployment))
    uploads = [a for a in ctx.actions if isinstance(a, UploadDataset | ImportDataset)]
    jobs = [a for a in ctx.actions if isinstance(a, CreateJob) and not a.blocked]
    yield from _headroom(usages.get(DEPLOYMENTS), [a.resource for a in new_deployments], -deleted,
                         "fine-tuned deployments", "delete one (`apply --prune` removes those no spec names) or "
                         "request more quota")
    yield from _headroom(usages.get(FILES), [a.resource for a in uploads], 0, "files",
                         "delete unused files (`apply --prune`) or request more quota")
    byte_usage = usages.get(FILE_BYTES)
    if byte_usage is not None and uploads:
        total = byte_usage.current + sum(a.bytes for a in uploads)
        if total > byte_usage.limit:
            yield Finding(severity="error", kind="quota", resource=uploads[-1].resource, message=(
                f"the uploads would store {total / 2**20:,.0f} MiB of files; this resource allows "
                f"{byte_usage.limit / 2**20:,.0f} MiB: delete unused files (`apply --prune`)"))
    yield from _headroom(usages.get(QUEUED_JOBS), [a.resource for a in jobs if not a.pending], 0, "queued jobs",
                         "wait for queued jobs to start, or submit fewer at once")


def _headroom(usage: object, wanted: list[str], freed: int, what: str, fix: str) -> Iterator[Finding]:
    """One finding per resource past the quota, all with one message: one cause reads as one line."""
    from ..foundry import LiveUsage

    if not isinstance(usage, LiveUsage) or not wanted:
        return
    room = int(usage.limit - usage.current) - freed
    total = int(usage.current) + freed + len(wanted)
    message = f"this plan would bring {what} to {total}; this resource allows {int(usage.limit)}: {fix}"
    for resource in wanted[max(room, 0):]:
        yield Finding(severity="error", kind="quota", resource=resource, message=message)
