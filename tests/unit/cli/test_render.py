"""Rendering: the Markdown plan a reviewer reads (size cap, field changes, escaping) and drift lines."""

from __future__ import annotations

import re

import pytest

from ftops.cli._render import MARKDOWN_LIMIT, drift_text, plan_markdown, plan_text
from ftops.foundry import LiveDeployment, LiveJob
from ftops.plan import CreateJob, DriftItem, Finding, JobFile, JobSubmission, NoOp, Plan, RollOut
from ftops.plan._actions import Cost
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import world

REQUEST = JobSubmission(base_model="m", training_file=JobFile(dataset="d", sha256="0" * 64, file_id="file-1"),
                         method="supervised", training_type="GlobalStandard")


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
    a = CreateJob(id="job.j:create", name="j", reason="new", spec_hash="a" * 16, request=REQUEST,
                  changes={"spec hash": ("x", "y")})
    b = CreateJob(id="job.k:create", name="k", reason="new", spec_hash="a" * 16, request=REQUEST,
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


# -- no Python reprs: what is not set reads (none), what apply decides reads (known after apply: ...) ----
CONTINUOUS = """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: clippy-v2}
spec:
  baseModel: {job: clippy}
  trainingData: train
  hyperparameters: {n_epochs: 2}
  suffix: clippy-v2
"""


def _rendered(plan: Plan) -> str:
    from ftops.plan import drift_items, status_rows

    drift = drift_text(drift_items(plan), [], plan.project)
    status = "\n".join(" ".join((r.kind, r.name, r.live_id, r.status, r.detail)) for r in status_rows(plan))
    return "\n".join([plan_text(plan, verbose=True), plan_markdown(plan), drift, status])


def _assert_no_reprs(text: str) -> None:
    assert "None" not in text and "True" not in text and "False" not in text, text
    assert re.search(r"<[a-z]", text.replace("<br>", "")) is None, text  # the old `<clippy: best>` placeholders


def test_no_python_reprs_before_anything_exists(make_project: MakeProject) -> None:
    w = world(make_project())
    text = _rendered(w.plan())
    _assert_no_reprs(text)
    assert "model: (none) -> (known after apply: the best checkpoint of job clippy)" in text
    assert "file: (none) -> ftops." in text


def test_no_python_reprs_while_a_job_trains_and_for_a_model_azure_does_not_report(make_project: MakeProject) -> None:
    w = world(make_project())
    w.uploads()
    old = w.job("clippy")
    w.deploy("clippy-prod", old, model="gpt-4.1-mini-2025-04-14.ft-old")
    w.set_job(old, metadata={**old.metadata, "ftops-hash": "0" * 16, "ftops-content": "0" * 16})  # an older spec
    w.job("clippy", status="running")
    text = _rendered(w.plan())
    _assert_no_reprs(text)
    assert "(known after apply: the best checkpoint of job clippy)" in text
    w.deployments = [LiveDeployment(name="clippy-prod", model=None, sku_name=None, capacity=None,
                                    tags=dict(w.deployments[0].tags), provisioning_state=None)]
    _assert_no_reprs(_rendered(w.plan()))


def test_no_python_reprs_for_orphans_and_a_continuous_job_on_an_unfinished_base(make_project: MakeProject) -> None:
    from ftops.plan import _matching as matching

    w = world(make_project(spec=BASE_SPEC + CONTINUOUS))
    w.uploads()
    base = w.job("clippy")
    w.job("clippy-v2", base_model=base.fine_tuned_model)
    w.set_job(base, metadata={**base.metadata, "ftops-hash": "0" * 16, "ftops-content": "0" * 16})  # retrained ...
    w.job("clippy", status="running")  # ... and still trains
    w.jobs.append(LiveJob(id="ftjob-" + "e" * 32, status="running", model="m", created_at=5, fine_tuned_model=None,
                          metadata={matching.META_PROJECT: w.project}, training_file=None, validation_file=None,
                          n_epochs=None))
    w.deployments.append(LiveDeployment(name="old-prod", model=None, sku_name=None, capacity=None,
                                        tags={matching.META_PROJECT: w.project}, provisioning_state=None))
    text = _rendered(w.plan())
    _assert_no_reprs(text)
    assert "model: gpt-4.1-mini-2025-04-14.ft-" in text and "-> (known after apply: the model the base job trains)" \
        in text
    assert "carries this project's metadata but no spec name" in text and "serves no model" in text


# -- the Markdown cap counts everything; one cause is one line ------------------------------------------
def _findings(n: int, *, same: bool) -> list[Finding]:
    return [Finding(severity="error", kind="unavailable", resource=f"FineTuningJob/j{i}",
                    message="base model m is not offered by this account" + ("" if same else f" ({i})" + "y" * 200))
            for i in range(n)]


def test_findings_count_against_the_markdown_cap() -> None:
    """2,000 distinct findings made a 360 KB comment: the cap left them out of its count."""
    plan = _plan(500)
    plan.findings = _findings(2000, same=False)
    md = plan_markdown(plan, full_plan_hint="the whole plan is in plan.json")
    assert len(md) <= MARKDOWN_LIMIT and md.count("| `~` |") > 100 and md.count("is not offered") > 100
    note = md.splitlines()[-1]
    assert re.fullmatch(r"\*\*\d+ more finding\(s\), \d+ more resource\(s\) not shown\*\* \(the comment is capped at "
                        r"60,000 characters\); the whole plan is in plan.json\.", note), note


def test_everything_fits_under_any_cap() -> None:
    plan = _plan(50)
    plan.findings = _findings(50, same=False)
    for limit in (2_000, 5_000, 20_000):
        assert len(plan_markdown(plan, limit=limit)) <= limit


def test_identical_findings_are_one_line_with_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(1)
    plan.findings = [*_findings(250, same=True),
                     Finding(severity="warning", kind="unknown", resource="Foundry", message="not checked: quotas")]
    md = plan_markdown(plan)
    assert md.count("is not offered") == 1
    assert "- **error** `FineTuningJob/j0`, `FineTuningJob/j1`, `FineTuningJob/j2` and 247 more (250 in all): " \
           "base model m is not offered by this account" in md
    text = plan_text(plan)
    assert text.count("is not offered") == 1 and "FineTuningJob/j0, FineTuningJob/j1, FineTuningJob/j2 and 247 more" \
        in text and "not checked: quotas" in text
    from ftops._exceptions import PreflightFailed
    from ftops.cli.commands.reconcile import _refuse_on_preflight

    with pytest.raises(PreflightFailed):
        _refuse_on_preflight(plan)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: preflight: FineTuningJob/j0, ")


# -- no credential in the plan header ---------------------------------------------------------------------
def test_a_credential_in_the_endpoint_never_reaches_the_plan(make_project: MakeProject) -> None:
    """spec.endpoint (or the ${AZURE_*} variable it names) with user:password@ or ?sig=/?api-key= was printed."""
    from types import SimpleNamespace

    from ftops.plan import make_plan

    w = world(make_project())
    client = SimpleNamespace(target="s/g/a", identity="Entra ID", foundry_project="",
                             endpoint="https://ops:hunter2@acme.openai.azure.com/openai/v1?sig=SECRET&api-key=KEY")
    plan = make_plan(w.checked, client, live=w.state())  # type: ignore[arg-type]
    assert plan.data_plane == "https://***@acme.openai.azure.com/openai/v1?***"
    plan.data_plane = client.endpoint  # a plan file written elsewhere: the header redacts it again
    for text in (plan_text(plan), plan_markdown(plan)):
        assert "hunter2" not in text and "SECRET" not in text and "KEY" not in text and "ops:" not in text
    assert "data plane https://***@acme.openai.azure.com/openai/v1?*** · identity: Entra ID" in plan_text(plan)


# -- honest numbers: what the plan leaves out of its hosting is shown, labelled --------------------------------
def test_unmanaged_and_orphaned_deployments_are_in_the_cost(make_project: MakeProject) -> None:
    """Deployments no spec names (this project's, or others') cost money too: they were left out."""
    from ftops.plan import _matching as matching

    w = world(make_project())
    w.uploads()
    job = w.job("clippy")
    w.deploy("clippy-prod", job)
    other_job = LiveJob(id="ftjob-" + "a" * 32, status="succeeded", model="gpt-4.1-mini-2025-04-14", created_at=1,
                        fine_tuned_model="gpt-4.1-mini-2025-04-14.ft-other", metadata={}, training_file=None,
                        validation_file=None, n_epochs=3)
    w.jobs.append(other_job)
    w.deployments += [
        LiveDeployment(name="theirs", model="gpt-4.1-mini-2025-04-14.ft-other", sku_name="GlobalStandard",
                       capacity=1, tags={matching.META_PROJECT: "someone-else"}, provisioning_state="Succeeded"),
        LiveDeployment(name="by-hand", model="gpt-4.1-mini-2025-04-14", sku_name="GlobalStandard", capacity=1,
                       tags={}, provisioning_state="Succeeded"),
        LiveDeployment(name="old-prod", model=job.fine_tuned_model, sku_name="GlobalStandard", capacity=1,
                       tags={matching.META_PROJECT: w.project, matching.TAG_JOB: job.id},
                       provisioning_state="Succeeded")]
    plan = w.plan()
    t = plan.totals()
    assert plan.unmanaged.deployments == 2 and plan.unmanaged.unpriced == 1 and t["monthly_unmanaged_usd"] == 1241.0
    assert t["monthly_hosting_before_usd"] == t["monthly_hosting_usd"] == 2 * 1241.0  # the orphan keeps costing
    md = plan_markdown(plan)
    assert "| other deployments on this account, not managed by this project (2, 1 not priced: no job says which " \
           "model they serve), monthly | $1,241.00 | $1,241.00 | ±$0.00 |" in md
    assert "also on the bill: other deployments on this account" in plan_text(plan)
    pruned = w.plan(prune=True).totals()
    assert pruned["monthly_hosting_before_usd"] == 2 * 1241.0 and pruned["monthly_hosting_usd"] == 1241.0


def test_status_shows_provenance_in_a_column_and_as_an_object_in_json() -> None:
    import json

    from rich.console import Console

    from ftops.cli._render import status_json, status_markdown, status_table
    from ftops.plan import Provenance, StatusRow

    origin = Provenance(job="ftjob-1", model="ftchkpt-2", checkpoint=True, verdict="passed",
                        repository="https://github.com/org/repo", commit="c" * 40)
    rows = [StatusRow("Deployment", "d", "d", "in sync", "", provenance=origin),
            StatusRow("Dataset", "t", "file-1", "uploaded", "")]
    console = Console(width=400, record=True)
    console.print(status_table(rows))
    text = console.export_text()
    assert "provenance" in text
    # the table leaves the model to the detail column; Markdown and JSON give it
    assert "from job ftjob-1 (a checkpoint), evaluation passed, commit ccccccc of github.com/org/repo" in text
    assert "(checkpoint ftchkpt-2)" not in text and "(checkpoint ftchkpt-2)" in status_markdown(rows)
    md = status_markdown(rows)
    assert md.splitlines()[0].endswith("| provenance |") and "commit ccccccc of github&#8203;.com/org/repo" in md
    data = json.loads(status_json(rows))
    assert data[0]["provenance"] == {"job": "ftjob-1", "model": "ftchkpt-2", "checkpoint": True, "verdict": "passed",
                                     "repository": "https://github.com/org/repo", "commit": "c" * 40}
    assert data[1]["provenance"] is None
    # Nothing recorded anywhere: no empty column.
    assert "provenance" not in status_markdown(rows[1:])


def test_the_plan_says_what_apply_records() -> None:
    from ftops.plan import GitSource

    plan = _plan(1)
    plan.provenance = GitSource(repository="https://github.com/org/repo", commit="d" * 40, dirty=True)
    assert "recorded on what apply writes: commit ddddddd+dirty of github.com/org/repo" in plan_text(plan)
    assert "_recorded on what apply writes: commit ddddddd+dirty of github&#8203;.com/org/repo_" in plan_markdown(plan)
    assert "recorded on what apply writes" not in plan_text(_plan(1))
