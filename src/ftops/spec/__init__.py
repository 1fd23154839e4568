"""Spec layer: load YAML spec documents into a checked Project. Imports nothing above it."""

from ._documents import (
    SPEC_KINDS,
    DatasetAdoption,
    DatasetSpec,
    DeploymentSpec,
    Epoch,
    FineTuningJobSpec,
    FoundrySpec,
    Gates,
    JobRef,
    ModelRef,
    Sku,
    training_content,
)
from ._evaluation import (
    Criterion,
    EpochPick,
    EvaluationRef,
    EvaluationSpec,
    PassRule,
    PythonCriterion,
    ScoreModelCriterion,
    StringCheckCriterion,
    TextSimilarityCriterion,
)
from ._foundries import AccountEntry, account_entries, choose_foundry, foundry_names, narrow
from ._guards import Guard
from ._hyperparameters import HYPERPARAMETER_MODELS, normalised_hyperparameters
from ._notifications import NotificationSpec
from ._policy import PolicySpec
from ._project import (
    ENV_FIELDS,
    ENV_PREFIXES,
    Project,
    Resource,
    UnresolvedEnv,
    expand_env,
    find_root,
    load_project,
    require_connection,
    spec_files,
)
from ._rai_policy import ContentFilter, CustomBlocklist, RaiPolicySpec
from ._schema import json_schema

__all__ = [
    "ENV_FIELDS",
    "ENV_PREFIXES",
    "HYPERPARAMETER_MODELS",
    "SPEC_KINDS",
    "AccountEntry",
    "ContentFilter",
    "Criterion",
    "CustomBlocklist",
    "DatasetAdoption",
    "DatasetSpec",
    "DeploymentSpec",
    "Epoch",
    "EpochPick",
    "EvaluationRef",
    "EvaluationSpec",
    "FineTuningJobSpec",
    "FoundrySpec",
    "Gates",
    "Guard",
    "JobRef",
    "ModelRef",
    "NotificationSpec",
    "PassRule",
    "PolicySpec",
    "Project",
    "PythonCriterion",
    "RaiPolicySpec",
    "Resource",
    "ScoreModelCriterion",
    "Sku",
    "StringCheckCriterion",
    "TextSimilarityCriterion",
    "UnresolvedEnv",
    "account_entries",
    "choose_foundry",
    "expand_env",
    "find_root",
    "foundry_names",
    "json_schema",
    "load_project",
    "narrow",
    "normalised_hyperparameters",
    "require_connection",
    "spec_files",
    "training_content",
]
