"""The `Evaluation` kind: a held-out chat Dataset, testing criteria, and the rule a candidate must pass.

A `Deployment` that names an evaluation (`evaluation: {name, candidates}`) promotes only the candidate
that passes it. Criteria map onto the graders Foundry's Evals API offers (string_check, text_similarity,
score_model, python); the pass rule reads each criterion's mean score over the held-out items.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .._vocabulary import CanarySku
from ._strict import Name
from ._strict import Strict as _Strict

Metric = Literal["fuzzy_match", "bleu", "gleu", "meteor", "cosine", "rouge_1", "rouge_2", "rouge_3", "rouge_4",
                 "rouge_5", "rouge_l"]
Score = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# What ftops names its throwaway evaluation deployments (plan/_evaluations.canary_name): reserved, since
# ftops deletes what matches (a Deployment spec of such a name would be overwritten by a canary, then deleted).
CANARY_NAME = re.compile(r"[a-z0-9][-a-z0-9]*-eval-[0-9a-f]{8}")




class StringCheckCriterion(_Strict):
    """The answer compared with the reference: eq, ne (case-sensitive), like, ilike (contains)."""

    type: Literal["string_check"]
    name: Name
    operation: Literal["eq", "ne", "like", "ilike"] = "eq"


class TextSimilarityCriterion(_Strict):
    type: Literal["text_similarity"]
    name: Name
    metric: Metric
    threshold: Score  # an item passes at this score (Foundry's pass_threshold)


class ScoreModelCriterion(_Strict):
    """A judge: the named Deployment scores each answer against the reference."""

    type: Literal["score_model"]
    name: Name
    deployment: Name
    prompt: str = Field(default="Score how well the answer matches the reference, from 0 to 1.", min_length=1)
    threshold: Score | None = None


class PythonCriterion(_Strict):
    """`grade(sample, item)` in a file of the repository (hashed like data, confined to the project root)."""

    type: Literal["python"]
    name: Name
    source: str = Field(min_length=1)  # relative to the spec file
    threshold: Score | None = None


Criterion = Annotated[StringCheckCriterion | TextSimilarityCriterion | ScoreModelCriterion | PythonCriterion,
                      Field(discriminator="type")]


class PassRule(_Strict):
    """What a candidate must reach: each named criterion's mean score, and/or the baseline's plus a margin."""

    thresholds: dict[Name, Score] = Field(default_factory=dict)  # criterion name -> minimum mean score
    beat_baseline_by: float | None = Field(default=None, ge=0, le=1)  # on the mean over all criteria
    min_items: int = Field(default=10, ge=1)  # items graded without error, per candidate

    @model_validator(mode="after")
    def _something_to_pass(self) -> PassRule:
        if not self.thresholds and self.beat_baseline_by is None:
            raise ValueError("a pass rule needs thresholds and/or beatBaselineBy")
        return self


class EvaluationSpec(_Strict):
    dataset: Name  # held-out chat records; the last assistant message is the reference
    criteria: list[Criterion] = Field(min_length=1, max_length=8)
    pass_rule: PassRule = Field(alias="pass")
    canary_sku: CanarySku = "Developer"

    @field_validator("criteria")
    @classmethod
    def _unique_names(cls, criteria: list[Criterion]) -> list[Criterion]:
        names = [c.name for c in criteria]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ValueError(f"two criteria are named {dup!r}")
        return criteria

    @field_validator("pass_rule")
    @classmethod
    def _known_criteria(cls, rule: PassRule, info: ValidationInfo) -> PassRule:
        names = [c.name for c in info.data.get("criteria") or []]
        unknown = sorted(set(rule.thresholds) - set(names))
        if names and unknown:
            raise ValueError(f"pass.thresholds names {unknown[0]!r}, which is not a criterion "
                             f"(criteria: {', '.join(names)})")
        return rule


class EpochPick(_Strict):
    epoch: int = Field(ge=1)


class EvaluationRef(_Strict):
    """On a Deployment: promote only the candidate that passes this Evaluation."""

    name: Name
    candidates: Literal["all"] | list[Literal["best", "final"] | EpochPick] = "all"  # all: every kept checkpoint
