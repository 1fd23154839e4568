"""References of Evaluations (datasets, judge deployments, python grader files) and of gated Deployments."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import Problem
from ._evaluation import CANARY_NAME, EvaluationSpec, PythonCriterion, ScoreModelCriterion
from ._python_grader import MAX_SOURCE_BYTES, python_grader_problem

if TYPE_CHECKING:
    from ._project import Project, Resource


def check_evaluations(project: Project, problems: list[Problem]) -> None:
    for ev in project.evaluations.values():
        if ev.spec.dataset not in project.datasets:
            problems.append(Problem(f"dataset names Dataset {ev.spec.dataset!r}, which no spec defines", ev.path,
                                    ev.line_of("dataset")))
        elif project.datasets[ev.spec.dataset].spec.url is not None:
            # ftops reads the held-out records itself (overlap with training data, eval items): a file of the project
            problems.append(Problem(f"dataset {ev.spec.dataset!r} is a url: an Evaluation's held-out set must be a "
                                    "file of the project (path:)", ev.path, ev.line_of("dataset")))
        for i, c in enumerate(ev.spec.criteria):
            if isinstance(c, ScoreModelCriterion) and c.deployment not in project.deployments:
                problems.append(Problem(f"criterion {c.name!r}: deployment names Deployment {c.deployment!r}, "
                                        "which no spec defines", ev.path, ev.line_of("criteria", i, "deployment")))
            elif isinstance(c, PythonCriterion):
                _python_source(project, ev.name, c, ev.path, ev.line_of("criteria", i, "source"), problems)
    for dep in project.deployments.values():
        ref = dep.spec.evaluation
        if ref is not None and ref.name not in project.evaluations:
            problems.append(Problem(f"evaluation.name names Evaluation {ref.name!r}, which no spec defines",
                                    dep.path, dep.line_of("evaluation", "name")))
        if CANARY_NAME.fullmatch(dep.name):
            problems.append(Problem(f"deployment name {dep.name!r} is reserved: ftops names its evaluation canaries "
                                    "<deployment>-eval-<8 hex digits> and deletes them; choose another name",
                                    dep.path, dep.doc.line_of(("metadata", "name"))))
    _check_judges(project, problems)


def _judges(project: Project, deployment: str) -> list[tuple[str, Resource[EvaluationSpec], int]]:
    """(judge deployment, the evaluation, criterion index) for each score_model judging `deployment`."""
    ref = project.deployments[deployment].spec.evaluation
    ev = project.evaluations.get(ref.name) if ref is not None else None
    if ev is None:
        return []
    return [(c.deployment, ev, i) for i, c in enumerate(ev.spec.criteria)
            if isinstance(c, ScoreModelCriterion) and c.deployment in project.deployments]


def _check_judges(project: Project, problems: list[Problem]) -> None:
    """A gated deployment's judge must be rolled out before it: never itself, never through a cycle."""
    for start in sorted(project.deployments):
        for judge, ev, i in _judges(project, start):
            rest = _reach(project, judge, start, {start})
            if rest is None or min([start, *rest]) != start:  # no cycle, or one reported from its first name
                continue
            what = (f"judges its own candidates (criterion {ev.spec.criteria[i].name!r} of Evaluation {ev.name!r}); "
                    "a model cannot judge whether it may replace itself" if not rest else
                    f"is in a judge cycle: {' -> '.join([start, *rest, start])} (each deployment's evaluation is "
                    "judged by the next, so none can be rolled out first)")
            problems.append(Problem(f"deployment {start!r} {what}; name another deployment as the judge", ev.path,
                                    ev.line_of("criteria", i, "deployment")))
            break


def _reach(project: Project, current: str, target: str, seen: set[str]) -> list[str] | None:
    """The chain of judges from `current` back to `target` ([] when current is target), or None."""
    if current == target:
        return []
    if current in seen:
        return None
    for judge, _, _ in _judges(project, current):
        rest = _reach(project, judge, target, seen | {current})
        if rest is not None:
            return [current, *rest]
    return None


def _python_source(project: Project, ev: str, c: PythonCriterion, path: str, line: int,
                   problems: list[Problem]) -> None:
    """Resolve a grader's source like a dataset path (inside the project root), then check Foundry's limits."""
    spec_file = project.root / path if not Path(path).is_absolute() else Path(path)
    try:
        target = (spec_file.parent / c.source).resolve()  # follows symlinks
        inside = target.is_relative_to(project.root)
        is_file = inside and target.is_file()
        size = target.stat().st_size if is_file else 0
    except (OSError, RuntimeError, ValueError) as e:  # a symlink loop, a NUL byte, a name too long
        reason = getattr(e, "strerror", None) or str(e)
        problems.append(Problem(f"python grader source {c.source[:200]!r} cannot be resolved ({reason})", path, line))
        return
    if not inside:
        problems.append(Problem(f"python grader source {c.source[:200]!r} resolves outside the project root "
                                f"({project.root}); refusing to read it", path, line))
        return
    if not is_file:
        what = "is not a regular file" if target.exists() else "does not exist"
        problems.append(Problem(f"python grader source {c.source[:200]!r} {what}", path, line))
        return
    if size >= MAX_SOURCE_BYTES:  # not read: Foundry refuses it anyway
        problems.append(Problem(f"python grader is {size:,} bytes; Foundry accepts less than 256 kB",
                                str(target.relative_to(project.root)), 1))
        return
    try:
        text = target.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(Problem(f"python grader source cannot be read ({e})", path, line))
        return
    found = python_grader_problem(text)
    if found is not None:
        shown = str(target.relative_to(project.root))
        problems.append(Problem(found[0], shown, found[1]))
        return
    project.grader_paths[(ev, c.name)] = target
    project.grader_sha256[(ev, c.name)] = hashlib.sha256(text.encode()).hexdigest()
