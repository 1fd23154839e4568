"""Reading the git source of a spec directory: a temporary repository, GitHub Actions' variables, credentials."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ftops.plan import GitSource
from ftops.session import read_provenance

SECRET = "ghp_s3cr3tT0ken"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_"))}


def _git(repo: Path, *args: str) -> str:
    env = {**CLEAN_ENV, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo)}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with specs/ committed, `data/` and `*.log` ignored, and an origin with credentials."""
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "a.yaml").write_text("kind: x\n")
    (root / "README.md").write_text("hi\n")
    (root / ".gitignore").write_text("*.log\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "one")
    _git(root, "remote", "add", "origin", f"https://user:{SECRET}@github.com/org/repo.git")
    return root


def test_a_clean_checkout_records_head_and_origin_without_credentials(repo: Path) -> None:
    source = read_provenance(repo / "specs", CLEAN_ENV)
    assert source == GitSource(repository="https://github.com/org/repo", commit=_git(repo, "rev-parse", "HEAD"))
    assert SECRET not in source.model_dump_json() and "user" not in source.model_dump_json()


@pytest.mark.parametrize("change,dirty", [
    (lambda r: (r / "README.md").write_text("changed\n"), True),  # a tracked file anywhere in the work tree
    (lambda r: (r / "specs" / "new.yaml").write_text("kind: y\n"), True),  # a spec the plan reads, not committed
    (lambda r: (r / "notes.txt").write_text("x\n"), False),  # untracked outside the spec directory
    (lambda r: (r / "specs" / "run.log").write_text("x\n"), False),  # ignored, even in the spec directory
])
def test_a_work_tree_with_changes_head_lacks_is_marked_dirty(repo: Path, change, dirty: bool) -> None:  # type: ignore[no-untyped-def]
    change(repo)
    source = read_provenance(repo / "specs", CLEAN_ENV)
    assert source is not None and source.dirty is dirty
    assert source.revision.endswith("+dirty") is dirty


def test_no_repository_no_commit_no_git_records_nothing(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain" / "specs"
    plain.mkdir(parents=True)
    assert read_provenance(plain, {**CLEAN_ENV, "GIT_CEILING_DIRECTORIES": str(tmp_path)}) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "-q")
    assert read_provenance(empty, CLEAN_ENV) is None  # a repository without a commit
    assert read_provenance(repo / "specs", {**CLEAN_ENV, "PATH": str(tmp_path / "nowhere")}) is None  # no git


def test_without_an_origin_the_commit_alone_is_recorded(repo: Path) -> None:
    _git(repo, "remote", "remove", "origin")
    source = read_provenance(repo / "specs", CLEAN_ENV)
    assert source is not None and source.repository is None and source.commit == _git(repo, "rev-parse", "HEAD")


def test_github_actions_variables_name_the_repository_and_the_checkout_the_commit(tmp_path: Path, repo: Path) -> None:
    sha = "a" * 40
    env = {**CLEAN_ENV, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "org/actions-repo",
           "GITHUB_SHA": sha}
    # A workflow may check out another commit than the one that triggered it (sync.yml): HEAD is what applies.
    assert read_provenance(repo / "specs", env) == GitSource(repository="https://github.com/org/actions-repo",
                                                             commit=_git(repo, "rev-parse", "HEAD"))
    # Where git cannot say (not installed, no .git), the workflow's commit.
    no_git = {**env, "PATH": str(tmp_path / "nowhere")}
    assert read_provenance(repo / "specs", no_git) == GitSource(repository="https://github.com/org/actions-repo",
                                                                commit=sha)
    assert read_provenance(repo / "specs", {**no_git, "GITHUB_SHA": "main"}) is None  # not what GitHub sets


def test_a_remote_that_cannot_be_shown_without_a_secret_is_not_recorded(repo: Path) -> None:
    _git(repo, "remote", "set-url", "origin", "https://github.com/" + "x" * 300)
    source = read_provenance(repo / "specs", CLEAN_ENV)
    assert source is not None and source.repository is None
