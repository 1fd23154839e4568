"""The promotion chains of a run over several accounts (`promotion_chains`), offline: dev's plan and prod's plan
decided as a run decides them, and what each stage serves and would serve read from their typed fields."""

from __future__ import annotations

from pathlib import Path

from ftops.checks import validate_dir
from ftops.foundry import LiveDeployment
from ftops.plan import ChainStage, Upstream, decide, promotion_chains, upstream_of
from ftops.plan import _matching as matching
from ftops.plan._deployments import deployment_hash
from tests.conftest import MakeProject
from tests.unit.plan.snapshots import NOW, World
from tests.unit.plan.test_follow import MODEL, OLD_MODEL, PROD, _dev_spec, _fact, _follower

DEV_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/dev"


def _worlds(make_project: MakeProject, prod: str) -> tuple[World, World]:
    root = make_project(spec=_dev_spec(), files={"specs/prod.yaml": PROD + prod})
    dev, other = (World(validate_dir(Path(root) / "specs", root, foundry=f)) for f in ("local", "prod"))
    return dev, other


def _serving(w: World, name: str, model: str) -> None:
    spec = w.checked.project.deployments[name].spec
    tags = matching.deployment_tags(w.project, name, deployment_hash(spec), "ftjob-0", None, model)
    w.deployments.append(LiveDeployment(name=name, model=model, sku_name="GlobalStandard", capacity=5, tags=tags,
                                        provisioning_state="Succeeded", source=DEV_ID))


def _prod_chain(prod: World, upstream: Upstream) -> list[ChainStage]:
    state = prod.state()
    plan = decide(prod.checked, state, endpoint="s/g/prod", created_at=NOW, upstream=upstream)
    [chain] = promotion_chains(prod.checked.project, {"prod": (plan, state)})
    return list(chain.stages)


def test_a_first_plan_shows_dev_rolling_out_and_prod_waiting_for_it(make_project: MakeProject) -> None:
    dev, prod = _worlds(make_project, _follower("chat-prod", "clippy-prod", "prod"))
    dev_state = dev.state()
    dev_plan = decide(dev.checked, dev_state, endpoint="s/g/dev", created_at=NOW)
    prod_state = prod.state()
    prod_plan = decide(prod.checked, prod_state, endpoint="s/g/prod", created_at=NOW,
                       upstream=upstream_of("local", dev_plan, dev_state, DEV_ID, "swedencentral"))
    [chain] = promotion_chains(prod.checked.project, {"local": (dev_plan, dev_state), "prod": (prod_plan, prod_state)})
    assert chain.job == "clippy"
    first, second = chain.stages
    assert (first.ref, first.state, first.serves, first.next_model) == ("local/clippy-prod", "moves", None, None)
    assert (second.ref, second.state, second.waits_for) == ("prod/chat-prod", "waits", "local/clippy-prod")


def test_a_soaking_stage_says_what_it_would_serve_and_when(make_project: MakeProject) -> None:
    _, prod = _worlds(make_project, _follower("chat-prod", "clippy-prod", "prod", soak="3h"))
    _serving(prod, "chat-prod", OLD_MODEL)
    dev, stage = _prod_chain(prod, Upstream({("local", "clippy-prod"): _fact(since=NOW - 7200)}))
    assert (dev.ref, dev.state, dev.serves) == ("local/clippy-prod", "not_planned", None)  # dev not in the run
    assert (stage.state, stage.serves, stage.next_model, stage.soak_left) == ("soaks", OLD_MODEL, MODEL, 3600.0)


def test_a_stage_whose_soak_is_over_moves_and_one_behind_a_failed_model_is_blocked(
        make_project: MakeProject) -> None:
    _, prod = _worlds(make_project, _follower("chat-prod", "clippy-prod", "prod", soak="3h"))
    _serving(prod, "chat-prod", OLD_MODEL)
    _, stage = _prod_chain(prod, Upstream({("local", "clippy-prod"): _fact(since=NOW - 4 * 3600)}))
    assert (stage.state, stage.serves, stage.next_model) == ("moves", OLD_MODEL, MODEL)
    _, stage = _prod_chain(prod, Upstream({("local", "clippy-prod"): _fact(passed=False, verdict=None)}))
    assert stage.state == "blocked" and stage.why == f"local/clippy-prod serves {MODEL}, which its evaluation did not pass"


def test_a_stage_followed_twice_starts_two_chains_and_a_run_without_its_accounts_none(make_project: MakeProject) -> None:
    followers = (_follower("chat-eu", "clippy-prod", "prod") + _follower("chat-us", "clippy-prod", "prod")
                 + _follower("chat-us-canary", "chat-us", "prod"))
    _, prod = _worlds(make_project, followers)
    state = prod.state()
    plan = decide(prod.checked, state, endpoint="s/g/prod", created_at=NOW,
                  upstream=Upstream({("local", "clippy-prod"): _fact()}))
    chains = promotion_chains(prod.checked.project, {"prod": (plan, state)})
    assert [[s.deployment for s in c.stages] for c in chains] == [
        ["clippy-prod", "chat-eu"], ["clippy-prod", "chat-us", "chat-us-canary"]]
    us = chains[1].stages
    assert (us[1].state, us[1].next_model) == ("moves", MODEL)
    assert (us[2].state, us[2].waits_for) == ("waits", "prod/chat-us")  # same account: after chat-us rolls out
    assert chains[0].to_dict()["stages"][1] == {
        "foundry": "prod", "deployment": "chat-eu", "state": "moves", "serves": None, "passed": None,
        "next_model": MODEL, "soak_left_seconds": None, "waits_for": None, "why": None}
    assert promotion_chains(prod.checked.project, {"elsewhere": (plan, state)}) == []  # no stage in the run


def test_a_change_that_keeps_the_model_is_no_move_along_the_chain(make_project: MakeProject) -> None:
    _, prod = _worlds(make_project, _follower("chat-prod", "clippy-prod", "prod").replace("capacity: 5", "capacity: 9"))
    _serving(prod, "chat-prod", MODEL)  # serves what dev serves, at capacity 5: the plan updates the capacity
    _, stage = _prod_chain(prod, Upstream({("local", "clippy-prod"): _fact()}))
    assert (stage.state, stage.serves, stage.next_model) == ("in_sync", MODEL, None)
