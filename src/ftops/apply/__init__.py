"""Apply layer: execute a Plan against Foundry; returns outcomes, never prints."""

from ._access import require_permissions
from ._executor import (
    BLOCKED,
    DEFERRED,
    DONE,
    FAILED,
    INTERRUPT_GRACE,
    NOOP,
    SKIPPED,
    ApplyResult,
    apply_plan,
    require_downtime_allowed,
)
from ._notify import Delivery, deliver
from ._runtime import Outcome, Reporter

__all__ = [
    "BLOCKED", "DEFERRED", "DONE", "FAILED", "INTERRUPT_GRACE", "NOOP", "SKIPPED", "ApplyResult", "Delivery", "Outcome",
    "Reporter", "apply_plan", "deliver", "require_downtime_allowed", "require_permissions",
]
