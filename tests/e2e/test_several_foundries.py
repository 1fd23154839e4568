"""One spec directory, two local Foundry accounts (dev, prod) of one local Foundry: `plan`, `apply`, `drift` and
`status` cover both in one run, grouped by account with one exit code; `--foundry NAME` (or FTOPS_FOUNDRY)
narrows the run to some; a plan file stays one account's; `ftops matrix` names both."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ftops.emulator import EmulatorServer

from .conftest import FAST, Project, clients

PROD = f"""---
apiVersion: ftops/v1
kind: Foundry
metadata: {{name: prod}}
spec:
  local: true
  speed: {FAST}
  namespace: clippy-prod-account
  region: eastus2
---
apiVersion: ftops/v1
kind: Dataset
metadata: {{name: prod-train, foundry: prod}}
spec: {{path: data/clippy.train.jsonl}}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {{name: prod-job, foundry: prod}}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  method: supervised
  trainingType: GlobalStandard
  trainingData: prod-train
  hyperparameters: {{n_epochs: 1}}
  suffix: prodjob
"""


def _two_accounts(project: Project) -> None:
    """The shipped specs become Foundry `dev` with its resources, beside a Foundry `prod` with its own."""
    text = project.spec.read_text().replace("metadata: {name: local}", "metadata: {name: dev}")
    text = text.replace("metadata: {name: clippy", "metadata: {foundry: dev, name: clippy")
    project.spec.write_text(text + PROD)


def _accounts_json(project: Project, command: str, *args: str) -> tuple[int, dict[str, dict[str, object]]]:
    r = project.ftops(command, "--format", "json", *args)
    assert r.code in (0, 2), r.out + r.err
    data = json.loads(r.out)
    assert data["format_version"] == 1
    return r.code, {e["foundry"]: e for e in data["foundries"]}


def _resources(entry: dict[str, object]) -> set[str]:
    plan = entry["plan"]
    assert isinstance(plan, dict)
    return {a["resource"] for a in plan["actions"]}


def test_one_run_plans_applies_and_reads_both_accounts(project: Project) -> None:
    _two_accounts(project)
    assert project.ftops("validate").code == 0  # offline: checks both

    r = project.ftops("plan", "--detailed-exitcode")
    assert r.code == 2, r.out + r.err
    assert "== Foundry dev · account " in r.out and "/ftops-local · swedencentral" in r.out, r.out
    assert "== Foundry prod · account " in r.out and "/prod · eastus2" in r.out, r.out
    assert r.out.rstrip().endswith("2 Foundry accounts, 2 with changes: dev, prod."), r.out

    code, plans = _accounts_json(project, "plan")
    assert list(plans) == ["dev", "prod"] and code == 0
    assert "Deployment/clippy-prod" in _resources(plans["dev"]) and "FineTuningJob/prod-job" in _resources(
        plans["prod"])
    assert not [x for x in _resources(plans["dev"]) if "prod-" in x]
    assert plans["prod"]["region"] == "eastus2" and str(plans["prod"]["account_id"]).endswith("/accounts/prod")

    markdown = project.ftops("plan", "--format", "markdown").out
    assert "## ftops plan over several Foundry accounts" in markdown
    assert "## Foundry `dev` (swedencentral)" in markdown and "## Foundry `prod` (eastus2)" in markdown

    assert project.ftops("drift").code == 2  # nothing exists yet: both drift

    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert r.out.count("Apply complete.") == 2, r.out
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    code, drifts = _accounts_json(project, "drift")
    assert code == 0 and not any(e["drift"]["drift"] for e in drifts.values())  # type: ignore[index]

    # One local Foundry, one data dir: dev is its primary account, prod an account of its own.
    assert not (project.root / ".ftops" / "emulators").exists()
    server = EmulatorServer(project.root / ".ftops" / "emulator", speed=FAST).start()
    try:
        dev = clients(server.connection, server)
        prod = clients(server.connection.for_account("prod"), server)
        assert [d.name for d in dev.arm.deployments.list(dev.conn.resource_group, dev.conn.account)] == ["clippy-prod"]
        assert [j.suffix for j in dev.oai.fine_tuning.jobs.list()] == ["clippy"]
        assert [j.suffix for j in prod.oai.fine_tuning.jobs.list()] == ["prodjob"]
        # Behind ftops' back, dev's deployment goes: dev drifts, prod does not, and the run exits 2.
        dev.arm.deployments.begin_delete(dev.conn.resource_group, dev.conn.account, "clippy-prod").result()
    finally:
        server.stop()
    code, drifts = _accounts_json(project, "drift")
    assert code == 2
    assert drifts["dev"]["drift"]["drift"] and not drifts["prod"]["drift"]["drift"]  # type: ignore[index]

    _code, status = _accounts_json(project, "status")
    assert [r["name"] for r in status["prod"]["rows"]] == ["prod-train", "prod-job"]  # type: ignore[index]


def test_a_narrowed_run_prints_as_one_account(project: Project) -> None:
    _two_accounts(project)
    planned = project.actions("--foundry", "prod")  # one account: the one-account JSON, as before
    assert any("prod-job" in k for k in planned) and not any("clippy" in k for k in planned), planned

    r = project.ftops("apply", "--foundry", "prod", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert "== Foundry" not in r.out

    _code, plans = _accounts_json(project, "plan", "--foundry", "prod", "--foundry", "dev")
    assert list(plans) == ["dev", "prod"]


def test_ftops_foundry_in_the_environment_chooses_as_the_flag_does(project: Project,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _two_accounts(project)
    monkeypatch.setenv("FTOPS_FOUNDRY", "prod")  # what a matrix job of the GitHub Action sets (docs/ci.md)
    planned = project.actions()
    assert any("prod-job" in k for k in planned) and not any("clippy" in k for k in planned), planned
    monkeypatch.setenv("FTOPS_FOUNDRY", "dev, prod")
    _code, plans = _accounts_json(project, "plan")
    assert list(plans) == ["dev", "prod"]


def test_a_plan_file_applies_to_the_foundry_it_was_made_for(project: Project) -> None:
    _two_accounts(project)
    assert project.ftops("plan", "--foundry", "prod", "--out", "prod.plan.json").code == 0
    saved = json.loads((project.root / "prod.plan.json").read_text())
    assert saved["foundry"] == "prod" and "foundries" not in saved  # one account's file: as before

    r = project.ftops("apply", "prod.plan.json", "--foundry", "dev", "--auto-approve")
    assert r.code == 2 and "the plan file was made for Foundry 'prod', not --foundry dev" in r.err, r.err

    r = project.ftops("apply", "prod.plan.json", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert project.ftops("plan", "--foundry", "prod", "--detailed-exitcode").code == 0


def test_a_plan_file_of_several_accounts_holds_each_and_applies_each(project: Project) -> None:
    _two_accounts(project)
    r = project.ftops("plan", "--out", "all.plan.json")
    assert r.code == 0, r.out + r.err
    assert "Saved the plans to all.plan.json" in r.out
    saved = json.loads((project.root / "all.plan.json").read_text())
    assert saved["format_version"] == 3 and [p["foundry"] for p in saved["foundries"]] == ["dev", "prod"]

    r = project.ftops("apply", "all.plan.json", "--foundry", "dev", "--auto-approve")
    assert r.code == 2 and "the plan file was made for Foundry dev, prod, not --foundry dev" in r.err, r.err

    # An edited account is refused as a whole, before any change to either account; the message names it.
    edited = json.loads(json.dumps(saved))
    job = next(a for a in edited["foundries"][1]["actions"] if a["op"] == "job.create")
    job["request"]["seed"] = 7
    (project.root / "edited.plan.json").write_text(json.dumps(edited))
    r = project.ftops("apply", "edited.plan.json", "--auto-approve")
    assert r.code == 1 and r.err.count("\n") == 1 and "Foundry prod: plan action" in r.err, r.err

    r = project.ftops("apply", "all.plan.json", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert r.out.count("Apply complete.") == 2, r.out
    assert project.ftops("plan", "--detailed-exitcode").code in (0, 2)  # jobs may still train (no --wait)
    r = project.ftops("apply", "all.plan.json", "--auto-approve")  # applied: the live state moved since
    assert r.code == 1 and "Foundry dev: the live state changed since the plan was made" in r.err, r.err


def test_matrix_names_both(project: Project) -> None:
    _two_accounts(project)
    matrix = project.ftops("matrix", "--format", "json")
    assert matrix.code == 0, matrix.err
    include = json.loads(matrix.out)["include"]
    assert [(e["foundry"], e["region"]) for e in include] == [("dev", "swedencentral"), ("prod", "eastus2")]


def test_an_unknown_foundry_is_a_usage_error(project: Project) -> None:
    _two_accounts(project)
    r = project.ftops("status", "--foundry", "staging")
    assert r.code == 2
    assert "--foundry staging: no such Foundry document in specs (Foundry documents: dev, prod)" in r.err


def _in_two_waves(monkeypatch: pytest.MonkeyPatch) -> None:
    """dev before prod, as when prod's Deployments follow dev's (the promotion work fills account_waves)."""
    import ftops.session._fleet as fleet_module

    monkeypatch.setattr(fleet_module, "account_waves", lambda project: [["dev"], ["prod"]])


def _behind_prod_during_dev(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """While dev's wave applies, prod's training file is deleted behind ftops' back: the plan of prod made again
    for the next wave uploads it, a change the plan shown did not hold. Returns the waves applied, in order."""
    import ftops.cli.commands.reconcile as reconcile

    real, applied = reconcile._apply_accounts, []

    def apply_accounts(f: Any, todo: Any, run: Any, reporter: Any) -> Any:
        applied.append(",".join(todo))
        results = real(f, todo, run, reporter)
        if "dev" in todo:
            prod = f.accounts["prod"].client
            for file in prod.list_files():
                prod.delete_file(file.id)
        return results

    monkeypatch.setattr(reconcile, "_apply_accounts", apply_accounts)
    monkeypatch.setattr(reconcile, "_confirm", lambda: None)  # "yes" at the prompt
    return applied


def test_a_later_wave_runs_only_what_the_plan_shown_held(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_accounts(project)
    _in_two_waves(monkeypatch)
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    project.edit("capacity: 50", "capacity: 60")  # dev changes; prod is in sync
    applied = _behind_prod_during_dev(monkeypatch)

    r = project.ftops("apply")
    assert r.code == 1, r.out + r.err
    assert applied == ["dev"]  # prod was not applied
    assert "error: Foundry prod: planned again after the earlier accounts applied, it would create " \
           "Dataset/prod-train (1 change(s) the plan shown did not hold): refusing it; review a new plan (or pass " \
           "--auto-approve)" in r.err, r.err
    _code, plans = _accounts_json(project, "plan")
    assert "Dataset/prod-train" in {a["resource"] for a in plans["prod"]["plan"]["actions"]  # type: ignore[index]
                                    if a["action"] == "create"}
    assert not any(a["action"] == "update" for a in plans["dev"]["plan"]["actions"])  # type: ignore[index]

    applied.clear()
    r = project.ftops("apply", "--auto-approve")  # prod's upload now in the plan shown
    assert r.code == 0, r.out + r.err
    assert applied == ["dev", "prod"]


def test_a_failed_wave_stops_the_waves_after_it(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_accounts(project)
    _in_two_waves(monkeypatch)
    with project.live() as live:
        live.admin.fail_job(suffix="clippy")  # dev's job fails: dev's wave fails
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1, r.out + r.err
    assert "error: not applied: Foundry prod (planned after Foundry dev, which did not apply)" in r.err, r.err
    _code, plans = _accounts_json(project, "plan")
    assert all(a["action"] == "create" for a in plans["prod"]["plan"]["actions"])  # type: ignore[index]


def test_ctrl_c_during_an_apply_over_both_accounts_stops_both_and_the_next_apply_finishes(project: Project) -> None:
    """Hostile pass (issue 17): dev and prod apply at once, each on a thread of its own, and Ctrl-C reaches the
    main thread only. The run still ends promptly with 130 and one line, each account's steps in flight end their
    requests first (tests/unit/apply/test_executor_offline.py: ..._stops_every_account_of_a_run_over_several), and
    the next apply finishes both accounts with one job each."""
    import signal
    import subprocess
    import sys
    import time

    _two_accounts(project)
    project.set("speed", 20)  # each job would train for about 25 s
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sorted(_jobs(project).values()) != [1, 1]:  # both wait on their job
        time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10, err
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    project.set("speed", 20000)
    with project.live() as live:
        live.admin.advance(seconds=3600)  # both jobs end now: their schedules are on Foundry's (one) clock
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert _jobs(project) == {"dev": 1, "prod": 1}
    assert project.ftops("drift").code == 0


def _jobs(project: Project) -> dict[str, int]:
    """The jobs ftops submitted (not cancelled) in each account."""
    server = EmulatorServer(project.root / ".ftops" / "emulator", speed=FAST).start()
    try:
        conn = server.connection
        accounts = {"dev": conn, **{a.account: conn.for_account(a.account) for a in conn.accounts if a.account == "prod"}}
        return {n: sum(1 for j in clients(c, server).oai.fine_tuning.jobs.list() if j.status != "cancelled")
                for n, c in accounts.items()}  # prod is added to the data dir by the first run that works on it
    finally:
        server.stop()


def test_an_account_that_cannot_be_read_is_one_line_naming_it(project: Project,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile pass (issue 17): prod's ARM answers 500 to every deployments request; dev is fine. The run ends in
    one line that says which account failed (exit 1), not a bare Foundry message that could be either's."""
    _two_accounts(project)
    assert project.ftops("plan").code == 0  # prod now exists in the local Foundry's data dir
    server = EmulatorServer(project.root / ".ftops" / "emulator", speed=FAST).start()
    try:
        prod = clients(server.connection.for_account("prod"), server)
        prod.admin.faults(rate=1.0, kinds=["500"], only=["/accounts/prod/deployments"])
    finally:
        server.stop()
    monkeypatch.setenv("FTOPS_RETRY_BUDGET", "2")
    r = project.ftops("plan")
    assert r.code == 1, r.out + r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Foundry prod: "), r.err
    assert "Traceback" not in r.err
