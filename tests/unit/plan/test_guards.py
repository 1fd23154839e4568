"""Guard evaluation on step metrics: which guard trips, at which step, and why (pure, offline)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftops.foundry import LiveEvent
from ftops.plan._guards import first_trip, metric_points
from ftops.spec import Guard


def _events(metric: str, values: list[float], start: int = 10, every: int = 10) -> list[LiveEvent]:
    # newest first, as Foundry lists them, with a message event between
    out = [LiveEvent(message=f"Step {start + i * every}", step=start + i * every,
                     metrics={"train_loss": 1.0, metric: v}) for i, v in enumerate(values)]
    return [*reversed(out), LiveEvent(message="Job started.")]


def _guard(**kw: object) -> Guard:
    return Guard.model_validate(kw)


def no_cost(step: int) -> float | None:
    return None


def test_rising_trips_at_the_nth_successive_rise() -> None:
    points = metric_points(_events("valid_loss", [0.9, 0.8, 0.85, 0.9, 0.95, 1.0]))
    trip = first_trip(_guard(metric="valid_loss", rising=3, action="pause"), points, no_cost)
    assert trip is not None and trip.step == 50 and trip.action == "pause"
    assert "rose 3 times in a row (0.8 -> 0.85 -> 0.9 -> 0.95" in trip.why


def test_rising_holds_when_a_fall_breaks_the_run() -> None:
    points = metric_points(_events("valid_loss", [0.9, 1.0, 1.1, 1.05, 1.1, 1.2]))
    assert first_trip(_guard(metric="valid_loss", rising=3, action="pause"), points, no_cost) is None


def test_above_counts_only_from_after_step() -> None:
    points = metric_points(_events("train_loss", [3.0, 3.0, 2.0, 2.6]))
    guard = _guard(metric="train_loss", above=2.5, after_step=25, action="cancel")
    # every event has train_loss 1.0 unless the metric under test is train_loss itself
    trip = first_trip(guard, points, no_cost)
    assert trip is not None and trip.step == 40 and "above 2.5" in trip.why


def test_below_and_results_csv_names() -> None:
    points = metric_points(_events("validation_mean_token_accuracy", [0.7, 0.4]))
    trip = first_trip(_guard(metric="validation_mean_token_accuracy", below=0.5, action="pause"), points, no_cost)
    assert trip is not None and trip.step == 20


def test_cost_above_uses_the_spend_estimate() -> None:
    points = metric_points(_events("valid_loss", [1.0, 1.0, 1.0]))
    trip = first_trip(_guard(cost_above=50, action="cancel"), points, lambda step: step * 2.0)
    assert trip is not None and trip.step == 30 and "$60.00" in trip.why


def test_a_guard_is_one_condition() -> None:
    for bad in ({"metric": "valid_loss", "action": "pause"},
                {"metric": "valid_loss", "rising": 2, "above": 1.0, "action": "pause"},
                {"costAbove": 5, "metric": "valid_loss", "action": "cancel"},
                {"metric": "val_loss", "rising": 2, "action": "pause"},
                {"costAbove": 5, "action": "stop"}):
        with pytest.raises(ValidationError):
            Guard.model_validate(bad)
    assert Guard.model_validate({"metric": "train_loss", "above": 2.5, "afterStep": 100, "action": "cancel"}).label \
        == "train_loss above 2.5 afterStep 100 -> cancel"


def test_event_metrics_take_results_csv_names() -> None:
    from ftops.foundry._wire import parse_event

    e = parse_event("Step 3/9: training loss=1.0", {"step": 3, "train_loss": 1.0, "valid_mean_token_accuracy": 0.5,
                                                      "valid_loss": float("nan"), "flag": True})
    assert e.metrics == {"step": 3.0, "train_loss": 1.0, "validation_mean_token_accuracy": 0.5}


def test_guards_and_resume_are_not_training_content() -> None:
    from ftops.spec import FineTuningJobSpec

    plain = FineTuningJobSpec.model_validate({"baseModel": "m", "trainingData": "d"})
    guarded = FineTuningJobSpec.model_validate({"baseModel": "m", "trainingData": "d", "resume": True,
                                                "guards": [{"costAbove": 5, "action": "cancel"}]})
    assert plain.training_content("m", {"d": "x"}) == guarded.training_content("m", {"d": "x"})
