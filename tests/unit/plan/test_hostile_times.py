"""Times that come from Foundry's answers, or from names and tags anyone with access can write, are shown,
never raised on: each of these ended a plan or an apply in `internal error: OverflowError/ValueError`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ftops.foundry import LiveJob
from ftops.plan import JobProgress, utc_text
from ftops.plan import _evaluations as evaluations


@pytest.mark.parametrize("ts", [1e20, -1e20, float("nan"), float("inf"), 10**30])
def test_a_time_no_calendar_holds_reads_as_such(ts: float) -> None:
    assert utc_text(ts, "%Y-%m-%d") == "(not a date)"


def test_a_real_time() -> None:
    assert utc_text(0, "%Y-%m-%d %H:%M UTC") == "1970-01-01 00:00 UTC"


def test_an_eta_far_beyond_any_calendar_is_shown() -> None:
    assert "ETA (not a date)" in str(JobProgress(status="running", estimated_finish=10**20))


def test_a_lease_tag_edited_by_hand_to_a_huge_expiry() -> None:
    held = "9" * 30 + "/someone"
    assert not evaluations.lease_expired(held, 0)
    assert utc_text(evaluations.lease_until(held), "%H:%M:%S UTC") == "(not a date)"


def test_a_job_whose_numbers_are_not_numbers() -> None:
    job = LiveJob.parse(SimpleNamespace(id="ftjob-1", status="running", model="m", created_at="yesterday",
                                        estimated_finish="soon", finished_at=[1], trained_tokens=True,
                                        metadata={}, hyperparameters=None, method=None, error=None))
    assert (job.created_at, job.estimated_finish, job.finished_at, job.trained_tokens) == (0, None, None, None)
    assert LiveJob.parse(SimpleNamespace(id="j", status="running", created_at=12.0)).created_at == 12
