"""Hyperparameters typed per fine-tuning method, with the service's ranges.

Names and ranges are Foundry's (the OpenAI fine-tuning API its v1 endpoint follows): see
`FineTuneSupervisedHyperparameters`, `FineTuneDPOHyperparameters` and
`FineTuneReinforcementHyperparameters` in the reference OpenAPI. Every numeric value may also be
"auto" (Foundry picks). The models feed both validation and the JSON Schema (`ftops schema`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WrapValidator
from pydantic_core import InitErrorDetails, PydanticCustomError

HyperValue = int | float | str


def _auto_or(what: str) -> WrapValidator:
    """One readable message per bad value, instead of one per member of the union."""

    def check(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
            raise PydanticCustomError("hyperparameter", f'must be "auto" or {what} (got {shown})') from None

    return WrapValidator(check)


Auto = Literal["auto"]
Epochs = Annotated[Auto | Annotated[int, Field(strict=True, ge=1, le=50)], _auto_or("an integer from 1 to 50")]
BatchSize = Annotated[Auto | Annotated[int, Field(strict=True, ge=1, le=256)], _auto_or("an integer from 1 to 256")]
Multiplier = Annotated[Auto | Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)],
                       _auto_or("a finite number above 0")]
Beta = Annotated[Auto | Annotated[float, Field(strict=True, gt=0, le=2, allow_inf_nan=False)],
                 _auto_or("a number above 0, at most 2")]
Compute = Annotated[Auto | Annotated[float, Field(strict=True, gt=0.00001, le=10, allow_inf_nan=False)],
                    _auto_or("a number above 0.00001, at most 10")]
Count = Annotated[Auto | Annotated[int, Field(strict=True, ge=1)], _auto_or("an integer of at least 1")]


class _Hyper(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # Foundry's snake_case names, no aliases


class SupervisedHyperparameters(_Hyper):
    """Hyperparameters of method supervised (SFT)."""

    n_epochs: Epochs = "auto"
    batch_size: BatchSize = "auto"
    learning_rate_multiplier: Multiplier = "auto"


class DpoHyperparameters(SupervisedHyperparameters):
    """Hyperparameters of method dpo."""

    beta: Beta = "auto"


class ReinforcementHyperparameters(SupervisedHyperparameters):
    """Hyperparameters of method reinforcement (RFT)."""

    compute_multiplier: Compute = "auto"
    eval_interval: Count = "auto"
    eval_samples: Count = "auto"
    reasoning_effort: Literal["default", "low", "medium", "high"] = "default"


HYPERPARAMETER_MODELS: dict[str, type[_Hyper]] = {
    "supervised": SupervisedHyperparameters,
    "dpo": DpoHyperparameters,
    "reinforcement": ReinforcementHyperparameters,
}


def check_hyperparameters(method: str, values: dict[Any, Any]) -> None:
    """Raise a ValidationError with one error per bad key (located at the key), or return."""
    model = HYPERPARAMETER_MODELS[method]
    allowed = ", ".join(model.model_fields)
    try:
        model.model_validate(values)
    except ValidationError as e:
        errors: list[InitErrorDetails] = []
        seen: set[Any] = set()
        for err in e.errors():
            key = err["loc"][0] if err["loc"] else None
            if key in seen:
                continue
            seen.add(key)
            if err["type"] == "extra_forbidden":
                error = PydanticCustomError("hyperparameter", f"unknown hyperparameter {str(key)[:40]!r} for method "
                                            f"{method} (allowed: {allowed})")
            else:
                error = PydanticCustomError("hyperparameter", err["msg"])
            errors.append({"type": error, "loc": (key,) if key is not None else (), "input": err.get("input")})
        raise ValidationError.from_exception_data("hyperparameters", errors) from None


def normalised_hyperparameters(method: str, values: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters as Foundry reads them, for a job's identity: what it trains on, not how it is written.

    A value equal to Foundry's default is left out ("auto", and `reasoning_effort: default`: the defaults of
    the reference OpenAPI's `Fine-tune*Hyperparameters`), so writing it out is the same job as leaving it
    out; a number field holds a float (`learning_rate_multiplier: 2` is 2.0). Values that do not validate
    are kept as written (validation refuses them before any plan).
    """
    model = HYPERPARAMETER_MODELS[method]
    try:
        typed = model.model_validate(values)
    except ValidationError:
        return dict(sorted(values.items()))
    defaults = {name: f.default for name, f in model.model_fields.items()}
    return {k: v for k, v in sorted(typed.model_dump().items()) if v != defaults[k]}
