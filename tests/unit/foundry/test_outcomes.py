"""A failed job's typed outcome, read from its error's code and param (foundry/_outcomes.py)."""

from __future__ import annotations

import pytest

from ftops._vocabulary import FINAL_OUTCOMES, JOB_OUTCOMES
from ftops.foundry import LiveJob

SAFETY_TEXT = ("This model is unable to be deployed. Model evaluation identified that this fine tuned model scores "
               "above acceptable thresholds for [Violence, Self Harm]. Please review your training data set and "
               "resubmit the job.")
DATA_TEXT = ("The provided training data failed RAI checks for harm types: [hate_fairness, self_harm, violence]. "
             "Please fix the data and try again.")


def job(status: str = "failed", error: dict[str, object] | None = None) -> LiveJob:
    return LiveJob.parse({"id": "ftjob-1", "status": status, "model": "gpt-4.1-mini", "error": error})


@pytest.mark.parametrize("code,param,outcome", [
    ("contentFilter", "training_file", "data_refused"),  # Azure's safety system, on the file it refused
    ("content_filter", "validation_file", "data_refused"),
    ("contentFilter", None, "safety_failed"),  # not parameter-specific: the trained model's evaluation
    ("CONTENTFILTER", "", "safety_failed"),
    ("jsonlValidationFailed", "training_file", "data_invalid"),
    ("invalid_n_examples", "training_file", "data_invalid"),
    ("internalFailure", None, "transient"),
    ("internal_error", None, "transient"),
    ("serviceUnavailable", None, "transient"),
    ("somethingNew", None, "unknown"),
    (None, None, "unknown"),
])
def test_the_outcome_comes_from_the_code_and_param(code: str | None, param: str | None, outcome: str) -> None:
    # The message says nothing the code contradicts: only the structured fields decide.
    assert job(error={"code": code, "message": "GPU on fire", "param": param}).outcome == outcome


def test_a_known_code_wins_over_a_message_that_says_otherwise() -> None:
    assert job(error={"code": "internal_error", "message": SAFETY_TEXT, "param": None}).outcome == "transient"
    assert job(error={"code": "contentFilter", "message": "GPU on fire", "param": None}).outcome == "safety_failed"


@pytest.mark.parametrize("message,outcome", [(SAFETY_TEXT, "safety_failed"), (DATA_TEXT, "data_refused"),
                                             ("  " + DATA_TEXT.upper(), "data_refused"),
                                             ("Model evaluation failed", "unknown")])
def test_without_a_known_code_only_learns_documented_openings_count(message: str, outcome: str) -> None:
    assert job(error={"code": "someAzureCode", "message": message, "param": None}).outcome == outcome
    assert job(error={"message": message}).outcome == outcome


def test_only_failed_and_cancelled_jobs_have_an_outcome() -> None:
    assert job("cancelled").outcome == "cancelled"
    for status in ("succeeded", "running", "queued", "pending", "paused", "validating_files"):
        assert job(status, {"code": "contentFilter", "message": "x", "param": None}).outcome is None
    assert job("failed", None).outcome == "unknown"


def test_the_final_outcomes_are_outcomes() -> None:
    assert set(JOB_OUTCOMES) > FINAL_OUTCOMES and "transient" not in FINAL_OUTCOMES
    parsed = job(error={"code": "contentFilter", "message": "m", "param": "training_file"})
    assert (parsed.error_code, parsed.error_param, parsed.error) == ("contentFilter", "training_file", "m")
