"""Identity rules: how live objects are matched to specs, with no state file.

- file: uploaded as `ftops.<project>.<dataset>.<sha256[:32]>.jsonl`; same bytes, same name -> reuse.
- job: what it trains on. Metadata holds the training-content hash (`ftops-content`: base model, data,
  method, hyperparameters as Foundry reads them, training type, seed, suffix, grader; never a name or a
  project), plus project and spec name; same content -> re-attach, whatever the spec or project is called
  now, never resubmit. Jobs created before the content hash carry only `ftops-hash` (the spec hash as it
  was computed then: the same fields, hyperparameters as written); they are matched by that.
- deployment: its name, plus tags with project, spec name and spec hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from ..foundry import OWNER_TAG

if TYPE_CHECKING:
    from ..foundry import LiveJob

META_PROJECT = OWNER_TAG  # the Foundry layer checks it too (a create racing someone else's)
META_SPEC = "ftops-spec"
META_HASH = "ftops-hash"  # the spec hash (still written: older ftops versions find new jobs by it)
META_CONTENT = "ftops-content"  # a job's identity: its training-content hash
LEGACY = "spec:"  # content_key of a job from before META_CONTENT: its spec hash
TAG_JOB = "ftops-job"  # the job id whose model a deployment serves
TAG_LOSS = "ftops-valid-loss"  # validation loss of the served checkpoint, for "must beat current" gates
TAG_VERDICT = "ftops-verdict"  # on a promoted deployment: the verdict that allowed it (only a passed one)
TAG_SOURCE = "ftops-source"  # on a promotion: "<foundry>/<deployment or job>" whose model it serves
TAG_MODEL = "ftops-model"  # the model ftops resolved and rolled out (a hand edit of the model shows as a mismatch)
META_FIELDS = "ftops-fields"  # a compact JSON copy of the hashed fields, to show what changed later
# Set by an apply that follows the job to its end (`--wait`): the Deployment specs (name and spec hash) it
# rolls out as soon as the job finishes. A deployment's tags go with it when it is deleted; this record
# stays on the job, so drift can tell "deleted" from "not rolled out yet" (plan/_deployments.py).
META_ROLLOUTS = "ftops-rollouts"
METADATA_VALUE_MAX = 512  # Foundry's limit on one metadata value
FILE_PREFIX = "ftops."
HASH_LEN = 16


def canonical_hash(data: Any) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:HASH_LEN]


def file_name(project: str, dataset: str, sha256: str) -> str:
    return f"{FILE_PREFIX}{project}.{dataset}.{sha256[:32]}.jsonl"


def parse_file_name(name: str) -> tuple[str, str, str] | None:
    """(project, dataset, sha prefix) of an ftops-managed file name, else None."""
    if not name.startswith(FILE_PREFIX) or not name.endswith(".jsonl"):
        return None
    parts = name[len(FILE_PREFIX):-len(".jsonl")].split(".")
    if len(parts) != 3:
        return None
    return parts[0], parts[1], parts[2]


def rollout_mark(deployment: str, spec_hash: str) -> str:
    return canonical_hash([deployment, spec_hash])[:8]


def rollout_marks(rollouts: Iterable[tuple[str, str]]) -> str | None:
    """META_ROLLOUTS for (deployment, spec hash) pairs: a JSON list of marks within one metadata value (the
    marks past it are left out: those deployments are judged by time, as without the record)."""
    marks = sorted({rollout_mark(name, spec_hash) for name, spec_hash in rollouts})
    while marks and len(orjson.dumps(marks)) > METADATA_VALUE_MAX:
        marks.pop()
    return orjson.dumps(marks).decode() if marks else None


def rolled_out_on_finish(job: LiveJob, deployment: str, spec_hash: str) -> bool:
    """Whether the apply that submitted `job` rolled out this deployment spec (as it is now) when the job
    finished (unless that apply was interrupted first)."""
    try:
        marks = orjson.loads(job.metadata.get(META_ROLLOUTS) or "[]")
    except orjson.JSONDecodeError:
        return False
    return isinstance(marks, list) and rollout_mark(deployment, spec_hash) in marks


def job_metadata(project: str, name: str, spec_hash: str, content: str) -> dict[str, str]:
    return {META_PROJECT: project, META_SPEC: name, META_HASH: spec_hash, META_CONTENT: content}


def job_lookup(project: str, content: str) -> dict[str, str]:
    """The metadata to list a project's jobs of one identity by (whatever spec name they were created under)."""
    return {META_PROJECT: project, META_CONTENT: content}


def content_key(metadata: dict[str, str]) -> str | None:
    """The identity a live job carries: its content hash, else (created before it existed) its spec hash."""
    if META_CONTENT in metadata:
        return metadata[META_CONTENT]
    return LEGACY + metadata[META_HASH] if META_HASH in metadata else None


def same_job(metadata: dict[str, str], ident: dict[str, str]) -> bool:
    """Whether a live job's metadata names the job `ident` (job_metadata's) identifies: project and content."""
    return metadata.get(META_PROJECT) == ident.get(META_PROJECT) and content_key(metadata) == content_key(ident)


def deployment_tags(project: str, name: str, spec_hash: str, job_id: str | None, loss: float | None,
                    model: str | None = None) -> dict[str, str]:
    tags = {META_PROJECT: project, META_SPEC: name, META_HASH: spec_hash}
    if model:
        tags[TAG_MODEL] = model
    if job_id:
        tags[TAG_JOB] = job_id
    if loss is not None:
        tags[TAG_LOSS] = f"{loss:.6g}"
    return tags


def stored_fields_of(job: LiveJob) -> dict[str, Any]:
    """The hashed fields ftops stored with a job (empty when absent or not ftops' JSON)."""
    text = job.metadata.get(META_FIELDS)
    if not text:
        return {}
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def stored_fields(fields: dict[str, Any]) -> str | None:
    """The spec fields kept in job metadata (one value, at most 512 characters) for later diffs."""
    compact = dict(fields)
    for k in ("training_data", "validation_data"):
        if compact.get(k):
            compact[k] = compact[k][:16]
    compact.pop("grader", None)
    text = orjson.dumps(compact, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 512 else None


def flat_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field-level differences, hyperparameters by their own names (`n_epochs: 3 -> 4`)."""
    def flatten(d: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in d.items() if k != "hyperparameters"}
        hp = d.get("hyperparameters")
        if isinstance(hp, dict):
            out.update(hp)
        return out

    a, b = flatten(old), flatten(new)
    return {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}
