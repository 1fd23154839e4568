"""Azure RBAC as ftops needs it: the action each request needs, the roles that grant it, and what the
identity may do (Microsoft.Authorization `Permissions - List For Resource`, read once before an apply).

The four roles a fine-tuning team is given, from their Azure definitions: "Cognitive Services OpenAI
User" and "Cognitive Services OpenAI Contributor" (MicrosoftDocs/azure-docs, `articles/role-based-access-
control/built-in-roles/ai-machine-learning.md`), "Azure AI User" and "Azure AI Owner" (MicrosoftDocs/
azure-ai-docs, `articles/ai-foundry/concepts/rbac-azure-ai-foundry.md`; since renamed Foundry User and
Foundry Owner). Only their Microsoft.CognitiveServices entries matter to ftops. Azure matches `*` against
any characters, case-insensitively; an action is allowed when an entry grants it and none of the same
permission's not-entries takes it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

CS = "Microsoft.CognitiveServices"
OPENAI = f"{CS}/accounts/OpenAI"
FILES_WRITE = f"{OPENAI}/files/write"
FILES_DELETE = f"{OPENAI}/files/delete"
FINE_TUNES_WRITE = f"{OPENAI}/fine-tunes/write"
EVALS_WRITE = f"{OPENAI}/evals/write"
CHAT = f"{OPENAI}/deployments/chat/completions/action"
DEPLOYMENTS_WRITE = f"{CS}/accounts/deployments/write"
DEPLOYMENTS_DELETE = f"{CS}/accounts/deployments/delete"
RAI_POLICIES_WRITE = f"{CS}/accounts/raiPolicies/write"
RAI_POLICIES_DELETE = f"{CS}/accounts/raiPolicies/delete"
PERMISSIONS_API = "2022-04-01"  # Microsoft.Authorization permissions


@dataclass(frozen=True)
class Need:
    """An action a request needs; `data`: a data action (dataActions) rather than a control-plane one."""

    action: str
    data: bool


def is_data(action: str) -> bool:
    return action.lower().startswith(OPENAI.lower() + "/")


@dataclass(frozen=True)
class Permission:
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def allows(self, need: Need) -> bool:
        granted, denied = ((self.data_actions, self.not_data_actions) if need.data
                           else (self.actions, self.not_actions))
        return _any(granted, need.action) and not _any(denied, need.action)


@dataclass(frozen=True)
class Permissions:
    """What an identity may do at a scope: the union of its role assignments' permissions."""

    entries: tuple[Permission, ...] = field(default_factory=tuple)

    def allows(self, need: Need) -> bool:
        return any(p.allows(need) for p in self.entries)

    @classmethod
    def parse(cls, body: Any) -> Permissions:
        """From `{"value": [{"actions", "notActions", "dataActions", "notDataActions"}]}`, leniently."""
        items = body.get("value") if isinstance(body, dict) else None
        return cls(tuple(Permission(*(_strings(i, k) for k in ("actions", "notActions", "dataActions",
                                                                  "notDataActions")))
                         for i in (items if isinstance(items, list) else []) if isinstance(i, dict)))


def _strings(item: dict[str, Any], key: str) -> tuple[str, ...]:
    value = item.get(key)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def glob_match(pattern: str, action: str) -> bool:
    """Whether `action` matches `pattern`, Azure's action wildcard (`*`: any run of characters), ignoring case.

    The patterns come from Azure's answer (the permissions API), so they are untrusted: as a regular
    expression, `M*M*M*...X` takes exponential time on a 40-character action. This greedy matcher with one
    backtrack point takes at most len(pattern) * len(action) steps.
    """
    p, a = pattern.lower(), action.lower()
    pi = ai = 0
    star, mark = -1, 0
    while ai < len(a):
        if pi < len(p) and p[pi] == "*":
            star, mark = pi, ai
            pi += 1
        elif pi < len(p) and p[pi] == a[ai]:
            pi += 1
            ai += 1
        elif star >= 0:  # let the last `*` take one more character
            pi, mark = star + 1, mark + 1
            ai = mark
        else:
            return False
    return all(c == "*" for c in p[pi:])


def _any(patterns: Iterable[str], action: str) -> bool:
    return any(glob_match(p, action) for p in patterns)


# Most capable first: the order the fix names them in.
ROLES: dict[str, Permission] = {
    "Azure AI Owner": Permission(actions=(f"{CS}/*",), data_actions=(f"{CS}/*",)),
    "Azure AI User": Permission(actions=(f"{CS}/*/read", f"{CS}/accounts/listkeys/action"),
                                data_actions=(f"{CS}/*",)),
    "Cognitive Services OpenAI Contributor": Permission(
        actions=(f"{CS}/*/read", DEPLOYMENTS_WRITE, DEPLOYMENTS_DELETE, f"{CS}/accounts/raiPolicies/*",
                 f"{CS}/accounts/commitmentplans/*"),
        data_actions=(f"{OPENAI}/*",)),
    "Cognitive Services OpenAI User": Permission(
        actions=(f"{CS}/*/read",),
        data_actions=(f"{OPENAI}/*/read", CHAT, f"{OPENAI}/deployments/completions/action",
                      f"{OPENAI}/deployments/embeddings/action", f"{OPENAI}/assistants/*"),
        not_data_actions=(f"{OPENAI}/stored-completions/read",)),
}


def granting(need: Need) -> list[str]:
    return [name for name, p in ROLES.items() if p.allows(need)]


def lacks(action: str) -> str:
    """`the identity lacks <action>; a role that grants it: A or B` (the fix, in Azure's names)."""
    roles = granting(Need(action, is_data(action)))
    names = " or ".join([", ".join(roles[:-1]), roles[-1]] if len(roles) > 1 else roles) or "a custom role"
    return f"the identity lacks {action}; a role that grants it: {names}"


# -- the action of a request (to name it when Azure refuses one) ------------------------------------
_DATA_GROUPS = {"files": "files", "uploads": "files", "fine_tuning": "fine-tunes", "evals": "evals",
                "models": "models"}
_VERBS = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


PROJECT_AUDIENCE = "https://ai.azure.com"  # a Foundry project's data plane (azure-ai-projects' scope)


def project_route(path: str) -> tuple[str, str] | None:
    """(project, the /openai/... rest) of a Foundry project's data-plane path, else None."""
    parts = path.split("/", 4)  # "", "api", "projects", <project>, "openai/..."
    if len(parts) == 5 and parts[1:3] == ["api", "projects"] and parts[4].startswith("openai"):
        return parts[3], "/" + parts[4]
    return None


def need_of(method: str, path: str) -> Need | None:
    """The action Azure checks for `method path` on the data plane (/openai/..., also under a Foundry project's
    /api/projects/<p>: the same data actions, as far as Azure publishes them) or ARM (/subscriptions/...)."""
    project = project_route(path)
    parts = [p for p in (project[1] if project else path).split("/") if p]
    verb = _VERBS.get(method.upper(), "write")
    if parts[:1] == ["openai"]:
        rest = parts[2:] if parts[1:2] == ["v1"] else parts[1:]
        if "chat" in rest and "completions" in rest:
            return Need(CHAT, True)
        if rest[:1] == ["fine_tuning"] and "graders" in rest:
            return Need(FINE_TUNES_WRITE, True)
        return Need(f"{OPENAI}/{_DATA_GROUPS.get(rest[0], rest[0])}/{verb}", True) if rest else None
    lowered = [p.lower() for p in parts]
    if parts[:1] != ["subscriptions"] or CS.lower() not in lowered or "microsoft.authorization" in lowered:
        return None
    types = parts[lowered.index(CS.lower()) + 1:][0::2]
    return Need(f"{CS}/{'/'.join(types)}/{verb}", False) if types else None
