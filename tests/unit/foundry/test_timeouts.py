"""Per-call timeouts and the budgets a user sets through the environment."""

from __future__ import annotations

import pytest

from ftops import UsageError
from ftops.foundry import OUTAGE_BUDGET_ENV, RETRY_BUDGET_ENV, Budgets, Timeouts, budgets_from_env
from ftops.foundry._timeouts import LOCAL, REMOTE


def test_uploads_get_more_time_the_larger_they_are() -> None:
    t = Timeouts()
    assert t.connect < t.read < t.write < t.for_upload(0) < t.for_upload(512 * 1024 * 1024)
    assert t.for_upload(512 * 1024 * 1024) == t.upload + 512


def test_budgets_default_per_target_and_are_set_in_seconds() -> None:
    assert budgets_from_env(REMOTE, {}) == Budgets(retry=300.0, outage=900.0)
    assert budgets_from_env(LOCAL, {RETRY_BUDGET_ENV: ""}) == LOCAL
    assert budgets_from_env(REMOTE, {RETRY_BUDGET_ENV: "45", OUTAGE_BUDGET_ENV: "1800.5"}) == Budgets(45.0, 1800.5)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "1e400", "10s", "\x1b[31m"])
@pytest.mark.parametrize("name", [RETRY_BUDGET_ENV, OUTAGE_BUDGET_ENV])
def test_a_bad_budget_is_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(UsageError) as err:
        budgets_from_env(REMOTE, {name: value})
    text = str(err.value)
    assert text.startswith(f"{name}: expected a number of seconds above 0, got ")
    assert "\n" not in text and "\x1b" not in text
