"""The Policy kind: one rule a platform team sets on every plan, with its enforcement level.

A Policy holds exactly one rule: a built-in set in one line, or a CEL `expression` (true: the plan passes)
with the `message` shown when it does not. The rules are judged by `plan/_policies.py`; here they are only
typed, and an expression is parsed so that `ftops validate` names a malformed one at its file and line.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .. import _cel
from .._vocabulary import POLICY_RULES, Enforcement, SkuName, TrainingType
from ._strict import Strict as _Strict

# A deployment name pattern: `*` any run of characters, `?` one (matched without regular expressions).
NamePattern = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9*?._-]+$")]
Region = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9]+$")]
Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PolicySpec(_Strict):

    enforcement: Enforcement
    description: str | None = Field(default=None, max_length=500)
    # The built-ins (exactly one of these, or `expression`):
    allowed_training_types: list[TrainingType] | None = Field(default=None, min_length=1)
    allowed_deployment_skus: list[SkuName] | None = Field(default=None, min_length=1)
    allowed_regions: list[Region] | None = Field(default=None, min_length=1)
    max_hosting_increase_per_month: Usd | None = None
    max_training_cost_per_plan: Usd | None = None
    no_delete_serving: bool | None = None
    require_evaluation: NamePattern | None = None  # deployments whose name matches need an `evaluation:`
    expression: str | None = None  # CEL: true when the plan passes
    message: str | None = Field(default=None, min_length=1, max_length=500)  # shown when the expression is false

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None and (why := _cel.problem(value)) is not None:
            raise ValueError(why)
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> PolicySpec:
        set_rules = self.rules()
        if len(set_rules) != 1:
            named = ", ".join(set_rules) if set_rules else "none"
            raise ValueError(f"a Policy holds exactly one rule, one of {', '.join(POLICY_RULES)} (found: {named})")
        if self.expression is not None and self.message is None:
            raise ValueError("an expression needs its message (what a blocked plan shows)")
        if self.expression is None and self.message is not None:
            raise ValueError("message goes with expression (a built-in writes its own)")
        if self.no_delete_serving is False:
            raise ValueError("noDeleteServing: false is no rule; leave the Policy out instead")
        return self

    def rules(self) -> list[str]:
        """The rules this Policy sets, as the spec spells them (exactly one once validated)."""
        return [to_camel(name) for name in _RULE_FIELDS if getattr(self, name) is not None]

    @property
    def rule(self) -> str:
        return self.rules()[0]


_RULE_FIELDS = ("allowed_training_types", "allowed_deployment_skus", "allowed_regions",
                "max_hosting_increase_per_month", "max_training_cost_per_plan", "no_delete_serving",
                "require_evaluation", "expression")
assert tuple(to_camel(f) for f in _RULE_FIELDS) == POLICY_RULES  # one word list: the vocabulary's
