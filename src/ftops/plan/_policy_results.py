"""What the policies found on a plan: one typed result per Policy, and the overrides that let one through.

Kept apart from `_policies.py` (which judges) because the `Plan` holds these and the judge reads the Plan.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .._vocabulary import Enforcement, PolicyRule

Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# An override's text becomes a tag Azure keeps and other tools show: one printable line, as the command line
# makes it (`cli/_escape.terminal`): no control characters, line breaks or bidi overrides, also in a plan file.
_PRINTABLE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)


class Override(_Model):
    """A soft-mandatory Policy let through on purpose (`apply --override NAME --reason TEXT`), and by whom."""

    policy: Name
    reason: str = Field(min_length=1, max_length=500, pattern=_PRINTABLE_LINE)
    # GITHUB_ACTOR, else `git config user.name`
    author: str = Field(min_length=1, max_length=100, pattern=_PRINTABLE_LINE)


class PolicyResult(_Model):
    """One Policy judged on one plan: passed or not, why, and which of the plan's actions it concerns."""

    policy: Name
    rule: PolicyRule
    enforcement: Enforcement
    passed: bool
    message: str = Field(max_length=2000)  # what the rule found (for a failed rule: why it failed)
    resources: list[str] = Field(default_factory=list)  # "Deployment/prod", ... that break the rule
    actions: list[str] = Field(default_factory=list)  # the ids of those actions (what an override lets through)
    override: Override | None = None

    @property
    def blocks(self) -> bool:
        """Whether this result stops the plan: a failed mandatory rule that no override lets through. A rule
        that concerns no change (an expression false on a plan with nothing to do) is shown and blocks
        nothing: there is nothing to stop, and a scheduled sync must not fail on it forever."""
        if self.passed or self.enforcement == "advisory" or not self.actions:
            return False
        return self.enforcement == "hard-mandatory" or self.override is None
