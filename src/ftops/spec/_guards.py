"""Training guards of a FineTuningJob: a condition on the job's step metrics (or its spend) and what to do.

A guard is one of
- `{metric: valid_loss, rising: 3, action: pause}`: the metric rose at 3 successive evaluations;
- `{metric: train_loss, above: 2.5, afterStep: 100, action: cancel}`: a value above (or `below`) a bound at
  or after a step;
- `{costAbove: 50, action: cancel}`: the estimated training spend so far is above 50 USD.
Metric names are Azure's results.csv columns (`_vocabulary.GUARD_METRICS`). Guards are not training content:
adding, editing or removing one never resubmits the job.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .._vocabulary import GuardAction, GuardMetric
from ._strict import Strict as _Strict

Bound = Annotated[float, Field(allow_inf_nan=False)]


class Guard(_Strict):

    metric: GuardMetric | None = None
    rising: int | None = Field(default=None, strict=True, ge=1, le=100)  # successive rises of `metric`
    above: Bound | None = None
    below: Bound | None = None
    after_step: int = Field(default=0, strict=True, ge=0)  # only metrics of this step and later count
    cost_above: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None  # USD, estimated so far
    action: GuardAction

    @model_validator(mode="after")
    def _one_condition(self) -> Guard:
        bounds = [k for k in ("rising", "above", "below") if getattr(self, k) is not None]
        if self.cost_above is not None:
            if self.metric is not None or bounds:
                raise ValueError("a guard is either costAbove or a metric with one of rising, above, below")
            return self
        if self.metric is None or len(bounds) != 1:
            raise ValueError("a guard names a metric and exactly one of rising, above, below (or is costAbove)")
        return self

    @property
    def label(self) -> str:
        """The guard as a person reads it: `valid_loss rising 3 -> pause`."""
        if self.cost_above is not None:
            cond = f"costAbove {self.cost_above:g}"
        elif self.rising is not None:
            cond = f"{self.metric} rising {self.rising}"
        else:
            word, bound = ("above", self.above) if self.above is not None else ("below", self.below)
            cond = f"{self.metric} {word} {bound:g}"
        if self.after_step:
            cond += f" afterStep {self.after_step}"
        return f"{cond} -> {self.action}"
