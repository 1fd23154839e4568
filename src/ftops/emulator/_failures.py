"""How a fine-tuning job fails, kind by kind, as Azure reports each (docs/emulator.md, "Job failures").

The one list of the ways a job goes wrong (`JOB_FAULT_KINDS`: these failures and `diverge`): the admin API
(`POST /_emulator/jobs/fail {"kind"}`) and `ftops emulator fail-job --kind` accept exactly these. Each
failure says when the job fails, the `error` it ends with and whether a model of it may be deployed. No
import of the server stack: the CLI reads the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["validation", "training", "evaluation"]


@dataclass(frozen=True)
class FailureKind:
    stage: Stage  # validation: before training (no checkpoint); training: at `at`; evaluation: after training
    code: str  # error.code
    param: str | None  # error.param
    message: str  # error.message unless the rule gives one
    deployable: bool  # whether the checkpoints of the failed job may be deployed


FAILURE_KINDS: dict[str, FailureKind] = {
    # A failure of the service that a new job may not meet: fails at fraction `at` of training.
    "internal": FailureKind("training", "internal_error", None, "The job failed due to an internal error.", True),
    # Azure's data checks refuse harmful training data before training (Learn, "Safety evaluation for
    # fine-tuning", Data evaluation: the sample message). Azure publishes no code: its ErrorCode `contentFilter`
    # (its safety system), on the file it refused.
    "data-checks": FailureKind(
        "validation", "contentFilter", "training_file",
        "The provided training data failed RAI checks for harm types: [hate_fairness, self_harm, violence]. "
        "Please fix the data and try again.", False),
    # Azure's safety evaluation of the trained model (same page, Model evaluation: the sample message): the job
    # trains to the end, then fails; its model "isn't available for deployment". Not parameter-specific.
    "safety": FailureKind(
        "evaluation", "contentFilter", None,
        "This model is unable to be deployed. Model evaluation identified that this fine tuned model scores "
        "above acceptable thresholds for [Violence, Self Harm]. Please review your training data set and "
        "resubmit the job.", False),
}
DEFAULT_KIND = "internal"
# Not a failure: the job trains to the end, its validation loss rising from its first evaluation
# (`_sim.step_metrics`), for training guards to catch.
DIVERGE = "diverge"
# Every way `fail-job --kind` makes a job go wrong.
JOB_FAULT_KINDS: tuple[str, ...] = (*FAILURE_KINDS, DIVERGE)


def error(kind: str, message: str | None) -> dict[str, Any]:
    """The job's `error` object for a failure of `kind`."""
    k = FAILURE_KINDS[kind]
    return {"code": k.code, "message": message or k.message, "param": k.param}


def deployable(job: dict[str, Any]) -> bool:
    """Whether a failed job's checkpoints may be deployed (not after Azure's checks refused it)."""
    return FAILURE_KINDS[job.get("fail_kind") or DEFAULT_KIND].deployable
