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
    not ignore) in the spec directory, which the plan read but no commit holds. The four git calls run at
    once (each is a process start and a little I/O: together they take the time of the slowest, not of all
    four); the others' answers count only when HEAD's says this is a checkout."""
    commit, url, changed, untracked = _git(spec_dir, env, ("rev-parse", "--verify", "-q", "HEAD"),
                                           ("remote", "get-url", "origin"),
                                           ("status", "--porcelain", "--untracked-files=no"),
                                           ("ls-files", "--others", "--exclude-standard", "--", "."))
    if commit is None or not COMMIT.fullmatch(commit):
        return None
    dirty = changed is None or untracked is None or bool(changed) or bool(untracked)  # unknown: not clean
    return _source(public_repository(url) if url else None, commit, dirty=dirty)


def _source(repository: str | None, commit: str, *, dirty: bool) -> GitSource | None:
    try:
        return GitSource(repository=repository, commit=commit, dirty=dirty)
    except ValidationError:
        return None


def _git(where: Path, env: Mapping[str, str], *calls: tuple[str, ...]) -> list[str | None]:
    """Each git call's output (stripped), or None where it cannot run, fails or outlasts GIT_SECONDS; the calls
    run concurrently."""
    started = [_start(where, env, args) for args in calls]
    return [_output(p) if p is not None else None for p in started]


def _start(where: Path, env: Mapping[str, str], args: tuple[str, ...]) -> subprocess.Popen[bytes] | None:
    try:
        # core.fsmonitor names a program git would run on `status`: a checkout's config must not run one here
        return subprocess.Popen(["git", "-c", "core.fsmonitor=false", "-C", str(where), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                env={**env, **GIT_ENV})
    except (OSError, subprocess.SubprocessError):
        return None


def _output(proc: subprocess.Popen[bytes]) -> str | None:
    """What `proc` printed once it ended well; killed (as `subprocess.run` does) when it hangs."""
    with proc:
        try:
            stdout, _ = proc.communicate(timeout=GIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
    if proc.returncode != 0:
        return None
    try:
        return stdout.decode().strip()
    except UnicodeDecodeError:
        return None
