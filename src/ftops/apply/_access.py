"""Before an apply changes anything: does the identity hold every permission its actions need?

Azure says what an identity may do at a scope (Microsoft.Authorization `Permissions - List For Resource`:
one ARM read). ftops asks once, where it reaches Azure with Entra ID tokens (an API key bypasses roles),
and refuses the whole apply before any change when an action would be refused: without it, an identity
that may train but not deploy (Azure AI User) would upload and train, then fail at the deployment. When
the permissions cannot be read, apply goes on, and an action Azure refuses fails alone with the same one
line (`ftops.foundry` names the action from the request it sent).
"""

from __future__ import annotations

from .._exceptions import FoundryError, PreflightFailed
from ..foundry import (
    CHAT,
    DEPLOYMENTS_DELETE,
    DEPLOYMENTS_WRITE,
    EVALS_WRITE,
    FILES_DELETE,
    FILES_WRITE,
    FINE_TUNES_WRITE,
    RAI_POLICIES_DELETE,
    RAI_POLICIES_WRITE,
    FoundryClient,
    Need,
    is_data,
    lacks,
)
from ..plan import (
    Action,
    CancelJob,
    CreateJob,
    DeleteDeployment,
    DeleteFile,
    DeleteRaiPolicy,
    EvaluateCandidates,
    ImportDataset,
    PauseJob,
    Plan,
    PutRaiPolicy,
    ResumeJob,
    RollOut,
    UploadDataset,
)

# What each action sends that Azure authorizes (reads need `*/read`, which every role has).
_NEEDS: dict[type[Action], tuple[str, ...]] = {
    UploadDataset: (FILES_WRITE,), ImportDataset: (FILES_WRITE,), CreateJob: (FINE_TUNES_WRITE,),
    PauseJob: (FINE_TUNES_WRITE,), ResumeJob: (FINE_TUNES_WRITE,), CancelJob: (FINE_TUNES_WRITE,),
    RollOut: (DEPLOYMENTS_WRITE, CHAT), DeleteDeployment: (DEPLOYMENTS_DELETE,), DeleteFile: (FILES_DELETE,),
    EvaluateCandidates: (DEPLOYMENTS_WRITE, DEPLOYMENTS_DELETE, EVALS_WRITE, CHAT),  # canaries, eval runs
    PutRaiPolicy: (RAI_POLICIES_WRITE,), DeleteRaiPolicy: (RAI_POLICIES_DELETE,),
}


def needs(a: Action) -> tuple[str, ...]:
    found = _NEEDS.get(type(a), ())
    if isinstance(a, RollOut) and a.action == "replace":
        found = (*found, DEPLOYMENTS_DELETE)
    return found


def missing(plan: Plan, client: FoundryClient) -> list[tuple[str, str]]:
    """(resource, action) for each action of `plan` the identity may not take; [] when not known."""
    if not client.entra_planes or not any(needs(a) for a in plan.actions if not a.blocked):
        return []
    try:
        allowed = client.permissions()
    except FoundryError:
        return []  # advice only: apply goes on and a refused action fails with its one line
    out = []
    for a in plan.actions:
        for action in needs(a) if not a.blocked else ():
            data = is_data(action)
            if ("data" if data else "arm") in client.entra_planes and not allowed.allows(Need(action, data)):
                out.append((a.resource, action))
    return out


def require_permissions(plan: Plan, client: FoundryClient) -> None:
    """Refuse, before any change, a plan the identity's roles would refuse part of (one line)."""
    lacking = missing(plan, client)
    if not lacking:
        return
    resource, action = lacking[0]
    others = sorted({a for _, a in lacking} - {action})
    also = f"; it also lacks {', '.join(others)}" if others else ""
    raise PreflightFailed(f"preflight: {resource}: {lacks(action)}{also}; nothing was applied")
