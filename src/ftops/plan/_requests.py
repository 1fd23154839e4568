"""What apply sends, made from an action alone: a job's wire request and identity, a deployment's tags.

The planner fills its actions with the same functions, so a plan (and a saved plan file) shows the
request apply sends; apply never reads a spec. What the plan cannot know yet (the base job's model of
continuous fine-tuning, a file id an upload yields, the checkpoint a finished job offers) comes in as
arguments, typed, never parsed out of text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..foundry import JobRequest
from ..spec import training_content
from . import _matching as ident
from ._actions import JobSubmission, Verdict
from ._evaluations import TAG_BASELINE, TAG_VERDICT, verdict_tag
from ._provenance import GitSource, source_entries


@dataclass(frozen=True)
class Submission:
    """A job apply creates: the wire request, and the identity it carries to be found again."""

    request: JobRequest
    identity: dict[str, str]  # ftops-project, -spec, -hash and -content
    content_hash: str  # the job's identity: its training-content hash
    lookup: dict[str, str]  # the metadata filter that lists this project's jobs of this content

    def kept_by(self, metadata: Mapping[str, str]) -> bool:
        """Whether Foundry kept the identity on the job it created (else it cannot be found again)."""
        return metadata.get(ident.META_CONTENT) == self.content_hash


def job_metadata(project: str, name: str, job: JobSubmission, base_model: str,
                 source: GitSource | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(identity, metadata) of job `name` trained on `base_model`: the identity is the training-content hash
    (`ftops-content`) with the spec hash older ftops versions read beside it; the metadata adds the content's
    fields (compact), so a later plan can show what changed, and the git `source` the job came from (a
    record only: the identity never includes it, so a new commit resubmits nothing)."""
    content = training_content(base_model, job.training_file.sha256,
                               job.validation_file.sha256 if job.validation_file else None, job.method,
                               job.hyperparameters, job.training_type, job.seed, job.suffix, job.grader)
    written = {**content, "hyperparameters": dict(sorted(job.hyperparameters.items())), "grader": job.grader}
    identity = ident.job_metadata(project, name, ident.canonical_hash(written), ident.canonical_hash(content))
    metadata = dict(identity)
    stored = ident.stored_fields(content)
    if stored is not None:
        metadata[ident.META_FIELDS] = stored
    metadata.update(source_entries(source))
    return identity, metadata


def submission(project: str, name: str, job: JobSubmission, base_model: str, files: Mapping[str, str],
               rollouts: Iterable[tuple[str, str]] = (), source: GitSource | None = None) -> Submission:
    """The request apply sends for `job`, once the base model and the file ids (dataset -> file id, for
    the files the plan could not name) are known. `rollouts`: the (deployment, spec hash) pairs an apply
    that follows the job to its end deploys when it finishes (recorded on the job, see META_ROLLOUTS);
    `source`: the git source of the plan, recorded on the job."""
    identity, metadata = job_metadata(project, name, job, base_model, source)
    if marks := ident.rollout_marks(rollouts):
        metadata[ident.META_ROLLOUTS] = marks
    ids = {f.dataset: f.file_id or files[f.dataset] for f in job.files()}
    request = JobRequest(base_model=base_model, training_file=ids[job.training_file.dataset], method=job.method,
                         training_type=job.training_type, metadata=metadata,
                         validation_file=ids[job.validation_file.dataset] if job.validation_file else None,
                         hyperparameters=dict(job.hyperparameters), suffix=job.suffix, seed=job.seed, grader=job.grader)
    content = identity[ident.META_CONTENT]
    return Submission(request, identity, content, ident.job_lookup(project, content))


def rollout_tags(project: str, name: str, spec_hash: str, *, job_id: str | None = None, loss: float | None = None,
                 model: str | None = None, verdict: Verdict | None = None,
                 source: GitSource | None = None) -> dict[str, str]:
    """ftops' tags on a deployment it rolls out: whose it is, the spec hash, the served model's loss once
    known, and its provenance (`provenance_tags`)."""
    tags = ident.deployment_tags(project, name, spec_hash, None, loss)
    tags.update(provenance_tags(source, job_id=job_id, model=model, verdict=verdict))
    return tags


def provenance_tags(source: GitSource | None, *, job_id: str | None = None, model: str | None = None,
                    verdict: Verdict | None = None) -> dict[str, str]:
    """Where a deployment's model came from, as its tags record it: the job and the model (a final model or a
    checkpoint) once known, the verdict of the evaluation that promoted it with the baseline it beat, and the
    git repository and commit of the plan that wrote it. Every deployment write builds its provenance here
    (a rollout, and any other kind of deployment write), so each records the same tags, bounded the same way."""
    tags: dict[str, str] = {}
    if model:
        tags[ident.TAG_MODEL] = model
    if job_id:
        tags[ident.TAG_JOB] = job_id
    if verdict is not None:
        tags[TAG_VERDICT] = verdict_tag(verdict)
        if verdict.baseline_model:
            tags[TAG_BASELINE] = verdict.baseline_model[:256]
    tags.update(source_entries(source))
    return tags
