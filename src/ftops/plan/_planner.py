"""Diff the specs against a snapshot of the live account and produce a Plan.

The steps live beside this module: datasets (`_datasets.py`), jobs (`_jobs.py`), deployments and
orphans (`_deployments.py`); they share a `Ctx` (`_context.py`).
"""

from __future__ import annotations

import time

from ..checks import CheckedProject
from ..foundry import FoundryClient, Snapshot
from . import _identity as ident
from ._context import Ctx
from ._datasets import plan_datasets
from ._deployments import plan_deployment, plan_orphans
from ._jobs import job_order, job_request, plan_job, stored_fields
from ._model import Plan

__all__ = ["fingerprint", "job_request", "make_plan", "stored_fields"]


def fingerprint(snap: Snapshot, project: str) -> str:
    """A hash of the live objects the plan depends on: this project's files and jobs, all deployments."""
    files = sorted((f.id, f.filename, f.status) for f in snap.files
                   if (p := ident.parse_file_name(f.filename)) is not None and p[0] == project)
    jobs = sorted((j.id, j.status, j.fine_tuned_model or "") for j in snap.jobs
                  if j.metadata.get(ident.META_PROJECT) == project)
    deps = sorted((d.name, d.model or "", d.sku_name or "", d.capacity or 0, ident.canonical_hash(d.tags))
                  for d in snap.deployments)
    return ident.canonical_hash({"files": files, "jobs": jobs, "deployments": deps})


def make_plan(checked: CheckedProject, client: FoundryClient, *, prune: bool = False,
              snapshot: Snapshot | None = None) -> Plan:
    """Read live state (unless given) and compute the actions that make it match the specs."""
    calls_before = client.api_calls
    snap = snapshot or client.snapshot()
    project = checked.project.project_name
    ctx = Ctx(checked, client, snap, project, prune)
    plan_datasets(ctx)
    for name in job_order(checked):
        plan_job(ctx, checked.project.jobs[name])
    for dep in checked.project.deployments.values():
        plan_deployment(ctx, dep)
    plan_orphans(ctx)
    return Plan(project=project, endpoint=client.target, fingerprint=fingerprint(snap, project),
                spec_dir=checked.project.spec_dir_shown, created_at=time.time(), actions=ctx.actions, prune=prune,
                api_calls=client.api_calls - calls_before)
