"""Provenance: where a job or a deployment came from, recorded in Foundry's own job metadata and ARM tags.

A plan carries the git source its specs were read from (`GitSource`: the repository and commit, read by the
session layer, never by the planner). Every job ftops submits and every deployment it writes records it
(`source_entries`, beside the `ftops-job`, `ftops-model` and `ftops-verdict` tags a rollout already writes),
and `ftops status` reads it back (`recorded`).

Provenance is a record, never an identity: no hash includes it (a new commit resubmits no job and rolls out
nothing), no plan compares it with the live objects (it is never a change or drift by itself), and the
approval of a saved plan does not compare it either (`session/_verify.py`: the fresh decision is made with
the saved plan's source, so `apply PLANFILE` records the reviewed commit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

TAG_REPOSITORY = "ftops-repo"  # the git repository the specs were read from (a URL without credentials)
TAG_COMMIT = "ftops-commit"  # the commit, with `+dirty` when the work tree had uncommitted changes
DIRTY = "+dirty"
# The strictest of the two places it is written: Azure tag values hold 256 characters (OpenAI job metadata
# values 512). A longer repository URL is not recorded (a cut URL would name another repository).
MAX_REPOSITORY = 256
COMMIT_PATTERN = r"^[0-9a-f]{40}([0-9a-f]{24})?$"  # SHA-1, or SHA-256 in a sha256 repository
SHORT = 7


def public_repository(url: str) -> str | None:
    """`url` (a git remote: `https://user:token@host/o/r.git`, `git@host:o/r.git`, a path) as it may be recorded:
    no user or password, no query or fragment (where tokens go), no `.git`; None when it cannot be shown
    without a secret or does not fit a tag value."""
    text = url.strip()
    if not text or any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return None
    scp = re.fullmatch(r"(?:[^@/:]+@)?([^@/:]+):(?!//)(.+)", text)  # git@github.com:o/r.git (scp-like syntax)
    if scp is not None and "/" not in scp.group(1) and not re.fullmatch(r"[A-Za-z]", scp.group(1)):
        text = f"ssh://{scp.group(1)}/{scp.group(2).lstrip('/')}"
    if "://" in text:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        host = parts.hostname or ""
        if (not host and parts.scheme != "file") or "\\" in parts.netloc or ";" in parts.path:
            return None  # no host, a backslash git and Python split differently, or `;params` (where tokens go)
        netloc = f"[{host}]" if ":" in host else host
        text = f"{parts.scheme}://{netloc}{f':{port}' if port else ''}{parts.path}"
    elif "@" in text.split("/", 1)[0]:
        return None  # a userinfo in some form this does not parse: never recorded
    text = text.rstrip("/")
    text = text[:-len(".git")] if text.endswith(".git") else text
    if "@" in text:  # a userinfo left where no URL form puts one (`user:password@host:path` reads as host `user`)
        return None
    return text if 0 < len(text) <= MAX_REPOSITORY else None


class GitSource(BaseModel):
    """The git repository and commit a plan's specs were read from (for the record; never decides anything)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str | None = Field(default=None, min_length=1, max_length=MAX_REPOSITORY)
    commit: str = Field(pattern=COMMIT_PATTERN)
    dirty: bool = False  # the work tree had changes the commit does not hold

    @field_validator("repository")
    @classmethod
    def _no_credentials(cls, v: str | None) -> str | None:
        # A plan file is untrusted text: a repository with a user, password or query is not written anywhere.
        if v is not None and public_repository(v) != v:
            raise ValueError("must be a repository URL without credentials, query or control characters")
        return v

    @property
    def revision(self) -> str:
        """The commit as recorded: with `+dirty` when the work tree had uncommitted changes."""
        return self.commit + (DIRTY if self.dirty else "")


def source_entries(source: GitSource | None) -> dict[str, str]:
    """The tags (or job metadata) that record `source`; {} without one. Each value fits an Azure tag value."""
    if source is None:
        return {}
    entries = {TAG_COMMIT: source.revision}
    if source.repository is not None:
        entries[TAG_REPOSITORY] = source.repository
    return entries


@dataclass(frozen=True)
class Provenance:
    """Where a live job or deployment came from, as its metadata or tags record it (for `ftops status`)."""

    job: str | None = None  # deployments: the job whose model it serves
    model: str | None = None  # deployments: the model (a job's final model or a checkpoint) it serves
    checkpoint: bool = False  # `model` is one of the job's earlier checkpoints, not its final model
    verdict: str | None = None  # deployments: the evaluation verdict that promoted it (only a passing one is)
    repository: str | None = None
    commit: str | None = None  # as recorded, `+dirty` included

    def describe(self, *, model: bool = True) -> str:
        """One line a person reads: `from job ftjob-… (checkpoint …), evaluation passed, commit abc1234 of o/r`.
        `model=False` leaves the model out (the status table's detail column shows it already), saying only
        whether it is one of the job's earlier checkpoints."""
        parts = []
        if self.job:
            what = "checkpoint" if self.checkpoint else "model"
            shown = f" ({what} {self.model})" if model and self.model else (" (a checkpoint)" if self.checkpoint
                                                                             else "")
            parts.append(f"from job {self.job}{shown}")
        elif self.model and model:
            parts.append(f"model {self.model}")
        if self.verdict is not None:
            parts.append("evaluation passed")
        if self.commit:
            parts.append(f"commit {short_commit(self.commit)}" + (f" of {shown_repository(self.repository)}"
                                                                  if self.repository else ""))
        return ", ".join(parts)


def short_commit(revision: str) -> str:
    """`abc1234` (or `abc1234+dirty`) for a full commit ftops recorded; anything else as it is."""
    commit, dirty = (revision[:-len(DIRTY)], DIRTY) if revision.endswith(DIRTY) else (revision, "")
    return commit[:SHORT] + dirty if re.fullmatch(COMMIT_PATTERN, commit) else revision


def shown_repository(repository: str) -> str:
    """A recorded repository for people: `github.com/o/r` (the scheme says nothing a reader needs)."""
    return repository.split("://", 1)[1] if "://" in repository else repository


def recorded(entries: Mapping[str, str], *, job: str | None = None, model: str | None = None,
             final_model: str | None = None, verdict: str | None = None) -> Provenance | None:
    """The provenance a live object records (its git source in `entries`, its job metadata or tags; the
    deployment's job, model and verdict as its tags name them), or None when it records none.
    `final_model`: the job's own fine-tuned model, to tell a checkpoint from it."""
    found = Provenance(job=job, model=model, checkpoint=bool(model and final_model and model != final_model),
                       verdict=verdict, repository=entries.get(TAG_REPOSITORY), commit=entries.get(TAG_COMMIT))
    return None if found == Provenance() else found
