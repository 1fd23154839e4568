"""Adoption: a spec that says it IS a live object made outside ftops (`adopt:`, written by `ftops import`).

ftops keeps no state, and an object made with the plain clients (the portal, azd, a script) carries none
of ftops' names, metadata or tags. `adopt:` is the spec's own statement of identity, and each kind checks
it against what the object still is, so that an edited spec never silently keeps an object that no longer
matches it (Terraform's "forces replacement"):

- Dataset `adopt: {id, sha256}`: that file is reused while the spec's bytes still hash to `sha256` (edited
  bytes are uploaded as usual, under ftops' own name).
- FineTuningJob `adopt: ftjob-...`: that job is the spec's while its live fields equal the spec's: base
  model, training and validation files (the files the spec's datasets resolved to), method,
  hyperparameters (those the spec sets, as Foundry resolved them), trainingType, suffix and seed (when the
  spec sets one). Any other difference makes a new job, as a spec edit does.
- Deployment `adopt: true`: the live deployment of the spec's name is taken over although it carries no
  ftops tags; one tagged by an ftops project (another's) is still refused. It is a no-op while model,
  sku and capacity equal the spec's; ftops' tags are written with its next real change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..foundry import LiveDeployment, LiveFile, LiveJob
from ..spec import DeploymentSpec, FineTuningJobSpec
from . import _matching as ident
from ._context import Ctx

UNUSABLE_JOB = frozenset({"failed", "cancelled"})


def adopted_file(ctx: Ctx, name: str) -> LiveFile | None:
    """The processed file a Dataset adopts, while the spec's bytes still hash to it; else None."""
    adopt = ctx.checked.project.datasets[name].spec.adopt
    if adopt is None or ctx.checked.reports[name].sha256 != adopt.sha256:
        return None
    live = ctx.index.file(adopt.id)
    return live if live is not None and live.status == "processed" else None


def adopted_ids(ctx: Ctx) -> frozenset[str]:
    """The job ids the project's specs adopt: never mistaken for a hand-made twin of a spec's new job."""
    return frozenset(j.spec.adopt for j in ctx.checked.project.jobs.values() if j.spec.adopt)


def adopted_job(ctx: Ctx, name: str, base_model: str) -> tuple[LiveJob | None, dict[str, tuple[Any, Any]]]:
    """(the job spec `name` adopts, if it still is that job; else the fields that differ, live -> spec)."""
    spec = ctx.checked.project.jobs[name].spec
    live = ctx.index.job(spec.adopt) if spec.adopt else None
    if live is None or live.status in UNUSABLE_JOB:
        return None, {}
    files = {ds: f.id for ds, f in ctx.dataset_files.items()}
    changes = job_differences(live, spec, base_model, files)
    return (None, changes) if changes else (live, {})


def job_differences(live: LiveJob, spec: FineTuningJobSpec, base_model: str,
                    files: Mapping[str, str]) -> dict[str, tuple[Any, Any]]:
    """The fields where a live job differs from what the spec says ({field: (live, spec)}); empty: the same.

    `files` maps dataset names to the file ids they resolved to (adopted or uploaded).
    """
    wanted: dict[str, tuple[Any, Any]] = {
        "model": (live.model, base_model),
        "training_file": (live.training_file, files.get(spec.training_data)),
        "validation_file": (live.validation_file, files.get(spec.validation_data) if spec.validation_data else None),
        "method": (live.method or "supervised", spec.method),
        "suffix": (live.suffix or None, spec.suffix),
    }
    if live.training_type is not None:  # Azure names it; a service that does not cannot contradict the spec
        wanted["trainingType"] = (live.training_type.lower(), spec.training_type.lower())
    if spec.seed is not None:
        wanted["seed"] = (live.seed, spec.seed)
    for key, value in spec.hyperparameters.items():
        if value != "auto":
            wanted[key] = (live.hyperparameters.get(key), value)
    if spec.grader is not None:
        wanted["grader"] = (live.grader, spec.grader)
    return {k: (a, b) for k, (a, b) in wanted.items() if not _same(a, b)}


def _same(a: Any, b: Any) -> bool:
    """Equal as Foundry reads them: 2 and 2.0 are one number, true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def untagged(live: LiveDeployment) -> bool:
    """No ftops project's tag (Azure compares tag names case-insensitively)."""
    return not any(k.lower() == ident.META_PROJECT for k in live.tags)


def takes_over(spec: DeploymentSpec, live: LiveDeployment) -> bool:
    """Whether a Deployment spec takes over this live deployment that no ftops project tagged."""
    return spec.adopt and untagged(live)


def managed_deployment(ctx: Ctx, live: LiveDeployment) -> bool:
    """This project's: tagged with its name, or untagged and adopted by the spec of its name."""
    if live.tags.get(ident.META_PROJECT) == ctx.project:
        return True
    spec = ctx.checked.project.deployments.get(live.name)
    return spec is not None and takes_over(spec.spec, live)
