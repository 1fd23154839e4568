from __future__ import annotations

import pytest

from ftops import FtopsError
from ftops.plan import Action, Plan, identity


def test_file_names_round_trip_and_foreign_names_are_ignored() -> None:
    name = identity.file_name("demo", "clippy-train", "ab" * 32)
    assert name == f"ftops.demo.clippy-train.{'ab' * 16}.jsonl"
    assert identity.parse_file_name(name) == ("demo", "clippy-train", "ab" * 16)
    assert identity.parse_file_name("clippy.train.jsonl") is None
    assert identity.parse_file_name("ftops.x.jsonl") is None


def test_canonical_hash_ignores_key_order_but_not_values() -> None:
    a = identity.canonical_hash({"b": 1, "a": [1, 2]})
    assert a == identity.canonical_hash({"a": [1, 2], "b": 1})
    assert a != identity.canonical_hash({"a": [2, 1], "b": 1})
    assert len(a) == identity.HASH_LEN


def test_deployment_tags_carry_identity() -> None:
    tags = identity.deployment_tags("p", "d", "h", "ftjob-1", 0.123456789, "m.ft-x")
    assert tags == {"ftops-project": "p", "ftops-spec": "d", "ftops-hash": "h", "ftops-model": "m.ft-x",
                    "ftops-job": "ftjob-1", "ftops-valid-loss": "0.123457"}


def _plan() -> Plan:
    return Plan(project="p", endpoint="s/g/a", fingerprint="f", spec_dir="specs", created_at=1.0, actions=[
        Action("job.x:create", "FineTuningJob", "x", "create", "new job", depends_on=["dataset.d:create"],
               cost={"training_usd": 1.5}),
        Action("deployment.y:create", "Deployment", "y", "create", "deploy", cost={"monthly_usd": 10.0}),
        Action("dataset.d:no-op", "Dataset", "d", "no-op", "uploaded"),
    ])


def test_plan_round_trips_through_json_and_totals_cost() -> None:
    plan = _plan()
    data = plan.to_dict()
    assert data["format_version"] == 1 and data["has_changes"]
    assert data["cost"] == {"training_usd": 1.5, "monthly_hosting_usd": 10.0, "estimate": True, "currency": "USD"}
    assert data["actions"][0]["resource"] == "FineTuningJob/x"
    again = Plan.from_dict(data)
    assert again.to_dict() == data


def test_unknown_format_version_is_refused() -> None:
    data = _plan().to_dict()
    data["format_version"] = 99
    with pytest.raises(FtopsError, match="format_version 99"):
        Plan.from_dict(data)


def test_no_op_only_plan_has_no_changes() -> None:
    plan = _plan()
    plan.actions = [a for a in plan.actions if a.action == "no-op"]
    assert not plan.has_changes and plan.summary() == {"no-op": 1}
