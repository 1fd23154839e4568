"""The emulator's shared state object: store, settings, and lookups used by several route modules."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _evalfail, _sim
from ._examples import examples
from ._store import Store

if TYPE_CHECKING:
    from ._managed_identity import Principal
    from ._world import World

DAY = 86400.0
INACTIVITY = INACTIVITY_SECONDS = 15 * DAY  # a fine-tuned deployment unused for 15 days is deleted
DEVELOPER_LIFETIME = 1 * DAY  # a Developer-tier deployment is deleted after 24 hours
_WORD = re.compile(r"[a-z0-9']+")
IMPORTED = "imported_model"  # the store kind of a model an account holds from another one (see _sources)


@dataclass
class Emulator:
    store: Store
    api_key: str
    subscription: str
    resource_group: str
    account: str
    region: str
    speed: float
    principal: Principal | None = None  # the managed identity it plays (Entra ID tokens); None: keys only
    # Several accounts (see _world): ARM and the admin API take the first account's key (one caller's
    # credential across its subscriptions), each account's data plane its own `api_key`.
    arm_key: str = ""
    tenant: str = ""  # the Entra tenant the account lives in (the managed identity's, unless added in another)
    path_prefix: str = ""  # where its data plane is served: "" for the first account, "/accounts/<name>" else
    authorized: bool = True  # whether the caller (and the other accounts' identities) may act on this account
    world: World | None = None  # every account of this local Foundry (None: a lone account, as in unit tests)

    def __post_init__(self) -> None:
        self.arm_key = self.arm_key or self.api_key

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{secrets.token_hex(16)}"

    @property
    def account_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/"
                f"Microsoft.CognitiveServices/accounts/{self.account}")

    # -- deployments -------------------------------------------------------------------------
    def sweep_deployments(self, c: sqlite3.Connection, now: float) -> list[str]:
        """Apply Foundry's deletions: finished DELETEs, fine-tuned ones 15 days unused, Developer tier after 24 h."""
        removed = []
        for d in self.store.all(c, "deployment"):
            reason = None
            if d.get("deleting") and now >= d["op_until"]:
                reason = "deleted"
            elif d["sku"]["name"] == "DeveloperTier" and now - d["created_at"] >= DEVELOPER_LIFETIME:
                reason = "developer-tier-expired"
            elif not d.get("base_model") and now - max(d["created_at"], d.get("last_used_at") or 0) >= INACTIVITY:
                reason = "inactive-15-days"  # a rule of fine-tuned deployments (reference 003), not base models
            if reason:
                if reason != "deleted":  # a DELETE failed its runs when it began
                    _evalfail.fail_runs_sampling(self.store, c, d["name"], now)
                self.store.delete(c, "deployment", d["name"])
                log = self.store.meta(c, "deletion_log", [])
                log.append({"name": d["name"], "reason": reason, "at": now})
                self.store.set_meta(c, "deletion_log", log[-100:])
                removed.append(d["name"])
        return removed

    def fine_tuned_deployments(self, c: sqlite3.Connection) -> int:
        """Deployments that count against the fine-tuned deployment quota (base models' do not)."""
        return sum(1 for d in self.store.all(c, "deployment") if not d.get("base_model"))

    def job_for_model(self, c: sqlite3.Connection, model: str) -> dict[str, Any] | None:
        """The job whose fine-tuned model or checkpoint `model` names, if deployable."""
        now = self.store.now(c)
        for j in self.store.all(c, "job", newest_first=True):
            if j.get("fine_tuned_model") == model:
                return j
            # A checkpoint deploys by its ftchkpt- id (reference 001); its model name is taken too.
            # Only a job that may own `model` has its checkpoints computed.
            named = j.get("fine_tuned_model_name") or ""
            if not (model.startswith("ftchkpt-") or model.startswith(named + ":")):
                continue
            if any(model in (cp["id"], cp["fine_tuned_model_checkpoint"]) for cp in _sim.checkpoints(j, now)):
                return j
        held = self.store.get(c, IMPORTED, model)  # copied in from another account, once the copy completed
        if held is not None and held["via"] == "copy" and now >= held["ready_at"]:
            job: dict[str, Any] = held["job"]
            return job
        return None

    def closest_answer(self, file_id: str | None, prompt: str) -> str:
        pairs = _pairs(self.store.blob_dir / file_id) if file_id else ()
        if not pairs:
            return "I am a fine-tuned model on the local Foundry."
        words = set(_WORD.findall(prompt.lower()))

        def score(pair: tuple[frozenset[str], str]) -> float:
            q = pair[0]
            return len(words & q) / (len(words | q) or 1)
        return max(pairs, key=score)[1]


@lru_cache(maxsize=16)
def _pairs(path: Path) -> tuple[tuple[frozenset[str], str], ...]:
    """(user words, assistant answer) for each training example (first 5000), cached per file."""
    try:
        return tuple((frozenset(_WORD.findall(user.lower())), answer) for user, answer in examples(path, 5000))
    except OSError:
        return ()
