"""Diff the specs against the live account and produce a Plan.

Two halves: `decide` is pure (specs + LiveState -> Plan) and unit-tested offline; `make_plan` is the
refresh loop that reads the listings, lets `decide` say which events and checkpoints it needs, fetches
exactly those, and decides again. `decide` runs the steps the registry lists (`_kinds.py`: one per kind,
in dependency order), which share a `Ctx` (`_context.py`); it names no kind itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import graphlib
import time
from collections.abc import Collection, Iterator
from typing import Any

from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveEval, LiveRaiPolicy, Snapshot, public_url
from ..spec import Resource
from . import _matching as ident
from ._actions import Action, Plan, Unmanaged, WaitJob
from ._adoption import managed_deployment
from ._context import Ctx
from ._cost import monthly_hosting
from ._follow import upstream_fingerprint
from ._kinds import STEPS
from ._live import LiveState, fetch, read_live
from ._policies import judge_policies
from ._preflight import preflight
from ._provenance import GitSource
from ._upstream import NO_UPSTREAM, Upstream

MAX_PASSES = 3  # listings; then events and checkpoints; a second round only if a pass asked for more


def fingerprint(snap: Snapshot, project: str, *, evals: list[LiveEval] | None = None,
                borrowed: Collection[str] = (), rai_policies: Collection[LiveRaiPolicy] = ()) -> str:
    """A hash of the live objects the plan depends on: this project's files and jobs, the jobs of other
    projects it re-attaches to or could (`borrowed`: same training content), all deployments, and this
    project's evals when the plan read them (the verdicts of evaluation gates live in their metadata)."""
    files = sorted((f.id, f.filename, f.status) for f in snap.files
                   if (p := ident.parse_file_name(f.filename)) is not None and p[0] == project)
    jobs = sorted((j.id, j.status, j.fine_tuned_model or "") for j in snap.jobs
                  if j.metadata.get(ident.META_PROJECT) == project or j.id in borrowed)
    deps = sorted((d.name, d.model or "", d.sku_name or "", d.capacity or 0, ident.canonical_hash(d.tags))
                  for d in snap.deployments)
    seen: dict[str, object] = {"files": files, "jobs": jobs, "deployments": deps}
    policies = sorted((p.name, ident.canonical_hash(dataclasses.asdict(p))) for p in rai_policies
                      if p.tags.get(ident.META_PROJECT) == project)
    if policies:  # only then: a project without content filter policies keeps the fingerprint it always had
        seen["raiPolicies"] = policies
    if evals is not None:  # only then: a plan without gates keeps the fingerprint it always had
        seen["evals"] = sorted((e.id, ident.canonical_hash(e.metadata)) for e in evals
                               if e.metadata.get(ident.META_PROJECT) == project)
    return ident.canonical_hash(seen)


def foundry_name(checked: CheckedProject) -> str:
    """The Foundry document a plan is made for (recorded in the plan file for `apply PLANFILE`)."""
    foundry = checked.project.foundry
    return foundry.name if foundry is not None else ""


def spec_fingerprint(checked: CheckedProject) -> str:
    """A hash of every spec document and of the bytes of every dataset they name."""
    p = checked.project
    resources: list[Resource[Any]] = [*([p.foundry] if p.foundry else [])]
    for collection in p.resources.values():  # every kind's resources (SPEC_KINDS names them)
        resources += collection.values()
    docs = [(r.kind, r.name, r.doc.data) for r in resources]
    data = sorted((name, report.sha256) for name, report in checked.reports.items())
    data += sorted((f"{ev}/{crit}", sha) for (ev, crit), sha in p.grader_sha256.items())
    return ident.canonical_hash({"docs": sorted(docs, key=lambda d: (d[0], d[1])), "data": data})


def decide(checked: CheckedProject, live: LiveState, *, prune: bool = False, endpoint: str = "",
           created_at: float | None = None, upstream: Upstream = NO_UPSTREAM,
           provenance: GitSource | None = None) -> Plan:
    """The actions that make the live state match the specs: a pure function of its inputs (`upstream`: what
    the accounts planned before this one offer it, `_upstream.py`; `provenance`: the git source the specs were
    read from, which the requests record and nothing decides by, `_provenance.py`)."""
    with _collector_paused():
        return _decide(checked, live, prune, endpoint, created_at, upstream, provenance)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """CPython's cyclic GC paused while deciding. Deciding builds many small objects and no garbage cycles worth
    collecting, and each full collection meanwhile scans every object alive, the specs and the live state
    included: at 5,000 resources that made deciding 14x slower than at 500 instead of 10x."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decide(checked: CheckedProject, live: LiveState, prune: bool, endpoint: str, created_at: float | None,
            upstream: Upstream, provenance: GitSource | None) -> Plan:
    project = checked.project.project_name
    ctx = Ctx(checked, live, project, prune, upstream=upstream, source=provenance)
    for step in STEPS:  # each kind in dependency order (`_kinds.py`)
        step.run(ctx)
    _mark_pending(ctx.actions)
    findings = preflight(ctx)
    seen = fingerprint(live.snapshot, project, evals=live.evals, borrowed=ctx.borrowed,
                       rai_policies=live.rai_policies.values())
    plan = Plan(project=project, endpoint=endpoint, fingerprint=seen, upstream_fingerprint=upstream_fingerprint(ctx),
                spec_fingerprint=spec_fingerprint(checked), foundry=foundry_name(checked), spec_dir=_spec_dir(checked),
                created_at=created_at if created_at is not None else live.now, actions=ctx.actions, prune=prune,
                api_calls=live.api_calls, hosting_before_usd=_hosting_before(ctx),
                unmanaged=_unmanaged(ctx), findings=findings, notifications=ctx.notices, provenance=provenance)
    plan.policies = judge_policies(ctx, plan)  # last: a rule reads the whole plan and its cost
    return plan


def make_plan(checked: CheckedProject, client: FoundryClient, *, prune: bool = False,
              live: LiveState | None = None, upstream: Upstream = NO_UPSTREAM,
              provenance: GitSource | None = None) -> Plan:
    """Read live state (unless given), then decide; fetch what a pass needed and decide again. `provenance`:
    the git source the caller read (the planner reads no git)."""
    state = live or read_live(client)
    plan = decide(checked, state, prune=prune, endpoint=client.target, created_at=time.time(), upstream=upstream,
                  provenance=provenance)
    for _ in range(MAX_PASSES - 1):
        needs = state.take_needs()
        if not needs:
            break
        fetch(state, client, needs)
        plan = decide(checked, state, prune=prune, endpoint=client.target, created_at=time.time(), upstream=upstream,
                      provenance=provenance)
    # For people, and kept in plan files: never a credential a connection field may carry.
    plan.data_plane, plan.identity = public_url(client.endpoint), client.identity
    plan.foundry_project = client.foundry_project
    return plan


def _mark_pending(actions: list[Action]) -> None:
    """An action that waits (directly or through others) for a running job is pending, not a change now."""
    by_id = {a.id: a for a in actions}
    graph = {a.id: {d for d in a.depends_on if d in by_id} for a in actions}
    for aid in graphlib.TopologicalSorter(graph).static_order():
        a = by_id[aid]
        if any(isinstance(by_id[d], WaitJob) or by_id[d].pending for d in graph[aid]):
            a.pending = True


def _spec_dir(checked: CheckedProject) -> str:
    return checked.project.spec_dir_shown  # as given on the command line: `apply PLANFILE` loads it again


def _hosting_before(ctx: Ctx) -> float:
    """Monthly hosting of this project's deployments as they are now: those a spec names (priced by their
    spec), and those no spec names (orphans, canaries left behind: priced by the job they serve)."""
    total = 0.0
    for d in ctx.live.snapshot.deployments:
        if not managed_deployment(ctx, d) or d.sku is None:
            continue
        spec = ctx.checked.project.deployments.get(d.name)
        total += monthly_hosting(ctx.checked.served_model_info(spec), d.sku) if spec is not None \
            else ctx.prices.monthly(d) or 0.0
    return total


def _unmanaged(ctx: Ctx) -> Unmanaged:
    """The account's deployments of other projects or made by hand: not this plan's, but on the same bill."""
    others = [d for d in ctx.live.snapshot.deployments if not managed_deployment(ctx, d)]
    prices = [ctx.prices.monthly(d) for d in others]
    return Unmanaged(deployments=len(others), unpriced=sum(1 for p in prices if p is None),
                     monthly_usd=sum(p for p in prices if p is not None))
