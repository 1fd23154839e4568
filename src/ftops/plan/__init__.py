"""Plan layer: live state + specs -> Plan (typed actions with reasons, changes, dependencies, cost)."""

from .._vocabulary import CHANGING
from . import _evaluations as evaluations
from . import _identity as identity
from ._catalog_live import CatalogComparison, CatalogDifference, compare_catalog, read_catalog_comparison
from ._drift import DriftItem, drift_items, in_progress
from ._jobs import job_identity, job_request
from ._live import LiveState, Needs, read_live
from ._model import (
    ACTIONS,
    DRIFT_KINDS,
    FORMAT_VERSION,
    Action,
    CancelJob,
    Candidate,
    CandidateScores,
    CreateJob,
    DeleteDeployment,
    DeleteFile,
    EvaluateCandidates,
    Finding,
    JobProgress,
    NoOp,
    PauseJob,
    Plan,
    ResumeJob,
    RollOut,
    UploadDataset,
    Verdict,
    WaitFile,
    WaitJob,
    utc_text,
)
from ._planner import decide, fingerprint, make_plan, spec_fingerprint
from ._resolve import Resolved, needs_checkpoints, resolve_model
from ._status import StatusRow, status_rows, verdicts

__all__ = [
    "ACTIONS",
    "CHANGING",
    "DRIFT_KINDS",
    "FORMAT_VERSION",
    "Action",
    "CancelJob",
    "Candidate",
    "CandidateScores",
    "CatalogComparison",
    "CatalogDifference",
    "CreateJob",
    "DeleteDeployment",
    "DeleteFile",
    "DriftItem",
    "EvaluateCandidates",
    "Finding",
    "JobProgress",
    "LiveState",
    "Needs",
    "NoOp",
    "PauseJob",
    "Plan",
    "Resolved",
    "ResumeJob",
    "RollOut",
    "StatusRow",
    "UploadDataset",
    "Verdict",
    "WaitFile",
    "WaitJob",
    "compare_catalog",
    "decide",
    "drift_items",
    "evaluations",
    "fingerprint",
    "identity",
    "in_progress",
    "job_identity",
    "job_request",
    "make_plan",
    "needs_checkpoints",
    "read_catalog_comparison",
    "read_live",
    "resolve_model",
    "spec_fingerprint",
    "status_rows",
    "utc_text",
    "verdicts",
]
