"""Identity rules: how live objects are matched to specs, with no state file.

- file: uploaded as `ftops.<project>.<dataset>.<sha256[:32]>.jsonl`; same bytes, same name -> reuse.
- job: metadata holds project, spec name and spec hash; same hash -> re-attach, never resubmit.
- deployment: its name, plus tags with project, spec name and spec hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

META_PROJECT = "ftops-project"
META_SPEC = "ftops-spec"
META_HASH = "ftops-hash"
TAG_JOB = "ftops-job"  # the job id whose model a deployment serves
TAG_LOSS = "ftops-valid-loss"  # validation loss of the served checkpoint, for "must beat current" gates
TAG_MODEL = "ftops-model"  # the model ftops resolved and rolled out (a hand edit of the model shows as a mismatch)
FILE_PREFIX = "ftops."
HASH_LEN = 16

# Spec sku names -> ARM sku names.
ARM_SKU = {"Standard": "Standard", "GlobalStandard": "GlobalStandard", "Developer": "DeveloperTier",
           "ProvisionedManaged": "ProvisionedManaged"}


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


def job_metadata(project: str, name: str, spec_hash: str) -> dict[str, str]:
    return {META_PROJECT: project, META_SPEC: name, META_HASH: spec_hash}


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
