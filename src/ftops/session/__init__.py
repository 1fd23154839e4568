"""Session layer: connecting to Foundry (endpoint, credential, the local Foundry's launcher) and plan files
(write, read, verify against the specs and a fresh decision; several accounts' files read as one set for one
pull-request comment). Read-only commands use it without apply.

Connecting does not load the planner: `open_fleet` and `open_session` come from modules that import only the
Foundry layer, and every name that needs `ftops.plan` loads on first use (PEP 562), so a command's accounts are
connected and their listings loading (`foundry.start_reading`) while it loads the planner.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._connect import Session, open_session
from ._fleet import Fleet, FleetAccount, for_each, open_fleet

if TYPE_CHECKING:
    from ._approval import approve, approve_replan, saved_foundry, saved_spec_dir
    from ._fleet_plans import (
        PlannedAccount,
        plan_fleet,
        plan_wave,
        read_all,
        read_only_upstream,
        unreviewed,
        upstream_after,
    )
    from ._merged_plans import AccountPlan, MergedPlans, merge_plan_files
    from ._plan_files import MAX_PLAN_BYTES, load_plan_file, load_plans, save_plan_file, save_plan_files
    from ._provenance import read_provenance
    from ._verify import FITS, check_fresh, require_preflight, verify_plan

_LAZY = {
    **dict.fromkeys(("approve", "approve_replan", "saved_foundry", "saved_spec_dir"), "_approval"),
    **dict.fromkeys(("PlannedAccount", "plan_fleet", "plan_wave", "read_all", "read_only_upstream", "unreviewed",
                     "upstream_after"), "_fleet_plans"),
    **dict.fromkeys(("AccountPlan", "MergedPlans", "merge_plan_files"), "_merged_plans"),  # `merge-plans` only
    **dict.fromkeys(("MAX_PLAN_BYTES", "load_plan_file", "load_plans", "save_plan_file", "save_plan_files"),
                    "_plan_files"),
    "read_provenance": "_provenance",
    **dict.fromkeys(("FITS", "check_fresh", "require_preflight", "verify_plan"), "_verify"),
}

__getattr__ = lazy_names(__name__, _LAZY, globals())  # PEP 562: each name loaded on first use

__all__ = [
    "FITS", "MAX_PLAN_BYTES", "AccountPlan", "Fleet", "FleetAccount", "MergedPlans", "PlannedAccount", "Session",
    "approve", "approve_replan", "check_fresh", "for_each", "load_plan_file", "load_plans", "merge_plan_files",
    "open_fleet", "open_session", "plan_fleet", "plan_wave", "read_all", "read_only_upstream", "read_provenance",
    "require_preflight", "save_plan_file", "save_plan_files", "saved_foundry", "saved_spec_dir", "unreviewed",
    "upstream_after", "verify_plan",
]
