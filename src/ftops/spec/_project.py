"""Load every spec document under a directory into a Project, with file:line for each problem."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .._exceptions import Problem, ValidationFailed
from ._models import (
    SPEC_MODELS,
    DatasetSpec,
    DeploymentSpec,
    Envelope,
    FineTuningJobSpec,
    FoundrySpec,
    JobRef,
)
from ._yaml import Document, Loc, YamlError, load_documents

S = TypeVar("S", bound=BaseModel)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Resource(Generic[S]):
    """One spec document: kind, name, validated spec and where it was written."""

    kind: str
    name: str
    spec: S
    path: str  # as shown to the user (relative to the project root when inside it)
    line: int
    doc: Document = field(repr=False, compare=False)

    def line_of(self, *loc: str | int) -> int:
        return self.doc.line_of(("spec", *loc))


@dataclass
class Project:
    """Everything the specs under one directory declare."""

    root: Path
    spec_dir: Path
    foundry: Resource[FoundrySpec] | None = None
    datasets: dict[str, Resource[DatasetSpec]] = field(default_factory=dict)
    jobs: dict[str, Resource[FineTuningJobSpec]] = field(default_factory=dict)
    deployments: dict[str, Resource[DeploymentSpec]] = field(default_factory=dict)
    dataset_paths: dict[str, Path] = field(default_factory=dict)  # resolved, inside root
    spec_dir_shown: str = "specs"

    @property
    def project_name(self) -> str:
        if self.foundry is None:
            return "default"
        return self.foundry.spec.project or self.foundry.name


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _data_loc(data: Any, loc: Loc) -> Loc:
    """The part of a pydantic error location that exists in the input (drops union member tags)."""
    kept: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(data, dict) and isinstance(part, str) and kept[-1:] != [part] and \
                part.replace("_", "").isalnum() and part[:1].islower():
            kept.append(part)  # a missing or unknown key: still a real location
            break
        else:
            break
        kept.append(part)
    return tuple(kept)


def _pydantic_problems(err: ValidationError, doc: Document, prefix: Loc) -> list[Problem]:
    out = []
    seen: set[Loc] = set()
    data = doc.data if not prefix else doc.data.get(prefix[0]) if isinstance(doc.data, dict) else None
    for e in err.errors():
        loc: Loc = (*prefix, *_data_loc(data, tuple(e["loc"])))
        if loc in seen:
            continue  # one message per place: a union reports once per member
        seen.add(loc)
        where = ".".join(str(p) for p in loc)
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown field {where!r}"
        elif e["type"] == "missing":
            msg = f"missing required field {where!r}"
        else:
            msg = f"{where}: {msg}"
            if e["type"] in ("literal_error", "enum") and "expected" in (e.get("ctx") or {}):
                msg = f"{where}: must be one of {e['ctx']['expected']} (got {e.get('input')!r})"
        out.append(Problem(msg, doc.path, doc.line_of(loc)))
    return out


def _substitute_env(data: dict[str, Any], doc: Document, problems: list[Problem]) -> dict[str, Any]:
    """Expand ${VAR} in Foundry connection values only (never in datasets, jobs or deployments)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str):
            def repl(m: re.Match[str], key: str = key) -> str:
                name = m.group(1)
                if name not in os.environ:
                    problems.append(
                        Problem(f"environment variable {name} is not set (spec.{key})", doc.path,
                                doc.line_of(("spec", key)))
                    )
                    return ""
                return os.environ[name]

            value = _ENV.sub(repl, value)
        out[key] = value
    return out


def spec_files(spec_dir: Path) -> list[Path]:
    return sorted(p for p in spec_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_project(spec_dir: str | Path, root: str | Path | None = None) -> Project:
    """Parse and check every spec under `spec_dir`. Raises ValidationFailed listing all problems."""
    root_path = Path(root or os.getcwd()).resolve()
    sdir = Path(spec_dir)
    problems: list[Problem] = []
    if not sdir.is_dir():
        raise ValidationFailed([Problem("no such spec directory", str(sdir))])
    project = Project(root=root_path, spec_dir=sdir.resolve(), spec_dir_shown=str(spec_dir))
    files = spec_files(sdir)
    if not files:
        raise ValidationFailed([Problem("no spec files (*.yaml, *.yml) found", str(sdir))])
    seen: dict[tuple[str, str], Resource[Any]] = {}
    for file in files:
        shown = _display(file, root_path)
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            problems.append(Problem(f"not valid UTF-8 ({e.reason})", shown, 1))
            continue
        try:
            docs = load_documents(text, shown)
        except YamlError as e:
            problems.append(Problem(e.message, shown, e.line))
            continue
        for doc in docs:
            res = _load_document(doc, problems)
            if res is None:
                continue
            key = (res.kind, res.name)
            if key in seen:
                first = seen[key]
                problems.append(Problem(
                    f"duplicate {res.kind} {res.name!r} (first defined at {first.path}:{first.line})",
                    res.path, res.line))
                continue
            seen[key] = res
            _register(project, res, problems)
    _check_references(project, problems)
    _resolve_dataset_paths(project, problems)
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    return project


def _load_document(doc: Document, problems: list[Problem]) -> Resource[Any] | None:
    if not isinstance(doc.data, dict):
        problems.append(Problem("a spec document must be a mapping with apiVersion, kind, metadata, spec",
                                doc.path, doc.line))
        return None
    try:
        env = Envelope.model_validate(doc.data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, doc, ()))
        return None
    data = env.spec
    if env.kind == "Foundry":
        data = _substitute_env(data, doc, problems)
    try:
        spec = SPEC_MODELS[env.kind].model_validate(data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, doc, ("spec",)))
        return None
    return Resource(env.kind, env.metadata.name, spec, doc.path, doc.line_of(("metadata", "name")), doc)


def _register(project: Project, res: Resource[Any], problems: list[Problem]) -> None:
    if res.kind == "Foundry":
        if project.foundry is not None:
            problems.append(Problem(
                f"a second Foundry {res.name!r}: one spec directory manages one Foundry account "
                f"(first is {project.foundry.name!r} at {project.foundry.path}:{project.foundry.line})",
                res.path, res.line))
        else:
            project.foundry = res
    elif res.kind == "Dataset":
        project.datasets[res.name] = res
    elif res.kind == "FineTuningJob":
        project.jobs[res.name] = res
    else:
        project.deployments[res.name] = res


def _check_references(project: Project, problems: list[Problem]) -> None:
    if project.foundry is None:
        problems.append(Problem("no Foundry document: add one (kind: Foundry, spec: {local: true} to try "
                                "ftops locally)", project.spec_dir_shown))
    for job in project.jobs.values():
        for field_name, ref in (("trainingData", job.spec.training_data),
                                ("validationData", job.spec.validation_data)):
            if ref is not None and ref not in project.datasets:
                problems.append(Problem(f"{field_name} names Dataset {ref!r}, which no spec defines",
                                        job.path, job.line_of(field_name)))
        base = job.spec.base_model
        if isinstance(base, JobRef) and base.job not in project.jobs:
            problems.append(Problem(f"baseModel names FineTuningJob {base.job!r}, which no spec defines",
                                    job.path, job.line_of("baseModel")))
    for dep in project.deployments.values():
        if dep.spec.model.job not in project.jobs:
            problems.append(Problem(f"model.job names FineTuningJob {dep.spec.model.job!r}, which no spec "
                                    "defines", dep.path, dep.line_of("model", "job")))
    # Continuous fine-tuning chains must end at a base model.
    for start in project.jobs:
        chain = [start]
        current = start
        while True:
            base = project.jobs[current].spec.base_model
            if not isinstance(base, JobRef) or base.job not in project.jobs:
                break
            if base.job in chain:
                if base.job == start:
                    job = project.jobs[start]
                    cycle = " -> ".join([*chain, base.job])
                    problems.append(Problem(f"continuous fine-tuning cycle: {cycle}", job.path,
                                            job.line_of("baseModel")))
                break
            chain.append(base.job)
            current = base.job


def _resolve_dataset_paths(project: Project, problems: list[Problem]) -> None:
    for ds in project.datasets.values():
        spec_file = project.root / ds.path if not Path(ds.path).is_absolute() else Path(ds.path)
        target = (spec_file.parent / ds.spec.path).resolve()  # follows symlinks
        line = ds.line_of("path")
        if not target.is_relative_to(project.root):
            problems.append(Problem(f"dataset path {ds.spec.path!r} resolves outside the project root "
                                    f"({project.root}); refusing to read it", ds.path, line))
            continue
        if not target.is_file():
            problems.append(Problem(f"dataset file {ds.spec.path!r} does not exist", ds.path, line))
            continue
        project.dataset_paths[ds.name] = target
