"""Provenance against the local Foundry: apply in a git checkout records its repository and commit in the job's
metadata and the deployment's ARM tags (read back with the real clients), status shows it, a new commit
changes nothing, and `apply PLANFILE` records the reviewed plan's commit."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Project

SECRET = "ghp_pr0venanceT0ken"
REMOTE = f"https://ci-bot:{SECRET}@github.com/org/models.git"
REPOSITORY = "https://github.com/org/models"


def _git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root)})
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env,
                          text=True).stdout.strip()


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture
def checkout(project: Project) -> Project:
    """The project as a git checkout whose origin URL carries a token (not a GitHub Actions run: conftest)."""
    (project.root / ".gitignore").write_text(".ftops/\n*.json\n")
    (project.root / "README.md").write_text("models\n")
    _git(project.root, "init", "-q", "-b", "main")
    _git(project.root, "remote", "add", "origin", REMOTE)
    _commit(project.root, "specs")
    return project


def _recorded(project: Project) -> tuple[list[dict[str, str]], dict[str, str]]:
    """(every job's metadata, the deployment's ARM tags), read with the real openai and ARM clients."""
    with project.live() as live:
        jobs = [dict(j.metadata or {}) for j in live.oai.fine_tuning.jobs.list().data]
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
        return jobs, dict(dep.tags or {})


def _status(project: Project) -> dict[str, Any]:
    r = project.ftops("status", "--format", "json")
    assert r.code == 0, r.err
    return {f"{row['kind']}/{row['name']}": row for row in json.loads(r.out)}


def test_apply_records_the_commit_and_a_new_commit_changes_nothing(checkout: Project) -> None:
    project = checkout
    first = _git(project.root, "rev-parse", "HEAD")
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert f"commit {first[:7]} of github.com/org/models" in r.out  # the plan says what apply records
    jobs, tags = _recorded(project)
    assert len(jobs) == 1
    assert (jobs[0]["ftops-commit"], jobs[0]["ftops-repo"]) == (first, REPOSITORY)
    assert (tags["ftops-commit"], tags["ftops-repo"]) == (first, REPOSITORY)
    assert tags["ftops-job"] and tags["ftops-model"]
    status = _status(project)
    dep = status["Deployment/clippy-prod"]["provenance"]
    assert (dep["commit"], dep["repository"], dep["job"], dep["model"]) == (
        first, REPOSITORY, tags["ftops-job"], tags["ftops-model"])
    assert status["FineTuningJob/clippy"]["provenance"]["commit"] == first
    table = project.ftops("status")  # a terminal's width: the cell folds, the column and the commit are there
    assert "provenance" in table.out and first[:7] in table.out
    everything = json.dumps([jobs, tags, status]) + r.out + r.err + table.out
    assert SECRET not in everything and "ci-bot" not in everything

    # A new commit that changes no spec: nothing to do, nothing drifted, and the record stays the first commit.
    (project.root / "README.md").write_text("models, now documented\n")
    second = _commit(project.root, "docs")
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    assert project.ftops("drift").code == 0
    again = project.ftops("apply", "--auto-approve", "--wait")
    assert again.code == 0 and "Nothing to apply" in again.out, again.out + again.err
    jobs, tags = _recorded(project)
    assert len(jobs) == 1 and jobs[0]["ftops-commit"] == first and tags["ftops-commit"] == first
    assert second != first


def test_apply_planfile_records_the_reviewed_commit_and_a_dirty_tree_says_so(checkout: Project) -> None:
    project = checkout
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("capacity: 50", "capacity: 70")
    dirty = project.plan_json()["provenance"]
    assert dirty["dirty"] is True and dirty["repository"] == REPOSITORY
    reviewed = _commit(project.root, "capacity 70")
    saved = project.ftops("plan", "--out", "plan.json")
    assert saved.code == 0, saved.err
    # Merged: the checkout moves on to another commit with the same specs; the reviewed plan is not stale.
    (project.root / "README.md").write_text("merged\n")
    merged = _commit(project.root, "merge")
    r = project.ftops("apply", "plan.json", "--auto-approve")
    assert r.code == 0, r.out + r.err
    _, tags = _recorded(project)
    assert tags["ftops-commit"] == reviewed != merged
