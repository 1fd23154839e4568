"""The Notification kind: one target and the events it wants.

    kind: Notification
    spec:
      webhook: {url: "${FTOPS_HOOK_URL}"}        # or slack: {url}, teams: {url}, github: {repo, issue, token}
      on: [job.succeeded, rollout.done]

URLs and tokens that are secrets come from `${AZURE_*}`/`${FTOPS_*}` variables, expanded only to send (a
Slack or Teams webhook URL is itself a secret: it must be a variable); plans, errors and logs never show
them. A URL is https, or plain http to loopback (tests).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from .._urls import url_problem
from .._vocabulary import NOTIFICATION_TARGETS, NotificationEvent, NotificationTarget
from ._strict import Strict as _Strict

ENV_PREFIXES = ("FTOPS_", "AZURE_")  # the variables a spec may name (as `_project.ENV_PREFIXES`)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ONLY_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")




def _refs_allowed(value: str) -> str:
    if "${" in _REF.sub("", value):
        raise ValueError("holds a ${ that is not a variable reference (${NAME})")
    for name in _REF.findall(value):
        if not name.startswith(ENV_PREFIXES):
            raise ValueError(f"variable {name} may not be used: only FTOPS_* or AZURE_* variables expand")
    return value


class UrlTarget(_Strict):
    url: str = Field(min_length=1, max_length=2048)

    @field_validator("url")
    @classmethod
    def _checked(cls, value: str) -> str:
        _refs_allowed(value)
        if "${" not in value and (problem := url_problem(value)) is not None:
            raise ValueError(problem)
        return value


class SecretUrlTarget(UrlTarget):
    """Slack's and Teams' incoming webhooks carry their secret in the URL: it comes from a variable."""

    @field_validator("url")
    @classmethod
    def _a_variable(cls, value: str) -> str:
        if not _ONLY_REF.fullmatch(value):
            raise ValueError("is a secret (the webhook URL grants posting): write it as ${FTOPS_...} and set the "
                             "variable where ftops runs")
        return value


class GithubTarget(_Strict):
    """A comment on an issue or pull request: POST {apiUrl}/repos/{repo}/issues/{issue}/comments."""

    repo: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]
    issue: int = Field(strict=True, ge=1)
    token: str = Field(default="${FTOPS_GITHUB_TOKEN}", pattern=_ONLY_REF.pattern)  # a variable, never a value
    api_url: str = "https://api.github.com"

    @field_validator("token")
    @classmethod
    def _allowed(cls, value: str) -> str:
        return _refs_allowed(value)

    @field_validator("api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if (problem := url_problem(value)) is not None:
            raise ValueError(problem)
        return value


class NotificationSpec(_Strict):
    webhook: UrlTarget | None = None
    slack: SecretUrlTarget | None = None
    teams: SecretUrlTarget | None = None
    github: GithubTarget | None = None
    on: list[NotificationEvent] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _one_target(self) -> NotificationSpec:
        if sum(t is not None for t in (self.webhook, self.slack, self.teams, self.github)) != 1:
            raise ValueError("a Notification has exactly one target: webhook, slack, teams or github")
        return self

    @property
    def target(self) -> NotificationTarget:
        """Which kind of target: webhook, slack, teams or github."""
        return next(k for k in NOTIFICATION_TARGETS if getattr(self, k) is not None)
