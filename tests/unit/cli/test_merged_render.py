"""The merged comment of a fleet (`ftops merge-plans`): the accounts' table, each account's plan as
`plan_markdown` shows it, and GitHub's size limit shared among the accounts."""

from __future__ import annotations

import json
import re

from ftops.cli._render import MARKDOWN_LIMIT, merged_json, merged_markdown, merged_text
from ftops.plan import Finding, Plan, PolicyResult
from ftops.session import AccountPlan, MergedPlans
from tests.unit.cli.test_render import _plan


def _account(foundry: str, n: int, region: str | None = "swedencentral") -> AccountPlan:
    plan = _plan(n).model_copy(update={"foundry": foundry, "project": f"ns-{foundry}"})
    return AccountPlan(path=f"plans/{foundry}.json", foundry=foundry, region=region, plan=plan)


def _merged(*accounts: AccountPlan, missing: tuple[str, ...] = ()) -> MergedPlans:
    return MergedPlans(spec_dir="specs", accounts=accounts, missing=missing, specs_read=True)


def _section(md: str, foundry: str) -> str:
    start = md.index(f"### `{foundry}`")
    end = md.find("\n---\n", start)
    return md[start:end if end > 0 else len(md)]


def test_a_table_row_per_account_then_each_plan() -> None:
    md = merged_markdown(_merged(_account("dev", 2), _account("prod", 1, "eastus2"), missing=("staging",)))
    assert md.startswith("### ftops plan: `specs`, 3 account(s)")
    assert "| `dev` | swedencentral | `ns-dev` | 0 to create, 2 to update, 0 to delete |" in md
    assert "| `prod` | eastus2 | `ns-prod` | 0 to create, 1 to update, 0 to delete |" in md
    assert "| `staging` | | | **no plan file: its plan job failed or was skipped** |" in md
    assert "| **all accounts** | | | | training $0.00 · hosting $2,000.00 → $3,723.00/month (+$1,723.00) | |" in md
    assert _section(md, "dev").count("| `~` |") == 2 and _section(md, "prod").count("| `~` |") == 1
    assert "not shown" not in md


def test_the_limit_is_shared_and_a_small_account_is_never_cut_for_a_large_one() -> None:
    md = merged_markdown(_merged(_account("big", 2000), _account("small", 3), _account("huge", 5000)))
    assert len(md) <= MARKDOWN_LIMIT < 65_536
    assert _section(md, "small").count("| `~` |") == 3 and "not shown" not in _section(md, "small")
    for name in ("big", "huge"):
        section = _section(md, name)
        assert "more resource(s) not shown" in section and f"plans/{name}.json" in section
    # The large ones share what the small one leaves, about evenly.
    assert abs(len(_section(md, "big")) - len(_section(md, "huge"))) < 2_000


def test_hundreds_of_accounts_fit_and_what_is_left_out_is_counted() -> None:
    accounts = [_account(f"a{i:03}", 250) for i in range(256)]
    md = merged_markdown(_merged(*accounts))
    assert len(md) <= MARKDOWN_LIMIT
    assert md.count("| `a") == 256  # every account has its row in the table
    note = md.rsplit("\n", 1)[-1]
    assert re.fullmatch(r"\*\*the plans of `a\d+`, `a\d+`, `a\d+` and \d+ more are not shown\*\* \(the comment is "
                        r"capped at 60,000 characters\); each account's plan is in its plan job's run summary and its "
                        r"plan file\.", note), note
    small = merged_markdown(_merged(*accounts), limit=20_000)
    assert len(small) <= 20_000 and "more row(s) of the table and the plans of" in small


def test_policies_and_preflight_in_the_table() -> None:
    dev = _account("dev", 1)
    dev.plan.policies = [
        PolicyResult(policy="standard-only", rule="allowedDeploymentSkus", enforcement="hard-mandatory", passed=False,
                     message="no", resources=["Deployment/d0"], actions=["deployment.d0:update"]),
        PolicyResult(policy="cheap", rule="maxHostingIncreasePerMonth", enforcement="advisory", passed=True, message="ok")]
    prod = _account("prod", 1)
    prod.plan.findings = [Finding(severity="error", kind="quota", resource="Deployment/d0", message="over quota")]
    prod.plan.policies = [PolicyResult(policy="cheap", rule="maxHostingIncreasePerMonth", enforcement="advisory",
                                       passed=False, message="dear")]
    table = merged_markdown(_merged(dev, prod)).split("\n\n---\n")[0]
    assert "| **blocked** by `standard-only` |" in table
    assert "· **preflight: 1 error(s)** |" in table and "| 0 passed, 1 failed, advisory |" in table


def test_text_and_json() -> None:
    merged = _merged(_account("dev", 2), _account("prod", 0, None), missing=("staging",))
    text = merged_text(merged)
    assert "dev   swedencentral  0 to create, 2 to update, 0 to delete" in text and "staging" in text
    data = json.loads(merged_json(merged))
    assert data["has_changes"] is True and data["missing"] == ["staging"]
    assert [(a["foundry"], a["region"], a["has_changes"], a["file"]) for a in data["accounts"]] == [
        ("dev", "swedencentral", True, "plans/dev.json"), ("prod", None, False, "plans/prod.json")]


def test_names_from_a_plan_file_cannot_break_the_table() -> None:
    evil = _account("dev", 1, region="x | y\n# head")
    plan: Plan = evil.plan
    plan.project = "ns"
    md = merged_markdown(_merged(evil))
    row = next(line for line in md.splitlines() if line.startswith("| `dev`"))
    assert row.count(" | ") == 5, row
