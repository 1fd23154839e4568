"""The Plan: typed actions with reasons, changed fields and dependencies; saved as versioned JSON.

Each action kind is its own model with explicit fields (`op` is the discriminator), so apply never
reads meaning out of ids or reasons, and a plan file is validated as a whole before anything runs.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from .._urls import plan_form
from .._vocabulary import (
    CHANGING,
    DRIFT_CLASSES,
    MODEL_FORMAT_PATTERN,
    VERBS,
    CanarySku,
    DriftClass,
    GuardAction,
    JobOutcome,
    Method,
    NotificationEvent,
    NotificationTarget,
    SkuName,
    TrainingType,
    Verb,
)
from ..spec import Criterion, EvaluationRef, PassRule
from ._policy_results import PolicyResult
from ._provenance import GitSource

FORMAT_VERSION: Literal[3] = 3
ACTIONS = VERBS
DRIFT_KINDS = DRIFT_CLASSES
# What an action shows a person and apply never reads. A saved plan may differ from a fresh decision only
# here: a reason or drift class can move with the clock (a deployment missing for an hour reads `deleted`),
# progress with a running job's events. Every other field decides what apply sends or does.
# `soaking` too: a soaking promotion is pending, so apply defers it whatever it says (it feeds the chain view).
DISPLAY_ONLY = frozenset({"reason", "changes", "drift", "progress", "cost", "outcome", "soaking"})

Kind = Literal["Dataset", "FineTuningJob", "Deployment", "File", "Evaluation", "RaiPolicy"]
Scalar = str | int | float | bool | None
Hex16 = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
OwnTag = Annotated[str, Field(pattern=r"^ftops-[a-z-]{1,40}$")]  # ftops writes only its own tags
LiveId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:\-]+$")]


def known_after_apply(what: str) -> str:
    """A desired value the plan cannot know yet, in Terraform's words, saying what will decide it (shown
    in `changes`; apply reads the action's typed fields, never this text)."""
    return f"(known after apply: {what})"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)


class Cost(_Model):
    training_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    monthly_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    canary_hosting_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)  # once: evaluation canaries


class Unmanaged(_Model):
    """The account's deployments this project does not manage (other projects', made by hand): they cost
    whatever the plan does, so the plan shows them apart instead of leaving them out."""

    deployments: int = Field(default=0, ge=0)
    unpriced: int = Field(default=0, ge=0)  # no job says which model they serve: not in monthly_usd
    monthly_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)


def utc_text(ts: float, fmt: str) -> str:
    """`ts` (seconds since the epoch) as UTC text. Times come from Foundry's answers and from names and tags
    anyone with access can write (a lease's expiry): one no calendar holds (1e20, NaN) reads as such, where
    formatting it would raise and end the command in an internal error."""
    import time

    try:
        return time.strftime(fmt, time.gmtime(ts))
    except (OverflowError, ValueError, OSError, TypeError):
        return "(not a date)"


class JobProgress(_Model):
    """Where a running job is, from its newest metrics event (display only)."""

    status: str
    epoch: int | None = None
    n_epochs: int | None = None
    step: int | None = None
    total_steps: int | None = None
    train_loss: float | None = None
    estimated_finish: int | None = None
    last_message: str | None = None

    def __str__(self) -> str:
        return " · ".join([self.status, *self.details()])

    def details(self) -> list[str]:

        parts: list[str] = []
        if self.epoch is not None and self.n_epochs:
            parts.append(f"epoch {self.epoch}/{self.n_epochs}")
        if self.step is not None:
            parts.append(f"Step {self.step}/{self.total_steps}" if self.total_steps else f"Step {self.step}")
        elif self.last_message:
            parts.append(self.last_message)
        if self.train_loss is not None:
            parts.append(f"loss {self.train_loss:.4f}")
        if self.estimated_finish:
            parts.append("ETA " + utc_text(self.estimated_finish, "%Y-%m-%d %H:%M UTC"))
        return parts


class GuardTrip(_Model):
    """A training guard that tripped on a job's step metrics (or its estimated spend): which, where, and why."""

    guard: str = Field(max_length=200)  # the guard as written, e.g. `valid_loss rising 3 -> pause`
    action: GuardAction
    step: int = Field(ge=0)  # the step whose metrics tripped it
    why: str = Field(max_length=500)  # the values that tripped it

    def __str__(self) -> str:
        return f"guard {self.guard} tripped at step {self.step}: {self.why}"


class ActionBase(_Model):
    """What every action has: what, why, which fields change, what it waits for, how it is classified."""

    id: str = Field(min_length=1, max_length=300)
    name: str = Field(min_length=1, max_length=300)
    reason: str = Field(max_length=4000)
    changes: dict[str, tuple[Scalar, Scalar]] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    blocked: str | None = None  # why it cannot run (a failed job, a gate, a foreign name ...)
    drift: DriftClass | None = None  # set when the difference did not come from git (see DRIFT_KINDS)
    pending: bool = False  # waits for Foundry (a running job): not a change apply can make now
    live_id: str | None = None  # the live object it concerns: file id, job id or deployment name
    duplicate_of: str | None = None  # a second live object for one spec (racing applies)
    progress: JobProgress | None = None
    guard: GuardTrip | None = None  # jobs: the training guard that tripped (pause, cancel, or held paused)
    cost: Cost = Field(default_factory=Cost)

    kind: Kind
    action: Verb

    @property
    def resource(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def changes_something(self) -> bool:
        return self.action in CHANGING

    @property
    def is_change(self) -> bool:
        """A change apply can make now (not blocked, not waiting for a running job)."""
        return self.changes_something and not self.pending and not self.blocked

    def decisive(self) -> dict[str, Any]:
        """Every field that decides what apply sends or does (all but DISPLAY_ONLY), as JSON values.

        `depends_on` is a sorted set: its order in the list means nothing to the scheduler.
        """
        fields = self.model_dump(mode="json", exclude=set(DISPLAY_ONLY))
        fields["depends_on"] = sorted(set(self.depends_on))
        return fields


# -- datasets -------------------------------------------------------------------------------
def relative_path(v: str) -> str:
    """A path a plan file names for apply to read: relative to the project root, '/'-separated, inside it."""
    parts = v.split("/")
    if v.startswith("/") or "\\" in v or ".." in parts or "\x00" in v:
        raise ValueError("must be a relative path inside the project root")
    return v


RelativePath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(relative_path)]


class UploadDataset(ActionBase):
    op: Literal["dataset.upload"] = "dataset.upload"
    kind: Literal["Dataset"] = "Dataset"
    action: Literal["create"] = "create"
    path: RelativePath
    filename: str = Field(min_length=1, max_length=512)
    sha256: Sha256
    bytes: int = Field(ge=0)


class ImportDataset(ActionBase):
    """Have Foundry fetch a URL dataset itself (Files - Import), under the name its identity gives."""

    op: Literal["dataset.import"] = "dataset.import"
    kind: Literal["Dataset"] = "Dataset"
    action: Literal["create"] = "create"
    # The spec's url as a plan file may carry it: `${VAR}` kept, any literal query as `…` (`_urls.plan_form`).
    # Apply sends the spec's url, expanded, once it has checked that this plan was made for it.
    url: str = Field(min_length=1, max_length=8192)
    filename: str = Field(min_length=1, max_length=512)
    sha256: Sha256  # of the content; with identity "etag", of the ETag and size
    bytes: int = Field(ge=0)
    identity: Literal["sha256", "etag"]
    etag: str | None = Field(default=None, max_length=256)  # checked again (HEAD) right before the import

    def decisive(self) -> dict[str, Any]:
        # The ETag guards only the moments up to the import (a HEAD with the fresh decision's ETag). With
        # identity "sha256" a new ETag over the same bytes is the same approval; with "etag" it is in `sha256`.
        fields = super().decisive()
        fields.pop("etag", None)
        return fields

    @field_validator("url")
    @classmethod
    def _no_query_value(cls, v: str) -> str:
        if plan_form(v) != v:
            raise ValueError("must be the spec's url with its query as ${VAR} references or `…`")
        return v


class WaitFile(ActionBase):
    op: Literal["dataset.wait"] = "dataset.wait"
    kind: Literal["Dataset"] = "Dataset"
    action: Literal["wait"] = "wait"
    file_id: LiveId
    filename: str = Field(min_length=1, max_length=512)  # to find the surviving upload if that one goes


# -- jobs -----------------------------------------------------------------------------------
class JobFile(_Model):
    """A file a job trains on: its dataset and bytes, and the uploaded file's id when the plan found it
    processed; otherwise the dataset action whose upload (or wait) yields the id at apply time."""

    dataset: str = Field(min_length=1, max_length=300)
    sha256: Sha256
    file_id: LiveId | None = None
    made_by: str | None = Field(default=None, min_length=1, max_length=300)  # an action id of this plan


class JobSubmission(_Model):
    """The fine-tuning job request apply sends, field by field as the spec writes it (Foundry's names and
    values; `foundry.JobRequest` spells it on the wire). What is known only after apply is typed as such: the
    base model of continuous fine-tuning (`base_model` None: the base job's fine-tuned model), a file id
    (`JobFile.made_by`), and the identity metadata derived from them (`metadata` None)."""

    base_model: str | None = Field(default=None, min_length=1, max_length=256)
    training_file: JobFile
    validation_file: JobFile | None = None
    method: Method
    hyperparameters: dict[str, int | float | str] = Field(default_factory=dict)  # as written: sent as is
    training_type: TrainingType
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    grader: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None  # ftops' identity metadata the job carries, when the base is known

    def files(self) -> list[JobFile]:
        return [f for f in (self.training_file, self.validation_file) if f is not None]


class CreateJob(ActionBase):
    op: Literal["job.create"] = "job.create"
    kind: Literal["FineTuningJob"] = "FineTuningJob"
    action: Literal["create"] = "create"
    request: JobSubmission
    spec_hash: Hex16 | None  # None while the base job of continuous fine-tuning has not finished
    base_job: Name | None = None  # continuous fine-tuning: the job whose model `request` trains on
    base_hash: Hex16 | None = None
    retry: int = Field(default=0, ge=0)  # n-th resubmission after a failure (0: not a retry)
    supersedes: list[LiveId] = Field(default_factory=list)


class _OnJob(ActionBase):
    """An action on one live job."""

    kind: Literal["FineTuningJob"] = "FineTuningJob"
    job_id: LiveId


class WaitJob(_OnJob):
    op: Literal["job.wait"] = "job.wait"
    action: Literal["wait"] = "wait"
    spec_hash: Hex16


class PauseJob(_OnJob):
    op: Literal["job.pause"] = "job.pause"
    action: Literal["pause"] = "pause"


class ResumeJob(_OnJob):
    op: Literal["job.resume"] = "job.resume"
    action: Literal["resume"] = "resume"


class CancelJob(_OnJob):
    op: Literal["job.cancel"] = "job.cancel"
    action: Literal["cancel"] = "cancel"
    cause: Literal["duplicate", "superseded", "orphan", "guard"]


# -- evaluations ----------------------------------------------------------------------------
class Candidate(_Model):
    model: str = Field(min_length=1, max_length=256)  # a fine-tuned model id, a checkpoint id or a base model
    label: str = Field(min_length=1, max_length=100)  # "final", "epoch 3", "baseline" ...


class CandidateScores(_Model):
    """One model's mean score per criterion over the held-out items, and whether it passes the rule."""

    model: str
    label: str
    scores: dict[str, float | None]
    overall: float | None = Field(default=None, allow_inf_nan=False)  # mean over the criteria
    items: int = Field(default=0, ge=0)  # items graded without error (the fewest over the criteria)
    passed: bool = False
    why: str = ""  # what it missed


class Verdict(_Model):
    """The result of an evaluation gate: the winner to promote (None: the gate failed) and every score."""

    evaluation: Name
    passed: bool
    winner: str | None = None
    reason: str = Field(max_length=4000)  # one line with the scores
    criteria: list[str] = Field(default_factory=list)
    candidates: list[CandidateScores] = Field(default_factory=list)
    baseline: CandidateScores | None = None
    baseline_model: str | None = None  # what the candidates were compared with (scored or not)


class Judging(_Model):
    """How a verdict is reached and recorded: the criteria's names (in order), the pass rule, the eval's
    identity (`criteria_hash`) and the canaries' SKU. A rollout promoting a verdict the plan read confirms it
    against the eval runs with this."""

    evaluation: Name
    criteria: list[str] = Field(min_length=1, max_length=8)
    rule: PassRule
    criteria_hash: Hex16  # of the held-out data's sha256 and the criteria (python sources by their sha256)
    canary_sku: CanarySku = "Developer"


class GraderSource(_Model):
    """A python criterion's source, read and sent by apply: its file and the sha256 the plan was made for."""

    path: RelativePath
    sha256: Sha256


class EvaluateCandidates(ActionBase):
    """Deploy each candidate and the baseline on throwaway canaries, run the Evaluation, decide the winner."""

    op: Literal["evaluation.run"] = "evaluation.run"
    kind: Literal["Evaluation"] = "Evaluation"
    action: Literal["create"] = "create"
    deployment: Name  # the Deployment this evaluation gates
    job: Name
    job_hash: Hex16
    candidates: list[Candidate] = Field(default_factory=list)  # empty: from the job's checkpoints at apply time
    baseline: str | None = None  # what the deployment serves now; None: the job's base model
    criteria_hash: Hex16  # of the held-out data's sha256 and the criteria (python sources by their sha256)
    data_sha256: Sha256
    inputs: dict[str, Hex16] = Field(default_factory=dict)  # model -> hash(model, criteria_hash), when known
    reuse: list[str] = Field(default_factory=list)  # models whose scores Foundry already holds (not re-run)
    canaries: list[str] = Field(default_factory=list)  # the throwaway deployments, when the models are known
    canary_sku: SkuName = "Developer"
    tokens: int = Field(default=0, ge=0)  # estimated tokens the runs sample and grade
    # What apply sends and how it judges: the testing criteria as written (python sources by file and sha256),
    # the held-out items' file, which of the job's checkpoints are candidates, and the rule.
    judging: Judging
    criteria: list[Criterion] = Field(min_length=1, max_length=8)
    graders: dict[str, GraderSource] = Field(default_factory=dict)  # python criterion name -> its source
    items_path: RelativePath
    selection: EvaluationRef

    @model_validator(mode="after")
    def _one_identity(self) -> EvaluateCandidates:
        how = self.judging
        if (how.criteria_hash, how.canary_sku, how.evaluation, how.criteria) != (
                self.criteria_hash, self.canary_sku, self.name, [c.name for c in self.criteria]):
            raise ValueError("judging must be this evaluation's criteria, hash and canary sku")
        return self


# -- deployments ----------------------------------------------------------------------------
class ModelSelector(_Model):
    """Which of a finished job's models a deployment serves, and the gates it must pass (the spec's
    `model.checkpoint` and `gates`): apply resolves it when the job finishes after the plan."""

    checkpoint: Literal["final", "best"] | Annotated[int, Field(strict=True, ge=1)] = "final"  # an int: an epoch
    max_valid_loss: float | None = Field(default=None, allow_inf_nan=False)
    must_beat_current: bool = False


class RollOut(ActionBase):
    """Create, update or replace a deployment with the model a job's checkpoint selector names."""

    op: Literal["deployment.rollout"] = "deployment.rollout"
    kind: Literal["Deployment"] = "Deployment"
    action: Literal["create", "update", "replace"]
    job: Name
    job_hash: Hex16
    sku: SkuName
    capacity: int = Field(ge=1)
    # ARM's model format of the fine-tuned model (`OpenAI`; an open-source base model's provider, `Mistral AI`)
    model_format: str = Field(default="OpenAI", pattern=MODEL_FORMAT_PATTERN)
    model_version: str = Field(default="1", pattern=r"^[A-Za-z0-9.\-]{1,40}$")  # ARM's: "1" for a fine-tuned model
    spec_hash: Hex16
    selector: ModelSelector = Field(default_factory=ModelSelector)
    evaluation: Name | None = None  # the Evaluation whose winner this deployment serves (its verdict decides)
    judging: Judging | None = None  # that evaluation's: a verdict read at plan time is confirmed with it
    # The ftops tags the write sets, as far as the plan knows them: all of them once `model` is resolved;
    # else project, spec and hash, and apply adds the job, model, loss and verdict it resolves.
    tags: dict[OwnTag, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict)
    served_model: str | None = None  # what the deployment serves now (None: it does not exist)
    served_capacity: int | None = None  # its capacity now (a model and a capacity change go in two writes)
    served_loss: float | None = Field(default=None, allow_inf_nan=False)
    model: str | None = None  # resolved at plan time when the job had finished, else at apply time
    loss: float | None = Field(default=None, allow_inf_nan=False)
    job_id: LiveId | None = None  # the job `model` was resolved from
    gated: bool = False  # the model is the winner of the evaluation this rollout depends on (apply time)
    verdict: Verdict | None = None  # the evaluation verdict known at plan time
    # A change Azure makes only by delete + create (the sku's name): the deployment serves nothing in
    # between, so apply runs it only with --allow-downtime.
    interrupts: bool = False
    # The ARM properties and user tags the spec sets (raiPolicyName...: ARM's spelling), written over the live ones.
    settings: dict[str, str] = Field(default_factory=dict)
    user_tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _replace_interrupts(self) -> RollOut:
        # Apply deletes and recreates on `action`, and asks for consent on `interrupts`: they must agree, or
        # a plan (an edited file, a planner bug) could take a deployment down without --allow-downtime.
        if self.action == "replace" and not self.interrupts:
            raise ValueError("a replace interrupts serving: interrupts must be true")
        return self


# "<foundry>/<name>": what a promotion serves the model of (a Deployment it follows, or another account's job)
UpstreamName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# An account's ARM resource id; any case, as ARM returns ids (names in it are case-insensitive)
ArmId = Annotated[str, Field(max_length=1000, pattern=r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                                                      r"Microsoft\.CognitiveServices/accounts/[^/]+$")]


class Soaking(_Model):
    """What a pending promotion waits out: the stage before serves `model`, and the soak ends at `until` (epoch
    seconds, Foundry's clock). Typed so the chain view need not read the reason."""

    model: str = Field(min_length=1, max_length=256)
    until: float = Field(allow_inf_nan=False)


class Promote(ActionBase):
    """Create, update or replace a deployment with what another stage serves: the model of the Deployment it
    follows once that one's evaluation passed (`model: {deployment: NAME}`), or the final model of another
    account's job (`model: {job: NAME}` across accounts). `source` names the account the model was trained in
    when that is not this one (ARM's `DeploymentModel.source`); `model` None: pending, apply waits for a plan
    that knows it (the upstream is still rolling out, training, being evaluated, or soaking)."""

    op: Literal["deployment.promote"] = "deployment.promote"
    kind: Literal["Deployment"] = "Deployment"
    action: Literal["create", "update", "replace"]
    upstream: UpstreamName
    model: str | None = Field(default=None, min_length=1, max_length=256)
    source: ArmId | None = None
    job_id: LiveId | None = None  # the job the model came from (in the upstream's account)
    sku: SkuName
    capacity: int = Field(ge=1)
    model_format: str = Field(default="OpenAI", pattern=MODEL_FORMAT_PATTERN)
    model_version: str = Field(default="1", pattern=r"^[A-Za-z0-9.\-]{1,40}$")
    spec_hash: Hex16
    tags: dict[OwnTag, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict)
    served_model: str | None = None
    served_capacity: int | None = None
    interrupts: bool = False  # a sku name change: delete and create (apply needs --allow-downtime)
    settings: dict[str, str] = Field(default_factory=dict)
    user_tags: dict[str, str] = Field(default_factory=dict)
    soaking: Soaking | None = None  # pending on the soak time only (None: not soaking)

    @model_validator(mode="after")
    def _consistent(self) -> Promote:
        if self.action == "replace" and not self.interrupts:
            raise ValueError("a replace interrupts serving: interrupts must be true")
        if self.model is None and not self.pending:
            raise ValueError("a promotion without a model waits (pending must be true)")
        return self


class DeleteDeployment(ActionBase):
    op: Literal["deployment.delete"] = "deployment.delete"
    kind: Literal["Deployment"] = "Deployment"
    action: Literal["delete"] = "delete"


# -- content filter policies ------------------------------------------------------------------
class PutRaiPolicy(ActionBase):
    """Create or update a content filter policy with the fields its spec sets (a PUT merged onto the live one)."""

    op: Literal["raipolicy.put"] = "raipolicy.put"
    kind: Literal["RaiPolicy"] = "RaiPolicy"
    action: Literal["create", "update"]
    spec_hash: Hex16


class DeleteRaiPolicy(ActionBase):
    op: Literal["raipolicy.delete"] = "raipolicy.delete"
    kind: Literal["RaiPolicy"] = "RaiPolicy"
    action: Literal["delete"] = "delete"


class DeleteFile(ActionBase):
    op: Literal["file.delete"] = "file.delete"
    kind: Literal["File"] = "File"
    action: Literal["delete"] = "delete"
    file_id: LiveId


class NoOp(ActionBase):
    """Nothing to do (or nothing possible: `blocked`); says why, and what is live."""

    op: Literal["noop"] = "noop"
    action: Literal["no-op", "wait"] = "no-op"
    served_model: str | None = None  # deployments: what it serves
    fine_tuned_model: str | None = None  # jobs: the model a succeeded job produced
    outcome: JobOutcome | None = None  # jobs: how the failed job ended (Azure's checks, a service failure ...)
    verdict: Verdict | None = None  # deployments gated on an evaluation: its verdict
    in_sync: bool = False  # deployments: serves what its spec says (a rollout is done)
    # A follower in step: the verdict its stage's plan passed the model with, handed down a chain of follows (a
    # later stage copies it into its `ftops-verdict`), so no stage's tag, which anyone may write, is read for it.
    carried_verdict: str | None = Field(default=None, max_length=4000)


Action = Annotated[
    UploadDataset | ImportDataset | WaitFile | CreateJob | WaitJob | PauseJob | ResumeJob | CancelJob
    | EvaluateCandidates | RollOut | Promote | DeleteDeployment | DeleteFile | PutRaiPolicy | DeleteRaiPolicy | NoOp,
    Field(discriminator="op"),
]


class Notice(_Model):
    """A notification the plan would send: an event a Notification spec wants, not yet delivered (no claim of
    it in Foundry, `plan/_notifications.py`). Apply delivers it once (`apply/_notify.py`)."""

    notification: Name  # the Notification spec
    target: NotificationTarget
    event: NotificationEvent
    key: Hex16  # the event's identity (what was observed, where): one delivery per key and notification
    resource: str = Field(max_length=300)  # e.g. FineTuningJob/clippy
    text: str = Field(max_length=1000)  # for people: what happened


class Finding(_Model):
    """What preflight found: an error refuses the plan before any change; a warning is shown."""

    severity: Literal["error", "warning"]
    kind: Literal["quota", "retired", "retiring", "unavailable", "ephemeral", "unknown"]
    resource: str
    message: str = Field(max_length=2000)


class Plan(_Model):
    format_version: Literal[3] = 3
    project: Name
    endpoint: str = Field(max_length=1000)  # "<subscription>/<resource group>/<account>"
    data_plane: str = Field(default="", max_length=1000)  # the endpoint URL the plan read (for people)
    foundry_project: str = Field(default="", max_length=64)  # the Foundry project of data_plane ("": none)
    identity: str = Field(default="", max_length=300)  # how ftops authenticated (for people; never a secret)
    fingerprint: Hex16  # of the live state the plan was computed against
    # of what other accounts' stages offered its promotions (None: it follows no other account's)
    upstream_fingerprint: Hex16 | None = None
    spec_fingerprint: Hex16  # of the specs and the data they name
    # as given on the command line (relative to where it ran); no control characters (a NUL is no path)
    spec_dir: str = Field(min_length=1, max_length=4096, pattern=r"^[^\x00-\x1f\x7f]+$")
    # The Foundry document (metadata.name) planned: `apply PLANFILE` works on it again ("": an older plan file)
    foundry: str = Field(default="", max_length=63, pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$")
    created_at: float = Field(gt=1.5e9, lt=1e11, allow_inf_nan=False)
    actions: list[Action] = Field(default_factory=list)
    prune: bool = False
    api_calls: int = Field(default=0, ge=0)
    hosting_before_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)  # monthly, deployments live now
    unmanaged: Unmanaged = Field(default_factory=Unmanaged)  # the account's other deployments (not in before/after)
    findings: list[Finding] = Field(default_factory=list)  # preflight: quotas, retired models, skus
    notifications: list[Notice] = Field(default_factory=list)  # what apply would send (Notification specs)
    policies: list[PolicyResult] = Field(default_factory=list)  # every Policy judged on this plan (_policies.py)
    # The git repository and commit the specs were read from, recorded on every job and deployment apply
    # writes (`_provenance.py`); None: not read from a git checkout. Never part of an identity or approval.
    provenance: GitSource | None = None

    @property
    def refused(self) -> list[Finding]:
        """Preflight errors: what would fail at apply, so nothing is applied."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def policy_blocks(self) -> list[PolicyResult]:
        """The failed mandatory policies no override lets through: nothing of the plan is applied."""
        return [r for r in self.policies if r.blocks]

    @property
    def has_changes(self) -> bool:
        return any(a.is_change for a in self.actions)

    @property
    def interruptions(self) -> list[RollOut | Promote]:
        """The changes that stop a deployment serving for a while (apply needs --allow-downtime)."""
        return [a for a in self.actions if isinstance(a, RollOut | Promote) and a.interrupts and a.is_change]

    def by_id(self) -> dict[str, Action]:
        return {a.id: a for a in self.actions}

    def totals(self) -> dict[str, float]:
        training = sum(a.cost.training_usd for a in self.actions if isinstance(a, CreateJob))
        after = sum(a.cost.monthly_usd for a in self.actions if a.kind == "Deployment" and a.action != "delete")
        canaries = sum(a.cost.canary_hosting_usd for a in self.actions if isinstance(a, EvaluateCandidates))
        return {"training_usd": _money(training), "monthly_hosting_usd": _money(after),
                "monthly_hosting_before_usd": _money(self.hosting_before_usd),
                "monthly_hosting_delta_usd": _money(after - self.hosting_before_usd),
                "canary_hosting_usd": _money(canaries),
                "monthly_unmanaged_usd": _money(self.unmanaged.monthly_usd)}

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.actions:
            counts[a.action] = counts.get(a.action, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        for out, a in zip(d["actions"], self.actions, strict=True):
            out["resource"] = a.resource
        d["summary"] = self.summary()
        d["cost"] = {**self.totals(), "estimate": True, "currency": "USD"}
        d["has_changes"] = self.has_changes
        d["policy_blocks"] = [r.policy for r in self.policy_blocks]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        """Validate a plan as a whole (raises pydantic.ValidationError; the loader makes it one line)."""
        derived = ("summary", "cost", "has_changes", "policy_blocks")
        data = {k: v for k, v in d.items() if k not in derived}
        if isinstance(data.get("actions"), list):
            data["actions"] = [{k: v for k, v in a.items() if k != "resource"} if isinstance(a, dict) else a
                               for a in data["actions"]]
        return cls.model_validate(data)


def _money(x: float) -> float:
    return round(x, 2) if math.isfinite(x) else 0.0
