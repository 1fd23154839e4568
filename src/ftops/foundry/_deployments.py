"""A deployment write that changes only what ftops owns (as Kubernetes server-side apply does).

ARM's PUT replaces the whole resource: a property the body leaves out goes back to Azure's default.
A rollout that sent only model, sku and tags would reset a content filter (`raiPolicyName`) a security
team set to the built-in default, and drop tags that a person, Azure Policy or Terraform set, and
nothing would say so. So every write starts from the live deployment as ARM returned it, and changes:

- `properties.model` (the model ftops rolls out: format, name, version),
- `sku.name` and `sku.capacity` (the sku's other fields are kept while its name stays),
- the tags named `ftops-*` (ftops' namespace: its own tags are replaced as a set, the others kept).

Everything else ARM lets a client write (`raiPolicyName`, `versionUpgradeOption`, `capacitySettings`,
`spilloverDeploymentName`, `parentDeploymentName`, `scaleSettings`, the model's `source`...) is written
back as it was read. `currentCapacity` is the one exception: it mirrors `sku.capacity`, so it follows
the capacity ftops writes. Read-only fields (provisioningState, rateLimits, etag...) are never sent: the
SDK's serializer drops them.

Azure adds deployment properties faster than the SDK's models learn them (a property of a newer API
version, or one ARM returns without documenting it). The SDK reads those into `additional_properties`
but never serializes them, so a body built by the SDK alone would reset them: `wire()` writes them back.
Some of them may be read-only: ARM's resource provider contract has providers ignore read-only properties
in a PUT (so that a client can GET, change and PUT back), which is what this is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

from ._live_objects import OWNED_TAG_PREFIX, UNOWNED_PROPERTIES
from ._wire import arm_sku

OWNER_TAG = "ftops-project"  # the namespace (project) whose specs manage the object
# When the deployment began serving its model (epoch seconds, Foundry's clock as apply last saw it): a later
# stage's soak time counts from it. Not part of any hash; kept as it is by a write of the same model.
ROLLED_AT_TAG = "ftops-rolled-at"
# Azure's tag limits (Learn, "Use tags to organize your Azure resources", Limitations): 50 name-value pairs
# per resource, names up to 512 characters, values up to 256. ARM refuses a PUT past them.
MAX_TAGS, MAX_TAG_NAME, MAX_TAG_VALUE = 50, 512, 256


def owned_tag(name: str) -> bool:
    """Whether tag `name` is in ftops' namespace. Azure's tag names are case-insensitive, so `FTOPS-x`
    set by hand is the tag `ftops-x`: keeping both would be two spellings of one name in one write."""
    return name.lower().startswith(OWNED_TAG_PREFIX)


def tag_problem(tags: dict[str, str], ours: dict[str, str] | None) -> str | None:
    """Why Azure would refuse `tags` (the merged ones) on a deployment, in terms of what to change, or None."""
    too_long = [k for k, v in (ours or {}).items() if len(k) > MAX_TAG_NAME or len(v) > MAX_TAG_VALUE]
    if too_long:
        return f"ftops' tag {too_long[0]} is over Azure's limits ({MAX_TAG_NAME}-character names, " \
               f"{MAX_TAG_VALUE}-character values); please report"
    if len(tags) > MAX_TAGS and ours:
        return (f"with ftops' {len(ours)} tags it would carry {len(tags)} tags, over Azure's {MAX_TAGS} per "
                f"resource; remove {len(tags) - MAX_TAGS} of its other tags")
    return None


def same_owner(live: dict[str, str] | None, ours: dict[str, str] | None) -> bool:
    """Whether a deployment tagged `live` is managed by the project that writes `ours` (ftops' tags)."""
    owner = {k.lower(): v for k, v in (live or {}).items()}.get(OWNER_TAG)
    return ours is not None and owner is not None and owner == ours.get(OWNER_TAG)


@dataclass(frozen=True)
class DeploymentWrite:
    """What ftops writes to a deployment, in the spec's terms (sku `Developer`, not `DeveloperTier`).

    `tags`: ftops' own tags, every one named `ftops-*`; None keeps the ones the deployment has (an
    intermediate write must not claim the new model yet).
    """

    model: str
    sku: str
    capacity: int
    tags: dict[str, str] | None = None
    format: str = "OpenAI"  # ARM's model format: a fine-tuned open-source model keeps its provider's
    # ARM's model version: "1" for a fine-tuned model or checkpoint (reference 001); a base model deploys by
    # its name and its own version (gpt-4.1-mini, 2025-04-14), as the account's models list spells them.
    version: str = "1"
    # ARM properties the spec sets (raiPolicyName, versionUpgradeOption, spilloverDeploymentName), as ARM spells
    # them, and the user tags it sets: written over the live ones; every other property and tag is kept.
    settings: dict[str, str] = field(default_factory=dict)
    user_tags: dict[str, str] = field(default_factory=dict)
    # ARM's `DeploymentModel.source`: the resource id of the account the model was trained in, for a model of
    # another account (Learn, "Cross region deployment"); None keeps the live deployment's.
    source: str | None = None
    # When this write happens (epoch seconds): written as ROLLED_AT_TAG when the model changes; None: not at all.
    rolled_at: float | None = None

    def __post_init__(self) -> None:
        foreign = [k for k in self.tags or {} if not owned_tag(k)]
        if foreign:  # a programming error: ftops writes only its own namespace
            raise ValueError(f"ftops writes only tags named {OWNED_TAG_PREFIX}*, not {foreign}")


def merged(live: Deployment | None, write: DeploymentWrite) -> Deployment:
    """The body to PUT: `live` (None for a new deployment) with ftops' fields set to `write`'s."""
    base = copy.deepcopy(live) if live is not None else Deployment()
    props = base.properties or DeploymentProperties()
    old_sku = base.sku
    name = arm_sku(write.sku)
    sku = Sku(name=name, capacity=write.capacity)
    if old_sku is not None and (old_sku.name or "").lower() == name.lower():
        sku.tier, sku.size, sku.family = old_sku.tier, old_sku.size, old_sku.family
        sku.additional_properties = dict(old_sku.additional_properties or {})
    old_model = props.model
    model = DeploymentModel(format=write.format, name=write.model, version=write.version)
    if old_model is not None:  # where the model comes from, and who publishes it, are not ftops' to reset
        model.source, model.source_account, model.publisher = (old_model.source, old_model.source_account,
                                                               old_model.publisher)
        model.additional_properties = dict(old_model.additional_properties or {})
    if write.source is not None:  # unless ftops promotes a model of another account: then it names that one
        if model.source != write.source:
            model.source_account = None  # a sourceAccount of another model would contradict it
        model.source = write.source
    kept = {k: getattr(props, k) for k in UNOWNED_PROPERTIES}
    kept.update({attr: write.settings[arm] for attr, arm in UNOWNED_PROPERTIES.items() if arm in write.settings})
    new_props = DeploymentProperties(model=model, **kept)
    new_props.additional_properties = dict(props.additional_properties or {})
    if props.current_capacity is not None:
        new_props.current_capacity = write.capacity
    tags = merged_tags(_with_user_tags(base.tags, write.user_tags), _rolled_at(write, old_model, base.tags))
    body = Deployment(sku=sku, properties=new_props, tags=tags)
    body.additional_properties = dict(base.additional_properties or {})
    return body


def wire(body: Deployment) -> dict[str, Any]:
    """The JSON of a PUT: the SDK's serialization plus the properties it read but does not model.

    The SDK's own fields win over an unknown one of the same name; read-only fields stay out.
    """
    out = _with_unknown(dict(body.serialize()), body)
    props = body.properties
    if props is not None:
        out["properties"] = _with_unknown(out.get("properties") or {}, props)
        if props.model is not None:
            out["properties"]["model"] = _with_unknown(out["properties"].get("model") or {}, props.model)
    if body.sku is not None:
        out["sku"] = _with_unknown(out.get("sku") or {}, body.sku)
    return out


def _with_unknown(serialized: dict[str, Any], model: Any) -> dict[str, Any]:
    unknown = getattr(model, "additional_properties", None) or {}
    return {**copy.deepcopy(unknown), **serialized}


def _with_user_tags(live: dict[str, str] | None, user: dict[str, str]) -> dict[str, str] | None:
    """The live tags with the spec's user tags set (a live tag of the same name in another case replaced: Azure's
    tag names are case-insensitive), the others kept."""
    if not user:
        return live
    names = {k.lower() for k in user}
    return {**{k: v for k, v in (live or {}).items() if k.lower() not in names}, **user}


def _rolled_at(write: DeploymentWrite, old: DeploymentModel | None,
               live: dict[str, str] | None) -> dict[str, str] | None:
    """ftops' tags of `write` with ROLLED_AT_TAG: the live one while the model stays, else the write's time."""
    if write.tags is None or write.rolled_at is None:
        return write.tags
    kept = {k.lower(): v for k, v in (live or {}).items()}.get(ROLLED_AT_TAG)
    same = old is not None and old.name == write.model
    return {**write.tags, ROLLED_AT_TAG: kept if same and kept else str(int(write.rolled_at))}


def merged_tags(live: dict[str, str] | None, ours: dict[str, str] | None) -> dict[str, str]:
    """Every tag that is not ftops' as it is, then ftops' own (`ours`; None keeps the live ones)."""
    live = dict(live or {})
    others = {k: v for k, v in live.items() if not owned_tag(k)}
    if ours is None:
        return live
    return {**others, **ours}
