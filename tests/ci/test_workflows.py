"""The contract of the GitHub Action and the example workflows, read from the YAML itself."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads `on:` as True; the key does not matter here.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [(ACTION.name, s) for s in load(ACTION)["runs"]["steps"]]
    for wf in WORKFLOWS:
        for job in jobs(wf).values():
            steps += [(wf.name, s) for s in job["steps"]]
    return steps


def test_the_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "apply-on-merge.yml", "sync.yml",
                                           "nightly-drift.yml", "fleet.yml"}


def test_every_uses_is_pinned_to_a_commit_with_its_version_in_a_comment() -> None:
    uses = [(f, s["uses"]) for f, s in all_steps() if "uses" in s]
    assert len(uses) > 10
    for file, ref in uses:
        assert PINNED.match(ref), f"{file}: {ref} is not pinned to a full commit SHA"
    for path in [ACTION, *WORKFLOWS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"\buses:", line):
                assert VERSION_COMMENT.search(line), f"{path.name}: {line.strip()} has no # vX.Y comment"


def test_nothing_installs_ftops_from_a_package_index() -> None:
    for path in [ACTION, *WORKFLOWS, ROOT / "ci" / "action" / "install.sh"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip3? install\s+(-\S+\s+)*['\"]?ftops\b", text), path.name
    install = (ROOT / "ci" / "action" / "install.sh").read_text(encoding="utf-8")
    assert 'pip install --quiet --disable-pip-version-check "$FTOPS_SOURCE"' in install
    env = next(s["env"] for s in load(ACTION)["runs"]["steps"] if s.get("name", "").startswith("Install"))
    assert env["FTOPS_SOURCE"] == "${{ github.action_path }}"


def test_no_expression_is_expanded_inside_a_run_script() -> None:
    # Template injection: inputs reach scripts through env:, never as ${{ }} inside the shell text.
    for file, step in all_steps():
        if "run" in step:
            assert "${{" not in step["run"], f"{file}: {step.get('name', step['run'][:40])}"


def test_checkouts_do_not_keep_the_token() -> None:
    for file, step in all_steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, file


def test_least_permissions_per_job() -> None:
    for wf in WORKFLOWS:
        assert load(wf)["permissions"] == {}, f"{wf.name}: the workflow default must grant nothing"
        for name, job in jobs(wf).items():
            perms = job.get("permissions")
            assert isinstance(perms, dict) and perms, f"{wf.name}:{name} has no permissions"
            assert perms.get("contents") == "read"
            assert "write-all" not in str(perms)
            logs_in = any(s.get("uses", "").startswith("azure/login@") for s in job["steps"])
            assert (perms.get("id-token") == "write") == logs_in, f"{wf.name}:{name} id-token only with azure/login"


def test_concurrency_groups_per_spec_directory() -> None:
    for wf in WORKFLOWS:
        for name, job in jobs(wf).items():
            group = job["concurrency"]["group"]
            assert "specs" in group, f"{wf.name}:{name}: {group}"
    apply = jobs(ROOT / "examples/ci/apply-on-merge.yml")["apply"]["concurrency"]
    sync = jobs(ROOT / "examples/ci/sync.yml")["sync"]["concurrency"]
    # Applies and sync ticks of one spec directory never overlap and are never cancelled.
    assert apply["group"] == sync["group"]
    for c in (apply, sync):
        assert c["cancel-in-progress"] is False
        assert c["queue"] == "max"


def test_prod_apply_waits_for_the_production_environment() -> None:
    job = jobs(ROOT / "examples/ci/apply-on-merge.yml")["apply"]
    assert job["environment"] == "production"
    ftops = next(s for s in job["steps"] if "/ftops@" in s.get("uses", ""))
    assert ftops["with"]["command"] == "apply"
    assert ftops["with"]["plan-artifact"] == "ftops-plan-specs"


def test_fork_pull_requests_validate_but_do_not_plan() -> None:
    pr = jobs(ROOT / "examples/ci/pull-request.yml")
    validate, plan = pr["validate"], pr["plan"]
    assert "if" not in validate
    assert set(validate["permissions"]) == {"contents"}
    assert not any("azure/login" in s.get("uses", "") for s in validate["steps"])
    assert plan["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "ftops-plan-specs"


def test_sync_and_drift_commands() -> None:
    def ftops_with(wf: str) -> dict[str, Any]:
        job = next(iter(jobs(ROOT / "examples/ci" / wf).values()))
        return next(s for s in job["steps"] if "/ftops@" in s.get("uses", ""))["with"]

    assert ftops_with("sync.yml")["command"] == "sync"
    assert ftops_with("nightly-drift.yml") | {} == {"command": "drift", "spec-dir": "specs", "issue": "true"}
    assert "issues" in jobs(ROOT / "examples/ci/nightly-drift.yml")["drift"]["permissions"]
    assert "schedule" in load(ROOT / "examples/ci/sync.yml")[True]


def test_action_interface() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"command", "spec-dir", "plan-file", "python-version", "comment", "github-token"} <= set(action["inputs"])
    assert {"exit-code", "has-changes", "markdown", "outcome"} <= set(action["outputs"])
    uses = [s["uses"].split("@")[0] for s in action["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python", "actions/download-artifact", "actions/upload-artifact",
                    "marocchino/sticky-pull-request-comment"]
    comment = action["runs"]["steps"][-1]
    assert "!cancelled()" in comment["if"], "a failed plan must still update the comment"


def test_the_fleet_plans_and_applies_per_account_and_comments_once() -> None:
    fleet = jobs(ROOT / "examples/ci/fleet.yml")

    def ftops_with(job: str) -> dict[str, Any]:
        return next(s for s in fleet[job]["steps"] if "/ftops@" in s.get("uses", ""))["with"]

    assert ftops_with("accounts")["command"] == "matrix"
    assert fleet["accounts"]["outputs"]["matrix"] == "${{ steps.accounts.outputs.matrix }}"
    for job in ("plan", "apply"):
        assert fleet[job]["strategy"] == {"fail-fast": False,
                                          "matrix": "${{ fromJSON(needs.accounts.outputs.matrix) }}"}
        assert ftops_with(job)["foundry"] == "${{ matrix.foundry }}"
        assert ftops_with(job)["plan-artifact"] == ftops_with("comment")["plan-artifact"] == "ftops-plan-specs"
    assert fleet["plan"]["if"].endswith("github.event.pull_request.head.repo.full_name == github.repository")
    assert "comment" not in ftops_with("plan") and ftops_with("comment")["command"] == "merge"
    assert fleet["comment"]["if"].startswith("!cancelled()"), "failed plan jobs still get the one comment"
    assert not any("azure/login" in s.get("uses", "") for s in fleet["comment"]["steps"])
    apply = fleet["apply"]
    assert apply["environment"] == "production" and apply["if"] == "github.event_name == 'push'"
    assert apply["concurrency"] == {"group": "ftops-apply-specs-${{ matrix.foundry }}", "cancel-in-progress": False,
                                    "queue": "max"}


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_zizmor_finds_nothing_offline() -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(ACTION), *map(str, WORKFLOWS)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("schema", "files"), [("vendor.github-actions", [ACTION]),
                                               ("vendor.github-workflows", WORKFLOWS)])
def test_github_schemas_accept_the_files(schema: str, files: list[Path]) -> None:
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_input_reaches_the_script_and_every_variable_it_reads_is_passed() -> None:
    action = load(ACTION)
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    passed = {k for k in run_step["env"] if k.startswith("FTOPS_")}
    script = (ROOT / "ci" / "action" / "run.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(FTOPS_[A-Z_]+)"', script))
    assert read <= passed, f"run.py reads {read - passed} that action.yml does not pass"
    wired = " ".join(str(v) for s in action["runs"]["steps"] for v in (s.get("env") or {}).values())
    wired += " ".join(str(v) for s in action["runs"]["steps"] for v in (s.get("with") or {}).values())
    for name in action["inputs"]:
        assert f"inputs.{name} " in wired, f"input {name} is not used"
    updated = re.search(r"report\.outputs\.update\(\{(.*?)\}\)", script, re.S)
    assert updated is not None
    outputs_written = set(re.findall(r'outputs\["([a-z-]+)"\]', script)) | set(re.findall(r'"([a-z-]+)":', updated[1]))
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert name in outputs_written, f"output {name} is never written by run.py"
