"""Foundry layer: the only code that talks to Azure (openai data plane, azure-mgmt deployments)."""

from ._client import FoundryClient
from ._concurrent import at_once
from ._connect import API_KEY_ENV, Launcher, LocalFoundry, StaticTokenCredential, connect, data_plane_endpoint
from ._deployments import OWNED_TAG_PREFIX, DeploymentWrite
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
from ._models import (
    ACTIVE_JOB_STATUSES,
    LiveCheckpoint,
    LiveDeployment,
    LiveFile,
    LiveJob,
    LiveModel,
    LiveUsage,
    Snapshot,
    models_by_id,
)
from ._results import CheckpointMetrics, JobMetrics, StepMetrics, parse_results_csv, read_job_metrics
from ._timeouts import OUTAGE_BUDGET_ENV, RETRY_BUDGET_ENV, Budgets, Timeouts, budgets_from_env
from ._wire import JobRequest, LiveEvent

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "API_KEY_ENV",
    "CHAT_ITEM_SCHEMA",
    "OUTAGE_BUDGET_ENV",
    "OWNED_TAG_PREFIX",
    "RETRY_BUDGET_ENV",
    "Budgets",
    "CheckpointMetrics",
    "Criterion",
    "CriterionScore",
    "DeploymentWrite",
    "EvalScores",
    "EvalsClient",
    "FoundryClient",
    "JobMetrics",
    "JobRequest",
    "Launcher",
    "LiveCheckpoint",
    "LiveDeployment",
    "LiveEval",
    "LiveEvalRun",
    "LiveEvent",
    "LiveFile",
    "LiveJob",
    "LiveModel",
    "LiveUsage",
    "LocalFoundry",
    "RetryPolicy",
    "Snapshot",
    "StaticTokenCredential",
    "StepMetrics",
    "Timeouts",
    "at_once",
    "budgets_from_env",
    "chat_eval_item",
    "classify",
    "connect",
    "data_plane_endpoint",
    "models_by_id",
    "parse_results_csv",
    "read_job_metrics",
]
