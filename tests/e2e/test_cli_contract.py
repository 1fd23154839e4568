"""The command-line contract as a user or CI sees it: subprocesses, exit codes, no secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ftops", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_no_command_prints_the_key_even_with_debug_logging(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    env = {"FTOPS_LOG_LEVEL": "DEBUG"}
    outputs = [run("apply", "--auto-approve", "--wait", cwd=tmp_path, env=env)]
    key = (tmp_path / ".ftops" / "emulator" / "api-key").read_text().strip()
    outputs += [run(cmd, cwd=tmp_path, env=env) for cmd in ("plan", "status", "drift")]
    assert [r.returncode for r in outputs] == [0, 0, 0, 0]
    for r in outputs:
        assert key not in r.stdout and key not in r.stderr
        assert "Traceback" not in r.stderr
    assert "Apply complete" in outputs[0].stdout


def test_emulator_admin_commands_need_state_and_then_work(tmp_path: Path) -> None:
    r = run("emulator", "state", "--data-dir", "nowhere", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("error: no local Foundry state in nowhere")
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    assert run("apply", "--auto-approve", "--wait", cwd=tmp_path).returncode == 0
    adv = run("emulator", "advance", "--days", "16", cwd=tmp_path)
    assert adv.returncode == 0 and "clippy-prod" in adv.stdout
    drift = run("drift", cwd=tmp_path)
    assert drift.returncode == 2 and "Deployment/clippy-prod" in drift.stdout


def test_remote_foundry_without_credentials_fails_cleanly(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "clippy.yaml"
    spec.write_text(spec.read_text().replace(
        "  local: true\n", "  endpoint: https://127.0.0.1:9\n  subscription: s\n  resourceGroup: g\n  account: a\n"
                           "  armEndpoint: https://127.0.0.1:9\n"))
    # A 3 s retry budget: what is tested is how it fails (retrying a refused connection for the default budget
    # is test_reconcile_crash's outage test), and the default's 30 s made this the suite's slowest test.
    r = run("plan", cwd=tmp_path, env={"AZURE_OPENAI_API_KEY": "sk-secret-value-123", "FTOPS_RETRY_BUDGET": "3"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
    assert "sk-secret-value-123" not in r.stderr + r.stdout


def test_git_never_offers_the_local_foundrys_keys(tmp_path: Path) -> None:
    """`.ftops/` (the local Foundry's api-key, connection.json and TLS key) showed in `git status`."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert run("plan", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".ftops" / "emulator" / "api-key").is_file()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--ignored=no"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    assert status and ".ftops" not in status, status
    assert (tmp_path / ".ftops" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_empty_api_key_file_is_one_line_saying_so(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    assert run("validate", "specs", cwd=tmp_path).returncode == 0
    key = tmp_path / ".ftops" / "emulator" / "api-key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("")
    for env in ({}, {"FTOPS_LOCAL_FOUNDRY": "thread"}):
        r = run("plan", cwd=tmp_path, env=env)
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert "api-key is empty: delete it" in r.stderr and "internal error" not in r.stderr
