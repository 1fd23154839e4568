"""A fleet of runners (examples/ci/fleet.yml): the workflow's steps run as GitHub runs them, each job's action
inputs read from the workflow and passed the way action.yml passes them, against two local Foundry accounts;
the artifacts between the jobs moved as actions/upload-artifact and actions/download-artifact move them."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.conftest import ROOT, ActionRun, GitHub, ftops
from tests.ci.test_action_script import Make
from tests.ci.test_workflows import ACTION, jobs, load
from tests.conftest import FOLLOWER, TWO_ACCOUNTS_SPEC

FLEET = ROOT / "examples" / "ci" / "fleet.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def expand(text: str, context: dict[str, str]) -> str:
    """`${{ name }}` replaced from `context`; a name the test does not know fails it (KeyError)."""
    return EXPRESSION.sub(lambda m: context[m[1]], text)


def ftops_with(job: dict[str, Any]) -> dict[str, str]:
    step = next(s for s in job["steps"] if "/ftops@" in s.get("uses", ""))
    return {k: str(v) for k, v in step["with"].items()}


def action_step(step_id_or_name: str) -> dict[str, Any]:
    return next(s for s in load(ACTION)["runs"]["steps"] if step_id_or_name in (s.get("id"), s.get("name")))


def inputs_context(given: dict[str, str], gh: GitHub) -> dict[str, str]:
    """`inputs.*` as GitHub fills them for a `uses:` step: what the workflow gives, else action.yml's default."""
    context = {"runner.temp": str(gh.runner_temp), "github.action_path": str(ROOT), "github.token": "token"}
    for name, spec in load(ACTION)["inputs"].items():
        context[f"inputs.{name}"] = expand(given.get(name, str(spec.get("default", ""))), context)
    return context


def run_job_step(gh: GitHub, job: dict[str, Any], **matrix: str) -> ActionRun:
    """The job's ftops step: its `with:` (matrix values and runner.temp filled in) made into the environment
    action.yml's run step gives run.py."""
    context = {"runner.temp": str(gh.runner_temp), **{f"matrix.{k}": v for k, v in matrix.items()}}
    given = {k: expand(v, context) for k, v in ftops_with(job).items()}
    filled = inputs_context(given, gh)
    env = {k: expand(str(v), filled) for k, v in action_step("run")["env"].items() if k.startswith("FTOPS_")}
    return gh.run_env(env)


def upload(run: ActionRun, store: Path) -> None:
    """action.yml's upload step: the file `artifact-file` as the artifact `artifact-name` (its base name inside)."""
    step = action_step("Upload this account's plan file")
    assert step["with"]["name"] == "${{ steps.run.outputs.artifact-name }}"
    assert step["with"]["path"] == "${{ steps.run.outputs.artifact-file }}"
    assert "!cancelled()" in step["if"], "a policy-blocked plan (a failed step) is uploaded too"
    source = Path(run.outputs["artifact-file"])
    (store / run.outputs["artifact-name"]).mkdir(parents=True)
    shutil.copy(source, store / run.outputs["artifact-name"] / source.name)


def download(gh: GitHub, given: dict[str, str], store: Path) -> None:
    """action.yml's download step as actions/download-artifact v8.0.1 does it: the artifacts matching `pattern`,
    each into `path/<name>/`, or a single match into `path` itself (src/download-artifact.ts)."""
    step = action_step("Download the accounts' plan files")
    context = inputs_context(given, gh)
    pattern, path = expand(step["with"]["pattern"], context), Path(expand(step["with"]["path"], context))
    assert path == Path(expand(action_step("run")["env"]["FTOPS_PLANS_DIR"], context))
    matches = sorted(p for p in store.iterdir() if fnmatch.fnmatchcase(p.name, pattern))
    shutil.rmtree(path, ignore_errors=True)
    for artifact in matches:
        shutil.copytree(artifact, path if len(matches) == 1 else path / artifact.name, dirs_exist_ok=True)


def _saved_plan_answers(artifact: str) -> dict[str, Any]:
    """What GitHub's API answers apply: the PR merged into this commit, and its run's artifact `artifact`."""
    head = "b" * 40
    return {
        f"api repos/acme/models/commits/{'a' * 40}/pulls": [
            {"number": 5, "merged_at": "2026-11-22T10:00:00Z", "merge_commit_sha": "a" * 40, "head": {"sha": head}}],
        f"api repos/acme/models/actions/artifacts?name={artifact}": {"artifacts": [
            {"expired": False, "created_at": "2026-11-22T09:00:00Z",
             "workflow_run": {"head_sha": head, "id": 99, "repository_id": 1, "head_repository_id": 1}}]},
    }


def test_the_fleet_workflow_plans_each_account_comments_once_and_applies_each(
        github: Make, tmp_path_factory: pytest.TempPathFactory) -> None:
    gh = github(spec=TWO_ACCOUNTS_SPEC, event_name="pull_request", pr_head_repo="acme/models")
    wf = jobs(FLEET)
    store = tmp_path_factory.mktemp("artifacts")

    accounts = run_job_step(gh, wf["accounts"])
    assert accounts.code == 0, accounts.stderr
    matrix = json.loads(accounts.outputs["matrix"])
    assert [(e["foundry"], e["region"]) for e in matrix["include"]] == [("dev", "swedencentral"), ("prod", "eastus2")]

    for entry in matrix["include"]:  # one runner each
        planned = run_job_step(gh, wf["plan"], foundry=entry["foundry"])
        assert planned.code == 0, planned.stderr
        assert planned.outputs["exit-code"] == "2" and planned.outputs["comment"] == "false"
        assert planned.outputs["artifact-name"] == f"ftops-plan-specs-{entry['foundry']}"
        upload(planned, store)

    download(gh, ftops_with(wf["comment"]), store)
    merged = run_job_step(gh, wf["comment"])
    assert merged.code == 0, merged.stderr
    assert merged.outputs["exit-code"] == "2" and merged.outputs["outcome"] == "changes"
    assert merged.outputs["comment"] == "true" and merged.outputs["comment-header"] == "ftops-plan-specs"
    body = Path(merged.outputs["comment-file"]).read_text(encoding="utf-8")
    assert body.count("### ftops plan: `specs`, 2 account(s)") == 1
    assert "| `dev` | swedencentral | `dev` | 4 to create" in body and "| `prod` | eastus2 | `clippy-prod` | 2 to create" in body
    assert "`Deployment/clippy-prod`" in body and "`FineTuningJob/prod-job`" in body
    assert "artifact `ftops-plan-specs-<account>`" in body

    # prod's runner failed: its artifact is missing (download-artifact then extracts the one match directly).
    aside = tmp_path_factory.mktemp("aside") / "prod"
    shutil.move(store / "ftops-plan-specs-prod", aside)
    download(gh, ftops_with(wf["comment"]), store)
    one = run_job_step(gh, wf["comment"])
    assert one.code == 1 and one.outputs["outcome"] == "failed", one.stderr  # the check fails with the runner
    assert one.outputs["comment"] == "true"
    body = Path(one.outputs["comment-file"]).read_text(encoding="utf-8")
    assert "| `prod` | | | **no plan file: its plan job failed or was skipped** |" in body
    assert "`Deployment/clippy-prod`" in body and "no plan file for Foundry prod of specs" in body
    assert (gh.runner_temp / "ftops-plans" / "plan.json").is_file()
    shutil.move(aside, store / "ftops-plan-specs-prod")

    # The merge to main: one apply job per account, each fetching the plan reviewed for it.
    gh.event_name, gh.pr_head_repo = "push", None
    for entry in matrix["include"]:
        name = f"ftops-plan-specs-{entry['foundry']}"
        gh.answers, gh.artifact_dir = _saved_plan_answers(name), store / name
        applied = run_job_step(gh, wf["apply"], foundry=entry["foundry"])
        assert applied.code == 0, applied.summary
        download_call = next(c for c in applied.gh_calls if c[:2] == ["run", "download"])
        assert download_call[download_call.index("--name") + 1] == name
        assert "saved plan" in applied.summary and "✅ applied" in applied.summary
    for foundry in ("dev", "prod"):  # each account's uploads and jobs were made (a rollout may follow its job)
        after = ftops(gh.root, "plan", "specs", "--foundry", foundry, "--format", "json")
        assert after.returncode == 0, after.stderr
        made = [a for a in json.loads(after.stdout)["actions"] if a["kind"] in ("Dataset", "FineTuningJob")]
        assert made and all(a["action"] in ("no-op", "wait") for a in made), made


def test_a_policy_blocked_account_is_uploaded_and_blocks_the_merged_comment(
        github: Make, tmp_path_factory: pytest.TempPathFactory) -> None:
    policy = ("---\napiVersion: ftops/v1\nkind: Policy\nmetadata: {name: standard-only, foundry: dev}\n"
              "spec: {enforcement: hard-mandatory, allowedDeploymentSkus: [Standard]}\n")
    gh = github(spec=TWO_ACCOUNTS_SPEC + policy, event_name="pull_request", pr_head_repo="acme/models")
    wf, store = jobs(FLEET), tmp_path_factory.mktemp("artifacts")
    dev = run_job_step(gh, wf["plan"], foundry="dev")
    assert dev.code == 1 and dev.outputs["outcome"] == "policy-blocked"
    upload(dev, store)
    upload(run_job_step(gh, wf["plan"], foundry="prod"), store)
    download(gh, ftops_with(wf["comment"]), store)
    merged = run_job_step(gh, wf["comment"])
    assert merged.code == 1 and merged.outputs["outcome"] == "policy-blocked"
    assert merged.outputs["policy-blocked"] == "standard-only" and merged.outputs["comment"] == "true"
    body = Path(merged.outputs["comment-file"]).read_text(encoding="utf-8")
    assert "| **blocked** by `standard-only` |" in body and "`FineTuningJob/prod-job`" in body
    assert "Foundry dev: policy standard-only" in body  # the error line names the account


def test_merge_plans_refuses_bad_sets_in_one_line(github: Make) -> None:
    gh = github(spec=TWO_ACCOUNTS_SPEC)
    for foundry in ("dev", "prod"):
        assert ftops(gh.root, "plan", "specs", "--foundry", foundry, "--out", f"{foundry}.json").returncode == 0
    shutil.copytree(gh.root / "specs", gh.root / "other")
    assert ftops(gh.root, "plan", "other", "--foundry", "prod", "--out", "other.json").returncode == 0
    (gh.root / "cut.json").write_text((gh.root / "dev.json").read_text(encoding="utf-8")[:500], encoding="utf-8")
    merged = ftops(gh.root, "merge-plans", "dev.json", "prod.json", "--detailed-exitcode", "--require-all")
    assert merged.returncode == 2, merged.stderr
    alone = ftops(gh.root, "merge-plans", "dev.json", "--require-all")
    assert alone.returncode == 1 and "| `prod` | | |" in alone.stdout
    assert alone.stderr == ("error: no plan file for Foundry prod of specs: its plan job failed or was skipped (its "
                            "log says why)\n")
    for args, message in [
        (["dev.json", "dev.json"], "error: dev.json: a second plan for Foundry dev (the first: dev.json)"),
        (["dev.json", "other.json"], "error: other.json: made for spec directory 'other', dev.json for 'specs'"),
        (["dev.json", "cut.json"], "error: cut.json: not a plan file (invalid JSON"),
        (["dev.json", "nope.json"], "error: nope.json: cannot read plan file"),
        ([], "error: Missing argument 'FILE...'"),
    ]:
        r = ftops(gh.root, "merge-plans", *args)
        assert r.returncode == 1 and r.stdout == "", (args, r.stdout)
        assert r.stderr.startswith(message) and r.stderr.count("\n") == 1, (args, r.stderr)


def test_the_matrix_is_valid_matrix_input_for_github(github: Make, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`ftops matrix --format json` put where fromJSON puts it: the workflow schema accepts it; a matrix
    that is not one (include not a list) is refused by the same check, so the check can fail."""
    gh = github(spec=TWO_ACCOUNTS_SPEC)
    r = ftops(gh.root, "matrix", "specs", "--format", "json")
    assert r.returncode == 0, r.stderr
    matrix = json.loads(r.stdout)
    assert set(matrix) == {"include"} and all(isinstance(e, dict) and e["foundry"] for e in matrix["include"])
    schema = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    out = tmp_path_factory.mktemp("wf")
    for name, value, ok in (("good", matrix, True), ("bad", {"include": "dev"}, False)):
        workflow = yaml.safe_load(FLEET.read_text(encoding="utf-8"))
        workflow["on"] = workflow.pop(True)  # PyYAML reads the key `on` as true
        workflow["jobs"]["plan"]["strategy"]["matrix"] = value
        (out / f"{name}.yml").write_text(yaml.safe_dump(workflow), encoding="utf-8")
        proc = subprocess.run([schema, "--builtin-schema", "vendor.github-workflows", str(out / f"{name}.yml")],
                              capture_output=True, text=True, check=False)
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr


def _accounts(n: int) -> str:
    return "".join(f"---\napiVersion: ftops/v1\nkind: Foundry\nmetadata: {{name: a{i:03}}}\n"
                   f"spec: {{local: true, region: swedencentral}}\n" for i in range(n))


def test_more_accounts_than_github_runs_matrix_jobs_are_refused(github: Make) -> None:
    gh = github(spec=_accounts(256))
    r = ftops(gh.root, "matrix", "specs", "--format", "json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["include"]) == 256
    (gh.root / "specs" / "one-more.yaml").write_text(_accounts(257).rsplit("---\n", 1)[1].replace("a256", "b256"),
                                                     encoding="utf-8")
    r = ftops(gh.root, "matrix", "specs", "--format", "json")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == ("error: specs: 257 Foundry documents: a GitHub Actions matrix runs at most 256 jobs per "
                        "workflow run; split the accounts over several spec directories (one matrix each)\n")
    run = gh.run(command="matrix")
    assert run.code == 1 and run.outputs["outcome"] == "failed" and "matrix" not in run.outputs
    assert "at most 256 jobs" in run.summary


def test_fleet_inputs_that_cannot_work_are_one_line(github: Make) -> None:
    gh = github(spec=TWO_ACCOUNTS_SPEC)
    for env, message in [
        ({"FTOPS_COMMAND": "merge"}, "command merge needs input plan-artifact"),
        ({"FTOPS_COMMAND": "plan", "FTOPS_INPUT_FOUNDRY": "dev"}, "input foundry with command plan needs input "
                                                                  "plan-artifact"),
        ({"FTOPS_COMMAND": "plan", "FTOPS_INPUT_FOUNDRY": "Dev/../x", "FTOPS_PLAN_ARTIFACT": "p"},
         "input foundry: 'Dev/../x' is not a Foundry document's name"),
        ({"FTOPS_COMMAND": "matrix", "FTOPS_INPUT_FOUNDRY": "dev"}, "input foundry is for plan, apply, sync and drift"),
    ]:
        run = gh.run_env(env)
        assert run.code == 1 and run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    merged = gh.run(command="merge", plan_artifact="ftops-plan-specs", plans_dir=str(gh.root / "none"))
    assert merged.code == 1 and "no plan file was downloaded" in merged.summary


def test_a_sync_without_foundry_applies_every_account_and_a_usage_error_fails_the_step(github: Make) -> None:
    """Without `foundry`, sync covers every account in one run; ftops' exit 2 for apply and sync (an unknown
    --foundry) is a usage error that fails the step, not "changes"."""
    gh = github(spec=TWO_ACCOUNTS_SPEC)
    run = gh.run(command="sync")
    assert run.code == 0 and run.outputs["outcome"] == "success", run.stderr
    assert "== Foundry dev" in run.summary and "== Foundry prod" in run.summary, run.summary
    bad = gh.run_env({"FTOPS_COMMAND": "sync", "FTOPS_INPUT_FOUNDRY": "staging"})
    assert bad.code != 0 and bad.outputs["exit-code"] == "2"  # any other code fails the step
    assert bad.outputs["outcome"] == "failed" and bad.outputs["has-changes"] == "false"
    assert "--foundry staging: no such Foundry document" in bad.summary, bad.summary




def test_prods_runner_promotes_what_devs_deployment_serves(github: Make,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    """Stages on the fleet: prod's plan and apply jobs read dev (never apply it) and promote what dev serves."""
    spec = TWO_ACCOUNTS_SPEC.replace("checkpoint: best", "checkpoint: final") + FOLLOWER
    gh = github(spec=spec, event_name="pull_request", pr_head_repo="acme/models")
    wf, store = jobs(FLEET), tmp_path_factory.mktemp("artifacts")
    dev = ftops(gh.root, "apply", "specs", "--foundry", "dev", "--auto-approve", "--wait")  # dev's runner, earlier
    assert dev.returncode == 0, dev.stdout + dev.stderr

    planned = run_job_step(gh, wf["plan"], foundry="prod")
    assert planned.code == 0 and planned.outputs["exit-code"] == "2", planned.stderr
    saved = json.loads(Path(planned.outputs["artifact-file"]).read_text())
    chat = next(a for a in saved["actions"] if a["name"] == "chat")
    assert saved["foundry"] == "prod" and chat["op"] == "deployment.promote" and chat["model"], chat
    assert str(chat["source"]).endswith("/accounts/ftops-local")  # dev's account
    assert "Read for upstream facts only" in Path(planned.outputs["markdown"]).read_text(encoding="utf-8")
    upload(planned, store)

    gh.event_name, gh.pr_head_repo = "push", None
    name = "ftops-plan-specs-prod"
    gh.answers, gh.artifact_dir = _saved_plan_answers(name), store / name
    applied = run_job_step(gh, wf["apply"], foundry="prod")
    assert applied.code == 0 and "✅ applied" in applied.summary, applied.summary
    after = ftops(gh.root, "plan", "specs", "--foundry", "prod", "--format", "json")
    [now] = [a for a in json.loads(after.stdout)["actions"] if a["name"] == "chat"]
    assert now["action"] == "no-op" and now["reason"] == f"serves {chat['model']}, as dev/clippy-prod does", now
    undone = ftops(gh.root, "plan", "specs", "--foundry", "dev", "--detailed-exitcode")
    assert undone.returncode == 0, undone.stdout  # dev: nothing of prod's runs touched it
