"""Foundry layer: the only code that talks to Azure (openai data plane, azure-mgmt deployments)."""

from ._client import FoundryClient
from ._connect import API_KEY_ENV, Launcher, LocalFoundry, StaticTokenCredential, connect, data_plane_endpoint
from ._errors import RetryPolicy, classify
from ._models import ACTIVE_JOB_STATUSES, LiveCheckpoint, LiveDeployment, LiveFile, LiveJob, Snapshot
from ._timeouts import OUTAGE_BUDGET_ENV, RETRY_BUDGET_ENV, Budgets, Timeouts, budgets_from_env
from ._wire import JobRequest, LiveEvent

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "API_KEY_ENV",
    "OUTAGE_BUDGET_ENV",
    "RETRY_BUDGET_ENV",
    "Budgets",
    "FoundryClient",
    "JobRequest",
    "Launcher",
    "LiveCheckpoint",
    "LiveDeployment",
    "LiveEvent",
    "LiveFile",
    "LiveJob",
    "LocalFoundry",
    "RetryPolicy",
    "Snapshot",
    "StaticTokenCredential",
    "Timeouts",
    "budgets_from_env",
    "classify",
    "connect",
    "data_plane_endpoint",
]
