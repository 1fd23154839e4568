"""Provenance, offline: what is recorded, within Azure's and OpenAI's limits, and never an identity or a change."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftops.foundry import ROLLED_AT_TAG, LiveJob
from ftops.foundry._deployments import MAX_TAG_VALUE
from ftops.plan import (
    CreateJob,
    GitSource,
    Plan,
    Provenance,
    RollOut,
    Verdict,
    decide,
    provenance_tags,
    public_repository,
    rollout_tags,
    status_rows,
    submission,
)
from ftops.plan import _matching as matching
from ftops.plan._drift import drift_items
from ftops.plan._jobs import job_submission
from ftops.plan._matching import TAG_SOURCE
from ftops.plan._policies import TAG_OVERRIDE
from ftops.spec._documents import MAX_USER_TAGS
from tests.conftest import MakeProject
from tests.unit.plan.snapshots import World, by_resource, world

A = GitSource(repository="https://github.com/org/repo", commit="a" * 40)
B = GitSource(repository="https://github.com/org/repo", commit="b" * 40, dirty=True)
AZURE_TAGS = 50  # Azure: 50 tags a resource
OPENAI_KEYS, OPENAI_KEY, OPENAI_VALUE = 16, 64, 512  # OpenAI job metadata: keys, key length, value length


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project())


def _plan(w: World, source: GitSource | None) -> Plan:
    state = w.state()
    plan = decide(w.checked, state, endpoint="s/g/a", created_at=w.now, provenance=source)
    assert not state.take_needs()
    return plan


@pytest.mark.parametrize("remote,shown", [
    (f"https://user:{'t' * 20}@github.com/org/repo.git", "https://github.com/org/repo"),
    ("https://x-access-token:ghs_abc@github.com/org/repo", "https://github.com/org/repo"),
    ("https://oauth2:glpat-xyz@gitlab.example.com:8443/g/r.git/", "https://gitlab.example.com:8443/g/r"),
    ("https://github.com/org/repo.git?token=abc#frag", "https://github.com/org/repo"),
    ("git@github.com:org/repo.git", "ssh://github.com/org/repo"),
    ("ssh://git:pw@github.com/org/repo.git", "ssh://github.com/org/repo"),
    ("/srv/git/repo.git", "/srv/git/repo"),
    ("file:///srv/git/repo.git", "file:///srv/git/repo"),
    ("https://[::1]:8080/r", "https://[::1]:8080/r"),
    ("https://host:notaport/r", None),  # cannot be parsed: not recorded
    ("me@host/path", None),  # a user in a form this does not parse: never recorded
    ("https://github.com/" + "x" * 300, None),  # longer than a tag value: a cut URL would name another repository
    ("https://github.com/o/r\n", "https://github.com/o/r"),
    ("https://github.com/o/\x1br", None),
    ("", None),
    # hostile pass (issue 17): a password in scp-like syntax reads as host `user`, the secret as the path
    ("user:s3cretpw@github.com:org/repo.git", None),
    ("https://github.com/org/repo;token=s3cret", None),  # path parameters: where a token can go
    ("https://github.com/org/repo@s3cret", None),
    ("https://github.com\\@s3cret/o", None),  # a backslash git and Python split differently
    ("https://a:s3cret@", None),  # no host: nothing to record
    ("git@github.com:org/repo.git?token=s3cret", "ssh://github.com/org/repo"),
])
def test_a_remote_is_recorded_without_credentials_query_or_dot_git(remote: str, shown: str | None) -> None:
    assert public_repository(remote) == shown


def test_a_plan_file_cannot_carry_credentials_in_its_source() -> None:
    for bad in ("https://u:p@github.com/o/r", "https://github.com/o/r?x=1", "ghp x\n"):
        with pytest.raises(ValidationError):
            GitSource(repository=bad, commit="a" * 40)
    with pytest.raises(ValidationError):
        GitSource(commit="HEAD")
    assert GitSource(commit="c" * 64).revision == "c" * 64  # a sha256 repository


def test_the_plan_records_its_source_on_the_job_and_the_deployment(w: World) -> None:
    a = by_resource(_plan(w, A))
    job = a["FineTuningJob/clippy"]
    assert isinstance(job, CreateJob) and job.request.metadata is not None
    assert (job.request.metadata["ftops-commit"], job.request.metadata["ftops-repo"]) == ("a" * 40, A.repository)
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.tags["ftops-commit"] == "a" * 40
    assert _plan(w, A).provenance == A
    none = by_resource(_plan(w, None))
    assert "ftops-commit" not in (none["FineTuningJob/clippy"].request.metadata or {})
    assert "ftops-commit" not in none["Deployment/clippy-prod"].tags


def test_a_new_commit_is_no_identity_no_change_and_no_drift(w: World) -> None:
    # The job's identity does not include its source: a job submitted at commit A is the spec's job at B.
    request = job_submission(w.checked, "clippy", "gpt-4.1-mini-2025-04-14")
    files = {"train": "f1", "valid": "f2"}
    at_a = submission(w.project, "clippy", request, "gpt-4.1-mini-2025-04-14", files, source=A)
    at_b = submission(w.project, "clippy", request, "gpt-4.1-mini-2025-04-14", files, source=B)
    assert at_a.identity == at_b.identity and at_a.content_hash == at_b.content_hash
    assert at_a.request.metadata["ftops-commit"] != at_b.request.metadata["ftops-commit"]
    # Live: the job and the deployment recorded commit A; planned at commit B (dirty), nothing changes.
    w.uploads()
    job = w.job("clippy", **{"ftops-commit": A.revision, "ftops-repo": str(A.repository)})
    cps = w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job, cps[1].id, **provenance_tags(A, job_id=job.id, model=cps[1].id))
    plan = _plan(w, B)
    assert not plan.has_changes and drift_items(plan) == []
    assert {a.action for a in plan.actions} == {"no-op"}


def _max_verdict() -> Verdict:
    return Verdict(evaluation="e", passed=True, winner="m", reason="r" * 4000, baseline_model="b" * 300)


def test_a_deployment_write_stays_within_azures_tag_limits() -> None:
    """Every tag ftops may write on a spec'd deployment at once, and the most user tags a spec may set."""
    source = GitSource(repository="https://github.com/" + "o" * 230, commit="c" * 64, dirty=True)
    tags = rollout_tags("p" * 63, "d" * 63, "h" * 16, job_id="ftjob-" + "x" * 32, loss=0.123456789,
                        model="m" * 256, verdict=_max_verdict(), source=source)
    tags[TAG_OVERRIDE] = "o" * MAX_TAG_VALUE  # a policy override (plan/_policies.py override_tags)
    tags[ROLLED_AT_TAG] = f"{2**40:.3f}"  # written by every rollout (foundry/_deployments.py)
    tags[TAG_SOURCE] = "f" * 63 + "/" + "d" * 63  # a follower's upstream (plan/_follow.py)
    assert len(tags) + MAX_USER_TAGS <= AZURE_TAGS
    assert all(len(v) <= MAX_TAG_VALUE for v in tags.values()), {k: len(v) for k, v in tags.items()}
    assert {"ftops-repo", "ftops-commit", "ftops-job", "ftops-model", "ftops-verdict"} <= tags.keys()


def test_a_job_submission_stays_within_openais_metadata_limits(w: World) -> None:
    source = GitSource(repository="https://github.com/" + "o" * 230, commit="c" * 64, dirty=True)
    request = job_submission(w.checked, "clippy", "gpt-4.1-mini-2025-04-14")
    rollouts = [(f"deployment-{i}", f"{i:016x}") for i in range(200)]  # more marks than one value holds
    sent = submission(w.project, "clippy", request, "gpt-4.1-mini-2025-04-14", {"train": "f1", "valid": "f2"},
                      rollouts, source=source)
    metadata = {**sent.request.metadata, TAG_OVERRIDE: "o" * MAX_TAG_VALUE}  # as apply adds an override
    assert {"ftops-fields", "ftops-rollouts", "ftops-repo", "ftops-commit"} <= metadata.keys()
    assert len(metadata) <= OPENAI_KEYS
    assert all(len(k) <= OPENAI_KEY and len(v) <= OPENAI_VALUE for k, v in metadata.items())


def _status(w: World, source: GitSource | None) -> dict[str, Provenance | None]:
    plan = _plan(w, source)
    snap = w.state().snapshot
    return {f"{r.kind}/{r.name}": r.provenance for r in status_rows(plan, snap)}


def test_status_reads_what_the_job_and_the_deployment_record(w: World) -> None:
    w.uploads()
    job = w.job("clippy", **{"ftops-commit": B.revision, "ftops-repo": str(B.repository)})
    cps = w.checkpoints_for(job, [0.9, 0.5, 0.7])
    verdict = Verdict(evaluation="e", passed=True, winner=cps[1].id, reason="passed: 0.9 >= 0.8")
    w.deploy("clippy-prod", job, cps[1].id, **provenance_tags(A, job_id=job.id, model=cps[1].id, verdict=verdict))
    rows = _status(w, None)
    assert rows["FineTuningJob/clippy"] == Provenance(repository=A.repository, commit="b" * 40 + "+dirty")
    dep = rows["Deployment/clippy-prod"]
    assert dep == Provenance(job=job.id, model=cps[1].id, checkpoint=True, verdict="passed: 0.9 >= 0.8",
                             repository=A.repository, commit="a" * 40)
    assert dep.describe() == (f"from job {job.id} (checkpoint {cps[1].id}), evaluation passed, commit aaaaaaa of "
                              "github.com/org/repo")
    assert rows["FineTuningJob/clippy"].describe() == "commit bbbbbbb+dirty of github.com/org/repo"
    assert rows["Dataset/train"] is None


def test_status_of_objects_that_record_no_source(w: World) -> None:
    w.uploads()
    job: LiveJob = w.job("clippy")
    w.deploy("clippy-prod", job, job.fine_tuned_model)  # an older ftops: job and model, no commit
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deployments[0].tags[matching.TAG_MODEL] = str(job.fine_tuned_model)
    rows = _status(w, A)  # the plan's own source is not what the live objects record
    assert rows["FineTuningJob/clippy"] is None
    dep = rows["Deployment/clippy-prod"]
    assert dep is not None and dep.commit is None and not dep.checkpoint
    assert dep.describe() == f"from job {job.id} (model {job.fine_tuned_model})"
