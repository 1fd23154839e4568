"""Who may do what: Azure's built-in roles, the action each request needs, and the permissions API.

The roles are copied from their Azure definitions (actions, notActions, dataActions, notDataActions):
"Cognitive Services OpenAI User" and "Cognitive Services OpenAI Contributor" from MicrosoftDocs/azure-docs
`articles/role-based-access-control/built-in-roles/ai-machine-learning.md`; "Azure AI User" and "Azure AI
Owner" from MicrosoftDocs/azure-ai-docs `articles/ai-foundry/concepts/rbac-azure-ai-foundry.md` (renamed
Foundry User and Foundry Owner, reference 003: both names are accepted). Only the CognitiveServices
entries matter here: the emulator serves no other resource provider.

The action names of requests follow Azure's operations list (`Microsoft.CognitiveServices/accounts/
OpenAI/files/write`, `.../fine-tunes/write`, `.../deployments/chat/completions/action`, ARM's
`Microsoft.CognitiveServices/accounts/deployments/write`). Azure matches `*` against any characters,
case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

CS = "Microsoft.CognitiveServices"
OPENAI = f"{CS}/accounts/OpenAI"
DEFAULT_ROLE = "Azure AI Owner"  # can do everything ftops does: nothing that worked before breaks


@dataclass(frozen=True)
class Role:
    actions: tuple[str, ...]
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def allows(self, action: str, *, data: bool) -> bool:
        granted, denied = (self.data_actions, self.not_data_actions) if data else (self.actions, ())
        return any(_matches(p, action) for p in granted) and not any(_matches(p, action) for p in denied)

    def permissions(self) -> dict[str, list[str]]:
        """As `Permissions - List For Resource` answers one permission (Microsoft.Authorization 2022-04-01)."""
        return {"actions": list(self.actions), "notActions": [], "dataActions": list(self.data_actions),
                "notDataActions": list(self.not_data_actions)}


_OPENAI_USER = Role(
    actions=(f"{CS}/*/read",),
    data_actions=(f"{OPENAI}/*/read", f"{OPENAI}/engines/completions/action", f"{OPENAI}/engines/search/action",
                  f"{OPENAI}/engines/generate/action", f"{OPENAI}/deployments/audio/action",
                  f"{OPENAI}/deployments/search/action", f"{OPENAI}/deployments/completions/action",
                  f"{OPENAI}/deployments/chat/completions/action", f"{OPENAI}/deployments/realtime/action",
                  f"{OPENAI}/deployments/extensions/chat/completions/action",
                  f"{OPENAI}/deployments/embeddings/action", f"{OPENAI}/images/generations/action",
                  f"{OPENAI}/assistants/*"),
    not_data_actions=(f"{OPENAI}/stored-completions/read",))
_OPENAI_CONTRIBUTOR = Role(
    actions=(f"{CS}/*/read", f"{CS}/accounts/deployments/write", f"{CS}/accounts/deployments/delete",
             f"{CS}/accounts/raiPolicies/read", f"{CS}/accounts/raiPolicies/write",
             f"{CS}/accounts/raiPolicies/delete", f"{CS}/accounts/commitmentplans/read",
             f"{CS}/accounts/commitmentplans/write", f"{CS}/accounts/commitmentplans/delete"),
    data_actions=(f"{OPENAI}/*",))
_AI_USER = Role(actions=(f"{CS}/*/read", f"{CS}/accounts/listkeys/action"), data_actions=(f"{CS}/*",))
_AI_OWNER = Role(actions=(f"{CS}/*",), data_actions=(f"{CS}/*",))

ROLES: dict[str, Role] = {
    "Cognitive Services OpenAI User": _OPENAI_USER,
    "Cognitive Services OpenAI Contributor": _OPENAI_CONTRIBUTOR,
    "Azure AI User": _AI_USER,
    "Azure AI Owner": _AI_OWNER,
}
ALIASES = {"foundry user": "Azure AI User", "foundry owner": "Azure AI Owner"}  # reference 003: renamed


def role_name(name: str) -> str | None:
    """The canonical name of role `name` (any case, old or new name), or None for an unknown role."""
    wanted = name.strip().lower()
    for known in ROLES:
        if known.lower() == wanted:
            return known
    return ALIASES.get(wanted)


@lru_cache(maxsize=64)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in p.split("*")), re.IGNORECASE)


def _matches(pattern: str, action: str) -> bool:
    return _pattern(pattern).fullmatch(action) is not None


# -- the action a request needs -------------------------------------------------------------------
# Data plane: the first path segment after /openai/ (and /v1/) names the operation group.
_DATA_GROUPS = {"files": "files", "uploads": "files", "fine_tuning": "fine-tunes", "evals": "evals",
                "models": "models"}
_VERBS = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
_ID = re.compile(r"^(file|upload|part|ftjob|ftchkpt|ftevent|eval|evalrun|outputitem)[-_][A-Za-z0-9]+$")


@dataclass(frozen=True)
class Need:
    action: str
    data: bool  # a data action (dataActions) rather than a control-plane one (actions)
    operation: str  # "POST /openai/v1/files/{file-id}": how Azure's PermissionDenied names the request


def data_need(method: str, path: str) -> Need:
    segments = [p for p in path.split("/") if p]
    operation = f"{method} /" + "/".join(_template(p) for p in segments)
    parts = segments[1:]  # after "openai"
    if parts and parts[0] == "v1":
        parts = parts[1:]
    if "chat" in parts and "completions" in parts:
        return Need(f"{OPENAI}/deployments/chat/completions/action", True, operation)
    group = _DATA_GROUPS.get(parts[0], parts[0]) if parts else "unknown"
    if group == "fine-tunes" and "graders" in parts:
        return Need(f"{OPENAI}/fine-tunes/write", True, operation)  # running a grader is fine-tuning work
    return Need(f"{OPENAI}/{group}/{_VERBS.get(method, 'write')}", True, operation)


def _template(segment: str) -> str:
    m = _ID.match(segment)
    return "{" + m.group(1) + "-id}" if m else segment


def arm_need(method: str, path: str) -> Need | None:
    """The ARM action of a request under /subscriptions/, or None where none is checked (reads of the
    permissions API itself). Types alternate with names after the provider: accounts/{a}/deployments/{d}."""
    low = path.lower()
    if "/providers/microsoft.authorization/" in low:
        return None
    tail = path.split(f"/providers/{CS}/", 1)
    if len(tail) < 2:
        return Need(f"{CS}/accounts/read", False, f"{method} {path}")
    types = tail[1].split("/")[0::2]
    return Need(f"{CS}/{'/'.join(types)}/{_VERBS.get(method, 'write')}", False, f"{method} {path}")
