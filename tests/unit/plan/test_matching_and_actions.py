from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftops.plan import CreateJob, JobFile, JobSubmission, NoOp, Plan, RollOut, UploadDataset
from ftops.plan import _matching as matching
from ftops.plan._actions import Cost

REQUEST = JobSubmission(base_model="m", training_file=JobFile(dataset="d", sha256="0" * 64, file_id="file-1"),
                         method="supervised", training_type="GlobalStandard")


def test_file_names_round_trip_and_foreign_names_are_ignored() -> None:
    name = matching.file_name("demo", "clippy-train", "ab" * 32)
    assert name == f"ftops.demo.clippy-train.{'ab' * 16}.jsonl"
    assert matching.parse_file_name(name) == ("demo", "clippy-train", "ab" * 16)
    assert matching.parse_file_name("clippy.train.jsonl") is None
    assert matching.parse_file_name("ftops.x.jsonl") is None


def test_canonical_hash_ignores_key_order_but_not_values() -> None:
    a = matching.canonical_hash({"b": 1, "a": [1, 2]})
    assert a == matching.canonical_hash({"a": [1, 2], "b": 1})
    assert a != matching.canonical_hash({"a": [2, 1], "b": 1})
    assert len(a) == matching.HASH_LEN


def test_deployment_tags_carry_identity() -> None:
    tags = matching.deployment_tags("p", "d", "h", "ftjob-1", 0.123456789, "m.ft-x")
    assert tags == {"ftops-project": "p", "ftops-spec": "d", "ftops-hash": "h", "ftops-model": "m.ft-x",
                    "ftops-job": "ftjob-1", "ftops-valid-loss": "0.123457"}


def _plan() -> Plan:
    return Plan(project="p", endpoint="s/g/a", fingerprint="0" * 16, spec_fingerprint="1" * 16, spec_dir="specs",
                created_at=1.8e9, actions=[
                    CreateJob(id="job.x:create", name="x", reason="new job", depends_on=["dataset.d:no-op"],
                              cost=Cost(training_usd=1.5), spec_hash="a" * 16, request=REQUEST),
                    RollOut(id="deployment.y:create", name="y", action="create", reason="deploy", job="x",
                            job_hash="a" * 16, sku="GlobalStandard", capacity=1, spec_hash="b" * 16,
                            cost=Cost(monthly_usd=10.0)),
                    NoOp(id="dataset.d:no-op", kind="Dataset", name="d", reason="uploaded"),
                ])


def test_plan_round_trips_through_json_and_totals_cost() -> None:
    plan = _plan()
    data = plan.to_dict()
    assert data["format_version"] == 3 and data["has_changes"]
    assert data["cost"] == {"training_usd": 1.5, "monthly_hosting_usd": 10.0, "monthly_hosting_before_usd": 0.0,
                            "monthly_hosting_delta_usd": 10.0, "canary_hosting_usd": 0.0,
                            "monthly_unmanaged_usd": 0.0, "estimate": True, "currency": "USD"}
    assert data["actions"][0]["resource"] == "FineTuningJob/x" and data["actions"][0]["op"] == "job.create"
    again = Plan.from_dict(data)
    assert again.to_dict() == data


@pytest.mark.parametrize("path,value", [
    (("actions", 0, "op"), "job.delete"),  # an action kind that does not exist
    (("actions", 0, "spec_hash"), "not-a-hash"),
    (("actions", 1, "capacity"), 0),
    (("actions", 1, "sku"), "DeveloperTier"),  # ARM's spelling is the Foundry layer's business
    (("actions", 1, "action"), "delete"),
    (("actions", 0, "cost", "training_usd"), -1),
    (("created_at",), "yesterday"),
    (("created_at",), 1e300),
    (("fingerprint",), "x"),
    (("actions", 0, "surprise"), 1),  # unknown fields are errors
])
def test_a_tampered_plan_does_not_validate(path: tuple[str | int, ...], value: object) -> None:
    data = _plan().to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        Plan.from_dict(data)


@pytest.mark.parametrize("path", ["/etc/passwd", "../secrets.jsonl", "data/../../x", "a\\b", ""])
def test_upload_paths_must_be_relative_inside_the_project(path: str) -> None:
    with pytest.raises(ValidationError):
        UploadDataset(id="dataset.d:create", name="d", reason="", path=path, filename="f", sha256="a" * 64, bytes=1)


def test_no_op_only_plan_has_no_changes_and_pending_changes_are_not_changes() -> None:
    plan = _plan()
    plan.actions = [a for a in plan.actions if a.action == "no-op"]
    assert not plan.has_changes and plan.summary() == {"no-op": 1}
    pending = _plan()
    for a in pending.actions:
        a.pending = True
    assert not pending.has_changes


def test_flat_changes_name_hyperparameters_by_their_own_names() -> None:
    old = {"model": "m", "hyperparameters": {"n_epochs": 3}, "seed": 1}
    new = {"model": "m", "hyperparameters": {"n_epochs": 4, "batch_size": 8}, "seed": 1}
    assert matching.flat_changes(old, new) == {"batch_size": (None, 8), "n_epochs": (3, 4)}
