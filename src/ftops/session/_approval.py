"""A saved plan is an approval, not a program: apply runs a fresh decision, and only what the file approved.

`apply PLANFILE` decides again from the specs and the live state (the same pure planner `plan` uses) and
runs that fresh plan, only when the file names exactly its actions: each saved action equal, in every field
that decides what is sent or done (`Action.decisive`: ids, names, models, skus, capacities, gated, baseline,
files, dependencies, blocked ...), to the fresh action of its id, and no fresh action missing from the file.
Anything else is refused as a whole, before any change, naming the first action that differs. A file
cannot add a delete, unblock a gate, or point a rollout at another model: what runs is always what ftops
itself decides, and the file only says that a person saw it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .._exceptions import FoundryNotChosen, PlanNotApproved
from ..plan import Action, Plan

SHOWN_CHARS = 60
REFUSED = "refusing the whole plan (nothing was applied); plan again with this ftops"


def approve(saved: Plan, fresh: Plan) -> Plan:
    """`fresh` when `saved` approved exactly its actions; else PlanNotApproved naming the first difference."""
    decided = fresh.by_id()
    for a in saved.actions:
        b = decided.get(a.id)
        if b is None:
            raise PlanNotApproved(f"plan action {a.id} ({a.resource} {a.action}) is not what ftops decides for "
                                  f"these specs and this live state; {REFUSED}")
        difference = _first_difference(a, b)
        if difference is not None:
            raise PlanNotApproved(f"plan action {a.id}: {difference}; {REFUSED}")
    approved = {a.id for a in saved.actions}
    missing = next((b for b in fresh.actions if b.id not in approved), None)
    if missing is not None:
        raise PlanNotApproved(f"plan action {missing.id} ({missing.resource} {missing.action}) is missing from "
                              f"the plan file, and ftops decides it for these specs and this live state; {REFUSED}")
    return fresh


def _first_difference(saved: Action, fresh: Action) -> str | None:
    mine, theirs = saved.decisive(), fresh.decisive()
    for key in dict.fromkeys([*mine, *theirs]):
        if mine.get(key) != theirs.get(key):
            return (f"{key} is {_shown(mine.get(key))} in the plan file but {_shown(theirs.get(key))} in a fresh "
                    "decision")
    return None


def _shown(value: Any) -> str:
    """A short JSON rendering (control characters escaped: the file is untrusted text)."""
    text = orjson.dumps(value).decode()
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def saved_spec_dir(saved: Plan, cwd: Path) -> Path:
    """The spec directory a plan file names, only inside the directory apply runs in (the checkout): a file
    must not send apply to specs outside it (`../other`, `/etc`)."""
    named = Path(saved.spec_dir)
    where = (cwd / named).resolve()
    if not where.is_relative_to(cwd.resolve()):
        raise PlanNotApproved(f"the plan file names spec directory {_shown(saved.spec_dir)}, outside the directory "
                              f"apply runs in; {REFUSED}")
    return named


def saved_foundry(saved: Plan, given: str | None) -> str | None:
    """The Foundry `apply PLANFILE` works on: the one the plan was made for; `--foundry` may only repeat it."""
    recorded = saved.foundry or None
    if given is not None and recorded is not None and given != recorded:
        raise FoundryNotChosen(f"the plan file was made for Foundry {recorded!r}, not --foundry {given}")
    return recorded or given


def approve_replan(saved: Plan, fresh: Plan) -> Plan:
    """`fresh`, a plan made again for a stale `saved` one (`--on-stale replan`), when it stays within what the
    review of `saved` covered: the same namespace on the same account, and no interruption of serving the
    reviewed plan did not show (with `--allow-downtime`, a replan could otherwise delete and recreate a
    deployment nobody saw marked INTERRUPTS SERVING)."""
    if (fresh.project, fresh.endpoint) != (saved.project, saved.endpoint):
        raise PlanNotApproved(f"the plan file was made for namespace {saved.project} on {_shown(saved.endpoint)}, "
                              f"its specs now plan namespace {fresh.project} on {_shown(fresh.endpoint)}; "
                              f"{REFUSED}")
    reviewed = {(a.name, a.sku) for a in saved.interruptions}
    unreviewed = [a.name for a in fresh.interruptions if (a.name, a.sku) not in reviewed]
    if unreviewed:
        raise PlanNotApproved(f"planned again, the plan interrupts serving of {', '.join(unreviewed)}, which the "
                              f"reviewed plan did not; {REFUSED}")
    return fresh
