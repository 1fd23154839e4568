"""Eval runs that fail because a model they need is missing, as Azure reports it: the run's `status: failed`
with an `error` object (`EvalRun.error`, `EvalApiError` {code, message} in the Evals OpenAPI spec).

A run created against a deployment that does not exist fails at once; a run whose deployment is deleted
(DELETE, or one of Foundry's own deletions) while it is graded or in progress fails then, with the items
done so far. Kept apart from `_evals` so that the deployment routes and the sweep can call it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._fidelity import DEPLOYMENT_404
from ._store import Store

DEPLOYMENT_MISSING = "DeploymentNotFound"  # the code Azure's data plane gives a deployment that does not exist


def missing(what: str, name: str) -> dict[str, str]:
    """The run's error for a missing deployment (`what`: the data source's model or a grader's)."""
    return {"code": DEPLOYMENT_MISSING, "message": f"{what} '{name}': {DEPLOYMENT_404}"}


def fail_at(r: dict[str, Any], error: dict[str, str], now: float) -> None:
    """Make run `r` fail at `now` (at once if it has not started), keeping the items done before."""
    if r.get("canceled_at") is not None or r.get("fault") in ("fail", "cancel"):
        return  # already stopping: the first reason stands
    start, duration = float(r["start"]), float(r["duration"]) or 1.0
    done = 0.0 if r.get("grading") else (now - start) / duration
    if done >= 1.0:
        return  # finished before the deployment went
    r.update(fault="fail", stop_fraction=max(0.0, done), fault_code=error["code"], fault_message=error["message"])


def fail_runs_sampling(store: Store, c: sqlite3.Connection, deployment: str, now: float) -> None:
    """Fail every unfinished run that samples `deployment` or grades with it (it is going away now)."""
    for r in store.all(c, "eval_run"):
        judges = r.get("judges") or []
        if r.get("model") == deployment:
            what = "data_source.model"
        elif deployment in judges:
            what = "testing_criteria model"
        else:
            continue
        before = dict(r)
        fail_at(r, missing(what, deployment), now)
        if r != before:
            store.put(c, "eval_run", r["id"], r)
