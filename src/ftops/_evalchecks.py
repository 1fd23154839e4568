"""`validate` for Evaluations: the held-out set must be chat records, enough of them, none shared with training.

Part of the checks layer (spec and datasets only); `checks.check_project` calls it once the datasets are scanned.
"""

from __future__ import annotations

from pathlib import Path

from ._exceptions import Problem
from .datasets import DatasetReport, first_overlap
from .spec import Project


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
            if dep.spec.evaluation is None or dep.spec.evaluation.name != ev.name:
                continue
            job = project.jobs.get(dep.spec.model.job)
            train = job.spec.training_data if job else None
            if train is not None and train in project.datasets and train not in project.dataset_paths:
                problems.append(Problem(f"held-out records not compared with training data {train!r}: it is a url "
                                        "(ftops compares files of the project only)", ev.path, ev.line_of("dataset"),
                                        "warning"))
                continue
            if train is None or train not in project.dataset_paths:
                continue
            line = first_overlap(path, project.dataset_paths[train])
            if line is not None:
                problems.append(Problem(
                    f"held-out record shared with training data {train!r} of job {job.name if job else ''!r} "
                    f"(Evaluation {ev.name!r}): an evaluation on training records says nothing",
                    _shown(path, project.root), line))
                break


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
