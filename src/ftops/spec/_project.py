"""Load every spec document under a directory into a Project, with file:line for each problem."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from .._exceptions import FtopsError, Problem, ValidationFailed
from .._spec_files import MAX_SPEC_BYTES, MAX_SPEC_FILES, find_root, spec_files
from .._urls import literal_sas
from ._documents import (
    SPEC_KINDS,
    SPEC_MODELS,
    DatasetSpec,
    DeploymentSpec,
    Envelope,
    FineTuningJobSpec,
    FoundrySpec,
    JobRef,
    SpecKind,
)
from ._evaluation import EvaluationSpec
from ._evaluation_refs import check_evaluations
from ._foundries import (
    assign_foundries,
    check_account_order,
    check_cross_references,
    check_distinct_accounts,
    name_local_accounts,
)
from ._notifications import NotificationSpec
from ._policy import PolicySpec
from ._promotion import check_follows
from ._rai_policy import RaiPolicySpec, check_rai_references
from ._yaml import Document, Loc, YamlError, load_documents

S = TypeVar("S", bound=BaseModel)
_ENV_REF = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${VAR} expands only in these Foundry fields (where an account's coordinates differ per environment),
# and only from variables with these prefixes: a spec must not be able to read (and a plan print)
# any other variable of the runner, such as a CI secret.
ENV_FIELDS = ("endpoint", "subscription", "resourceGroup", "account", "armEndpoint", "resourceId")
ENV_PREFIXES = ("FTOPS_", "AZURE_")


@dataclass(frozen=True)
class UnresolvedEnv:
    """A `${VAR}` in a Foundry connection field whose variable is not set (where, and which)."""

    field: str  # as written in the spec (camelCase)
    variable: str
    path: str
    line: int
    foundry: str = ""  # the Foundry document's metadata.name


@dataclass(frozen=True)
class Resource(Generic[S]):
    """One spec document: kind, name, validated spec and where it was written."""

    kind: SpecKind
    name: str
    spec: S
    path: str  # as shown to the user (relative to the project root when inside it)
    line: int
    doc: Document = field(repr=False, compare=False)
    # The Foundry document this resource lives in (metadata.foundry, else the only one; a Foundry: None).
    foundry: str | None = None

    def line_of(self, *loc: str | int) -> int:
        return self.doc.line_of(("spec", *loc))


def _collections() -> dict[SpecKind, dict[str, Resource[Any]]]:
    return {kind: {} for kind, (_, collection) in SPEC_KINDS.items() if collection is not None}


@dataclass
class Project:
    """Everything the specs under one directory declare.

    `resources` holds each kind's resources by name, one collection per `SPEC_KINDS` entry; the properties
    below are the typed views the layers read. The Foundry documents are `foundries`; `foundry` is the one
    the layers work on: the only one, or the one a `--foundry NAME` chose (`choose_foundry`), else None.
    """

    root: Path
    spec_dir: Path
    foundry: Resource[FoundrySpec] | None = None
    foundries: dict[str, Resource[FoundrySpec]] = field(default_factory=dict)
    resources: dict[SpecKind, dict[str, Resource[Any]]] = field(default_factory=_collections)
    grader_paths: dict[tuple[str, str], Path] = field(default_factory=dict)  # (evaluation, criterion) -> file
    grader_sha256: dict[tuple[str, str], str] = field(default_factory=dict)  # of the source read at load time
    dataset_paths: dict[str, Path] = field(default_factory=dict)  # resolved, inside root
    spec_dir_shown: str = "specs"
    # Connection variables left unset: fine offline (validate), an error for commands that connect
    # (`require_connection`). The field keeps its `${VAR}` text meanwhile.
    unresolved_env: list[UnresolvedEnv] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # found while loading (an old spelling)
    # Every Foundry's resources when this is the Project of one Foundry (`narrow`), else None: read only, for
    # what a resource here names in another Foundry (the Deployment a follower follows, the job behind it).
    whole: dict[SpecKind, dict[str, Resource[Any]]] | None = None

    @property
    def every_deployment(self) -> dict[str, Resource[DeploymentSpec]]:
        """The Deployments of every Foundry of the spec directory (names are unique across them)."""
        return (self.whole or self.resources)["Deployment"]

    @property
    def every_job(self) -> dict[str, Resource[FineTuningJobSpec]]:
        """The FineTuningJobs of every Foundry of the spec directory."""
        return (self.whole or self.resources)["FineTuningJob"]

    @property
    def datasets(self) -> dict[str, Resource[DatasetSpec]]:
        return self.resources["Dataset"]

    @property
    def jobs(self) -> dict[str, Resource[FineTuningJobSpec]]:
        return self.resources["FineTuningJob"]

    @property
    def deployments(self) -> dict[str, Resource[DeploymentSpec]]:
        return self.resources["Deployment"]

    @property
    def evaluations(self) -> dict[str, Resource[EvaluationSpec]]:
        return self.resources["Evaluation"]

    @property
    def notifications(self) -> dict[str, Resource[NotificationSpec]]:
        return self.resources["Notification"]

    @property
    def policies(self) -> dict[str, Resource[PolicySpec]]:
        return self.resources["Policy"]

    @property
    def rai_policies(self) -> dict[str, Resource[RaiPolicySpec]]:
        return self.resources["RaiPolicy"]

    @property
    def project_name(self) -> str:
        """ftops' namespace (spec.namespace, else the Foundry's name): the ftops-project tag and metadata.
        Not a Foundry project; the name is kept because plan files and tags carry it as `project`."""
        if self.foundry is None:
            return "default"
        return self.foundry.spec.namespace or self.foundry.name


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _data_loc(data: Any, loc: Loc) -> Loc:
    """The part of a pydantic error location that exists in the input (drops union member tags)."""
    kept: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, dict) and i + 1 < len(loc) and loc[i + 1] in data:
            continue  # a discriminated union's tag (criteria.0.text_similarity.metric): not in the input
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
        if e["type"] == "value_error":  # our own validators' ValueError: pydantic prefixes "Value error, "
            msg = msg.removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown field {where!r}"
        elif e["type"] == "missing":
            msg = f"missing required field {where!r}"
        else:
            msg = f"{where}: {msg}"
            if e["type"] in ("literal_error", "enum") and "expected" in (e.get("ctx") or {}):
                msg = f"{where}: must be one of {e['ctx']['expected']} (got {_short(e.get('input'))})"
        out.append(Problem(msg, doc.path, doc.line_of(loc)))
    return out


def _yaml_on(doc: Document) -> None:
    """A Notification's plain `on:` key, which YAML 1.1 reads as the boolean true (GitHub workflows have the
    same quirk), becomes the `on` field, with its line."""
    data = doc.data
    spec = data.get("spec") if isinstance(data, dict) and data.get("kind") == "Notification" else None
    if isinstance(spec, dict) and True in spec and "on" not in spec:
        data["spec"] = {("on" if k is True else k): v for k, v in spec.items()}
        doc.lines = {((*loc[:1], "on", *loc[2:]) if loc[:2] == ("spec", True) else loc): n
                     for loc, n in doc.lines.items()}


def _substitute_env(data: dict[str, Any], doc: Document, problems: list[Problem],
                    unresolved: list[UnresolvedEnv], foundry: str) -> dict[str, Any]:
    """Expand ${VAR} in the Foundry connection fields only, from allowed variables only. A variable
    that is not set is recorded (not an error here); a value is never put into a message."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(value, str) or "${" not in value:
            out[key] = value
            continue
        line = doc.line_of(("spec", key))
        if to_camel(str(key)) not in ENV_FIELDS:
            problems.append(Problem(f"spec.{key}: ${{...}} is expanded only in {', '.join(ENV_FIELDS)}",
                                    doc.path, line))
            out[key] = value
            continue

        def expand(m: re.Match[str], key: str = key, line: int = line) -> str:
            return _expand(m, key, doc.path, line, problems, unresolved, foundry)

        out[key] = _ENV_REF.sub(expand, value)
        if "${" in _ENV_REF.sub("", value):
            problems.append(Problem(f"spec.{key}: an unterminated ${{", doc.path, line))
    return out


def _expand(m: re.Match[str], key: str, path: str, line: int, problems: list[Problem],
            unresolved: list[UnresolvedEnv], foundry: str = "") -> str:
    name = m.group(1)
    if not _ENV_NAME.fullmatch(name):
        problems.append(Problem(f"spec.{key}: {m.group(0)[:40]!r} is not a variable reference (${{NAME}})", path, line))
        return m.group(0)
    if not name.startswith(ENV_PREFIXES):
        problems.append(Problem(f"spec.{key}: variable {name} may not be used: only variables named "
                                f"{' or '.join(p + '*' for p in ENV_PREFIXES)} expand (see docs/reference.md)",
                                path, line))
        return m.group(0)
    if name not in os.environ:
        unresolved.append(UnresolvedEnv(key, name, path, line, foundry))
        return m.group(0)
    return os.environ[name]


def _check_url_refs(data: dict[str, Any], doc: Document, problems: list[Problem]) -> None:
    """A Dataset's `url` may hold ${VAR} (a SAS token, say) under the Foundry fields' rules; it is kept
    unexpanded in the Project (and so in plans) and expanded only to read or import (`expand_env`)."""
    url = data.get("url")
    if not isinstance(url, str):
        return
    line = doc.line_of(("spec", "url"))
    for m in _ENV_REF.finditer(url):
        _expand(m, "url", doc.path, line, problems, [])
    if "${" in _ENV_REF.sub("", url):
        problems.append(Problem("spec.url: an unterminated ${", doc.path, line))
    if literal_sas(url):
        problems.append(Problem("spec.url holds a SAS token (sig=): a secret in git. Put the query in a variable "
                                "and write ?${AZURE_...} (see docs/reference.md)", doc.path, line))


def expand_env(text: str, field_name: str, path: str | None = None, line: int | None = None) -> str:
    """`text` (a Dataset's url) with each `${VAR}` replaced by its value, to send it; the references were checked
    at load. An unset variable is a one-line FtopsError naming it, never a value."""
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if not name.startswith(ENV_PREFIXES):
            return m.group(0)  # refused at load already
        if name not in os.environ:
            raise FtopsError(f"environment variable {name} is not set (spec.{field_name})", path=path, line=line)
        return os.environ[name]
    return _ENV_REF.sub(value, text)


def require_connection(project: Project) -> None:
    """For commands that connect: every `${VAR}` of the Foundry document must be set. Raises a
    one-line FtopsError at the first unset one (`ftops validate`, offline, does not call this)."""
    if not project.unresolved_env:
        return
    first = project.unresolved_env[0]
    more = len(project.unresolved_env) - 1
    also = f" (and {more} more: {', '.join(u.variable for u in project.unresolved_env[1:])})" if more else ""
    raise FtopsError(f"environment variable {first.variable} is not set (spec.{first.field}){also}",
                     path=first.path, line=first.line)


def load_project(spec_dir: str | Path, root: str | Path | None = None) -> Project:
    """Parse and check every spec under `spec_dir`. Raises ValidationFailed listing all problems.

    `root` defaults to `find_root(spec_dir)`; datasets and local state must stay inside it."""
    sdir = Path(spec_dir)
    if not sdir.is_dir():
        raise ValidationFailed([Problem("no such spec directory", str(sdir))])
    root_path = Path(root).resolve() if root is not None else find_root(sdir)
    problems: list[Problem] = []
    project = Project(root=root_path, spec_dir=sdir.resolve(), spec_dir_shown=str(spec_dir))
    files = spec_files(sdir)
    if not files:
        raise ValidationFailed([Problem("no spec files (*.yaml, *.yml) found", str(sdir))])
    if len(files) > MAX_SPEC_FILES:
        raise ValidationFailed([Problem(f"more than {MAX_SPEC_FILES} spec files", str(sdir))])
    seen: dict[tuple[str, str], Resource[Any]] = {}
    complete = True  # every file parsed and every document validated (else missing names may be there)
    for file in files:
        docs = _read_documents(file, root_path, problems)
        if docs is None:
            complete = False
            continue
        for doc in docs:
            res = _load_document(doc, problems, project.unresolved_env)
            if res is None:
                complete = False
                continue
            key = (res.kind, res.name)
            if key in seen:
                first = seen[key]
                problems.append(Problem(
                    f"duplicate {res.kind} {res.name!r} (first defined at {first.path}:{first.line})",
                    res.path, res.line))
                continue
            seen[key] = res
            _register(project, res)
    _place(project, problems)
    _check_references(project, problems, complete)
    _check_local_state_dir(project, problems)
    _resolve_dataset_paths(project, problems)
    check_evaluations(project, problems)
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    project.warnings = problems
    return project


def _read_documents(file: Path, root: Path, problems: list[Problem]) -> list[Document] | None:
    """The documents of one spec file, or None after recording why it cannot be read."""
    shown = _display(file, root)
    try:
        real = file.resolve()
        if not real.is_relative_to(root):
            problems.append(Problem(f"spec file resolves outside the project root ({root}); refusing to read it",
                                    shown))
            return None
        size = real.stat().st_size  # before reading: a huge file is refused without being read
        if size > MAX_SPEC_BYTES:
            problems.append(Problem(f"spec file is {size} bytes; the limit is {MAX_SPEC_BYTES}", shown))
            return None
        with real.open("rb") as f:  # at most the limit, even if the file grew since the stat
            data = f.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            problems.append(Problem(f"spec file is over {MAX_SPEC_BYTES} bytes", shown))
            return None
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        problems.append(Problem(f"not valid UTF-8 ({e.reason})", shown, 1))
        return None
    except (OSError, RuntimeError) as e:  # unreadable, or a symlink loop
        problems.append(Problem(f"cannot read spec file: {getattr(e, 'strerror', None) or e}", shown))
        return None
    try:
        return load_documents(text, shown)
    except YamlError as e:
        problems.append(Problem(e.message, shown, e.line))
        return None


def _load_document(doc: Document, problems: list[Problem], unresolved: list[UnresolvedEnv]) -> Resource[Any] | None:
    if not isinstance(doc.data, dict):
        problems.append(Problem("a spec document must be a mapping with apiVersion, kind, metadata, spec",
                                doc.path, doc.line))
        return None
    _yaml_on(doc)
    try:
        env = Envelope.model_validate(doc.data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, doc, ()))
        return None
    data = env.spec
    if env.kind == "Foundry":
        renamed = _namespace_spelling(data, doc, problems)
        if renamed is None:
            return None
        data = _substitute_env(renamed, doc, problems, unresolved, env.metadata.name)
    elif env.kind == "Dataset":
        _check_url_refs(data, doc, problems)
    try:
        spec = SPEC_MODELS[env.kind].model_validate(data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, doc, ("spec",)))
        return None
    return Resource(env.kind, env.metadata.name, spec, doc.path, doc.line_of(("metadata", "name")), doc,
                    env.metadata.foundry)


def _namespace_spelling(data: dict[str, Any], doc: Document, problems: list[Problem]) -> dict[str, Any] | None:
    """`project:` is the old spelling of `namespace:` (it read as if it named a Foundry project): still
    taken, with a warning; both at once is an error (None), as ftops cannot know which one is meant."""
    if "project" not in data:
        return data
    line = doc.line_of(("spec", "project"))
    if "namespace" in data:
        problems.append(Problem("spec.project and spec.namespace are both set: spec.project is the old spelling "
                                "of spec.namespace; keep only namespace", doc.path, line))
        return None
    problems.append(Problem("spec.project is now spec.namespace (ftops' namespace for its tags and metadata, not a "
                            "Foundry project); rename it, the value stays", doc.path, line, "warning"))
    return {("namespace" if k == "project" else k): v for k, v in data.items()}


def _register(project: Project, res: Resource[Any]) -> None:
    """File `res` in the Project's collection for its kind (SPEC_KINDS; the envelope refused any other)."""
    _, collection = SPEC_KINDS[res.kind]
    if collection is not None:
        project.resources[res.kind][res.name] = res
    else:
        project.foundries[res.name] = res


def _place(project: Project, problems: list[Problem]) -> None:
    """Each resource's Foundry; the only Foundry document is the Project's `foundry`."""
    name_local_accounts(project)
    assign_foundries(project, problems)
    check_distinct_accounts(project, problems)
    check_cross_references(project, problems)
    if len(project.foundries) == 1:
        project.foundry = next(iter(project.foundries.values()))


def _check_references(project: Project, problems: list[Problem], complete: bool) -> None:
    if complete:  # else a document that failed may define the missing name: no second error from one
        _check_names(project, problems)
        check_follows(project, problems)
        check_account_order(project, problems)
    _check_cycles(project, problems)


def _check_names(project: Project, problems: list[Problem]) -> None:
    if not project.foundries:
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
        job_ref = dep.spec.job_ref
        if job_ref is not None and job_ref.job not in project.every_job:
            problems.append(Problem(f"model.job names FineTuningJob {job_ref.job!r}, which no spec "
                                    "defines", dep.path, dep.line_of("model", "job")))
    check_rai_references(project, problems)


def _check_cycles(project: Project, problems: list[Problem]) -> None:
    """Continuous fine-tuning chains must end at a base model."""
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


def _check_local_state_dir(project: Project, problems: list[Problem]) -> None:
    """The local Foundry keeps its state under the project root, wherever ftops runs from."""
    for foundry in project.foundries.values():
        if not foundry.spec.local:
            continue
        target = (project.root / foundry.spec.data_dir).resolve()
        if not target.is_relative_to(project.root):
            problems.append(Problem(f"dataDir {foundry.spec.data_dir!r} resolves outside the project root "
                                    f"({project.root})", foundry.path, foundry.line_of("dataDir")))


class _Resolver:
    """`Path.resolve()` for many files in few directories: each directory is resolved once, and a file
    that is not a symbolic link is its resolved directory joined with its name (5,000 datasets cost
    5,000 `lstat`s, not a walk of every path component for each)."""

    def __init__(self) -> None:
        self._dirs: dict[Path, Path] = {}

    def resolve(self, path: Path) -> Path:
        if path.name in ("", ".", "..") or "\0" in str(path):
            return path.resolve()  # as it always was (a NUL byte raises ValueError there)
        real_dir = self._dirs.get(path.parent)
        if real_dir is None:
            real_dir = self._dirs[path.parent] = path.parent.resolve()
        candidate = real_dir / path.name
        return candidate.resolve() if candidate.is_symlink() else candidate


def _resolve_dataset_paths(project: Project, problems: list[Problem]) -> None:
    resolver = _Resolver()
    for ds in project.datasets.values():
        if ds.spec.path is None:
            continue  # a URL: read by the checks, imported by Foundry
        spec_file = project.root / ds.path if not Path(ds.path).is_absolute() else Path(ds.path)
        line = ds.line_of("path")
        shown = _short(ds.spec.path)
        try:
            target = resolver.resolve(spec_file.parent / ds.spec.path)  # follows symlinks
            inside = target.is_relative_to(project.root)
            is_file = inside and target.is_file()
        except (OSError, RuntimeError, ValueError) as e:  # a symlink loop, a NUL byte, a name too long
            reason = getattr(e, "strerror", None) or str(e)
            problems.append(Problem(f"dataset path {shown} cannot be resolved ({reason})", ds.path, line))
            continue
        if not inside:
            problems.append(Problem(f"dataset path {shown} resolves outside the project root "
                                    f"({project.root}); refusing to read it", ds.path, line))
            continue
        if not is_file:
            what = "is not a regular file" if target.exists() else "does not exist"
            problems.append(Problem(f"dataset file {shown} {what}", ds.path, line))
            continue
        project.dataset_paths[ds.name] = target
