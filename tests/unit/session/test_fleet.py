"""The pure parts of a run over several accounts: which accounts each wave holds, and which changes of a later
wave, planned again after the earlier waves ran, the plan shown for approval did not hold."""

from __future__ import annotations

import threading

import pytest

from ftops import load_project
from ftops.checks import validate_accounts
from ftops.plan import NoOp, Plan, RollOut
from ftops.session import for_each, unreviewed
from ftops.session._fleet import chosen_waves
from tests.conftest import BASE_SPEC, FOLLOWER, MakeProject


def _rollout(name: str, *, pending: bool = False, capacity: int = 50) -> RollOut:
    return RollOut(id=f"deployment.{name}:create", name=name, action="create", job="j", job_hash="a" * 16,
                   sku="GlobalStandard", capacity=capacity, spec_hash="b" * 16, reason="new", pending=pending)


def _plan(*actions: RollOut | NoOp) -> Plan:
    return Plan(project="p", endpoint="s/g/a", fingerprint="0" * 16, spec_fingerprint="1" * 16, spec_dir="specs",
                created_at=1.8e9, actions=list(actions))


def test_a_later_wave_runs_on_the_approval_given_when_it_holds_only_what_was_shown() -> None:
    shown = _plan(_rollout("prod", pending=True))  # waiting for dev when the plan was shown
    fresh = _plan(_rollout("prod", capacity=60))  # dev ran: now a change, of the same action id
    assert unreviewed(shown, fresh) == []


def test_a_change_the_shown_plan_did_not_hold_needs_a_new_review() -> None:
    shown = _plan(NoOp(id="deployment.prod:no-op", name="prod", kind="Deployment", reason="in sync"))
    fresh = _plan(_rollout("prod"), _rollout("canary", pending=True))
    assert [a.id for a in unreviewed(shown, fresh)] == ["deployment.prod:create", "deployment.canary:create"]


def test_no_ops_are_never_unreviewed() -> None:
    fresh = _plan(NoOp(id="deployment.x:no-op", name="x", kind="Deployment", reason="in sync"))
    assert unreviewed(_plan(), fresh) == []


PROD = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec: {local: true, region: eastus2}
"""


def test_the_waves_hold_only_the_chosen_accounts(make_project: MakeProject) -> None:
    make_project(spec=PROD.replace("prod", "local"), files={"specs/prod.yaml": PROD,
                                                            "specs/staging.yaml": PROD.replace("prod", "staging")})
    project = load_project("specs")
    every = [n for w in chosen_waves(project, ["local", "prod", "staging"]) for n in w]
    assert sorted(every) == ["local", "prod", "staging"]
    assert [n for w in chosen_waves(project, ["prod"]) for n in w] == ["prod"]
    assert all(chosen_waves(project, ["prod"]))  # no empty wave


def test_for_each_runs_the_accounts_at_once_and_raises_the_first_error_by_name() -> None:
    barrier = threading.Barrier(3, timeout=5)  # only met when all three run at the same time

    def meet(name: str) -> str:
        barrier.wait()
        return name.upper()

    assert for_each(["a", "b", "c"], meet) == {"a": "A", "b": "B", "c": "C"}

    def fail(name: str) -> str:
        raise ValueError(name)

    with pytest.raises(ValueError, match=r"^a$"):
        for_each(["a", "b"], fail)


def test_an_accounts_error_names_its_foundry_in_one_line() -> None:
    """Hostile pass (issue 17): one account of several cannot be read: the one line says which."""
    from ftops import FoundryError

    def unreachable(name: str) -> str:
        if name == "prod":
            raise FoundryError("cannot reach https://acme-prod.openai.azure.com/: connection refused")
        return name

    with pytest.raises(FoundryError) as e:
        for_each(["dev", "prod"], unreachable)
    assert str(e.value) == "Foundry prod: cannot reach https://acme-prod.openai.azure.com/: connection refused"
    assert e.value.exit_code == 1




def test_a_narrowed_run_checks_the_accounts_it_follows_as_read_only(make_project: MakeProject) -> None:
    local = BASE_SPEC.replace("metadata: {name: ", "metadata: {foundry: local, name: ").replace(
        "metadata: {foundry: local, name: local}", "metadata: {name: local}")
    make_project(spec=local,
                 files={"specs/prod.yaml": PROD + FOLLOWER, "specs/lab.yaml": PROD.replace("prod", "lab")})
    checked = validate_accounts("specs", ["prod"])
    assert sorted(checked.accounts) == ["local", "prod"] and checked.read_only == {"local"}
    assert checked.chosen == ["prod"]
    assert [n for w in chosen_waves(checked.project, list(checked.accounts)) for n in w] == ["local", "prod"]
    whole = validate_accounts("specs", [])
    assert whole.read_only == frozenset() and whole.chosen == ["lab", "local", "prod"]
