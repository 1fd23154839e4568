"""A job as a hostile or broken Foundry answers it: wrong types where strings and maps belong, an error
message of a megabyte. LiveJob.parse keeps what it can use and drops the rest; it never raises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftops.foundry import LiveJob
from ftops.foundry._live_objects import MAX_ERROR_CHARS

BASE = {"id": "ftjob-1", "status": "failed", "model": "gpt-4.1-mini", "created_at": 1}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=8)
FIELDS = ("id", "status", "model", "created_at", "fine_tuned_model", "metadata", "training_file", "validation_file",
          "suffix", "error", "hyperparameters", "method", "seed", "trainingType", "finished_at", "trained_tokens")


@pytest.mark.parametrize("metadata", ["x", [1, 2], 5, [["a", "b", "c"]]])
def test_metadata_that_is_not_a_map_is_none(metadata: Any) -> None:
    assert LiveJob.parse({**BASE, "metadata": metadata}).metadata == {}


def test_only_string_metadata_values_are_kept() -> None:
    job = LiveJob.parse({**BASE, "metadata": {"ftops-project": "p", "n": 5, "d": {"a": 1}}})
    assert job.metadata == {"ftops-project": "p"}


@pytest.mark.parametrize("field", ["fine_tuned_model", "training_file", "validation_file", "suffix"])
@pytest.mark.parametrize("value", [7, {"a": 1}, ["f"], True])
def test_a_name_that_is_not_a_string_is_none(field: str, value: Any) -> None:
    assert getattr(LiveJob.parse({**BASE, field: value}), field) is None


def test_an_error_message_is_cut() -> None:
    job = LiveJob.parse({**BASE, "error": {"message": "x" * 1_000_000, "code": "c" * 10_000, "param": "p" * 10_000}})
    assert job.error is not None and len(job.error) <= MAX_ERROR_CHARS + 1
    assert job.error_code is not None and len(job.error_code) <= MAX_ERROR_CHARS + 1
    assert job.error_param is not None and len(job.error_param) <= MAX_ERROR_CHARS + 1


def test_an_error_message_that_is_not_a_string_is_none() -> None:
    job = LiveJob.parse({**BASE, "error": {"message": {"a": 1}, "code": ["x"], "param": 5}})
    assert (job.error, job.error_code, job.error_param, job.outcome) == (None, None, None, "unknown")


@given(st.dictionaries(st.sampled_from(FIELDS), JSON))
def test_any_json_is_parsed_without_raising(fields: dict[str, Any]) -> None:
    job = LiveJob.parse({**BASE, **fields})
    assert all(isinstance(v, str) for v in job.metadata.values())
    for name in ("fine_tuned_model", "training_file", "validation_file", "suffix", "error", "error_code"):
        assert getattr(job, name) is None or isinstance(getattr(job, name), str)
    assert isinstance(job.id, str) and isinstance(job.status, str) and isinstance(job.model, str)


# -- a job's events and checkpoints ----------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["x", [1, 2], 5, None, {"step": float("nan")}, {"step": float("inf")},
                                  {"step": True}, {"step": "7"}, {"step": 3, "train_loss": float("nan")},
                                  {"step": 3, "train_loss": "1.0"}])
def test_an_event_whose_data_has_the_wrong_shape_is_read_without_its_numbers(data: Any) -> None:
    from ftops.foundry._wire import parse_event

    e = parse_event("Step 3/9: training loss=1.0", data)
    assert e.step == 3 and e.total_steps == 9  # from the message: the data gave no usable step
    assert e.train_loss is None or e.train_loss == e.train_loss  # never NaN
    assert all(isinstance(v, float) for v in e.metrics.values())


@pytest.mark.parametrize("checkpoint", [
    {"id": "c", "step_number": "x", "metrics": {"full_valid_loss": "low"}},
    {"id": "c", "step_number": float("nan"), "metrics": "x"},
    {"id": "c", "step_number": 5, "metrics": {"valid_loss": float("inf"), "full_valid_loss": [1]}},
])
def test_a_checkpoint_of_the_wrong_shape_is_read_without_its_numbers(checkpoint: dict[str, Any]) -> None:
    from ftops.foundry import LiveCheckpoint

    c = LiveCheckpoint.parse(checkpoint)
    assert isinstance(c.step_number, int) and c.loss is None
    assert c.full_valid_loss is None and c.valid_loss is None
