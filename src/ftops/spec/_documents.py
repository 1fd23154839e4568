"""Pydantic models of the spec kinds. Unknown fields are errors: a typo must not do nothing."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .._vocabulary import Method, SkuName, TrainingType, VersionUpgradeOption
from ._evaluation import EvaluationRef, EvaluationSpec
from ._guards import Guard
from ._hyperparameters import HyperValue, check_hyperparameters, normalised_hyperparameters
from ._notifications import NotificationSpec
from ._policy import PolicySpec
from ._promotion import FollowRef
from ._rai_policy import ArmName, RaiPolicySpec
from ._strict import Name
from ._strict import Strict as _Strict

DatasetFormat = Literal["chat", "preference", "reinforcement"]
# Integers are strict (YAML `true` is not 1) and floats finite (`.nan`/`.inf` are not numbers here).
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Seed = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]  # Foundry's seed: a non-negative int32




class Metadata(_Strict):
    name: Name
    # The Foundry document (by metadata.name) a resource lives in; needed only when a spec directory holds
    # several. Metadata, not spec: it places the resource, it is not part of what Foundry is asked to make.
    foundry: Name | None = None
    labels: dict[str, str] = Field(default_factory=dict)


ARM_ID = re.compile(r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.CognitiveServices/"
                    r"accounts/([^/]+)", re.IGNORECASE)


# Azure's names of accounts and of their projects (Microsoft.CognitiveServices 2025-09-01: accountName and
# projectName, 2 to 64 characters).
AzureName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$")]
# A Foundry project endpoint as the portal shows it: https://<resource>.services.ai.azure.com/api/projects/<p>
PROJECT_PATH = re.compile(r"/api/projects/([^/]+)/?")


def endpoint_project(endpoint: str | None) -> str | None:
    """The Foundry project a project endpoint names, or None for a resource endpoint (or an unset ${VAR})."""
    if not endpoint or "${" in endpoint:
        return None
    found = PROJECT_PATH.fullmatch(urllib.parse.urlsplit(endpoint.strip()).path)
    return found.group(1) if found else None


class FoundrySpec(_Strict):
    """Where resources live. `local: true` runs the embedded emulator; the rest name an Azure account."""

    local: bool = False
    # ftops' own namespace, NOT a Foundry project: it is written as the ftops-project tag and job metadata
    # (so the value keeps live objects matching), and keeps two repositories on one account apart.
    namespace: Name | None = Field(default=None, description=(
        "ftops' namespace: written as the ftops-project tag and job metadata of every object it manages, so "
        "that two repositories on one account never touch each other's objects (default: metadata.name). "
        "Not a Foundry project: name that in endpoint, https://<resource>.services.ai.azure.com/api/projects/"
        "<project>. Formerly spelled project."))
    endpoint: str | None = Field(default=None, description=(
        "The resource endpoint https://<resource>.openai.azure.com, or a Foundry project endpoint as the portal "
        "shows it, https://<resource>.services.ai.azure.com/api/projects/<project> (then the data plane is the "
        "project's, with Entra ID tokens for https://ai.azure.com). /openai/v1 is added."))
    foundry_project: AzureName | None = Field(default=None, description=(
        "local: true only: the local Foundry's project to work in (/api/projects/<name>/openai/v1), created "
        "when the local Foundry starts. A remote Foundry names its project in endpoint."))
    subscription: str | None = None
    resource_group: str | None = None
    account: str | None = None
    region: str = "swedencentral"
    arm_endpoint: str = "https://management.azure.com"
    data_dir: str = ".ftops/emulator"  # local only: where the emulator keeps its state
    speed: PositiveFloat = 600.0  # local only: emulated seconds per real second
    concurrency: int = Field(default=8, strict=True, ge=1, le=64)  # independent actions run at once by apply
    poll_interval: PositiveFloat | None = None  # seconds between status polls (5 remote)

    resource_id: str | None = None  # the account's ARM id: gives subscription, resourceGroup and account

    @field_validator("endpoint", "arm_endpoint")
    @classmethod
    def _plain_https_url(cls, value: str | None) -> str | None:
        # An endpoint is printed (the plan's header, plan files, errors): a password or a SAS signature in it
        # would be too, and Azure's endpoints never carry them. The message never repeats the value.
        if not value or "${" in value:
            return value
        url = urllib.parse.urlsplit(value.strip())
        try:
            port_ok = url.port is None or url.port > 0
        except ValueError:
            port_ok = False
        if url.scheme.lower() != "https" or not url.hostname or not port_ok:
            raise ValueError("must be an https:// URL with a host (https://<resource>.openai.azure.com)")
        if url.username is not None or url.password is not None or url.query or url.fragment or "?" in value:
            raise ValueError("must not carry credentials, a query (?...) or a fragment (#...): ftops prints its "
                             "endpoints, and authenticates with AZURE_OPENAI_API_KEY or Entra ID (value not shown)")
        return value

    @field_validator("endpoint")
    @classmethod
    def _project_endpoint_shape(cls, value: str | None) -> str | None:
        if value and "${" not in value and "/api/projects" in urllib.parse.urlsplit(value.strip()).path:
            project = endpoint_project(value)
            if project is None or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}", project):
                raise ValueError("a Foundry project endpoint is https://<resource>.services.ai.azure.com/api/"
                                 "projects/<project>, as the portal shows it (nothing after the project's name, which "
                                 "is 2 to 64 letters, digits, '_', '.' or '-')")
        return value

    @field_validator("foundry_project")
    @classmethod
    def _local_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("local"):  # `local` is validated first (field order)
            raise ValueError("foundryProject is for local: true; a remote Foundry names its project in endpoint "
                             "(https://<resource>.services.ai.azure.com/api/projects/<project>)")
        return value

    @model_validator(mode="after")
    def _remote_needs_coordinates(self) -> FoundrySpec:
        if self.local:
            return self
        if self.resource_id and "${" not in self.resource_id:
            self._take_resource_id(self.resource_id)
        coordinates = [to_camel(f) for f in ("subscription", "resource_group", "account") if not getattr(self, f)]
        if not self.endpoint and coordinates:
            raise ValueError("a remote Foundry needs its endpoint, or its resourceId (or subscription, "
                             "resourceGroup and account); or set local: true")
        if self.endpoint and coordinates and not self.subscription:
            raise ValueError("a remote Foundry named by its endpoint also needs subscription (ftops finds the "
                             "account's resource group there), or its resourceId")
        return self

    def _take_resource_id(self, rid: str) -> None:
        """Fill subscription, resourceGroup and account from an ARM id; a different explicit value is an error."""
        found = ARM_ID.fullmatch(rid.strip())
        if found is None:
            raise ValueError("resourceId must look like /subscriptions/<id>/resourceGroups/<group>/providers/"
                             "Microsoft.CognitiveServices/accounts/<name>")
        for name, value in zip(("subscription", "resource_group", "account"), found.groups(), strict=True):
            current = getattr(self, name)
            if current and "${" not in current and current.lower() != value.lower():
                raise ValueError(f"{to_camel(name)} {current!r} contradicts resourceId ({value!r})")
            object.__setattr__(self, name, current or value)

    @property
    def project_in_endpoint(self) -> str | None:
        """The Foundry project `endpoint` names (a project endpoint), else None."""
        return endpoint_project(self.endpoint)

    @property
    def needs_discovery(self) -> bool:
        """Named by endpoint and subscription only: the account is looked up in the subscription."""
        return not self.local and not (self.resource_group and self.account)


# A Foundry object id as `ftops import` writes it into `adopt:` (file-..., ftjob-...): an id, never a path or URL.
LiveId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


class DatasetAdoption(_Strict):
    """An uploaded file this Dataset is (written by `ftops import`): reused while the local bytes hash to it."""

    id: LiveId
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]  # of the file's bytes, as downloaded


class DatasetSpec(_Strict):
    """The data: a file of the project (`path`) or a URL that Foundry imports (`url`), exactly one of them."""

    path: str | None = None  # relative to the spec file; must stay inside the project root
    # https (Azure Blob with a SAS in ${AZURE_*}/${FTOPS_*}, or with Entra ID), or plain http to loopback
    url: str | None = None
    format: DatasetFormat | None = None  # inferred from the first record when not given
    adopt: DatasetAdoption | None = Field(default=None, description=(
        "A file uploaded outside ftops that holds these bytes (written by ftops import): reused while the data "
        "still hashes to sha256; edited data is uploaded as usual."))

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("a Dataset names its data by exactly one of path (a file of the project) and url")
        return self


class JobRef(_Strict):
    job: Name


class FineTuningJobSpec(_Strict):
    base_model: str | JobRef
    method: Method = "supervised"
    training_type: TrainingType = "GlobalStandard"
    training_data: Name
    validation_data: Name | None = None
    # Foundry's own names and values (n_epochs, batch_size, ...), typed per method by `_hyperparameters`;
    # kept a plain mapping because that is what the plan hashes and what Foundry receives.
    hyperparameters: dict[str, HyperValue] = Field(default_factory=dict)
    suffix: str | None = None
    seed: Seed | None = None
    grader: dict[str, Any] | None = None
    paused: bool = False
    retries: int = Field(default=0, strict=True, ge=0, le=10)  # resubmissions allowed after a failure
    keep_superseded: bool = False  # keep a superseded running job instead of cancelling it
    # Stop training that goes wrong (`_guards.py`); not training content: adding a guard never resubmits.
    guards: list[Guard] = Field(default_factory=list, max_length=20)
    # Resume a job a guard paused: pause guards no longer act on it (removing the guard does the same).
    resume: bool = False
    # A job made outside ftops (ftops import): it is this spec's job while its live fields equal the spec's.
    # Not part of the training content: adopting changes what is followed, never what is trained.
    adopt: LiveId | None = Field(default=None, description=(
        "A job made outside ftops (written by ftops import): this spec's job while its base model, files, method, "
        "hyperparameters, trainingType, suffix and seed equal the spec's; an edit makes a new job."))

    @field_validator("hyperparameters", mode="before")
    @classmethod
    def _typed_per_method(cls, value: Any, info: ValidationInfo) -> Any:
        # Before pydantic coerces (True would become 1); `method` is validated first (field order).
        method = info.data.get("method")
        if isinstance(value, dict) and method is not None:
            check_hyperparameters(method, value)
        return value

    def training_content(self, base_model: str, sha256: Mapping[str, str]) -> dict[str, Any]:
        """What Foundry trains on, as it reads it: the job's identity, so never its name or its project.

        The resolved base model, the bytes of the data (by `sha256`, dataset name -> digest), the method, the
        hyperparameters with Foundry's defaults left out, the training type, seed, suffix (it names the
        model) and grader. Editing anything else (a name, key order, `"auto"` written out, 2 vs 2.0, which
        dataset name holds the bytes) is the same job; `paused`, `retries`, `keepSuperseded`, `guards` and
        `resume` are not sent.
        """
        return training_content(base_model, sha256[self.training_data],
                                sha256[self.validation_data] if self.validation_data else None, self.method,
                                self.hyperparameters, self.training_type, self.seed, self.suffix, self.grader)


class Epoch(_Strict):
    epoch: PositiveInt


class ModelRef(_Strict):
    job: Name
    checkpoint: Literal["final", "best"] | Epoch = "final"


def _model_form(value: Any) -> str:
    """Which form a Deployment's `model` is written in: `{deployment: ...}` follows, anything else names a job
    (so a mistake there is explained in terms of the job form, not of both at once)."""
    if isinstance(value, FollowRef) or (isinstance(value, dict) and "deployment" in value and "job" not in value):
        return "follow-form"
    return "job-form"


# A job's checkpoint (`{job: NAME, checkpoint: ...}`) or what another Deployment serves (`{deployment: NAME}`).
# The tags are no field names: an error's location leaves them out (`_project._data_loc`).
DeploymentModel = Annotated[Annotated[ModelRef, Tag("job-form")] | Annotated[FollowRef, Tag("follow-form")],
                            Discriminator(_model_form)]


class Sku(_Strict):
    name: SkuName
    capacity: PositiveInt = 1


class Gates(_Strict):
    # block a rollout whose checkpoint is worse than this
    max_valid_loss: Annotated[float, Field(allow_inf_nan=False)] | None = None
    must_beat_current: bool = False  # block a rollout that does not lower the served model's loss


# Azure's tag limits (Learn, "Use tags to organize your Azure resources", Limitations): names up to 512
# characters without < > % & \ ? /, values up to 256, 50 tags a resource (counted with ftops' own at write time).
TagName = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^<>%&\\?/]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256)]
OWNED_TAG_PREFIX = "ftops-"  # ftops' own tags (foundry/_deployments.py): never a user tag
# Azure's 50 tags a resource less the 13 ftops may write on a deployment: project, spec, hash, model, job,
# valid-loss, verdict, baseline, override, rolled-at, a follower's source, and the provenance's repo and commit
# (plan/_requests.py, plan/_follow.py, foundry/_deployments.py).
MAX_USER_TAGS = 37


class DeploymentSpec(_Strict):
    model: DeploymentModel
    sku: Sku
    gates: Gates = Field(default_factory=Gates)
    evaluation: EvaluationRef | None = None  # promote only the candidate that passes this Evaluation
    # Take over the live deployment of this name although it carries no ftops tags (ftops import); one tagged
    # by another ftops project is still refused. Its tags are written on its next real change.
    adopt: bool = Field(default=False, description=(
        "Take over the deployment of this name although it has no ftops tags (written by ftops import); one "
        "tagged by another ftops project is still refused. ftops' tags are written on its next change."))

    # ARM's DeploymentProperties ftops owns when the spec sets them (unset: kept as they are live, never drift)
    rai_policy_name: ArmName | None = None  # a RaiPolicy spec, or a built-in policy (Microsoft.DefaultV2...)
    version_upgrade_option: VersionUpgradeOption | None = None
    spillover_deployment_name: ArmName | None = None
    dynamic_throttling_enabled: bool | None = None  # read-only in ARM 2025-09-01: refused below
    tags: dict[TagName, TagValue] | None = None  # user tags, owned one by one (a tag not named here is kept)

    @field_validator("dynamic_throttling_enabled")
    @classmethod
    def _read_only(cls, value: bool | None) -> bool | None:
        if value is not None:
            raise ValueError("is read-only in ARM 2025-09-01 (DeploymentProperties marks it readOnly: Azure sets "
                             "it); ftops cannot write it, so the spec may not set it")
        return value

    @field_validator("tags")
    @classmethod
    def _user_tags(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        ours = [k for k in value if k.lower().startswith(OWNED_TAG_PREFIX)]
        if ours:
            raise ValueError(f"tag {ours[0]!r}: names starting with {OWNED_TAG_PREFIX} are ftops' own")
        if len({k.lower() for k in value}) != len(value):
            raise ValueError("Azure's tag names are case-insensitive: a name is given twice")
        if len(value) > MAX_USER_TAGS:  # Azure's 50 a resource, less the ones ftops writes
            raise ValueError(f"{len(value)} tags: at most {MAX_USER_TAGS} (Azure allows 50 a resource; ftops writes "
                             f"up to {50 - MAX_USER_TAGS})")
        return value

    @property
    def job_ref(self) -> ModelRef | None:
        """`model` when it names a job (`{job: NAME, checkpoint: ...}`), else None (it follows a Deployment)."""
        return self.model if isinstance(self.model, ModelRef) else None

    @property
    def follows(self) -> FollowRef | None:
        """`model` when it follows another Deployment (`{deployment: NAME, soak: ...}`), else None."""
        return self.model if isinstance(self.model, FollowRef) else None

    def owned_settings(self) -> dict[str, str]:
        """The ARM properties this spec sets, as ARM spells them (raiPolicyName...)."""
        fields = ("rai_policy_name", "version_upgrade_option", "spillover_deployment_name")
        return {to_camel(f): getattr(self, f) for f in fields if getattr(self, f) is not None}


SpecKind = Literal["Foundry", "Dataset", "FineTuningJob", "Deployment", "Evaluation", "Notification", "Policy",
                   "RaiPolicy"]
# The kinds a spec document may be, each with its model and the name of the Project's typed view of its
# resources (`project.jobs` is `project.resources["FineTuningJob"]`; None: the Foundry, one per directory,
# `project.foundry`). One line per kind; the Project's collections and the JSON Schema derive from it.
SPEC_KINDS: dict[SpecKind, tuple[type[BaseModel], str | None]] = {
    "Foundry": (FoundrySpec, None),
    "Dataset": (DatasetSpec, "datasets"),
    "FineTuningJob": (FineTuningJobSpec, "jobs"),
    "Deployment": (DeploymentSpec, "deployments"),
    "Evaluation": (EvaluationSpec, "evaluations"),
    "Notification": (NotificationSpec, "notifications"),
    "Policy": (PolicySpec, "policies"),  # judges the plan (plan/_policies.py); makes no actions
    "RaiPolicy": (RaiPolicySpec, "rai_policies"),
}
SPEC_MODELS: dict[SpecKind, type[BaseModel]] = {kind: model for kind, (model, _) in SPEC_KINDS.items()}


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["ftops/v1"] = Field(alias="apiVersion")
    kind: SpecKind
    metadata: Metadata
    spec: dict[str, Any]


def training_content(base_model: str, training_sha256: str, validation_sha256: str | None, method: Method,
                     hyperparameters: Mapping[str, Any], training_type: TrainingType, seed: int | None,
                     suffix: str | None, grader: dict[str, Any] | None) -> dict[str, Any]:
    """A job's identity from the fields of its request (`FineTuningJobSpec.training_content` explains it);
    a plan's job request is hashed with it again once apply knows the base model."""
    return {
        "model": base_model,
        "training_data": training_sha256,
        "validation_data": validation_sha256,
        "method": method,
        "hyperparameters": normalised_hyperparameters(method, dict(hyperparameters)),
        "trainingType": training_type,
        "seed": seed,
        "suffix": suffix,
        "grader": _same_numbers(grader),
    }


def _same_numbers(value: Any) -> Any:
    """`value` with integral floats as ints: JSON reads 1 and 1.0 as one number, and so does Foundry."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _same_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_numbers(v) for v in value]
    return value
