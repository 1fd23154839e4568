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
from ..foundry import FoundryClient, Need, is_data, lacks
from ..plan import Plan
from ._steps import needs


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
