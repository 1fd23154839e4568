"""ftops: Terraform-style, GitOps fine-tuning for Microsoft Foundry.

The public API is small and re-exported here; implementation lives in private modules.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    ApplyFailed,
    DowntimeRefused,
    FoundryError,
    FoundryNotChosen,
    FoundryNotFound,
    FoundryUnreachable,
    FtopsError,
    PermanentFoundryError,
    PlanNotApproved,
    PolicyBlocked,
    PreflightFailed,
    Problem,
    StalePlanError,
    TemporaryFoundryError,
    UnknownKind,
    UsageError,
    ValidationFailed,
)

if TYPE_CHECKING:
    from ._urls import redact_text
    from .checks import CheckedProject, check_project, validate_dir
    from .spec import Project, load_project

__version__ = "0.1.0"
# `redact_text`: any text ftops shows (an error line, a log record) with every URL's query cut to `?…`.
_LAZY = {"CheckedProject": "checks", "check_project": "checks", "validate_dir": "checks", "Project": "spec",
         "load_project": "spec", "redact_text": "_urls"}


def __getattr__(name: str) -> Any:
    # The spec models load on first use: the local Foundry's child process imports `ftops.emulator`
    # only, and should not pay for pydantic models it never uses.
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "ApplyFailed", "CheckedProject", "DowntimeRefused", "FoundryError",
    "FoundryNotChosen", "FoundryNotFound", "FoundryUnreachable", "FtopsError", "PermanentFoundryError",
    "PlanNotApproved",
    "PolicyBlocked", "PreflightFailed", "Problem", "Project", "StalePlanError", "TemporaryFoundryError",
    "UnknownKind", "UsageError", "ValidationFailed", "__version__", "check_project", "load_project", "redact_text",
    "validate_dir",
]
