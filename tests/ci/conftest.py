"""Run the action's script (ci/action/run.py) as GitHub would: env in, summary/outputs files out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_PY = ROOT / "ci" / "action" / "run.py"

# A stand-in for the GitHub CLI: logs its argv, answers from a JSON table keyed by the first words,
# and for `run download` copies the artifact directory it was given.
FAKE_GH = '''#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
answers = json.load(open(os.environ["FAKE_GH_ANSWERS"]))
if args[:2] == ["run", "download"]:
    shutil.copytree(os.environ["FAKE_GH_ARTIFACT"], args[args.index("--dir") + 1], dirs_exist_ok=True)
    sys.exit(0)
for key, out in answers.items():
    if " ".join(args).startswith(key):
        sys.stdout.write(out if isinstance(out, str) else json.dumps(out))
        sys.exit(0)
sys.stdout.write("")
'''


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]
    gh_calls: list[list[str]]


@dataclass
class GitHub:
    """The GitHub side of one test: event payload, gh answers, temp files."""

    root: Path
    event_name: str = "push"
    pr_head_repo: str | None = None
    answers: dict[str, Any] | None = None
    artifact_dir: Path | None = None

    def run(self, **inputs: str) -> ActionRun:
        """The script with inputs by their environment names (spec_dir="x" is FTOPS_SPEC_DIR)."""
        return self.run_env({f"FTOPS_{k.upper()}": v for k, v in inputs.items()})

    @property
    def runner_temp(self) -> Path:
        return self.root / ".gh" / "runner"

    def run_env(self, inputs: dict[str, str]) -> ActionRun:
        """The script with the environment action.yml gives it (its `env:` with the inputs filled in)."""
        tmp = self.root / ".gh"
        tmp.mkdir(exist_ok=True)
        summary, output, log = tmp / "summary.md", tmp / "output.txt", tmp / "gh.log"
        for f in (summary, output, log):
            f.write_text("", encoding="utf-8")
        event = tmp / "event.json"
        payload: dict[str, Any] = {}
        if self.pr_head_repo is not None:
            # "" stands for a head repository GitHub reports as null (the fork was deleted).
            repo = {"full_name": self.pr_head_repo} if self.pr_head_repo else None
            payload = {"pull_request": {"number": 7, "head": {"repo": repo}}}
        event.write_text(json.dumps(payload), encoding="utf-8")
        answers = tmp / "answers.json"
        answers.write_text(json.dumps(self.answers or {}), encoding="utf-8")
        bindir = tmp / "bin"
        bindir.mkdir(exist_ok=True)
        gh = bindir / "gh"
        gh.write_text(FAKE_GH.format(python=sys.executable), encoding="utf-8")
        gh.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "FTOPS_", "RUNNER_"))}
        env.update({
            "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
            "GITHUB_EVENT_NAME": self.event_name, "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "acme/models", "GITHUB_SHA": "a" * 40, "GITHUB_RUN_ID": "42",
            "GITHUB_SERVER_URL": "https://github.com", "RUNNER_TEMP": str(self.runner_temp),
            "FAKE_GH_LOG": str(log), "FAKE_GH_ANSWERS": str(answers),
            "FAKE_GH_ARTIFACT": str(self.artifact_dir or tmp / "none"),
        })
        env.update(inputs)
        proc = subprocess.run([sys.executable, str(RUN_PY)], cwd=self.root, env=env,
                              capture_output=True, text=True, check=False)
        outputs = parse_outputs(output.read_text(encoding="utf-8"))
        calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
        return ActionRun(proc.returncode, proc.stdout, proc.stderr, summary.read_text(encoding="utf-8"),
                         outputs, calls)


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT read as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for body in lines:
                if body == delimiter:
                    break
                value.append(body)
            else:
                raise AssertionError(f"output {name}: no closing delimiter")
            outputs[name] = "\n".join(value)
        elif line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


@pytest.fixture
def github(make_project: Callable[..., Path]) -> Callable[..., GitHub]:
    def make(spec: str | None = None, **kw: Any) -> GitHub:
        return GitHub(root=make_project(spec=spec), **kw)

    return make


def ftops(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ftops", *args], cwd=root, capture_output=True, text=True,
                          check=False)
