"""ci/action/run.py run as GitHub runs it, against a local project (`local: true`, the emulator)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.ci.conftest import ROOT, RUN_PY, GitHub, ftops

Make = Callable[..., GitHub]


def load_run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ftops_action_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_validate_writes_the_summary_and_outputs(github: Make) -> None:
    run = github().run(command="validate", spec_dir="specs")
    assert run.code == 0, run.stderr
    assert "### ftops validate: `specs`" in run.summary and "✅ valid" in run.summary
    assert run.outputs["exit-code"] == "0" and run.outputs["outcome"] == "success"
    assert run.outputs["has-changes"] == "false" and run.outputs["comment"] == "false"
    assert Path(run.outputs["markdown"]).read_text(encoding="utf-8").startswith("### ftops validate")


def test_invalid_specs_fail_the_step_with_the_error_in_the_summary(github: Make) -> None:
    gh = github()
    (gh.root / "specs" / "main.yaml").write_text("apiVersion: ftops/v1\nkind: Nope\n", encoding="utf-8")
    run = gh.run(command="validate")
    assert run.code == 1
    assert "❌ invalid" in run.summary and "main.yaml" in run.summary
    assert run.outputs["exit-code"] == "1" and run.outputs["outcome"] == "failed"


def test_plan_with_changes_is_not_a_failure(github: Make) -> None:
    gh = github(event_name="pull_request", pr_head_repo="acme/models")
    run = gh.run(command="plan", plan_file=str(gh.root / "out" / "plan.json"))
    assert run.code == 0, run.stderr
    assert run.outputs["exit-code"] == "2" and run.outputs["has-changes"] == "true"
    assert run.outputs["outcome"] == "changes"
    assert "ftops plan" in run.summary and "Dataset/train" in run.summary
    plan = json.loads(Path(run.outputs["plan-file"]).read_text(encoding="utf-8"))
    assert plan["has_changes"] is True
    # A same-repository pull request gets the one sticky comment, keyed by spec directory.
    assert run.outputs["comment"] == "true" and run.outputs["comment-header"] == "ftops-plan-specs"
    body = Path(run.outputs["comment-file"]).read_text(encoding="utf-8")
    assert "Dataset/train" in body and "https://github.com/acme/models/actions/runs/42" in body


def test_plan_without_changes(github: Make) -> None:
    gh = github()
    assert ftops(gh.root, "apply", "specs", "--auto-approve", "--wait").returncode == 0
    run = gh.run(command="plan")
    assert run.code == 0, run.stderr
    assert run.outputs["exit-code"] == "0" and run.outputs["has-changes"] == "false"
    assert run.outputs["comment"] == "false"  # a push, not a pull request


def test_a_failed_plan_still_updates_the_comment(github: Make) -> None:
    gh = github(event_name="pull_request", pr_head_repo="acme/models")
    (gh.root / "specs" / "data" / "train.jsonl").write_text("not json\n", encoding="utf-8")
    run = gh.run(command="plan")
    assert run.code == 1
    assert run.outputs["outcome"] == "failed" and run.outputs["comment"] == "true"
    assert "plan failed" in Path(run.outputs["comment-file"]).read_text(encoding="utf-8")


def test_fork_pull_requests_skip_the_plan_and_say_so(github: Make) -> None:
    gh = github(event_name="pull_request", pr_head_repo="mallory/models")
    run = gh.run(command="plan", plan_file="plan.json")
    assert run.code == 0
    assert run.outputs["outcome"] == "skipped" and run.outputs["comment"] == "false"
    assert "Plan skipped: this pull request comes from a fork" in run.summary
    assert not (gh.root / "plan.json").exists()
    validated = gh.run(command="validate")
    assert validated.code == 0 and "Plan skipped" in validated.summary


def test_validate_needs_no_connection_variables(github: Make) -> None:
    gh = github()
    shutil.copytree(ROOT / "examples" / "azure" / "specs", gh.root / "azure")
    run = gh.run(command="validate", spec_dir="azure")
    assert run.code == 0, run.summary
    assert "no Foundry document" not in run.summary


def test_sync_is_apply_on_the_spec_dir_and_succeeds_while_jobs_run(github: Make) -> None:
    run = github().run(command="sync")
    assert run.code == 0, run.stderr
    assert "### ftops sync: `specs`" in run.summary and "✅ applied" in run.summary
    assert run.outputs["exit-code"] == "0"


def test_drift_opens_updates_and_closes_one_issue(github: Make) -> None:
    gh = github()
    assert ftops(gh.root, "apply", "specs", "--auto-approve", "--wait").returncode == 0
    listing = "issue list --repo acme/models --state open --label ftops-drift"

    gh.answers = {listing: []}
    in_sync = gh.run(command="drift", issue="true")
    assert in_sync.code == 0 and in_sync.outputs["has-changes"] == "false"
    assert [c[:2] for c in in_sync.gh_calls] == [["issue", "list"]]

    # Foundry deletes a fine-tuned deployment unused for 15 days.
    assert ftops(gh.root, "emulator", "advance", "--days", "16").returncode == 0
    gh.answers = {listing: [], "issue create": "https://github.com/acme/models/issues/12\n"}
    opened = gh.run(command="drift", issue="true")
    assert opened.code == 0, opened.stderr  # drift is the issue's news, not a failed run
    assert opened.outputs["exit-code"] == "2" and opened.outputs["has-changes"] == "true"
    assert opened.outputs["outcome"] == "drift"
    assert opened.outputs["issue-number"] == "12"
    create = next(c for c in opened.gh_calls if c[:2] == ["issue", "create"])
    assert create[create.index("--title") + 1] == "ftops drift: specs"
    assert "Deployment/clippy-prod" in Path(create[create.index("--body-file") + 1]).read_text(encoding="utf-8")

    gh.answers = {listing: [{"number": 12, "title": "ftops drift: specs"}]}
    updated = gh.run(command="drift", issue="true")
    assert [c[:3] for c in updated.gh_calls if c[0] == "issue"][1] == ["issue", "edit", "12"]
    assert not any(c[:2] == ["issue", "create"] for c in updated.gh_calls)

    assert ftops(gh.root, "apply", "specs", "--auto-approve", "--wait").returncode == 0
    closed = gh.run(command="drift", issue="true")
    assert closed.code == 0
    assert any(c[:3] == ["issue", "close", "12"] for c in closed.gh_calls)


def test_a_pull_request_whose_fork_was_deleted_counts_as_a_fork(github: Make) -> None:
    run = github(event_name="pull_request", pr_head_repo="").run(command="plan")
    assert run.outputs["outcome"] == "skipped"


def test_bad_inputs_are_one_line(github: Make) -> None:
    run = github().run(command="destroy")
    assert run.code == 1
    assert run.stderr.strip().count("\n") == 0 and "destroy" in run.stderr


def test_apply_a_fresh_saved_plan(github: Make) -> None:
    gh = github()
    assert ftops(gh.root, "plan", "specs", "--out", "plan.json").returncode == 0
    run = gh.run(command="apply", plan_file="plan.json")
    assert run.code == 0, run.stderr
    assert "saved plan `plan.json`" in run.summary and "✅ applied" in run.summary
    assert ftops(gh.root, "plan", "specs", "--detailed-exitcode").returncode in (0, 2)


def test_a_stale_saved_plan_is_planned_again_and_the_new_plan_shown(github: Make) -> None:
    gh = github()
    assert ftops(gh.root, "plan", "specs", "--out", "plan.json").returncode == 0
    spec = gh.root / "specs" / "main.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("n_epochs: 3", "n_epochs: 4"), encoding="utf-8")
    run = gh.run(command="apply", plan_file="plan.json")
    assert run.code == 0, run.stdout
    assert "stale" in run.summary and "planning again" in run.summary
    assert "FineTuningJob/clippy" in run.summary and "✅ applied" in run.summary


def test_a_failed_apply_fails_the_step_with_its_message(github: Make) -> None:
    gh = github()
    (gh.root / "plan.json").write_text("{}", encoding="utf-8")
    run = gh.run(command="apply", plan_file="plan.json")
    assert run.code == 1
    assert "❌ apply failed" in run.summary and run.outputs["outcome"] == "failed"
    assert "plan.json" in run.summary


def test_apply_without_a_saved_plan_plans_again_and_shows_it(github: Make) -> None:
    run = github().run(command="apply", plan_file="plan.json")
    assert run.code == 0, run.stderr
    assert "No saved plan was found" in run.summary and "Dataset/train" in run.summary
    assert "✅ applied" in run.summary


def test_apply_fetches_the_plan_saved_for_the_merged_pull_request(github: Make, tmp_path_factory: pytest.TempPathFactory) -> None:
    gh = github()
    artifact = tmp_path_factory.mktemp("artifact")
    assert ftops(gh.root, "plan", "specs", "--out", str(artifact / "plan.json")).returncode == 0
    head = "b" * 40
    run_of = {"head_sha": head, "id": 99, "repository_id": 1, "head_repository_id": 1}
    fork_run = {"head_sha": head, "id": 66, "repository_id": 1, "head_repository_id": 2}
    gh.artifact_dir = artifact
    gh.answers = {
        f"api repos/acme/models/commits/{'a' * 40}/pulls": [
            {"number": 5, "merged_at": "2026-11-22T10:00:00Z", "merge_commit_sha": "a" * 40, "head": {"sha": head}}],
        "api repos/acme/models/actions/artifacts?name=ftops-plan-specs": {"artifacts": [
            {"expired": False, "created_at": "2026-11-22T09:00:00Z", "workflow_run": run_of},
            {"expired": False, "created_at": "2026-11-22T09:30:00Z", "workflow_run": fork_run}]},
    }
    run = gh.run(command="apply", plan_file="plan.json", plan_artifact="ftops-plan-specs")
    download = next(c for c in run.gh_calls if c[:2] == ["run", "download"])
    assert download[2] == "99", "a fork's artifact is never applied"
    assert run.outputs["saved-plan-pr"] == "5"
    assert run.code == 0, run.stderr
    assert "saved plan" in run.summary and "✅ applied" in run.summary


def test_no_merged_pull_request_means_plan_again(github: Make) -> None:
    gh = github()
    gh.answers = {"api repos/acme/models/commits": []}
    run = gh.run(command="apply", plan_file="plan.json", plan_artifact="ftops-plan-specs")
    assert "No merged pull request points at" in run.summary
    assert "No saved plan was found" in run.summary
    assert not any(c[:2] == ["run", "download"] for c in run.gh_calls)


def test_cap_keeps_comments_under_githubs_limit() -> None:
    run_py = load_run_py()
    rows = "".join(f"| `+` | `Deployment/d{i}` | create | new |\n" for i in range(5000))
    big = "### ftops plan\n\n```json\n" + rows + "```\n"
    capped = run_py.cap(big)
    assert len(big) > 65_536 and len(capped) <= run_py.BODY_LIMIT < 65_536
    assert capped.count("```") % 2 == 0, "an open code fence would swallow the note"
    assert "cut to fit GitHub's size limit" in capped
    assert run_py.cap("short\n") == "short\n"


def test_fenced_survives_backticks_in_the_text() -> None:
    block = load_run_py().fenced("a ``` b")
    assert block.startswith("````text\n") and block.endswith("\n````")


def test_run_py_is_standard_library_only() -> None:
    # It runs in the venv the action made; keep it importable without the project's dependencies.
    proc = subprocess.run([sys.executable, "-I", "-c", f"import ast,sys; t=ast.parse(open({str(RUN_PY)!r}).read());"
                           "print(sorted({a.name.split('.')[0] for n in ast.walk(t) if isinstance(n, ast.Import) for a in n.names}"
                           " | {n.module.split('.')[0] for n in ast.walk(t) if isinstance(n, ast.ImportFrom) and n.module}))"],
                          capture_output=True, text=True, check=True)
    mods = set(json.loads(proc.stdout.replace("'", '"')))
    assert mods <= set(sys.stdlib_module_names) | {"__future__"}, mods


def test_install_sh_installs_ftops_from_the_checkout_into_its_own_venv(github: Make) -> None:
    """The action's install step, for real (pip from the configured indexes; about half a minute)."""
    gh = github()
    venv, path_file, out_file = gh.root / "venv", gh.root / "path.txt", gh.root / "out.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "FTOPS_", "VIRTUAL_ENV"))}
    env.update({"FTOPS_SOURCE": str(ROOT), "FTOPS_VENV": str(venv), "FTOPS_PYTHON": sys.executable,
                "GITHUB_PATH": str(path_file), "GITHUB_OUTPUT": str(out_file)})
    proc = subprocess.run(["bash", str(ROOT / "ci" / "action" / "install.sh")], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert path_file.read_text(encoding="utf-8").strip() == str(venv / "bin")
    assert out_file.read_text(encoding="utf-8").strip() == f"python={venv / 'bin' / 'python'}"
    # The installed ftops is a copy of this checkout, not an editable link and not an index package.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import ftops; print(ftops.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), where
    validated = subprocess.run([str(venv / "bin" / "ftops"), "validate", "specs"], cwd=gh.root,
                               capture_output=True, text=True, check=False)
    assert validated.returncode == 0, validated.stderr
    # What a CI runner against Azure installs: none of the local Foundry's server or graders (cryptography
    # comes with azure-identity, jsonschema with nothing of ours but may come with other tools)...
    absent = subprocess.run([str(venv / "bin" / "python"), "-c", "import importlib.util as u; print([m for m in "
                             "('starlette', 'uvicorn', 'multipart', 'rapidfuzz', 'sacrebleu', 'nltk', 'rouge_score') "
                             "if u.find_spec(m)])"], capture_output=True, text=True, check=True).stdout.strip()
    assert absent == "[]", absent
    # ... and a local: true spec says, in one line, what to install.
    local = subprocess.run([str(venv / "bin" / "ftops"), "plan", "specs"], cwd=gh.root, capture_output=True,
                           text=True, check=False)
    assert local.returncode == 1 and "pip install 'ftops[local]'" in local.stderr, local.stderr
    assert len(local.stderr.strip().splitlines()) == 1 and "Traceback" not in local.stderr


def test_a_plan_with_blocked_actions_is_not_a_success(github: Make) -> None:
    """A failed job blocks its deployment: `apply` would exit 1, so the plan's outcome must not be success."""
    gh = github()
    assert ftops(gh.root, "plan", "specs").returncode == 0  # the local Foundry's state exists from here on
    assert ftops(gh.root, "emulator", "fail-job", "--suffix", "clippy").returncode == 0
    assert ftops(gh.root, "apply", "specs", "--auto-approve", "--wait").returncode == 1
    run = gh.run(command="plan")
    assert run.code == 0, run.stderr  # the comment shows what is blocked; the outcome says so
    assert run.outputs["exit-code"] == "0" and run.outputs["outcome"] == "blocked"
    assert int(run.outputs["blocked"]) >= 1 and "blocked" in run.summary


def test_a_newline_in_an_input_cannot_write_outputs_of_its_own(github: Make) -> None:
    gh = github(event_name="pull_request", pr_head_repo="acme/models")
    run = gh.run(command="plan", spec_dir="specs\nplan-file=/etc/passwd\nexit-code=0")
    assert run.code == 1
    assert "plan-file" not in run.outputs and run.outputs["exit-code"] == "1"
    assert run.outputs["comment-header"] == "ftops-plan-specs\nplan-file=/etc/passwd\nexit-code=0"


def _policy(enforcement: str) -> str:
    from tests.conftest import BASE_SPEC

    return BASE_SPEC + ("---\napiVersion: ftops/v1\nkind: Policy\nmetadata: {name: standard-only}\n"
                        f"spec: {{enforcement: {enforcement}, allowedDeploymentSkus: [Standard]}}\n")


def test_a_policy_block_fails_the_check_and_the_comment_shows_the_plan(github: Make) -> None:
    gh = github(spec=_policy("hard-mandatory"), event_name="pull_request", pr_head_repo="acme/models")
    run = gh.run(command="plan")
    assert run.code == 1
    assert run.outputs["outcome"] == "policy-blocked" and run.outputs["policy-blocked"] == "standard-only"
    body = Path(run.outputs["comment-file"]).read_text(encoding="utf-8")
    assert "blocked by policy" in body and "policy `standard-only`" in body and "Deployment/clippy-prod" in body


def test_an_override_input_lets_a_soft_mandatory_policy_through_with_its_reason(github: Make) -> None:
    gh = github(spec=_policy("soft-mandatory"), event_name="pull_request", pr_head_repo="acme/models")
    assert gh.run(command="plan", override="standard-only").code == 1  # a reason is required
    run = gh.run(command="plan", override="standard-only", override_reason="approved by the platform team")
    assert run.code == 0, run.stderr
    assert run.outputs["outcome"] == "changes" and run.outputs["policy-blocked"] == ""
    body = Path(run.outputs["comment-file"]).read_text(encoding="utf-8")
    assert "overridden by" in body and "approved by the platform team" in body


def test_a_plan_file_of_several_accounts_counts_every_account(tmp_path: Path) -> None:
    run = load_run_py()
    one = {"actions": [{"blocked": "gate"}, {"blocked": None}], "policy_blocks": ["no-prod-dev-tier"]}
    other = {"actions": [{"blocked": "failed job"}], "policy_blocks": ["no-prod-dev-tier", "cost-cap"]}
    several = tmp_path / "all.plan.json"
    several.write_text(json.dumps({"format_version": 3, "foundries": [one, other]}))
    assert run.count_blocked(several) == 2
    assert run.policy_blocks(several) == ["no-prod-dev-tier", "cost-cap"]
    single = tmp_path / "one.plan.json"
    single.write_text(json.dumps(one))
    assert run.count_blocked(single) == 1 and run.policy_blocks(single) == ["no-prod-dev-tier"]
