"""Planning content filter policies (RaiPolicy): create or update them with the fields their specs set, tell a
hand edit (`modified`) from a spec change, prune the ones no spec names, and make a deployment's rollout wait
for the policy it names.

A policy ftops manages carries its tags (`ftops-project`, `ftops-spec`, `ftops-hash` of the fields the spec sets).
When the live policy differs from the spec in a field the spec sets: with the hash of this very spec, someone
edited it after ftops wrote it (`modified` drift, reverted by the next apply); with another, the spec changed.
Fields and entries the spec does not set are never compared. Pure: reads only `ctx.live`.
"""

from __future__ import annotations

from typing import Any

from ..foundry import BlocklistEntry, FilterEntry, LiveRaiPolicy, RaiPolicyWrite
from ..spec import RaiPolicySpec, Resource
from . import _matching as ident
from ._actions import DeleteRaiPolicy, NoOp, Promote, PutRaiPolicy, RollOut, Scalar
from ._context import Ctx

PRUNE_HINT = "managed by ftops but no spec names it; `apply --prune` deletes it"


def rai_policy_hash(spec: RaiPolicySpec) -> str:
    return ident.canonical_hash(spec.owned())


def policy_tags(project: str, name: str, spec: RaiPolicySpec) -> dict[str, str]:
    return {ident.META_PROJECT: project, ident.META_SPEC: name, ident.META_HASH: rai_policy_hash(spec)}


def _entries(s: RaiPolicySpec) -> tuple[tuple[FilterEntry, ...] | None, tuple[BlocklistEntry, ...] | None]:
    """The spec's content filters and blocklists in the Foundry layer's terms (None: the spec sets none)."""
    filters = None if s.content_filters is None else tuple(
        FilterEntry(f.name, f.source, f.severity_threshold, f.blocking, f.enabled) for f in s.content_filters)
    lists = None if s.custom_blocklists is None else tuple(
        BlocklistEntry(b.blocklist_name, b.source, b.blocking) for b in s.custom_blocklists)
    return filters, lists


def policy_write(project: str, res: Resource[RaiPolicySpec]) -> RaiPolicyWrite:
    """What apply writes for the spec `res` (only the fields it sets, and ftops' tags)."""
    filters, lists = _entries(res.spec)
    return RaiPolicyWrite(res.spec.base_policy_name, res.spec.mode, filters, lists,
                          policy_tags(project, res.name, res.spec))


def policy_changes(live: LiveRaiPolicy, spec: RaiPolicySpec) -> dict[str, tuple[Scalar, Scalar]]:
    """(live, spec) of every field the spec sets that differs live, named as ARM spells it."""
    filters, lists = _entries(spec)
    changes: dict[str, tuple[Scalar, Scalar]] = {}
    for key, live_value, want in (("basePolicyName", live.base_policy_name, spec.base_policy_name),
                                  ("mode", live.mode, spec.mode)):
        if want is not None and live_value != want:
            changes[key] = (live_value, want)
    _entry_changes(changes, "contentFilters", live.content_filters, filters or ())
    _entry_changes(changes, "customBlocklists", live.custom_blocklists, lists or ())
    return changes


def _entry_changes(changes: dict[str, tuple[Scalar, Scalar]], what: str,
                   live: tuple[FilterEntry, ...] | tuple[BlocklistEntry, ...],
                   wanted: tuple[FilterEntry, ...] | tuple[BlocklistEntry, ...]) -> None:
    by_key: dict[tuple[str, str], Any] = {e.key: e for e in live}
    for entry in wanted:
        found = by_key.get(entry.key)
        label = f"{what}[{entry.name if isinstance(entry, FilterEntry) else entry.blocklistName}/{entry.source}]"
        if found is None:
            changes[label] = (None, "added")
            continue
        for field, value in vars(entry).items():
            if value is not None and getattr(found, field) != value and field not in ("name", "blocklistName",
                                                                                      "source"):
                changes[f"{label}.{field}"] = (getattr(found, field), value)


def plan_rai_policies(ctx: Ctx) -> None:
    """Every RaiPolicy spec (before the deployments, which may name them)."""
    for res in ctx.checked.project.rai_policies.values():
        _plan_policy(ctx, res)


def _plan_policy(ctx: Ctx, res: Resource[RaiPolicySpec]) -> None:
    name, spec = res.name, res.spec
    live = ctx.live.rai_policies.get(name.lower())
    wanted = rai_policy_hash(spec)
    common: dict[str, Any] = {"kind": "RaiPolicy", "name": name, "live_id": live.name if live else None}
    if live is None:
        changes: dict[str, tuple[Scalar, Scalar]] = {k: (None, v) for k, v in spec.owned().items()
                                                     if not isinstance(v, list)}
        changes.update({f"{k} entries": (None, len(v)) for k, v in spec.owned().items() if isinstance(v, list)})
        ctx.add(PutRaiPolicy(id=f"raipolicy.{name}:create", action="create", spec_hash=wanted, changes=changes,
                             reason="create the content filter policy", **common))
        return
    if live.tags.get(ident.META_PROJECT) != ctx.project:
        owner = live.tags.get(ident.META_PROJECT)
        why = (f"a content filter policy named {live.name} exists and is managed by project {owner}" if owner else
               f"a content filter policy named {live.name} exists and is not managed by ftops") + \
            "; ftops will not take it over"
        ctx.add(NoOp(id=f"raipolicy.{name}:no-op", reason=why, blocked=why, drift="foreign", **common))
        return
    changes = policy_changes(live, spec)
    by_hand = live.tags.get(ident.META_HASH) == wanted
    if not changes and by_hand:
        ctx.add(NoOp(id=f"raipolicy.{name}:no-op", reason="in sync", **common))
        return
    if by_hand:
        reason = "changed outside ftops; revert " + ", ".join(changes)
    elif changes:
        reason = "spec changed: " + ", ".join(changes)
    else:
        reason = "spec changed (the live policy already has its values): retag"
        changes = {ident.META_HASH: (live.tags.get(ident.META_HASH), wanted)}
    ctx.add(PutRaiPolicy(id=f"raipolicy.{name}:update", action="update", spec_hash=wanted, changes=changes,
                         reason=reason, drift="modified" if by_hand else None, **common))


def _orphans(ctx: Ctx) -> None:
    """Managed policies no spec names: pruned with --prune once no deployment uses them (a rollout of this plan
    that moves a deployment to another policy runs first), else listed as prune candidates."""
    specs = {n.lower() for n in ctx.checked.project.rai_policies}
    moved = {a.name: a for a in ctx.actions if isinstance(a, RollOut | Promote) and "raiPolicyName" in a.settings}
    for key, live in sorted(ctx.live.rai_policies.items()):
        if live.tags.get(ident.META_PROJECT) != ctx.project or key in specs:
            continue
        users = [d.name for d in ctx.live.snapshot.deployments
                 if str(d.settings.get("raiPolicyName", "")).lower() == key]
        staying = sorted(u for u in users if u not in moved or moved[u].settings["raiPolicyName"].lower() == key)
        common: dict[str, Any] = {"kind": "RaiPolicy", "name": live.name, "live_id": live.name}
        if ctx.prune and not staying:
            ctx.add(DeleteRaiPolicy(id=f"raipolicy.{live.name}:delete", reason="no spec names it: pruned (--prune)",
                                    depends_on=[moved[u].id for u in sorted(users)], **common))
        elif ctx.prune:
            ctx.add(NoOp(id=f"raipolicy.{live.name}:no-op", drift="unapplied", **common,
                         reason=f"no spec names it; kept while deployment {', '.join(staying)} uses it"))
        else:
            ctx.add(NoOp(id=f"raipolicy.{live.name}:no-op", reason=PRUNE_HINT, drift="unapplied", **common))


def order_with_deployments(ctx: Ctx) -> None:
    """After the deployments are planned: a rollout waits for the write of the content filter policy its spec
    names (it must exist first), and a policy no spec names is deleted only after the rollouts moving away."""
    _orphans(ctx)
    puts = {a.name.lower(): a.id for a in ctx.actions if isinstance(a, PutRaiPolicy)}
    for a in ctx.actions:
        policy = a.settings.get("raiPolicyName") if isinstance(a, RollOut | Promote) else None
        if isinstance(a, RollOut | Promote) and policy is not None and policy.lower() in puts:
            a.depends_on = list(dict.fromkeys([*a.depends_on, puts[policy.lower()]]))
