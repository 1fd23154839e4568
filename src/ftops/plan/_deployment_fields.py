"""The ARM properties and user tags a Deployment spec sets (raiPolicyName, versionUpgradeOption,
spilloverDeploymentName, `tags`): owned only when set, compared only then.

A property the spec sets is written by every rollout and reported `modified` when someone changes it live; one
it does not set is kept as it is live and never compared. A user tag is owned by its name (case-insensitively,
as Azure compares tag names): a tag the spec does not name is kept. Pure.
"""

from __future__ import annotations

from typing import Any

from ..foundry import LiveDeployment
from ..spec import DeploymentSpec
from ._actions import Scalar


def hashed_fields(s: DeploymentSpec) -> dict[str, Any]:
    """What a deployment's spec hash adds for these fields: nothing when the spec sets none (the hash of a
    deployment that sets none stays what it was)."""
    out: dict[str, Any] = dict(s.owned_settings())
    if s.tags:
        out["tags"] = dict(sorted(s.tags.items()))
    return out


def field_changes(live: LiveDeployment, s: DeploymentSpec) -> dict[str, tuple[Scalar, Scalar]]:
    """(live, spec) of every property and user tag the spec sets that differs live."""
    changes: dict[str, tuple[Scalar, Scalar]] = {}
    for key, want in s.owned_settings().items():
        have = live.settings.get(key)
        if have != want:
            changes[key] = (have if isinstance(have, str | int | float | bool) else None, want)
    lowered = {k.lower(): v for k, v in live.tags.items()}
    for key, want in (s.tags or {}).items():
        if lowered.get(key.lower()) != want:
            changes[f"tags.{key}"] = (lowered.get(key.lower()), want)
    return changes


def sku_and_field_changes(live: LiveDeployment, s: DeploymentSpec) -> dict[str, tuple[Any, Any]]:
    """What differs between a live deployment and its spec besides the model: the sku's name and capacity, and
    the ARM fields and user tags the spec sets (shared by a rollout and a promotion)."""
    changes: dict[str, tuple[Any, Any]] = {}
    if live.sku != s.sku.name:
        changes["sku.name"] = (live.sku, s.sku.name)
    if live.capacity != s.sku.capacity:
        changes["sku.capacity"] = (live.capacity, s.sku.capacity)
    changes.update(field_changes(live, s))
    return changes
