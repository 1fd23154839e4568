"""`pip install ftops` without the `local` extra: a `local: true` spec ends in one line naming the install.

The emulator's modules are made unimportable as they are when not installed (`sys.modules[name] = None`
makes `importlib.util.find_spec` answer None, and an import fail), so the real CLI runs unchanged.
"""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conftest import Project

EXTRA = ("starlette", "uvicorn", "cryptography", "rapidfuzz")


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in EXTRA:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_local_spec_names_the_install(project: Project, without_extra: None, monkeypatch: pytest.MonkeyPatch,
                                        mode: str) -> None:
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", mode)
    for command in (["plan"], ["apply", "--auto-approve"], ["drift"], ["status"]):
        r = project.ftops(*command)
        assert r.code == 1 and r.out == "", (command, r.out, r.err)
        [line] = r.err.strip().splitlines()
        assert line.startswith("error: specs/clippy.yaml:") and "pip install 'ftops[local]'" in line
        assert "starlette" in line and "Traceback" not in r.err
    assert not (project.root / ".ftops" / "emulator").exists()  # no local Foundry was started


def test_validate_needs_no_local_foundry(project: Project, without_extra: None) -> None:
    assert project.ftops("validate").code == 0


def test_the_emulator_command_names_the_install(project: Project, without_extra: None) -> None:
    for command in (["emulator"], ["emulator", "state"]):
        r = project.ftops(*command)
        assert r.code == 1 and "pip install 'ftops[local]'" in r.err and len(r.err.strip().splitlines()) == 1
