from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MakeProject

ROOT = Path(__file__).resolve().parents[3]


def ftops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ftops", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_validate_shipped_specs_passes() -> None:
    r = ftops("validate", "specs/", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "valid: 2 dataset(s), 1 job(s), 1 deployment(s)" in r.stdout


def test_invalid_spec_exits_1_with_one_line_per_problem_and_no_traceback(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": "nope\n" + "{}\n"})
    r = ftops("validate", "specs", cwd=root)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0].startswith("specs/data/train.jsonl:1: invalid JSON")


def test_missing_dir_is_a_clean_error(tmp_path: Path) -> None:
    r = ftops("validate", "nowhere", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "nowhere: no such spec directory"


def test_warm_validate_uses_the_cache(make_project: MakeProject) -> None:
    root = make_project()
    assert ftops("validate", "specs", cwd=root).returncode == 0
    assert (root / ".ftops" / "cache" / "datasets.json").is_file()
    r = ftops("validate", "specs", "--format", "json", cwd=root)
    assert r.returncode == 0 and '"valid": true' in r.stdout


def test_schema_command_prints_json(tmp_path: Path) -> None:
    r = ftops("schema", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.lstrip().startswith("{")


def test_validate_is_offline_without_connection_variables() -> None:
    """Issue 8 item 4: the Azure example validates in a PR workflow that has no secrets; no second error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "FTOPS_"))}
    r = subprocess.run([sys.executable, "-m", "ftops", "validate", "--no-tokens", "examples/azure/specs"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("valid: 2 dataset(s), 2 job(s), 2 deployment(s)")


def test_validate_from_another_directory_uses_the_same_root(make_project: MakeProject) -> None:
    root = make_project()
    r = ftops("validate", "--no-tokens", ".", cwd=root / "specs")
    assert r.returncode == 0, r.stderr
    assert (root / ".ftops" / "cache" / "datasets.json").is_file()
    assert not (root / "specs" / ".ftops").exists()


def test_commands_that_connect_name_the_unset_connection_variable() -> None:
    """Issue 8 item 4: the same Azure example, planned without its variables: one located line, no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "FTOPS_"))}
    r = subprocess.run([sys.executable, "-m", "ftops", "plan", "examples/azure/specs"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("error: examples/azure/specs/foundry.yaml:9: environment variable AZURE_OPENAI_RESOURCE "
                               "is not set (spec.endpoint)"), r.stderr
    assert r.stderr.count("\n") == 1
