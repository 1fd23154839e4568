"""ftops: Terraform-style, GitOps fine-tuning for Microsoft Foundry.

The public API is small and re-exported here; implementation lives in private modules.
"""

from ._exceptions import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    ApplyFailed,
    FoundryError,
    FtopsError,
    PermanentFoundryError,
    Problem,
    StalePlanError,
    TemporaryFoundryError,
    UsageError,
    ValidationFailed,
)
from .checks import CheckedProject, check_project, validate_dir
from .spec import Project, load_project

__version__ = "0.1.0"

__all__ = [
    "EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "ApplyFailed", "CheckedProject", "FoundryError", "FtopsError",
    "PermanentFoundryError", "Problem", "Project", "StalePlanError", "TemporaryFoundryError", "UsageError",
    "ValidationFailed", "__version__", "check_project", "load_project", "validate_dir",
]
