"""The checked project the offline apply tests share (validated once: its token tables load once)."""

from __future__ import annotations

import pytest

from ftops.checks import CheckedProject
from tests.unit.apply.fakes import PROJECT, FakeClock, FakeFoundry, checked_project


@pytest.fixture(scope="session")
def checked(tmp_path_factory: pytest.TempPathFactory) -> CheckedProject:
    c = checked_project(tmp_path_factory.mktemp("apply-project"))
    assert c.project.project_name == PROJECT
    return c


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def foundry(clock: FakeClock) -> FakeFoundry:
    return FakeFoundry(clock)
