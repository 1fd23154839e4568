"""The one exception hierarchy of ftops, and the exit code each maps to.

    FtopsError                      exit 1; every error ftops raises on purpose
    ├── UsageError                  wrong flags or arguments
    │   └── FoundryNotChosen        several Foundry documents and no --foundry NAME: exit 2, like a parser error
    ├── ValidationFailed            specs or datasets are invalid (carries every Problem found)
    ├── FoundryError                the Foundry API refused or failed (`status`, `code`, `__cause__`)
    │   ├── PermanentFoundryError   retrying will not help (4xx, bad credentials, quota with no end)
    │   │   └── FoundryNotFound     the object does not exist (HTTP 404)
    │   └── TemporaryFoundryError   retrying may help, after `retry_after` seconds (429, 5xx, network)
    │       └── FoundryUnreachable  no answer came back: connection failed, dropped or timed out
    ├── StalePlanError              a saved plan no longer matches the live state
    ├── PlanNotApproved             a saved plan is not what a fresh decision makes (edited, not stale)
    ├── PreflightFailed             the plan would exceed a quota or use a retired model: nothing was done
    ├── DowntimeRefused             the plan interrupts serving and --allow-downtime was not given: nothing was done
    ├── ApplyFailed                 some actions of an apply failed (the summary says which)
    └── UnknownKind                 a kind or action type that a registry has no entry for (never a default)

Exit codes: 0 success, 1 any FtopsError, 2 "changes present" (plan --detailed-exitcode) or
"drift found" (drift). The CLI maps exceptions to codes in one place (`ftops.cli._main`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_USAGE = 2  # the parser's (click's) code for a wrong command line


@dataclass(frozen=True)
class Problem:
    """One finding, with the place it comes from when there is one."""

    message: str
    path: str | None = None
    line: int | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{prefix}{self.message}"


class FtopsError(Exception):
    """Root of every error ftops raises on purpose; the CLI prints it as one line, exit 1."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        return str(Problem(self.message, self.path, self.line))


class UsageError(FtopsError):
    """The command line was wrong."""


class FoundryNotChosen(UsageError):
    """A command that connects was given a spec directory of several Foundry documents and no `--foundry NAME`
    (or an unknown one): exit 2, as the parser's own usage errors."""

    exit_code = EXIT_USAGE


class ValidationFailed(FtopsError):
    """Specs or datasets are invalid; `problems` holds every error and warning found."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s) found")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class FoundryError(FtopsError):
    """The Foundry API refused or failed. `retryable` says whether trying again can help.

    `status` is the HTTP status (None when no answer came back), `code` Azure's error code
    (`DeploymentNotFound`, `RequestConflict`, ...) when the answer carried one; the SDK's exception is
    the `__cause__`. Callers decide on these fields, never on the message text.
    """

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class PermanentFoundryError(FoundryError):
    """Retrying will not help: fix the request, the credentials or the quota first."""


class TemporaryFoundryError(FoundryError):
    """Retrying may help after `retry_after` seconds (throttling, 5xx, a dropped connection)."""

    retryable = True


class StalePlanError(FtopsError):
    """A saved plan was made against a live state that has changed since."""


class PlanNotApproved(FtopsError):
    """A saved plan's actions are not what a fresh decision makes from the same specs and live state.

    Nothing moved since the plan was made, so this is not staleness: the file was edited (or made by
    another ftops version). It is refused also with `--on-stale replan`, which replans only stale plans.
    """


class PreflightFailed(FtopsError):
    """The plan would be refused by Foundry (a quota, a retired model, a sku not offered): nothing was done."""


class DowntimeRefused(FtopsError):
    """The plan stops a deployment serving (a delete + create) and the user did not allow it: nothing was done."""


class ApplyFailed(FtopsError):
    """Some actions failed; the others ran or were skipped as the summary reports."""


class UnknownKind(FtopsError):
    """A resource kind or action type that a layer's registry does not list: each layer has one entry per
    kind (status rows, renderers ...) and refuses what it does not know rather than show it as another."""


class FoundryNotFound(PermanentFoundryError):
    """The object asked for does not exist (HTTP 404)."""


class FoundryUnreachable(TemporaryFoundryError):
    """No HTTP answer came back: the connection failed or dropped, or the call timed out (`timed_out`)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out

    @property
    def reason(self) -> str:
        """A few words for a status line: `timed out` or `connection failed`."""
        return "timed out" if self.timed_out else "connection failed"


class PolicyBlocked(FtopsError):
    """A mandatory Policy fails on the plan (and no override lets it through): nothing is applied."""
