"""The word lists every layer shares, each defined once: what Azure and the spec call SKUs and training
types, what a plan's actions do, and how drift is classified. Tuples are derived from the Literals, so
the types and the lists cannot disagree.

The local Foundry keeps its own lists (it imports nothing of ftops): it speaks Azure's side of the wire.
"""

from __future__ import annotations

from typing import Literal, get_args

# A deployment's SKU in the spec's words (ARM spells Developer `DeveloperTier`: `foundry/_wire.py` maps them).
# DataZoneStandard: inference within a data zone (Learn, fine-tuning overview: only the US zone for fine-tuned models).
SkuName = Literal["Standard", "GlobalStandard", "DataZoneStandard", "Developer", "ProvisionedManaged"]
SKU_NAMES: tuple[SkuName, ...] = get_args(SkuName)
# The SKUs an evaluation canary may use: throwaway deployments, never provisioned throughput.
CanarySku = Literal["Developer", "Standard", "GlobalStandard"]
# DataZoneStandard: training within a data zone (Learn lists "Data Zone: US" training for every fine-tunable model).
# Learn names no API value for it; ftops sends the deployment SKU's spelling, as Azure does for GlobalStandard.
TrainingType = Literal["Standard", "GlobalStandard", "DataZoneStandard", "Developer"]
TRAINING_TYPES: tuple[TrainingType, ...] = get_args(TrainingType)

# A fine-tuning method, in Foundry's words (`method.type`).
Method = Literal["supervised", "dpo", "reinforcement"]
METHODS: tuple[Method, ...] = get_args(Method)

# What a plan action does to its resource.
Verb = Literal["create", "update", "replace", "delete", "cancel", "pause", "resume", "wait", "no-op"]
VERBS: tuple[Verb, ...] = get_args(Verb)
CHANGING: frozenset[Verb] = frozenset({"create", "update", "replace", "delete", "cancel", "pause", "resume"})

# Why live differs from git (`ftops drift`).
# `lags`: a stage serves an earlier model than the stage it follows has passed (`model: {deployment: ...}`).
DriftClass = Literal["unapplied", "modified", "deleted", "failed", "foreign", "retiring", "lags"]
DRIFT_CLASSES: tuple[DriftClass, ...] = get_args(DriftClass)

# How a fine-tuning job ended when it did not succeed, parsed from its error's structured fields
# (`foundry/_outcomes.py`). Azure checks the training data before training (data checks) and the trained
# model after it (safety evaluation); a job either refuses is final: the same content is refused again.
JobOutcome = Literal["data_refused", "safety_failed", "data_invalid", "transient", "cancelled", "unknown"]
JOB_OUTCOMES: tuple[JobOutcome, ...] = get_args(JobOutcome)
# The outcomes no resubmission of the same training content can change (`retries:` never applies to them).
FINAL_OUTCOMES: frozenset[JobOutcome] = frozenset({"data_refused", "safety_failed", "data_invalid"})

# ARM's model format of a deployment (`OpenAI`, `Mistral AI`, `Meta`...): the catalog states it, a plan file
# carries it. One pattern for both, so a catalog override cannot name a format a plan refuses to hold.
MODEL_FORMAT_PATTERN = r"^[A-Za-z0-9 .\-]{1,40}$"

# A training guard's metric, as Azure's results.csv spells its columns (reference 001, "results.csv"). The step
# metrics of Azure's job events carry the same names, except validation token accuracy, which events and
# checkpoints spell `valid_mean_token_accuracy` (`foundry/_wire.py` maps it).
GuardMetric = Literal["train_loss", "train_mean_token_accuracy", "valid_loss", "validation_mean_token_accuracy",
                      "full_valid_loss", "full_valid_mean_token_accuracy"]
GUARD_METRICS: tuple[GuardMetric, ...] = get_args(GuardMetric)
# What a tripped guard does to its job.
GuardAction = Literal["pause", "cancel"]

# The events a Notification may ask for (`on:`), as a webhook's JSON names them (`"event": "job.succeeded"`).
NotificationEvent = Literal["job.succeeded", "job.failed", "rollout.done", "guard.tripped", "policy.blocked", "drift"]
NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = get_args(NotificationEvent)
# Where a Notification sends (its one target).
NotificationTarget = Literal["webhook", "slack", "teams", "github"]
NOTIFICATION_TARGETS: tuple[NotificationTarget, ...] = get_args(NotificationTarget)
# A Policy's enforcement level (Terraform Cloud's words): advisory is shown; soft-mandatory blocks unless
# overridden with a reason (`apply --override NAME --reason TEXT`); hard-mandatory blocks.
Enforcement = Literal["advisory", "soft-mandatory", "hard-mandatory"]
ENFORCEMENTS: tuple[Enforcement, ...] = get_args(Enforcement)
# A Policy's rules: the built-ins, each set in one line, and a CEL `expression`. Exactly one per Policy.
PolicyRule = Literal["allowedTrainingTypes", "allowedDeploymentSkus", "allowedRegions", "maxHostingIncreasePerMonth",
                     "maxTrainingCostPerPlan", "noDeleteServing", "requireEvaluation", "expression"]
POLICY_RULES: tuple[PolicyRule, ...] = get_args(PolicyRule)

# A deployment's content filter and upgrade settings, and a content filter policy (RaiPolicy), as ARM spells
# them (Azure/azure-rest-api-specs, specification/cognitiveservices/resource-manager/Microsoft.CognitiveServices/
# stable/2025-09-01/cognitiveservices.json, commit f515332: DeploymentProperties, RaiPolicyProperties).
VersionUpgradeOption = Literal["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"]
RaiPolicyMode = Literal["Default", "Deferred", "Blocking", "Asynchronous_filter"]  # ARM: use Asynchronous_filter
ContentLevel = Literal["Low", "Medium", "High"]  # a content filter's severityThreshold
RaiContentSource = Literal["Prompt", "Completion"]  # what a content filter or blocklist applies to
# The policies every account has (type SystemManaged): Microsoft.Default in ARM's own examples (ListRaiPolicies.json,
# PutRaiPolicy.json of 2025-06-01, basePolicyName), Microsoft.DefaultV2 the default of new deployments (Learn's
# deployment bodies), Microsoft.Nil the no-filter policy an approved modified-filtering request unlocks.
BUILTIN_RAI_POLICIES: tuple[str, ...] = ("Microsoft.Default", "Microsoft.DefaultV2", "Microsoft.Nil")
BUILTIN_RAI_PREFIX = "Microsoft."  # names Azure keeps for its own policies
