"""The output of a run over several accounts: grouped by Foundry (text, JSON, Markdown), one exit decision for
the run, and the Foundry names `--foundry`/FTOPS_FOUNDRY give."""

from __future__ import annotations

import json

import pytest

from ftops import FoundryNotChosen
from ftops.cli._accounts import (
    drift_json,
    drifted,
    plans_json,
    plans_markdown,
    plans_text,
    run_line,
    status_json,
    status_markdown,
)
from ftops.cli._options import chosen
from ftops.foundry import Snapshot
from ftops.plan import ChainStage, LiveState, NoOp, Plan, PromotionChain, RollOut
from ftops.plan._actions import Cost
from ftops.session import PlannedAccount


def _account(foundry: str, region: str, n_changes: int, *, drift: bool = False) -> PlannedAccount:
    actions: list[RollOut | NoOp] = [
        RollOut(id=f"deployment.d{i}:update", name=f"d{i}", action="update", job="j", job_hash="a" * 16,
                sku="GlobalStandard", capacity=70, spec_hash="b" * 16, changes={"sku.capacity": (60, 70)},
                reason="spec changed: sku.capacity " + "x" * 80, cost=Cost(monthly_usd=10.0),
                drift="modified" if drift else None)
        for i in range(n_changes)]
    actions.append(NoOp(id="deployment.keep:no-op", name="keep", kind="Deployment", reason="in sync"))
    plan = Plan(project="p", endpoint=f"sub/g/{foundry}", fingerprint="0" * 16, spec_fingerprint="1" * 16,
                spec_dir="specs", foundry=foundry, created_at=1.8e9, actions=actions)
    return PlannedAccount(foundry, region, f"/subscriptions/sub/resourceGroups/g/providers/"
                       f"Microsoft.CognitiveServices/accounts/{foundry}", plan, LiveState(Snapshot()))


def test_text_is_each_account_under_its_heading_then_the_run() -> None:
    text = plans_text([_account("dev", "swedencentral", 1), _account("prod", "eastus2", 0)])
    dev, prod = text.index("== Foundry dev[/] · account sub/g/dev · swedencentral"), text.index("== Foundry prod")
    assert dev < text.index("d0") < prod < text.index("No changes.")
    assert text.endswith("2 Foundry accounts, 1 with changes: dev.[/]")


def test_json_has_one_entry_per_foundry_with_its_plan() -> None:
    data = json.loads(plans_json([_account("dev", "swedencentral", 2), _account("prod", "eastus2", 0)]))
    assert data["format_version"] == 1 and data["changes"] is True
    assert [(e["foundry"], e["account"], e["region"]) for e in data["foundries"]] == [
        ("dev", "sub/g/dev", "swedencentral"), ("prod", "sub/g/prod", "eastus2")]
    assert data["foundries"][1]["account_id"].endswith("/accounts/prod")
    assert [a["name"] for a in data["foundries"][0]["plan"]["actions"]] == ["d0", "d1", "keep"]
    assert data["foundries"][0]["plan"]["format_version"] == 3  # a plan as one account's JSON holds it


def test_markdown_is_one_summary_and_a_section_per_account_within_the_cap() -> None:
    plans = [_account(f"a{i}", "eastus2", 300) for i in range(4)]
    md = plans_markdown(plans, limit=60_000)
    assert len(md) < 60_000
    assert md.startswith("## ftops plan over several Foundry accounts\n\n**4 Foundry accounts, 4 with changes")
    assert md.count("| `a") == 4 and md.count("## Foundry `a") == 4
    assert md.count("more resource(s) not shown") == 4  # each section says what it left out


def test_the_run_drifts_when_any_account_drifts() -> None:
    calm, drifting = _account("dev", "swedencentral", 0), _account("prod", "eastus2", 1, drift=True)
    assert not drifted([calm]) and drifted([calm, drifting])
    data = json.loads(drift_json([calm, drifting]))
    assert data["drift"] is True
    assert [(e["foundry"], e["drift"]["drift"]) for e in data["foundries"]] == [("dev", False), ("prod", True)]
    assert run_line([calm, drifting]) == "2 Foundry accounts, 1 with changes: prod."


def test_foundry_names_split_at_commas_and_spaces_once_each() -> None:
    assert chosen(None) == [] and chosen([]) == []
    assert chosen(["dev, prod", "staging", "dev"]) == ["dev", "prod", "staging"]
    assert chosen(["dev prod,,staging "]) == ["dev", "prod", "staging"]


CHAIN = PromotionChain("clippy", (ChainStage("dev", "d0", "in_sync", serves="m-1", passed=True),
                                  ChainStage("prod", "chat", "waits", waits_for="dev/d0")))


def test_the_promotion_chains_come_after_the_accounts_in_every_format() -> None:
    plans = [_account("dev", "swedencentral", 1), _account("prod", "eastus2", 0)]
    line = "clippy: dev/d0 serves m-1 (evaluation passed) → prod/chat serves nothing, waits for dev/d0"
    text = plans_text(plans, chains=[CHAIN])
    assert text.index("== Foundry prod") < text.index("Promotion") < text.index(line) < text.index("2 Foundry accounts")
    md = plans_markdown(plans, chains=[CHAIN])
    assert md.index("| `prod` |") < md.index("### Promotion") < md.index("**clippy**: dev/d0") < md.index("## Foundry")
    assert "### Promotion" not in plans_markdown(plans) and "Promotion" not in plans_text(plans)
    assert json.loads(plans_json(plans, [CHAIN]))["promotion"] == [CHAIN.to_dict()]
    assert json.loads(plans_json(plans))["promotion"] == []
    assert json.loads(status_json(plans, [CHAIN]))["promotion"][0]["stages"][1]["waits_for"] == "dev/d0"
    assert status_markdown(plans, [CHAIN]).endswith("- **clippy**: dev/d0 serves `m-1` (evaluation passed) → "
                                                   "prod/chat serves nothing, waits for dev/d0")


@pytest.mark.parametrize("value", ["", " ", ",", " , ,", "\t"])
def test_a_foundry_value_that_names_nothing_is_a_usage_error_not_every_account(value: str) -> None:
    """`--foundry "$FOUNDRY"` with an empty variable must not widen an apply to every account (hostile pass)."""
    with pytest.raises(FoundryNotChosen) as e:
        chosen(["dev", value])
    assert e.value.exit_code == 2 and "names no Foundry document" in e.value.message
