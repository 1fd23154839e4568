"""The `RaiPolicy` kind: a content filter policy (ARM `Microsoft.CognitiveServices/accounts/raiPolicies`).

Its spec is ARM's `RaiPolicyProperties` as ARM spells them (Azure/azure-rest-api-specs, Microsoft.CognitiveServices
stable/2025-09-01/cognitiveservices.json, commit f515332: RaiPolicyProperties, RaiPolicyContentFilter,
CustomBlocklistConfig), checked offline against ARM's enums. ftops owns the fields a spec sets: a content filter
or blocklist is owned by its (name, source), one by one, so one the spec does not name is kept as it is.
A Deployment's `raiPolicyName` names one of these specs or one of Azure's built-in policies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StringConstraints, model_validator

from .._exceptions import Problem
from .._vocabulary import BUILTIN_RAI_POLICIES, BUILTIN_RAI_PREFIX, ContentLevel, RaiContentSource, RaiPolicyMode
from ._strict import Strict as _Strict

if TYPE_CHECKING:
    from ._project import Project

# A content filter's name as ARM lists them (Hate, Selfharm, Jailbreak, Protected Material Text...).
FilterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9 _-]{0,63}$")]
# ARM's name of a policy or blocklist (a path segment): letters, digits, '_', '.', '-'.
ArmName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]




class ContentFilter(_Strict):
    """One of ARM's RaiPolicyContentFilter: a category filtered on prompts or on completions."""

    name: FilterName
    source: RaiContentSource
    severity_threshold: ContentLevel | None = None
    blocking: bool | None = None
    enabled: bool | None = None


class CustomBlocklist(_Strict):
    """One of ARM's CustomBlocklistConfig: a blocklist of the account applied to prompts or completions."""

    blocklist_name: ArmName
    source: RaiContentSource
    blocking: bool | None = None


class RaiPolicySpec(_Strict):
    base_policy_name: ArmName | None = None
    mode: RaiPolicyMode | None = None
    content_filters: tuple[ContentFilter, ...] | None = None
    custom_blocklists: tuple[CustomBlocklist, ...] | None = None

    @model_validator(mode="after")
    def _one_entry_each(self) -> RaiPolicySpec:
        # ARM identifies a filter by its name and source (x-ms-identifiers): two entries would be two owners.
        filters = [(f.name.lower(), f.source) for f in self.content_filters or ()]
        lists = [(b.blocklist_name.lower(), b.source) for b in self.custom_blocklists or ()]
        for what, keys in (("contentFilters", filters), ("customBlocklists", lists)):
            dup = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
            if dup is not None:
                raise ValueError(f"{what} names {dup[0]!r} for {dup[1]} twice")
        if self.base_policy_name is not None and self.base_policy_name not in BUILTIN_RAI_POLICIES:
            raise ValueError(f"basePolicyName must be one of Azure's built-in policies {list(BUILTIN_RAI_POLICIES)} "
                             f"(got {self.base_policy_name!r})")
        return self

    def owned(self) -> dict[str, Any]:
        """The fields this spec sets, as ARM spells them (what a write sets and a plan compares)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def builtin(name: str) -> bool:
    return name in BUILTIN_RAI_POLICIES


def check_rai_references(project: Project, problems: list[Problem]) -> None:
    """Every Deployment's raiPolicyName names a RaiPolicy spec or a built-in policy (file:line when not)."""
    for dep in project.deployments.values():
        name = dep.spec.rai_policy_name
        if name is None or builtin(name) or name in project.rai_policies:
            continue
        if name.startswith(BUILTIN_RAI_PREFIX):
            why = f"is not one of Azure's built-in policies ({', '.join(BUILTIN_RAI_POLICIES)})"
        else:
            why = "which no RaiPolicy spec defines (nor is it a built-in policy: " + \
                  ", ".join(BUILTIN_RAI_POLICIES) + ")"
        problems.append(Problem(f"raiPolicyName names {name!r}, {why}", dep.path, dep.line_of("raiPolicyName")))
