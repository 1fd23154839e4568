"""Live Foundry objects as plain data, parsed leniently: unknown statuses and extra fields are kept."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._vocabulary import JobOutcome
from ._outcomes import job_outcome
from ._wire import finite

OWNED_TAG_PREFIX = "ftops-"  # ftops' namespace of tags (and job metadata keys)

ACTIVE_JOB_STATUSES = frozenset({"pending", "validating_files", "queued", "running", "paused"})
# The writable DeploymentProperties ftops does not own, as the SDK names them and as ARM spells them
# (api-version 2025-09-01; read-only ones are marked in the SDK's `_validation` and never sent).
UNOWNED_PROPERTIES: dict[str, str] = {
    "rai_policy_name": "raiPolicyName",
    "version_upgrade_option": "versionUpgradeOption",
    "capacity_settings": "capacitySettings",
    "spillover_deployment_name": "spilloverDeploymentName",
    "parent_deployment_name": "parentDeploymentName",
    "scale_settings": "scaleSettings",
}


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _resolved(value: Any) -> int | None:
    """A hyperparameter Foundry has resolved, or None: "auto", and the -1 Azure answers until the job
    runs (Learn fine-tuning tutorial output), mean "not resolved yet", never a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _int(value: Any) -> int | None:
    """An integer field of an answer, or None when it is something else (a hostile or broken Foundry's
    "soon" would otherwise fail far from here, in a plan's display of it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    return value if isinstance(value, int) else None


MAX_ERROR_CHARS = 2000  # of a job's error message, code and param: a plan line, not a server's megabyte


def _str(value: Any, limit: int | None = None) -> str | None:
    """A string field of an answer (cut to `limit` characters), or None when it is empty or something else: a
    hostile or broken Foundry's number or map where a name belongs would otherwise fail far from here."""
    if not isinstance(value, str) or not value:
        return None
    return value if limit is None or len(value) <= limit else value[:limit] + "…"


def _str_map(value: Any) -> dict[str, str]:
    """A job's metadata: string keys to string values (Azure's), anything else left out."""
    return {k: v for k, v in _plain(value).items() if isinstance(v, str)}


def _plain(value: Any) -> dict[str, Any]:
    """A nested answer (an SDK model or a dict) as a plain dict; anything else as empty."""
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    return {str(k): v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


@dataclass(frozen=True)
class LiveFile:
    id: str
    filename: str
    bytes: int
    status: str  # pending | processed | error | uploaded | anything Foundry adds
    purpose: str
    created_at: int
    status_details: str | None = None

    @classmethod
    def parse(cls, f: Any) -> LiveFile:
        return cls(id=str(_get(f, "id")), filename=str(_get(f, "filename") or ""), bytes=int(_get(f, "bytes") or 0),
                   status=str(_get(f, "status") or "unknown"), purpose=str(_get(f, "purpose") or ""),
                   created_at=int(_get(f, "created_at") or 0), status_details=_get(f, "status_details"))


@dataclass(frozen=True)
class LiveJob:
    id: str
    status: str
    model: str
    created_at: int
    fine_tuned_model: str | None
    metadata: dict[str, str]
    training_file: str | None
    validation_file: str | None
    n_epochs: int | None
    finished_at: int | None = None
    batch_size: int | None = None  # resolved: with the training examples, the steps of an epoch
    estimated_finish: int | None = None
    trained_tokens: int | None = None
    error: str | None = None  # the error's message
    suffix: str | None = None
    error_code: str | None = None  # the error's machine-readable code, as Foundry spells it
    error_param: str | None = None  # the parameter it names (training_file ...), or None
    # What it trains, as Foundry answers it (read by `ftops import` and by an `adopt:` spec's match):
    method: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # the method's, as Foundry resolved them
    training_type: str | None = None  # Azure's `trainingType`
    seed: int | None = None
    grader: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    @property
    def outcome(self) -> JobOutcome | None:
        """How it ended, if it failed or was cancelled: from the error's code and param (`_outcomes.py`)."""
        return job_outcome(self.status, self.error_code, self.error_param, self.error)

    @classmethod
    def parse(cls, j: Any) -> LiveJob:
        err = _get(j, "error")
        message = _get(err, "message") if err else None
        code, param = (_get(err, "code"), _get(err, "param")) if err else (None, None)
        hp = _get(j, "hyperparameters") or {}
        n, batch = _resolved(_get(hp, "n_epochs")), _resolved(_get(hp, "batch_size"))
        method = _get(j, "method")
        mtype = _get(method, "type") if method is not None else None
        inner = _get(method, mtype) if isinstance(mtype, str) else None
        method_hp = _plain(_get(inner, "hyperparameters")) or _plain(hp)
        n = n or _resolved(method_hp.get("n_epochs"))
        batch = batch or _resolved(method_hp.get("batch_size"))
        extra = _get(j, "model_extra") or {}  # fields the openai SDK does not model (Azure's trainingType)
        training_type = _get(j, "trainingType") or _get(extra, "trainingType")
        grader = _plain(_get(inner, "grader"))
        return cls(
            id=str(_get(j, "id")), status=str(_get(j, "status") or "unknown"), model=str(_get(j, "model") or ""),
            created_at=_int(_get(j, "created_at")) or 0, fine_tuned_model=_str(_get(j, "fine_tuned_model")),
            metadata=_str_map(_get(j, "metadata")), training_file=_str(_get(j, "training_file")),
            validation_file=_str(_get(j, "validation_file")), n_epochs=n,
            finished_at=_int(_get(j, "finished_at")), estimated_finish=_int(_get(j, "estimated_finish")),
            trained_tokens=_int(_get(j, "trained_tokens")), error=_str(message, MAX_ERROR_CHARS),
            suffix=_str(_get(j, "suffix")), batch_size=batch, error_code=_str(code, MAX_ERROR_CHARS),
            error_param=_str(param, MAX_ERROR_CHARS), method=mtype if isinstance(mtype, str) else None,
            hyperparameters=method_hp, training_type=str(training_type) if training_type else None,
            seed=_int(_get(j, "seed")), grader=grader or None)


@dataclass(frozen=True)
class LiveCheckpoint:
    id: str
    step_number: int
    full_valid_loss: float | None
    valid_loss: float | None
    fine_tuned_model_checkpoint: str | None

    @property
    def loss(self) -> float | None:
        return self.full_valid_loss if self.full_valid_loss is not None else self.valid_loss

    @classmethod
    def parse(cls, c: Any) -> LiveCheckpoint:
        m = _plain(_get(c, "metrics"))
        return cls(id=str(_get(c, "id")), step_number=_int(_get(c, "step_number")) or 0,
                   full_valid_loss=finite(m.get("full_valid_loss")), valid_loss=finite(m.get("valid_loss")),
                   fine_tuned_model_checkpoint=_get(c, "fine_tuned_model_checkpoint"))


def _tags(raw: Any) -> dict[str, str]:
    """A deployment's tags, ftops' own (`ftops-*`) under their lower-case names: Azure compares tag names
    without case, so a hand-made `FTOPS-project` is the tag `ftops-project` to every reader of ftops."""
    tags = raw if isinstance(raw, dict) else {}
    return {(k.lower() if k.lower().startswith(OWNED_TAG_PREFIX) else k): str(v) for k, v in tags.items()
            if isinstance(k, str)}


def unowned_settings(d: Any) -> dict[str, Any]:
    """The writable properties ftops does not own, as ARM spells them (for status and `--format json`)."""
    props = getattr(d, "properties", None)
    if props is None:
        return {}
    out: dict[str, Any] = dict(getattr(props, "additional_properties", None) or {})  # ones the SDK does not model
    for attr, arm in UNOWNED_PROPERTIES.items():
        value = getattr(props, attr, None)
        if value is not None:
            out[arm] = value.serialize() if hasattr(value, "serialize") else value
    return out


@dataclass(frozen=True)
class LiveDeployment:
    name: str
    model: str | None
    sku_name: str | None
    capacity: int | None
    tags: dict[str, str]
    provisioning_state: str | None
    # The writable properties ftops does not own (raiPolicyName, versionUpgradeOption...), as ARM spells
    # them: shown by `status --format json`, written back unchanged by every rollout, never drift.
    settings: dict[str, Any] = field(default_factory=dict)
    # The account the model was trained in, when it is not this one (ARM's `properties.model.source`: a
    # cross-account deployment); ftops writes it for a promotion from another account and compares it.
    source: str | None = None

    @property
    def sku(self) -> str | None:
        """The sku in the spec's language (DeveloperTier reads as Developer)."""
        from ._wire import spec_sku

        return spec_sku(self.sku_name)

    @classmethod
    def parse(cls, d: Any) -> LiveDeployment:
        props = _get(d, "properties")
        model = _get(props, "model") if props is not None else None
        sku = _get(d, "sku")
        return cls(name=str(_get(d, "name")), model=_get(model, "name") if model is not None else None,
                   sku_name=_get(sku, "name") if sku is not None else None,
                   capacity=_get(sku, "capacity") if sku is not None else None,
                   tags=_tags(_get(d, "tags")), provisioning_state=_get(props, "provisioning_state")
                   if props is not None else None, settings=unowned_settings(d),
                   source=_get(model, "source") if model is not None else None)


@dataclass
class Snapshot:
    """Everything on the account, read in a number of calls that grows with pages, not resources."""

    files: list[LiveFile] = field(default_factory=list)
    jobs: list[LiveJob] = field(default_factory=list)
    deployments: list[LiveDeployment] = field(default_factory=list)
    api_calls: int = 0
    server_time: float | None = None  # the service's clock when it was read (timestamps in bodies use it)


def _timestamp(value: Any) -> float | None:
    """A deprecation date (ISO text or a datetime, as the SDK gives it) as a timestamp."""
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


@dataclass(frozen=True)
class LiveModel:
    """A base model the account offers (ARM Accounts_ListModels), by its data-plane id `<name>-<version>`."""

    id: str
    lifecycle_status: str | None
    fine_tune_retires: float | None  # when it can no longer be fine-tuned
    inference_retires: float | None  # when its deployments stop serving
    skus: tuple[str, ...]  # sku names (the spec's spelling) it can be deployed with (empty: not said)
    name: str = ""  # the model's name without its version (open-source models are fine-tuned by name)
    fine_tunable: bool | None = None  # capabilities.fineTune; None: not said
    format: str | None = None  # OpenAI, Mistral AI, Meta, ...
    version: str = ""  # ARM's version of the model (a base model deploys by name and version)

    @classmethod
    def parse(cls, m: Any) -> LiveModel:
        from ._wire import spec_sku

        model = _get(m, "model") or m  # AccountModel nests the model; tolerate the flat form too
        name, version = _get(model, "name") or _get(m, "name"), _get(model, "version") or _get(m, "version")
        deprecation = _get(m, "deprecation") or _get(model, "deprecation")
        skus = _get(m, "skus") or _get(model, "skus") or []
        capabilities = _get(m, "capabilities") or _get(model, "capabilities") or {}
        return cls(id=f"{name}-{version}" if version else str(name),
                   lifecycle_status=_get(m, "lifecycle_status") or _get(model, "lifecycle_status"),
                   fine_tune_retires=_timestamp(_get(deprecation, "fine_tune")) if deprecation else None,
                   inference_retires=_timestamp(_get(deprecation, "inference")) if deprecation else None,
                   skus=tuple(spec_sku(str(_get(k, "name"))) or "" for k in skus if _get(k, "name")),
                   name=str(name or ""), fine_tunable=_flag(_get(capabilities, "fineTune")),
                   format=_get(model, "format") or _get(m, "format"), version=str(version or ""))


def _flag(value: Any) -> bool | None:
    """ARM capabilities are strings ("true"/"false")."""
    if value is None:
        return None
    return str(value).lower() == "true"


def models_by_id(models: list[LiveModel]) -> dict[str, LiveModel]:
    """The account's models by data-plane id, and by bare name where no id already says it: Learn names the
    open-source models without a version (`Ministral-3B`), while ARM lists every model with one."""
    found = {m.id: m for m in models}
    for m in models:
        if m.name:
            found.setdefault(m.name, m)
    return found


@dataclass(frozen=True)
class LiveUsage:
    """One quota of the account (ARM Accounts_ListUsages): what is used of what is allowed."""

    name: str
    current: float
    limit: float

    @classmethod
    def parse(cls, u: Any) -> LiveUsage:
        name = _get(u, "name")
        return cls(name=str(_get(name, "value") if name is not None else ""),
                   current=float(_get(u, "current_value") or 0), limit=float(_get(u, "limit") or 0))
