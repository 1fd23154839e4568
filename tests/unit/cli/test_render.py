"""Rendering: the Markdown plan a reviewer reads (size cap, field changes, escaping) and drift lines."""

from __future__ import annotations

from ftops.cli._render import MARKDOWN_LIMIT, drift_text, plan_markdown, plan_text
from ftops.plan import CreateJob, DriftItem, NoOp, Plan, RollOut
from ftops.plan._model import Cost


def _plan(n: int) -> Plan:
    actions = []
    for i in range(n):
        actions.append(RollOut(id=f"deployment.d{i}:update", name=f"d{i}", action="update", job=f"j{i}",
                               job_hash="a" * 16, sku="GlobalStandard", capacity=70, spec_hash="b" * 16,
                               changes={"sku.capacity": (60, 70)}, reason="spec changed: sku.capacity " + "x" * 80,
                               cost=Cost(monthly_usd=1241.0)))
    return Plan(project="p", endpoint="00000000-0000-0000-0000-000000000000/g/a", fingerprint="0" * 16,
                spec_fingerprint="1" * 16, spec_dir="specs", created_at=1.8e9, actions=actions,
                hosting_before_usd=1000.0)


def test_a_500_resource_plan_stays_under_the_cap_and_says_what_it_left_out() -> None:
    md = plan_markdown(_plan(500), full_plan_hint="the whole plan is in the run's artifact")
    assert len(md) < MARKDOWN_LIMIT < 65_536
    assert "more resource(s) not shown" in md and "artifact" in md
    assert md.count("| `~` |") < 500
    assert "00000000-0000-0000-0000-000000000000" not in md


def test_small_plan_shows_every_row_field_changes_and_cost_before_after() -> None:
    md = plan_markdown(_plan(3))
    assert md.count("| `~` |") == 3 and "not shown" not in md
    assert "`sku.capacity`: 60 → 70" in md
    assert "| hosting (monthly) | $1,000.00 | $3,723.00 | +$2,723.00 |" in md


def test_hashes_only_when_nothing_else_changed() -> None:
    a = CreateJob(id="job.j:create", name="j", reason="new", spec_hash="a" * 16, base_model="m",
                  changes={"spec hash": ("x", "y")})
    b = CreateJob(id="job.k:create", name="k", reason="new", spec_hash="a" * 16, base_model="m",
                  changes={"spec hash": ("x", "y"), "n_epochs": (3, 4)})
    plan = Plan(project="p", endpoint="e", fingerprint="0" * 16, spec_fingerprint="1" * 16, spec_dir="s",
                created_at=1.8e9, actions=[a, b])
    md = plan_markdown(plan)
    assert md.count("spec hash") == 1 and "`n_epochs`: 3 → 4" in md


def test_foundry_text_cannot_break_tables_or_terminals() -> None:
    evil = "bad\x1b]8;;http://x\x07link\x1b]8;;\x07 | row\nnext \x1b[31mred"
    plan = Plan(project="p", endpoint="e", fingerprint="0" * 16, spec_fingerprint="1" * 16, spec_dir="s",
                created_at=1.8e9, actions=[NoOp(id="job.j:no-op", kind="FineTuningJob", name="j", reason=evil,
                                                blocked=evil)])
    md = plan_markdown(plan)
    row = next(line for line in md.splitlines() if "FineTuningJob/j" in line)
    assert "\x1b" not in md and "\n" not in row and "\\|" in row
    assert "\x1b" not in plan_text(plan)
    assert "\x1b" not in drift_text([DriftItem("failed", "FineTuningJob/j", evil, "no-op")], [], "p")
