"""Foundry layer: the only code that talks to Azure (openai data plane, azure-mgmt deployments)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._client import FoundryClient
from ._concurrent import at_once
from ._connect import (
    API_KEY_ENV,
    Launcher,
    LocalFoundry,
    StaticTokenCredential,
    ca_bundle,
    connect,
    data_plane_endpoint,
    public_url,
)
from ._deployments import OWNER_TAG, ROLLED_AT_TAG, DeploymentWrite, owned_tag
from ._errors import RetryPolicy, classify
from ._evals import (
    CHAT_ITEM_SCHEMA,
    Criterion,
    CriterionScore,
    EvalsClient,
    EvalScores,
    LiveEval,
    LiveEvalRun,
    chat_eval_item,
)
from ._listings import Listings, read_listings, start_reading, take_listings
from ._live_objects import (
    ACTIVE_JOB_STATUSES,
    OWNED_TAG_PREFIX,
    LiveCheckpoint,
    LiveDeployment,
    LiveFile,
    LiveJob,
    LiveModel,
    LiveUsage,
    Snapshot,
    models_by_id,
)
from ._permissions import (
    CHAT,
    DEPLOYMENTS_DELETE,
    DEPLOYMENTS_WRITE,
    EVALS_WRITE,
    FILES_DELETE,
    FILES_WRITE,
    FINE_TUNES_WRITE,
    RAI_POLICIES_DELETE,
    RAI_POLICIES_WRITE,
    Need,
    Permissions,
    is_data,
    lacks,
)
from ._rai_policies import BlocklistEntry, FilterEntry, LiveRaiPolicy, RaiPolicyWrite
from ._storage import storage_headers
from ._timeouts import OUTAGE_BUDGET_ENV, RETRY_BUDGET_ENV, Budgets, Timeouts, budgets_from_env
from ._wire import JobRequest, LiveEvent

if TYPE_CHECKING:  # `ftops import` and `metrics` only; a plan never loads them
    from ._downloads import Downloaded, download_file
    from ._results import CheckpointMetrics, JobMetrics, StepMetrics, parse_results_csv, read_job_metrics

_LAZY = {
    "Downloaded": "_downloads",
    "download_file": "_downloads",
    "CheckpointMetrics": "_results",
    "JobMetrics": "_results",
    "StepMetrics": "_results",
    "parse_results_csv": "_results",
    "read_job_metrics": "_results",
}

__getattr__ = lazy_names(__name__, _LAZY, globals())  # PEP 562: each name loaded on first use


__all__ = [
    "ACTIVE_JOB_STATUSES",
    "API_KEY_ENV",
    "CHAT",
    "CHAT_ITEM_SCHEMA",
    "DEPLOYMENTS_DELETE",
    "DEPLOYMENTS_WRITE",
    "EVALS_WRITE",
    "FILES_DELETE",
    "FILES_WRITE",
    "FINE_TUNES_WRITE",
    "OUTAGE_BUDGET_ENV",
    "OWNED_TAG_PREFIX",
    "OWNER_TAG",
    "RAI_POLICIES_DELETE",
    "RAI_POLICIES_WRITE",
    "RETRY_BUDGET_ENV",
    "ROLLED_AT_TAG",
    "BlocklistEntry",
    "Budgets",
    "CheckpointMetrics",
    "Criterion",
    "CriterionScore",
    "DeploymentWrite",
    "Downloaded",
    "EvalScores",
    "EvalsClient",
    "FilterEntry",
    "FoundryClient",
    "JobMetrics",
    "JobRequest",
    "Launcher",
    "Listings",
    "LiveCheckpoint",
    "LiveDeployment",
    "LiveEval",
    "LiveEvalRun",
    "LiveEvent",
    "LiveFile",
    "LiveJob",
    "LiveModel",
    "LiveRaiPolicy",
    "LiveUsage",
    "LocalFoundry",
    "Need",
    "Permissions",
    "RaiPolicyWrite",
    "RetryPolicy",
    "Snapshot",
    "StaticTokenCredential",
    "StepMetrics",
    "Timeouts",
    "at_once",
    "budgets_from_env",
    "ca_bundle",
    "chat_eval_item",
    "classify",
    "connect",
    "data_plane_endpoint",
    "download_file",
    "is_data",
    "lacks",
    "models_by_id",
    "owned_tag",
    "parse_results_csv",
    "public_url",
    "read_job_metrics",
    "read_listings",
    "start_reading",
    "storage_headers",
    "take_listings",
]
