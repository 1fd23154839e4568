"""Plan layer: snapshot + diff -> Plan (actions with reasons, changes, dependencies, cost)."""

from . import _identity as identity
from ._model import ACTIONS, CHANGING, DRIFT_KINDS, FORMAT_VERSION, Action, Plan
from ._planner import fingerprint, job_request, make_plan
from ._resolve import Resolved, resolve_model

__all__ = [
    "ACTIONS", "CHANGING", "DRIFT_KINDS", "FORMAT_VERSION", "Action", "Plan", "Resolved", "fingerprint", "identity",
    "job_request", "make_plan", "resolve_model",
]
