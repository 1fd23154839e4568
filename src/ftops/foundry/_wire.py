"""The wire format, owned here: request bodies, ARM SKU names, event texts. The plan speaks the spec's language.

Everything Foundry spells differently from the spec is translated in this module and nowhere else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .._vocabulary import SkuName

# Spec sku names <-> ARM sku names (every spec name: a test checks the keys against SKU_NAMES).
ARM_SKU: dict[SkuName, str] = {"Standard": "Standard", "GlobalStandard": "GlobalStandard",
                               "DataZoneStandard": "DataZoneStandard", "Developer": "DeveloperTier",
                               "ProvisionedManaged": "ProvisionedManaged"}
SPEC_SKU = {v.lower(): k for k, v in ARM_SKU.items()}


def arm_sku(spec_sku: str) -> str:
    return ARM_SKU[spec_sku]  # type: ignore[index]  # a spec name, validated by the spec models


def spec_sku(arm_name: str | None) -> str | None:
    """The spec's name for an ARM sku (Azure compares sku names case-insensitively); unknown names pass through."""
    if arm_name is None:
        return None
    return SPEC_SKU.get(arm_name.lower(), arm_name)


@dataclass(frozen=True)
class JobRequest:
    """A fine-tuning job to create, in the spec's terms; `body()` spells it as Foundry wants it."""

    base_model: str
    training_file: str
    method: str
    training_type: str
    metadata: dict[str, str]
    validation_file: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    grader: dict[str, Any] | None = None

    def body(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(keyword arguments of `jobs.create`, extra body): hyperparameters go under `method`."""
        method: dict[str, Any] = {"type": self.method, self.method: {}}
        if self.hyperparameters:
            method[self.method]["hyperparameters"] = dict(self.hyperparameters)
        if self.method == "reinforcement" and self.grader is not None:
            method[self.method]["grader"] = self.grader
        kwargs: dict[str, Any] = {"model": self.base_model, "training_file": self.training_file, "method": method,
                                  "metadata": dict(self.metadata)}
        if self.validation_file:
            kwargs["validation_file"] = self.validation_file
        if self.suffix:
            kwargs["suffix"] = self.suffix
        if self.seed is not None:
            kwargs["seed"] = self.seed
        return kwargs, {"trainingType": self.training_type}


@dataclass(frozen=True)
class LiveEvent:
    """One job event; metrics events carry the step (and, in the message, the total number of steps).

    `metrics`: the step metrics of a metrics event (`"type": "metrics"`, OpenAPI `FineTuningJobEvent.data`), by
    the names of Azure's results.csv columns (`_vocabulary.GUARD_METRICS`); training guards decide on them.
    """

    message: str
    step: int | None = None
    total_steps: int | None = None
    train_loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


_STEP = re.compile(r"Step (\d+)/(\d+)")
# Events and checkpoints spell validation token accuracy `valid_mean_token_accuracy` (OpenAPI
# `FineTuningJobCheckpoint.metrics`); results.csv, and so the spec, `validation_mean_token_accuracy`.
_METRIC_NAMES = {"valid_mean_token_accuracy": "validation_mean_token_accuracy"}


def parse_event(message: str, data: Any) -> LiveEvent:
    # Foundry's metrics events say "Step 12/80: training loss=..." and carry `step`/`train_loss` in data;
    # the total is only in the text, and is shown to people, never used for a decision. `data` is the server's:
    # anything but a map, a step that is not a finite number, a loss that is not one, is left out.
    found = _STEP.search(message)
    data = data if isinstance(data, dict) else {}
    step, loss = finite(data.get("step")), finite(data.get("train_loss"))
    return LiveEvent(message=message[:300],
                     step=int(step) if step is not None else int(found.group(1)) if found else None,
                     total_steps=int(found.group(2)) if found else None,
                     train_loss=loss, metrics=_step_metrics(data) if step is not None else {})


def finite(value: Any) -> float | None:
    """A number of an answer (not a bool, not NaN or infinite: Python's JSON reads `NaN`), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _step_metrics(data: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a metrics event's data, by results.csv's names (anything else is left out)."""
    out: dict[str, float] = {}
    for key, value in list(data.items())[:50]:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[_METRIC_NAMES.get(str(key), str(key))[:64]] = float(value)
    return out
