"""`validate` for Evaluations: the held-out set must be chat records, enough of them, none shared with training.

Part of the checks layer (spec and datasets only); `checks.check_project` calls it once the datasets are scanned.
"""

from __future__ import annotations

from pathlib import Path

from ._exceptions import Problem
from .datasets import DatasetReport, first_overlap
from .spec import EvaluationSpec, JobRef, Project, Resource


def check_held_out(project: Project, reports: dict[str, DatasetReport], problems: list[Problem]) -> None:
    for ev in project.evaluations.values():
        name = ev.spec.dataset
        report = reports.get(name)
        if report is None:
            continue
        path = project.dataset_paths[name]
        if report.format not in (None, "chat"):
            problems.append(Problem(f"dataset {name!r} is in {report.format} format; an Evaluation needs chat "
                                    "records (the last assistant message is the reference)", ev.path,
                                    ev.line_of("dataset")))
        if report.examples < ev.spec.pass_rule.min_items:
            problems.append(Problem(f"dataset {name!r} has {report.examples} records, fewer than pass.minItems "
                                    f"({ev.spec.pass_rule.min_items})", ev.path, ev.line_of("pass", "minItems")))
        for dep in project.deployments.values():
            ref = dep.spec.job_ref
            if dep.spec.evaluation is None or dep.spec.evaluation.name != ev.name or ref is None:
                continue  # (a follower has no evaluation of its own: validate refuses one)
            problem = _shared_with_training(project, path, ref.job, ev.name)
            if problem is not None:
                problems.append(problem)
                break
            problems.extend(_not_compared(project, ref.job, ev))


def _shared_with_training(project: Project, held_out: Path, job_name: str, evaluation: str) -> Problem | None:
    """The first held-out record that the job, or a job it continues (`baseModel: {job: ...}`), trained on."""
    for job, train in _training_lineage(project, job_name):
        if train not in project.dataset_paths:
            continue  # a url: `_not_compared` says so
        line = first_overlap(held_out, project.dataset_paths[train])
        if line is not None:
            via = "" if job == job_name else f", which job {job_name!r} continues"
            return Problem(f"held-out record shared with training data {train!r} of job {job!r}{via} "
                           f"(Evaluation {evaluation!r}): an evaluation on training records says nothing",
                           _shown(held_out, project.root), line)
    return None


def _not_compared(project: Project, job_name: str, ev: Resource[EvaluationSpec]) -> list[Problem]:
    """A warning for each training set of the lineage that is a url: ftops reads held-out and training records
    of files of the project only, so an overlap there goes unseen."""
    return [Problem(f"held-out records not compared with training data {train!r} of job {job!r}: it is a url "
                    "(ftops compares files of the project only)", ev.path, ev.line_of("dataset"), "warning")
            for job, train in _training_lineage(project, job_name) if train not in project.dataset_paths]


def _training_lineage(project: Project, job_name: str) -> list[tuple[str, str]]:
    """(job, training dataset) of the job and of every job it continues, nearest first: a continued model
    has learned its base job's training data too."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    name: str | None = job_name
    while name is not None and name not in seen:  # validate refuses cycles; this only must not loop on one
        seen.add(name)
        job = project.jobs.get(name)
        if job is None:
            break
        if job.spec.training_data in project.datasets:
            out.append((name, job.spec.training_data))
        base = job.spec.base_model
        name = base.job if isinstance(base, JobRef) else None
    return out


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
