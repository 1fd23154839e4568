"""`ftops destroy`: the plan that deletes the project's deployments and files, judged by its policies.

Pure like `decide`: it reads a `LiveState` only. What it deletes is found as every planning pass finds it,
by ftops' tags and file names in this namespace (deployments tagged `ftops-project`, files named
`ftops.<namespace>.…` and `ftops-eval.<namespace>.…`), never by what the specs say now: a spec removed
since the last apply still has a deployment that bills by the hour. Jobs stay, as Foundry keeps them (a
job cannot be deleted; its trained model lives on with it). A file a running job still trains on is kept.
"""

from __future__ import annotations

import time

from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveFile, public_url
from . import _matching as ident
from ._actions import Action, Cost, DeleteDeployment, DeleteFile, NoOp, Plan
from ._context import Ctx
from ._evaluations import parse_items_file
from ._live import LiveState, Needs, fetch, read_live
from ._planner import fingerprint, foundry_name, spec_fingerprint
from ._policies import judge_policies

REASON = "ftops destroy"


def decide_destroy(checked: CheckedProject, live: LiveState, *, endpoint: str = "",
                   created_at: float | None = None) -> Plan:
    """Delete every deployment and file of this namespace (jobs stay); then the policies judge the plan."""
    project = checked.project.project_name
    ctx = Ctx(checked, live, project, prune=True)
    before = 0.0
    for d in live.snapshot.deployments:
        if d.tags.get(ident.META_PROJECT) != project:
            continue
        monthly = ctx.prices.monthly(d) or 0.0
        before += monthly
        ctx.add(DeleteDeployment(id=f"deployment.{d.name}:delete", name=d.name, live_id=d.name,
                                 reason=f"serves {d.model or 'nothing'}; saves {monthly:,.2f} USD/month ({REASON})",
                                 cost=Cost(monthly_usd=monthly)))
    for action in _file_actions(ctx, [*live.snapshot.files, *(live.eval_files or [])]):
        ctx.add(action)
    plan = Plan(project=project, endpoint=endpoint, fingerprint=fingerprint(live.snapshot, project),
                spec_fingerprint=spec_fingerprint(checked), foundry=foundry_name(checked),
                spec_dir=checked.project.spec_dir_shown,
                created_at=created_at if created_at is not None else live.now, actions=ctx.actions,
                api_calls=live.api_calls, hosting_before_usd=before)
    plan.policies = judge_policies(ctx, plan)
    return plan


def _file_actions(ctx: Ctx, files: list[LiveFile]) -> list[Action]:
    in_use = {fid: j.id for j in ctx.live.snapshot.jobs if j.active
              for fid in (j.training_file, j.validation_file) if fid}
    out: list[Action] = []
    for f in files:
        if not _ours(f.filename, ctx.project):
            continue
        if f.id in in_use:
            out.append(NoOp(id=f"file.{f.id}:no-op", kind="File", name=f.filename, live_id=f.id,
                            reason=f"{f.id}: kept, job {in_use[f.id]} is training on it (destroy again when it ends)"))
        else:
            out.append(DeleteFile(id=f"file.{f.id}:delete", name=f.filename, file_id=f.id, live_id=f.id,
                                  reason=f"{f.id} ({f.bytes:,} bytes; {REASON})"))
    return out


def _ours(filename: str, project: str) -> bool:
    parsed = ident.parse_file_name(filename) or parse_items_file(filename)
    return parsed is not None and parsed[0] == project


def make_destroy_plan(checked: CheckedProject, client: FoundryClient) -> Plan:
    """Read the listings (and the eval item uploads), then decide the destruction."""
    state = read_live(client)
    fetch(state, client, Needs(evals=True))
    plan = decide_destroy(checked, state, endpoint=client.target, created_at=time.time())
    plan.data_plane, plan.identity = public_url(client.endpoint), client.identity
    plan.foundry_project = client.foundry_project
    return plan
