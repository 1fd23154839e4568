"""Reading where the specs came from: the git repository and commit a plan records (`plan.GitSource`).

Reading git is I/O, so it happens here and the planner is handed the result. The commit is the checkout's
HEAD (`git -C <spec dir>`), with the `origin` remote as the repository. In GitHub Actions the workflow's
variables name the repository (`GITHUB_SERVER_URL/GITHUB_REPOSITORY`), and `GITHUB_SHA` the commit only when
git cannot say: a workflow may check out another commit than the one that triggered it (the shipped
`sync.yml` checks out the last approved commit, while `GITHUB_SHA` is the tip of `main`), and what was
applied is what was checked out. No git, not a repository, a git that fails or hangs, and no GitHub
variables: nothing is recorded, and nothing fails for it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from ..plan import GitSource, public_repository

GIT_SECONDS = 10.0  # one git call; a checkout on a slow network disk answers well within it
# Git asks no one for credentials and takes no lock a concurrent git would trip over (status refreshes the
# index otherwise); its messages are not read, only its exit code and output.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")  # GitHub's owner/name


def read_provenance(spec_dir: Path, env: Mapping[str, str] | None = None) -> GitSource | None:
    """The git source of the specs in `spec_dir`: the checkout's HEAD, named by GitHub Actions' repository
    when it runs there; the workflow's `GITHUB_SHA` when git cannot say; None when neither can."""
    env = os.environ if env is None else env
    github = _github_repository(env)
    local = _from_git(spec_dir, env)
    if local is not None:
        return local.model_copy(update={"repository": github}) if github is not None else local
    sha = env.get("GITHUB_SHA", "")
    return _source(github, sha, dirty=False) if github is not None and COMMIT.fullmatch(sha) else None


def _github_repository(env: Mapping[str, str]) -> str | None:
    """GITHUB_SERVER_URL/GITHUB_REPOSITORY, when both are what GitHub sets."""
    server, repository = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
    if not (server and REPOSITORY.fullmatch(repository)):
        return None
    return public_repository(f"{server.rstrip('/')}/{repository}")


def _from_git(spec_dir: Path, env: Mapping[str, str]) -> GitSource | None:
    """HEAD of the checkout `spec_dir` is in, its `origin` without credentials, and whether the work tree
    has changes HEAD does not hold: a tracked file changed anywhere, or a file git does not track (and does
    not ignore) in the spec directory, which the plan read but no commit holds."""
    commit = _git(spec_dir, env, "rev-parse", "--verify", "-q", "HEAD")
    if commit is None or not COMMIT.fullmatch(commit):
        return None
    url = _git(spec_dir, env, "remote", "get-url", "origin")
    changed = _git(spec_dir, env, "status", "--porcelain", "--untracked-files=no")
    untracked = _git(spec_dir, env, "ls-files", "--others", "--exclude-standard", "--", ".")
    dirty = changed is None or untracked is None or bool(changed) or bool(untracked)  # unknown: not clean
    return _source(public_repository(url) if url else None, commit, dirty=dirty)


def _source(repository: str | None, commit: str, *, dirty: bool) -> GitSource | None:
    try:
        return GitSource(repository=repository, commit=commit, dirty=dirty)
    except ValidationError:
        return None


def _git(where: Path, env: Mapping[str, str], *args: str) -> str | None:
    """git's output (stripped), or None when it cannot run or fails."""
    try:
        # core.fsmonitor names a program git would run on `status`: a checkout's config must not run one here
        done = subprocess.run(["git", "-c", "core.fsmonitor=false", "-C", str(where), *args], capture_output=True,
                              timeout=GIT_SECONDS, env={**env, **GIT_ENV}, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    try:
        return done.stdout.decode().strip()
    except UnicodeDecodeError:
        return None
