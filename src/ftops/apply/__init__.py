"""Apply layer: execute a Plan against Foundry; returns outcomes, never prints."""

from ._access import require_permissions
from ._approval import approve_replan, saved_spec_dir
from ._executor import (
    BLOCKED,
    DEFERRED,
    DONE,
    FAILED,
    NOOP,
    SKIPPED,
    ApplyResult,
    apply_plan,
    require_downtime_allowed,
)
from ._notify import Delivery, deliver
from ._runtime import Outcome, Reporter
from ._session import (
    Session,
    check_fresh,
    load_plan_file,
    open_session,
    require_preflight,
    save_plan_file,
    verify_plan,
)

__all__ = [
    "BLOCKED", "DEFERRED", "DONE", "FAILED", "NOOP", "SKIPPED", "ApplyResult", "Delivery", "Outcome", "Reporter",
    "Session", "apply_plan", "approve_replan", "check_fresh", "deliver", "load_plan_file", "open_session",
    "require_downtime_allowed", "require_permissions", "require_preflight", "save_plan_file", "saved_spec_dir",
    "verify_plan",
]
