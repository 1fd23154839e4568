"""Stages and promotion (issue 17): a Deployment that follows another (`model: {deployment: NAME, soak: 24h}`),
and a Deployment that serves the final model of another Foundry's job (a cross-account deployment).

A follower serves what the Deployment it follows serves, once that one's evaluation passed and its soak time
is over (the planner decides, `plan/_follow.py`); it has no gates or evaluation of its own: the stage it
follows is where a model is judged. Here: the spec forms, the job behind a chain of follows (whose base model
prices and checks a follower), and the checks of validate: names, cycles, and what a reference across
Foundry accounts may be.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from .._exceptions import Problem
from ._strict import Name, Strict

if TYPE_CHECKING:
    from ._documents import DeploymentSpec, FineTuningJobSpec
    from ._project import Project, Resource

# ASCII digits only (`\d` would take Arabic-Indic or fullwidth digits), at most 9 per unit: a longer number is no
# soak time anyone means, and int() of thousands of digits fails with a message about Python's own limits.
_DURATION = re.compile(r"^(?:([0-9]{1,9})d)?(?:([0-9]{1,9})h)?(?:([0-9]{1,9})m)?(?:([0-9]{1,9})s)?$")
_UNIT_SECONDS = (86_400, 3_600, 60, 1)
MAX_SOAK_SECONDS = 90 * 86_400
_FORM = "30m, 24h, 1h30m or 2d"


def duration_seconds(value: Any) -> Any:
    """`24h`, `1h30m`, `2d`, `90s` as whole seconds (a plain integer is seconds too), from 0 to 90 days; any
    other value is refused with the form expected."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"a duration is written like {_FORM}")
    if isinstance(value, str):
        found = _DURATION.fullmatch(value.strip())
        if found is None or not any(found.groups()):
            raise ValueError(f"duration {value[:40]!r} is not written like {_FORM}")
        value = sum(int(n) * unit for n, unit in zip(found.groups(), _UNIT_SECONDS, strict=True) if n)
    if not 0 <= value <= MAX_SOAK_SECONDS:
        shown = f"{value} s" if abs(value) < 10**12 else "a number of that many digits"
        raise ValueError(f"a duration is from 0 to 90 days (2160h), not {shown}")
    return value


# What a spec writes, for editors (the JSON Schema): the model holds seconds, the file says `24h` (or seconds).
_DURATION_SCHEMA = {
    "anyOf": [{"type": "string", "pattern": r"^\s*(?=\d)(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?\s*$"},
              {"type": "integer", "minimum": 0, "maximum": MAX_SOAK_SECONDS}],
    "description": "A duration written 30m, 24h, 1h30m or 2d (or whole seconds), up to 90 days."}

# Seconds, written 30m, 24h, 1h30m or 2d; up to 90 days (longer is a typo: a stage that never promotes).
Duration = Annotated[int, BeforeValidator(duration_seconds), Field(ge=0, le=MAX_SOAK_SECONDS),
                     WithJsonSchema(_DURATION_SCHEMA)]


class FollowRef(Strict):
    """`model: {deployment: NAME, soak: DURATION}`: serve what Deployment NAME serves, once its evaluation
    passed and it has served it for `soak` (seconds; written 30m, 24h, 2d)."""

    deployment: Name
    soak: Duration | None = None


def followed(project: Project, dep: Resource[DeploymentSpec]) -> Resource[DeploymentSpec] | None:
    """The Deployment `dep` follows (in any Foundry of the directory), or None (it serves a job's model)."""
    ref = dep.spec.follows
    return project.every_deployment.get(ref.deployment) if ref is not None else None


def source_job(project: Project, dep: Resource[DeploymentSpec]) -> Resource[FineTuningJobSpec] | None:
    """The FineTuningJob whose model `dep` serves: its own `model.job`, or the one at the end of its chain of
    follows (across Foundries); None when the chain is broken or loops (validate refuses both)."""
    seen: set[str] = set()
    current: Resource[DeploymentSpec] | None = dep
    while current is not None and current.name not in seen:
        seen.add(current.name)
        job_ref, ref = current.spec.job_ref, current.spec.follows
        if job_ref is not None:
            return project.every_job.get(job_ref.job)
        current = project.every_deployment.get(ref.deployment) if ref is not None else None
    return None


def source_job_name(project: Project, dep: Resource[DeploymentSpec]) -> str:
    """`source_job`'s name ("" when there is none: the catalog knows no model for it)."""
    job = source_job(project, dep)
    return job.name if job is not None else ""


def check_follows(project: Project, problems: list[Problem]) -> None:
    """A follower names a Deployment that exists, sets no gates or evaluation of its own, and no chain of
    follows loops; a Deployment serving another Foundry's job takes its final model, ungated."""
    for dep in project.deployments.values():
        ref = dep.spec.follows
        if ref is None:
            _check_cross_job(project, dep, problems)
            continue
        if ref.deployment not in project.every_deployment:
            problems.append(Problem(f"model.deployment names Deployment {ref.deployment!r}, which no spec defines",
                                    dep.path, dep.line_of("model", "deployment")))
        _check_own_judging(dep, "a follower serves what the Deployment it follows passed: set gates and "
                                "evaluation there", problems)
        _check_cycle(project, dep, problems)


def _check_own_judging(dep: Resource[DeploymentSpec], why: str, problems: list[Problem]) -> None:
    if "gates" in dep.spec.model_fields_set:
        problems.append(Problem(f"gates: {why}", dep.path, dep.line_of("gates")))
    if dep.spec.evaluation is not None:
        problems.append(Problem(f"evaluation: {why}", dep.path, dep.line_of("evaluation")))


def _check_cross_job(project: Project, dep: Resource[DeploymentSpec], problems: list[Problem]) -> None:
    ref = dep.spec.job_ref
    job = project.every_job.get(ref.job) if ref is not None else None
    if ref is None or job is None or job.foundry is None or dep.foundry is None or job.foundry == dep.foundry:
        return
    why = (f"FineTuningJob {job.name!r} is in Foundry {job.foundry!r}: a deployment in another account serves its "
           "final model as it is; deploy it with gates and evaluation in its own account and follow that deployment "
           "(model: {deployment: NAME})")
    if ref.checkpoint != "final":
        problems.append(Problem(f"model.checkpoint: {why}", dep.path, dep.line_of("model", "checkpoint")))
    _check_own_judging(dep, why, problems)


def _check_cycle(project: Project, start: Resource[DeploymentSpec], problems: list[Problem]) -> None:
    """Refuse a chain of follows that comes back to `start` (reported once, at `start`, for each member)."""
    chain = [start.name]
    current = followed(project, start)
    while current is not None:
        if current.name == start.name:
            problems.append(Problem(f"Deployments follow each other in a cycle: {' -> '.join([*chain, start.name])}",
                                    start.path, start.line_of("model", "deployment")))
            return
        if current.name in chain:
            return  # a loop further on: reported at its own members
        chain.append(current.name)
        current = followed(project, current)
