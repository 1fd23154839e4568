"""The README's "A multi-stage repository", run as written: each line of its `sh` block in order, on a copy of
`examples/stages` in a new git checkout, through the CLI in-process and the local Foundry the specs name (the
example's own speed). An `# exit N` comment is the exit code the line must end with (else 0); `sed -i 's/A/B/'
FILE` is done in Python, `git checkout` restores nothing here (the copy is thrown away).

Then what the README says of it: the chain shown, prod held by its soak until the local Foundry's clock moved,
staging lagging while only dev was applied, and at the end every stage serving dev's new winner, staging and prod
deploying it from dev's account (ARM's model `source`)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ftops.emulator import EmulatorServer

from .conftest import FAST, ROOT, Result, clients, run_cli

README = ROOT / "README.md"


@dataclass(frozen=True)
class Step:
    line: str  # as the README writes it, comment included
    argv: list[str]
    exit_code: int


def readme_steps() -> list[Step]:
    """The `sh` block of the README's "## A multi-stage repository", one Step per command line."""
    text = README.read_text()
    section = text.split("## A multi-stage repository\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    steps = []
    for line in block.splitlines():
        command, _, comment = line.partition("  #")
        if command.strip():
            found = re.search(r"\bexit (\d)\b", comment)
            steps.append(Step(line, shlex.split(command), int(found.group(1)) if found else 0))
    return steps


def _ftops(capsys: Any, args: list[str]) -> Result:
    return run_cli(capsys, *args)


def _run(step: Step, root: Path, capsys: Any) -> Result:
    program, *args = step.argv
    if program == "ftops":
        return _ftops(capsys, args)
    if program == "sed":
        assert args[0] == "-i", step.line
        old, new = args[1].split("/")[1:3]
        path = root / args[2]
        text = path.read_text()
        assert old in text, step.line
        path.write_text(text.replace(old, new))
        return Result(0, "", "")
    assert program == "git", f"the README runs {program}, which this test does not know: {step.line}"
    return Result(0, "", "")


def _one_line(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines where it likes


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples" / "stages", tmp_path / "examples" / "stages")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # the project root, as in the repository
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")
    return tmp_path


def test_the_readme_block_is_a_block_of_commands() -> None:
    steps = readme_steps()
    assert [s.exit_code for s in steps if s.argv[:2] == ["ftops", "drift"]] == [0, 2, 0]
    assert sum(s.argv[:2] == ["ftops", "apply"] for s in steps) == 5


def test_the_multi_stage_repository_of_the_readme(checkout: Path, capsys: Any) -> None:
    results: list[tuple[Step, Result]] = []
    for step in readme_steps():
        r = _run(step, checkout, capsys)
        assert r.code == step.exit_code, f"{step.line}\n{r.out}{r.err}"
        results.append((step, r))

    def out(n: int, *argv: str) -> str:
        """The output of the n-th line (from 0) whose command starts with argv."""
        return _one_line([r.out for s, r in results if s.argv[:len(argv)] == list(argv)][n])

    first_plan = out(0, "ftops", "plan")
    assert ("clippy: dev/clippy-dev serves nothing, would serve a model known after apply → staging/clippy-staging "
            "serves nothing, waits for dev/clippy-dev → prod/clippy-prod serves nothing, waits for "
            "staging/clippy-staging") in first_plan
    assert "Waiting out a soak: the stage before serves the model" in out(0, "ftops", "apply")
    assert "prod/clippy-prod serves nothing, would serve …" in out(0, "ftops", "status")
    assert "after soak (3 h 00 min left)" in out(0, "ftops", "status")
    assert "waits for staging/clippy-staging: it serves" in out(0, "ftops", "drift")  # waiting, not drift
    assert "lags Deployment/clippy-staging" in out(1, "ftops", "drift")
    # A stage about to move shows no verdict for what it serves now (its plan changes it); one in step does.
    assert re.search(r"staging/clippy-staging serves …\w+, would serve …\w+ → "
                     r"prod/clippy-prod serves …\w+, waits for staging/clippy-staging", out(1, "ftops", "plan"))
    assert re.search(r"staging/clippy-staging serves …\w+ \(evaluation passed\) → prod/clippy-prod serves nothing",
                     out(0, "ftops", "status"))

    server = EmulatorServer(checkout / ".ftops" / "emulator", speed=FAST).start()
    try:
        dev = clients(server.connection, server)
        c = dev.conn
        dev_id = (f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
                  f"Microsoft.CognitiveServices/accounts/{c.account}")
        winner = dev.arm.deployments.get(c.resource_group, c.account, "clippy-dev")
        assert winner.tags["ftops-verdict"].startswith("evaluation clippy-quality passed")
        for name in ("staging", "prod"):
            f = clients(c.for_account(name), server)
            served = f.arm.deployments.get(f.conn.resource_group, f.conn.account, f"clippy-{name}")
            assert served.properties.model.name == winner.properties.model.name, name
            assert served.properties.model.source == dev_id, name  # deployed from dev's account, not copied
    finally:
        server.stop()
