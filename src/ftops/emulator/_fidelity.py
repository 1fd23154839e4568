"""Azure behaviours that break naive clients, and their settings (`POST /_emulator/fidelity`).

- `not_ready_seconds`: after a deployment write reports `Succeeded`, chat completions still answer
  Azure's 404 `DeploymentNotFound` ("If you created the deployment within the last 5 minutes, please
  wait a moment and try again.") for this many emulated seconds.
- `arm_page_size`: ARM lists (deployments, models) answer this many items a page, with `nextLink`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._store import Store

DEFAULTS: dict[str, float] = {"not_ready_seconds": 0.0, "arm_page_size": 100}

# Azure's body for a deployment that does not exist or does not serve yet (see docs/emulator.md, "Azure fidelity").
DEPLOYMENT_404 = ("The API deployment for this resource does not exist. If you created the deployment within the "
                  "last 5 minutes, please wait a moment and try again.")


def settings(store: Store, c: sqlite3.Connection) -> dict[str, float]:
    return {**DEFAULTS, **store.meta(c, "fidelity", {})}


def update(store: Store, c: sqlite3.Connection, change: dict[str, Any]) -> str | None:
    """Apply a settings change; an error text or None."""
    unknown = set(change) - set(DEFAULTS)
    if unknown:
        return f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}"
    if any(not isinstance(v, (int, float)) or v < 0 for v in change.values()):
        return "settings are non-negative numbers"
    if "arm_page_size" in change and int(change["arm_page_size"]) < 1:
        return "arm_page_size is at least 1"
    store.set_meta(c, "fidelity", {**store.meta(c, "fidelity", {}), **change})
    return None


def ready_at(store: Store, c: sqlite3.Connection, op_until: float, speed: float) -> float:
    """When a deployment whose write completes at `op_until` starts answering inference."""
    return op_until + settings(store, c)["not_ready_seconds"] / speed


def propagating(dep: dict[str, Any], now: float) -> bool:
    """Whether inference on deployment `dep` still answers DeploymentNotFound (created or updated lately)."""
    return now < float(dep.get("ready_at") or 0.0)
