"""Content filter policies (ARM `accounts/raiPolicies`, Microsoft.CognitiveServices 2025-09-01): live policies as
plain data, and a write that changes only what ftops owns.

As for deployments (`_deployments.py`), ARM's PUT replaces the whole policy: every write starts from the policy
as ARM returned it and sets only what the spec sets. `basePolicyName` and `mode` when set; a content filter or a
custom blocklist by its (name, source), field by field, so an entry the spec does not name, or a field of an
entry it leaves unset, keeps its live value; the tags named `ftops-*` (others kept). Properties the SDK does
not model (customTopics of a newer API version, say) are written back as they were read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._deployments import merged_tags

POLICY_FIELDS = ("basePolicyName", "mode")  # the scalar RaiPolicyProperties a spec may own


@dataclass(frozen=True)
class FilterEntry:
    """A content filter (RaiPolicyContentFilter), as ARM spells its fields; None: not set (or not owned)."""

    name: str
    source: str  # Prompt | Completion
    severityThreshold: str | None = None
    blocking: bool | None = None
    enabled: bool | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.name.lower(), self.source.lower()


@dataclass(frozen=True)
class BlocklistEntry:
    """A custom blocklist applied by the policy (CustomBlocklistConfig)."""

    blocklistName: str
    source: str
    blocking: bool | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.blocklistName.lower(), self.source.lower()


@dataclass(frozen=True)
class LiveRaiPolicy:
    name: str
    policy_type: str | None  # UserManaged | SystemManaged (Azure's built-in policies)
    base_policy_name: str | None
    mode: str | None
    content_filters: tuple[FilterEntry, ...]
    custom_blocklists: tuple[BlocklistEntry, ...]
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, p: Any) -> LiveRaiPolicy:
        props = getattr(p, "properties", None)
        filters = getattr(props, "content_filters", None) or []
        lists = getattr(props, "custom_blocklists", None) or []
        return cls(name=str(p.name), policy_type=getattr(props, "type", None),
                   base_policy_name=getattr(props, "base_policy_name", None), mode=getattr(props, "mode", None),
                   content_filters=tuple(FilterEntry(str(f.name or ""), str(f.source or ""), f.severity_threshold,
                                                     f.blocking, f.enabled) for f in filters),
                   custom_blocklists=tuple(BlocklistEntry(str(b.blocklist_name or ""), str(b.source or ""), b.blocking)
                                           for b in lists),
                   tags=dict(getattr(p, "tags", None) or {}))


@dataclass(frozen=True)
class RaiPolicyWrite:
    """What ftops writes to a policy: the fields its spec sets (None: not owned) and ftops' own tags."""

    base_policy_name: str | None
    mode: str | None
    content_filters: tuple[FilterEntry, ...] | None
    custom_blocklists: tuple[BlocklistEntry, ...] | None
    tags: dict[str, str]


def policy_json(live: Any | None) -> dict[str, Any]:
    """The policy as ARM returned it, as a PUT body: writable fields, and the ones the SDK does not model."""
    if live is None:
        return {"properties": {}}
    out = _with_unknown(dict(live.serialize()), live)
    props = live.properties
    if props is not None:
        out["properties"] = _with_unknown(out.get("properties") or {}, props)
        for key, attr in (("contentFilters", "content_filters"), ("customBlocklists", "custom_blocklists")):
            items = getattr(props, attr, None)
            if items:
                out["properties"][key] = [_with_unknown(s, m) for s, m in zip(out["properties"][key], items,
                                                                              strict=True)]
    out.setdefault("properties", {})
    return out


def merged_policy(live: Any | None, write: RaiPolicyWrite) -> dict[str, Any]:
    """The body to PUT: `live` (an SDK RaiPolicy, None for a new one) with the fields `write` owns set."""
    body = policy_json(live)
    props = body["properties"]
    for key, value in zip(POLICY_FIELDS, (write.base_policy_name, write.mode), strict=True):
        if value is not None:
            props[key] = value
    if write.content_filters is not None:
        props["contentFilters"] = _merged_entries(props.get("contentFilters") or [], write.content_filters,
                                                  ("name", "source"))
    if write.custom_blocklists is not None:
        props["customBlocklists"] = _merged_entries(props.get("customBlocklists") or [], write.custom_blocklists,
                                                    ("blocklistName", "source"))
    body["tags"] = merged_tags(body.get("tags"), write.tags)
    return body


def _merged_entries(live: list[dict[str, Any]], wanted: Iterable[FilterEntry | BlocklistEntry],
                    ident: tuple[str, str]) -> list[dict[str, Any]]:
    """`live` entries with each wanted entry's set fields written over the live entry of its (name, source)."""
    out = [dict(e) for e in live]
    index = {(str(e.get(ident[0], "")).lower(), str(e.get(ident[1], "")).lower()): i for i, e in enumerate(out)}
    for entry in wanted:
        fields = {k: v for k, v in vars(entry).items() if v is not None}
        at = index.get(entry.key)
        if at is None:
            index[entry.key] = len(out)
            out.append(fields)
        else:  # the live entry keeps its own spelling of its name and source (matched without case)
            out[at].update({k: v for k, v in fields.items() if k not in ident})
    return out


def _with_unknown(serialized: dict[str, Any], model: Any) -> dict[str, Any]:
    unknown = getattr(model, "additional_properties", None) or {}
    return {**copy.deepcopy(unknown), **serialized}
