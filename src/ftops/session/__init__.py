"""Session layer: connecting to Foundry (endpoint, credential, the local Foundry's launcher) and plan files
(write, read, verify against the specs and a fresh decision; several accounts' files read as one set for one
pull-request comment). Read-only commands use it without apply."""

from ._approval import approve, approve_replan, saved_foundry, saved_spec_dir
from ._connect import Session, open_session
from ._merged_plans import AccountPlan, MergedPlans, merge_plan_files
from ._plan_files import MAX_PLAN_BYTES, load_plan_file, save_plan_file
from ._provenance import read_provenance
from ._verify import FITS, check_fresh, require_preflight, verify_plan

__all__ = [
    "FITS", "MAX_PLAN_BYTES", "AccountPlan", "MergedPlans", "Session", "approve", "approve_replan", "check_fresh",
    "load_plan_file", "merge_plan_files", "open_session", "read_provenance", "require_preflight", "save_plan_file",
    "saved_foundry", "saved_spec_dir", "verify_plan",
]
