"""Offline checks of a loaded Project against the catalog and its datasets (`ftops validate`).

Sits beside spec/datasets/catalog (it imports only those three); plan and cli build on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from . import _urls as urls
from ._evalchecks import check_held_out
from ._exceptions import FtopsError, Problem, ValidationFailed
from .catalog import Catalog, ModelInfo, load_catalog
from .datasets import METHOD_FORMAT, DatasetReport, HashCache, LineProblem, ScanOptions, UrlAuth, scan_url
from .spec import (
    DatasetSpec,
    DeploymentSpec,
    FineTuningJobSpec,
    JobRef,
    Project,
    Resource,
    choose_foundries,
    choose_foundry,
    expand_env,
    foundry_names,
    load_project,
    narrow,
    source_job_name,
    upstream_closure,
)


@dataclass
class CheckedProject:
    """A project that passed every check, with its dataset reports (hash, counts)."""

    project: Project
    catalog: Catalog
    reports: dict[str, DatasetReport] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    cache_hits: int = 0

    def base_model_info(self, job_name: str) -> ModelInfo | None:
        return self.catalog.get(root_base_model(self.project, job_name))

    def served_model_info(self, dep: Resource[DeploymentSpec]) -> ModelInfo | None:
        """The catalog's entry of the base model behind what Deployment `dep` serves: its own job's, or that
        of the job at the end of its chain of follows (maybe another Foundry's)."""
        return self.base_model_info(source_job_name(self.project, dep))

    def import_url(self, dataset: str) -> str:
        """The url dataset `dataset` is imported from, its `${VAR}`s expanded. A plan file holds it without its
        query's values (SAS tokens are secrets), so apply reads it here, after checking that the plan was made
        for this url; nothing else of a spec is read after planning."""
        ds = self.project.datasets[dataset]
        if ds.spec.url is None:
            raise FtopsError(f"dataset {dataset} names no url", path=ds.path)
        return expand_env(ds.spec.url, "url", ds.path, ds.line_of("url"))


def root_base_model(project: Project, job_name: str) -> str:
    """The catalog base model at the root of a continuous fine-tuning chain."""
    seen: set[str] = set()
    jobs = project.every_job  # a follower's job may be another Foundry's (`spec/_promotion.py`)
    if job_name not in jobs:
        return ""
    job = jobs[job_name]
    while isinstance(job.spec.base_model, JobRef) and job.name not in seen:
        seen.add(job.name)
        job = jobs[job.spec.base_model.job]
    base = job.spec.base_model
    return base if isinstance(base, str) else ""


def _check_job(job: Resource[FineTuningJobSpec], project: Project, catalog: Catalog, region: str,
               problems: list[Problem]) -> None:
    s = job.spec
    base = root_base_model(project, job.name)
    info = catalog.get(base)
    if info is None:
        known = ", ".join(sorted(catalog.models))
        problems.append(Problem(f"base model {base!r} is not in the catalog (known: {known}); add it to "
                                "ftops.catalog.yaml if Foundry supports it", job.path, job.line_of("baseModel")))
        return
    _check_model_rules(job, info, region, problems)
    if s.suffix is not None and not catalog.suffix_ok(s.suffix):
        shown = repr(s.suffix) if len(s.suffix) <= 60 else f"{s.suffix[:60]!r}... ({len(s.suffix):,} characters)"
        problems.append(Problem(f"suffix {shown} is invalid: Foundry allows at most {catalog.suffix_max} "
                                "characters of [A-Za-z0-9_-] (no dots)", job.path, job.line_of("suffix")))
    if s.method == "reinforcement":
        if s.grader is None:
            problems.append(Problem("method reinforcement needs a grader", job.path, job.line))
        if s.validation_data is None:
            problems.append(Problem("method reinforcement needs validationData (Foundry requires a "
                                    "validation set for RFT)", job.path, job.line))
    elif s.grader is not None:
        problems.append(Problem(f"grader is only used by method reinforcement (method is {s.method})",
                                job.path, job.line_of("grader")))


def _check_model_rules(job: Resource[FineTuningJobSpec], info: ModelInfo, region: str,
                       problems: list[Problem]) -> None:
    """What the base model cannot do, each refusal naming the rule and the page it comes from."""
    s = job.spec
    if s.method not in info.methods:
        problems.append(Problem(f"method {s.method!r} is not supported for {info.name} "
                                f"(supported: {', '.join(info.methods)}; {info.cite('methods')})",
                                job.path, job.line_of("method")))
    regions = info.training_regions(s.training_type)
    if not ModelInfo.allows(regions, region):
        allowed = [t for t in info.training if ModelInfo.allows(info.training[t], region)]
        where = f"in region {region}" if regions is not None else "at all"
        problems.append(Problem(f"trainingType {s.training_type} is not available for {info.name} {where} "
                                f"(available there: {', '.join(allowed) or 'none'}; {info.cite('training')})",
                                job.path, job.line_of("trainingType")))
    if s.paused and not info.pause_resume:
        problems.append(Problem(f"paused: true, but Foundry cannot pause or resume jobs on {info.name} "
                                f"({info.cite('pauseResume')})", job.path, job.line_of("paused")))
    for i, guard in enumerate(s.guards):
        if guard.action == "pause" and not info.pause_resume:
            problems.append(Problem(f"guards[{i}] pauses the job, but Foundry cannot pause or resume jobs on "
                                    f"{info.name}: use action: cancel ({info.cite('pauseResume')})", job.path,
                                    job.line_of("guards", i)))
    if isinstance(s.base_model, JobRef) and not info.continuous_fine_tuning:
        problems.append(Problem(f"continuous fine-tuning (baseModel: {{job: {s.base_model.job}}}) is not supported "
                                f"for {info.name} ({info.cite('continuousFineTuning')})", job.path,
                                job.line_of("baseModel")))
    if info.access == "invitation":
        problems.append(Problem(f"{info.name} fine-tuning ({', '.join(info.methods)}) is available by invitation "
                                f"only: the job fails unless the subscription is enrolled ({info.cite('methods')})",
                                job.path, job.line_of("baseModel"), "warning"))


def _dataset_users(project: Project) -> dict[str, list[Resource[FineTuningJobSpec]]]:
    """The jobs that train or validate on each dataset, in spec order (one pass, not one per dataset)."""
    users: dict[str, list[Resource[FineTuningJobSpec]]] = {name: [] for name in project.datasets}
    for j in project.jobs.values():
        for name in dict.fromkeys((j.spec.training_data, j.spec.validation_data)):
            if name in users:
                users[name].append(j)
    return users


def _dataset_options(project: Project, catalog: Catalog, name: str, count_tokens: bool,
                     problems: list[Problem], users: list[Resource[FineTuningJobSpec]]) -> ScanOptions:
    ds = project.datasets[name]
    formats = {METHOD_FORMAT[j.spec.method] for j in users}
    fmt: str | None = ds.spec.format
    if fmt is not None and formats and formats != {fmt}:
        problems.append(Problem(f"dataset format {fmt} does not match the method of the jobs using it "
                                f"({', '.join(sorted(formats))})", ds.path, ds.line_of("format")))
    elif fmt is None and len(formats) > 1:
        problems.append(Problem(f"dataset is used by jobs with different methods ({', '.join(sorted(formats))})",
                                ds.path, ds.line))
    elif fmt is None and formats:
        fmt = formats.pop()
    infos = [i for j in users if (i := catalog.get(root_base_model(project, j.name))) is not None]
    return ScanOptions(
        expected_format=fmt,
        vision=all(i.vision for i in infos),
        count_tokens=count_tokens,
        encoding=infos[0].encoding if infos else "o200k_base",
        max_example_tokens=min((i.max_example_tokens for i in infos if i.max_example_tokens is not None),
                               default=None) if count_tokens else None,
        min_examples=catalog.min_examples,
        # Only training sets need many examples; a small validation set is normal.
        recommended_examples=catalog.recommended_examples
        if any(j.spec.training_data == name for j in users) else 0,
        max_file_bytes=catalog.max_file_bytes,
    )


def check_project(project: Project, *, count_tokens: bool = True, use_cache: bool = True,
                  url_auth: UrlAuth | None = None) -> CheckedProject:
    """Run every offline check. Raises ValidationFailed with all problems (errors and warnings).

    A dataset named by `url` is read over the network (the one check that is not offline); `url_auth` gives
    the headers for an Azure Blob URL without a SAS (an Entra ID token), from a layer that may talk to Azure."""
    catalog = load_catalog(project.root)
    problems: list[Problem] = list(project.warnings)  # the loader's (an old spelling) come first
    region = project.foundry.spec.region if project.foundry else "swedencentral"
    for job in project.jobs.values():
        _check_job(job, project, catalog, region, problems)
    for dep in project.deployments.values():
        # in this Foundry's region, whichever account trained the model (Learn: the new region must offer it)
        info = catalog.get(root_base_model(project, source_job_name(project, dep)))
        if info is not None and not ModelInfo.allows(info.deployment.get(dep.spec.sku.name), region):
            allowed = [k for k, v in info.deployment.items() if ModelInfo.allows(v, region)]
            problems.append(Problem(f"sku {dep.spec.sku.name} is not available for fine-tuned {info.name} in "
                                    f"{region} (available: {', '.join(allowed) or 'none'}; "
                                    f"{info.cite('deployment')})", dep.path, dep.line_of("sku", "name")))
    checked = CheckedProject(project, catalog)
    cache = HashCache(project.root if use_cache else None)
    users = _dataset_users(project)
    for name, ds in project.datasets.items():
        opts = _dataset_options(project, catalog, name, count_tokens, problems, users[name])
        if ds.spec.url is not None:
            _check_url_dataset(ds, opts, url_auth, checked, problems)
            continue
        path = project.dataset_paths[name]
        report = cache.scan(path, opts)
        checked.reports[name] = report
        _report_problems(report, _shown(path, project.root), None, problems)
    cache.save()
    checked.cache_hits = cache.hits
    check_held_out(project, checked.reports, problems)
    _check_twins(project, checked.reports, problems)
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    checked.warnings.extend(problems)
    return checked


def _check_url_dataset(ds: Resource[DatasetSpec], opts: ScanOptions, auth: UrlAuth | None, checked: CheckedProject,
                       problems: list[Problem]) -> None:
    """Read a URL dataset (its SAS expanded only here, to send it) and check it as a file is checked. A URL
    that cannot be read gets an unread report (no sha256) as a file that cannot be read does."""
    assert ds.spec.url is not None
    line = ds.line_of("url")
    try:
        url = expand_env(ds.spec.url, "url", ds.path, line)
        refused = urls.url_problem(url)
    except FtopsError as e:
        url, refused = "", f"{e.message}: ftops cannot read the dataset"
    if refused is None:
        report = scan_url(url, opts, auth=auth)
    else:
        report = DatasetReport(sha256="", size=0, bom=False, format=opts.expected_format,
                               problems=[LineProblem(None, refused)])
    checked.reports[ds.name] = report
    _report_problems(report, urls.shown(ds.spec.url), (ds.path, line), problems)


def _report_problems(report: DatasetReport, shown: str, spec_at: tuple[str, int] | None,
                     problems: list[Problem]) -> None:
    """The report's problems at their data line; those of no line at `spec_at` (a URL's spec line) if given."""
    for p in report.problems:
        at = spec_at if p.line is None and spec_at is not None else (shown, p.line)
        problems.append(Problem(p.message, at[0], at[1], p.severity))
    if report.problems_omitted:
        problems.append(Problem(f"... and {report.problems_omitted} more problems", shown))


def _check_twins(project: Project, reports: dict[str, DatasetReport], problems: list[Problem]) -> None:
    """Refuse two jobs of one training content: a job is what it trains on (its identity, not its name), so
    two such specs would claim one live job, or train the same thing twice."""
    sha256 = {name: r.sha256 for name, r in reports.items()}
    first: dict[bytes, Resource[FineTuningJobSpec]] = {}
    for job in project.jobs.values():
        base = job.spec.base_model
        content = job.spec.training_content(f"job:{base.job}" if isinstance(base, JobRef) else base, sha256)
        twin = first.setdefault(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), job)
        if twin is not job:
            problems.append(Problem(
                f"FineTuningJob {job.name} trains exactly what FineTuningJob {twin.name} ({twin.path}:{twin.line}) "
                "trains (same base model, data, method, hyperparameters, training type, seed and suffix), so both "
                f"would be one job: point {job.name}'s deployments at {twin.name}, or change its seed or suffix",
                job.path, job.line))


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def validate_dir(spec_dir: str | Path, root: str | Path | None = None, *, foundry: str | None = None,
                 count_tokens: bool = True, use_cache: bool = True, url_auth: UrlAuth | None = None) -> CheckedProject:
    """Load and check a spec directory for the one Foundry a command works on: `foundry`, or the only one
    (`choose_foundry` refuses several without a name)."""
    project = choose_foundry(load_project(spec_dir, root), foundry)
    return check_project(project, count_tokens=count_tokens, use_cache=use_cache, url_auth=url_auth)


@dataclass
class CheckedAccounts:
    """A spec directory checked for a run over several accounts: the whole Project (its waves, its local
    Foundries) and each Foundry's part of it the run connects to, checked, by name: the chosen ones, and the
    accounts they follow (`read_only`: a narrowed run reads and plans them only for what they offer the chosen
    ones, never applies or shows them as its changes)."""

    project: Project
    accounts: dict[str, CheckedProject]
    read_only: frozenset[str] = frozenset()

    @property
    def chosen(self) -> list[str]:
        """The accounts the run works on (shows, saves and applies), in `accounts` order."""
        return [n for n in self.accounts if n not in self.read_only]


def validate_accounts(spec_dir: str | Path, foundries: list[str], root: str | Path | None = None, *,
                      one: bool = False, url_auth: UrlAuth | None = None) -> CheckedAccounts:
    """Load the spec directory and check the part of each Foundry in `foundries` (every one when empty), as
    `validate_dir` checks one: with one Foundry document, exactly what `validate_dir` checks. `one`: a command
    that works on one account, so several documents and no name is refused (`choose_foundry`)."""
    project = load_project(spec_dir, root)
    if one and not foundries:
        choose_foundry(project, None)
    names = choose_foundries(project, foundries)
    if len(project.foundries) <= 1 and not foundries:
        only = check_project(project, url_auth=url_auth)  # no Foundry document at all is one of its problems
        return CheckedAccounts(project, {n: only for n in names})
    upstream = upstream_closure(project, names)  # checked too: their plans decide what the chosen ones serve
    checked: dict[str, CheckedProject] = {}
    problems: list[Problem] = []
    for name in [*names, *upstream]:
        try:
            checked[name] = check_project(choose_foundry(project, name), url_auth=url_auth)
        except ValidationFailed as e:
            problems.extend(p for p in e.problems if p not in problems)  # the loader's warnings come with each
    if problems:
        raise ValidationFailed(problems)
    return CheckedAccounts(project, checked, frozenset(upstream))


def validate_every(spec_dir: str | Path, root: str | Path | None = None, *, foundry: str | None = None,
                   count_tokens: bool = True, use_cache: bool = True,
                   url_auth: UrlAuth | None = None) -> list[CheckedProject]:
    """`ftops validate`: each Foundry's part of the spec directory checked (or only `foundry`'s), one
    CheckedProject per Foundry; the problems of all of them are raised together."""
    project = load_project(spec_dir, root)
    names = foundry_names(project) if foundry is None else [foundry]
    if len(names) <= 1:
        one = choose_foundry(project, foundry)
        return [check_project(one, count_tokens=count_tokens, use_cache=use_cache, url_auth=url_auth)]
    checked: list[CheckedProject] = []
    problems: list[Problem] = []
    for name in names:
        try:
            checked.append(check_project(narrow(project, name), count_tokens=count_tokens, use_cache=use_cache,
                                         url_auth=url_auth))
        except ValidationFailed as e:
            problems.extend(p for p in e.problems if p not in problems)  # the loader's warnings come with each
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    return checked
