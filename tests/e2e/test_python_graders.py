"""Python graders in evaluation-gated applies against the local Foundry (examples/evaluation/specs).

Eval runs are graded in the background, so a grader slower than any request timeout does not fail the
apply; `validate` and `plan` never run grader code; where the local Foundry cannot build its jail,
the apply ends in one line instead of running the grader unconfined.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ftops.emulator import _pysandbox
from tests.e2e.conftest import FAST, ROOT, Project

EXAMPLE = ROOT / "examples" / "evaluation" / "specs"
CRITERION = "    - {type: string_check, name: mentions, operation: ilike}\n"
jailed = pytest.mark.skipif(_pysandbox.sandbox_problem() is not None,
                            reason=f"no python grader jail here: {_pysandbox.sandbox_problem()}")


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    shutil.copytree(EXAMPLE, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")  # the local Foundry in this process (spies, patches)
    return Project(tmp_path, capsys, FAST)


def add_python_grader(p: Project, source: str) -> None:
    (p.root / "specs" / "graders").mkdir(exist_ok=True)
    (p.root / "specs" / "graders" / "grade.py").write_text(source)
    p.edit(CRITERION, CRITERION + "    - {type: python, name: graded, source: graders/grade.py}\n")


@jailed
def test_a_grader_slower_than_any_request_does_not_fail_the_apply(gated: Project,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Each request gets 3 s in all; each run's grader takes 6 s (far within Foundry's 2 minutes a call).
    add_python_grader(gated, "import time\n\n_slept = []\n\n\ndef grade(sample, item):\n"
                             "    if not _slept:\n        _slept.append(1)\n        time.sleep(6)\n    return 1.0\n")
    monkeypatch.setenv("FTOPS_RETRY_BUDGET", "3")
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with gated.live() as live:
        runs = [r for e in live.oai.evals.list().data for r in live.oai.evals.runs.list(e.id).data]
        assert len(runs) == 4 and all(r.status == "completed" for r in runs)  # 3 checkpoints and the base model


def test_validate_and_plan_never_run_grader_code(gated: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gated.ftops("apply", "--auto-approve", "--wait").code == 0  # trained and promoted, no python grader
    add_python_grader(gated, "def grade(sample, item):\n    return 1.0\n")
    calls: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> str:
        calls.append("ran")
        return "this test does not run graders"
    monkeypatch.setattr(_pysandbox, "run_batch", spy)
    monkeypatch.setattr(_pysandbox, "sandbox_problem", spy)
    for command in (["validate"], ["plan"], ["drift"], ["status"]):
        assert gated.ftops(*command).code in (0, 2)
    assert gated.plan_json()["actions"]  # the plan has the evaluation to run
    assert calls == []
    gated.ftops("apply", "--auto-approve")
    assert calls  # the spy does see an apply


def test_without_a_jail_the_apply_refuses_python_graders_in_one_line(gated: Project,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pysandbox, "sandbox_problem", lambda: "unshare: Operation not permitted")
    add_python_grader(gated, "def grade(sample, item):\n    return 1.0\n")
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1
    lines = [ln for ln in (r.out + r.err).splitlines() if "cannot run python graders" in ln]
    assert lines and "cannot contain them (unshare: Operation not permitted)" in lines[0], r.out + r.err
    assert "Traceback" not in r.out + r.err
    with gated.live() as live:
        names = {d.name for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account)}
        assert names == set()  # the canaries were deleted; nothing was promoted


@jailed
def test_a_grader_score_outside_0_to_1_does_not_win(gated: Project) -> None:
    # Foundry passes a python grader's float through; ftops reads every criterion on 0..1, so 1e9 is an error.
    add_python_grader(gated, "def grade(sample, item):\n    return 1e9\n")
    r = gated.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1, r.out + r.err
    assert "score(s) of criterion graded were outside 0..1" in r.out + r.err
    assert "0 items graded < minItems 20" in r.out + r.err
    with gated.live() as live:
        assert {d.name for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account)} == set()
