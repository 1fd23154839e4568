"""Notifications, decided: the events a plan observes, and which of them a Notification spec still has to send.

Pure, like every planning step: events are read off the plan's own actions (a job's NoOp that names its
fine-tuned model is `job.succeeded`; a deployment in sync is `rollout.done`; an action with a tripped guard is
`guard.tripped`; drift that did not come from git is `drift`), each with a key naming what was observed
(the job id, the deployment and the model it serves, ...). What was sent is kept where Foundry keeps it, with
no state file: one claim file (purpose `evals`) per delivery, named `CLAIM_PREFIX<project>.<notification>.<key>.
<nonce>.jsonl`. A notice whose key has a claim is not sent again; apply claims before it sends, and of
racing claims the oldest wins (`apply/_notify.py`).

`policy.blocked` comes from the Policy kind: it calls `notices_for` with the rule that blocked the plan.
"""

from __future__ import annotations

from .._vocabulary import NotificationEvent
from ..checks import CheckedProject
from ..foundry import LiveFile
from . import _matching as ident
from ._actions import Action, NoOp, Notice
from ._context import Ctx

CLAIM_PREFIX = "ftops-notified."
# Drift that is news: not `unapplied` (a change git made and the next apply makes) nor `failed` (job.failed).
NEWS_DRIFT = ("modified", "deleted", "foreign", "retiring")


def claim_name(project: str, notification: str, key: str, nonce: str) -> str:
    return f"{CLAIM_PREFIX}{project}.{notification}.{key}.{nonce}.jsonl"


def parse_claim(filename: str) -> tuple[str, str, str] | None:
    """(project, notification, key) of a claim file's name, else None."""
    if not filename.startswith(CLAIM_PREFIX) or not filename.endswith(".jsonl"):
        return None
    parts = filename[len(CLAIM_PREFIX):-len(".jsonl")].split(".")
    return (parts[0], parts[1], parts[2]) if len(parts) == 4 else None


def claimed(files: list[LiveFile], project: str) -> set[tuple[str, str]]:
    """(notification, key) of every claim of this project: what was sent (or is being sent) already."""
    return {(p[1], p[2]) for f in files if (p := parse_claim(f.filename)) is not None and p[0] == project}


def notices_for(checked: CheckedProject, event: NotificationEvent, identity: object, resource: str,
                text: str) -> list[Notice]:
    """One notice per Notification spec that wants `event` (for another kind, e.g. Policy's `policy.blocked`):
    `identity` is what makes the event the same one on a later run (hashed into the key)."""
    key = ident.canonical_hash({"event": event, "identity": identity})
    return [Notice(notification=name, target=n.spec.target, event=event, key=key, resource=resource[:300],
                   text=text[:1000])
            for name, n in sorted(checked.project.notifications.items()) if event in n.spec.on]


def observed(a: Action) -> tuple[NotificationEvent, object, str] | None:
    """(event, identity, text) of what action `a` shows has happened, or None."""
    if a.guard is not None and a.live_id:
        return "guard.tripped", [a.live_id, a.guard.guard, a.guard.step], f"{a.resource} ({a.live_id}): {a.guard}"
    if a.kind == "FineTuningJob" and a.drift == "failed" and a.live_id:
        return "job.failed", a.live_id, f"{a.resource}: {a.reason}"
    if isinstance(a, NoOp) and a.kind == "FineTuningJob" and a.fine_tuned_model and a.live_id and not a.drift:
        return "job.succeeded", a.live_id, f"{a.resource}: {a.live_id} succeeded: {a.fine_tuned_model}"
    if isinstance(a, NoOp) and a.in_sync and a.served_model:
        return "rollout.done", [a.name, a.served_model], f"{a.resource} serves {a.served_model}"
    if a.drift in NEWS_DRIFT:
        return "drift", [a.resource, a.drift, a.live_id, sorted(a.changes)], f"{a.resource}: {a.drift}: {a.reason}"
    return None


def plan_notifications(ctx: Ctx) -> None:
    """The notices of this plan: events its actions observe that a Notification wants and has not sent."""
    if not ctx.checked.project.notifications:
        return
    files = ctx.live.notified_listed()
    if files is None:  # the refresh step lists the claims and plans again
        return
    sent = claimed(files, ctx.project)
    for a in ctx.actions:
        if (seen := observed(a)) is not None:
            event, identity, text = seen
            ctx.notices += [n for n in notices_for(ctx.checked, event, identity, a.resource, text)
                            if (n.notification, n.key) not in sent]
