"""`ftops import`: which specs describe the files, jobs and deployments made outside ftops (pure).

Terraform's `import` blocks with `plan -generate-config-out` and azd's "clone job" are the models: the
account is read (the Foundry layer), this module decides the specs, typed, each with `adopt:` (see
`_adoption.py`) so that the next plan follows the object instead of making a new one; the CLI renders them.
What it leaves alone, it says why: objects a spec of the directory already names, objects ftops made (their
project's specs manage them), failed or cancelled jobs, jobs whose data is gone, deployments of base models.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from .._exceptions import UsageError
from .._vocabulary import SKU_NAMES, TRAINING_TYPES, SkuName, TrainingType
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveCheckpoint, LiveDeployment, LiveFile, LiveJob, Snapshot
from ..spec import (
    HYPERPARAMETER_MODELS,
    DatasetAdoption,
    DatasetSpec,
    DeploymentSpec,
    Epoch,
    FineTuningJobSpec,
    JobRef,
    ModelRef,
    Project,
    Sku,
)
from . import _matching as ident
from ._adoption import UNUSABLE_JOB, untagged
from ._import_names import dataset_stem, spec_name, unique_name, valid_name

DATA_DIR = "data"  # beside the output file: where the adopted files' content is written
Checkpoint = Literal["final"] | Epoch


@dataclass(frozen=True)
class ImportedDataset:
    name: str
    file: LiveFile
    path: str  # relative to the output file: where import writes the file's content

    def spec(self, sha256: str) -> DatasetSpec:
        """The spec, once the content is downloaded and hashed."""
        return DatasetSpec(path=self.path, adopt=DatasetAdoption(id=self.file.id, sha256=sha256))


@dataclass(frozen=True)
class ImportedJob:
    name: str
    spec: FineTuningJobSpec
    job: LiveJob


@dataclass(frozen=True)
class ImportedDeployment:
    name: str
    spec: DeploymentSpec
    deployment: LiveDeployment
    job_id: str


@dataclass(frozen=True)
class Skipped:
    what: str  # "job ftjob-...", "file file-... (train.jsonl)", "deployment x"
    why: str
    managed: bool = False  # already ftops' (a spec of the directory, or ftops' names): said only when asked for


@dataclass
class ImportDecision:
    datasets: list[ImportedDataset] = field(default_factory=list)
    jobs: list[ImportedJob] = field(default_factory=list)
    deployments: list[ImportedDeployment] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.datasets or self.jobs or self.deployments)

    def without_datasets(self, failed: Mapping[str, str]) -> ImportDecision:
        """This decision without the datasets in `failed` (name -> why their content could not be had), nor
        what needs them: the jobs that train on them (and the jobs trained on those jobs' models), and the
        deployments of those jobs, each left alone with the reason."""
        out = ImportDecision(skipped=list(self.skipped))
        gone: dict[str, str] = {}  # job spec name -> why
        for d in self.datasets:
            if d.name in failed:
                out.skipped.append(Skipped(f"file {d.file.id} ({d.file.filename})", failed[d.name]))
            else:
                out.datasets.append(d)
        for j in self.jobs:  # in order: a base job before the jobs trained on its model
            s = j.spec
            lost = next((ds for ds in (s.training_data, s.validation_data) if ds in failed), None)
            base = s.base_model.job if isinstance(s.base_model, JobRef) else None
            if lost is not None:
                gone[j.name] = f"its data {lost} is not imported: {failed[lost]}"
            elif base is not None and base in gone:
                gone[j.name] = f"it was trained on the model of {base}, which is not imported"
            else:
                out.jobs.append(j)
                continue
            out.skipped.append(Skipped(f"job {j.job.id}", gone[j.name]))
        for dep in self.deployments:
            if dep.spec.job_ref is not None and dep.spec.job_ref.job in gone:
                out.skipped.append(Skipped(f"deployment {dep.name}", f"its job {dep.job_id} is not imported"))
            else:
                out.deployments.append(dep)
        return out


@dataclass
class _Known:
    """What the directory's specs already name, and the account's objects by id."""

    checked: CheckedProject
    snapshot: Snapshot
    project: Project = field(init=False)
    files: dict[str, LiveFile] = field(init=False)
    jobs: dict[str, LiveJob] = field(init=False)
    by_model: dict[str, LiveJob] = field(init=False)  # fine-tuned model -> the job that made it
    dataset_of: dict[str, str] = field(init=False)  # file id -> the Dataset spec that names it
    job_spec_of: dict[str, str] = field(init=False)  # job id -> the FineTuningJob spec that adopts it

    def __post_init__(self) -> None:
        self.project = self.checked.project
        self.files = {f.id: f for f in self.snapshot.files}
        self.jobs = {j.id: j for j in self.snapshot.jobs}
        self.by_model = {j.fine_tuned_model: j for j in self.snapshot.jobs if j.fine_tuned_model}
        p = self.project
        self.dataset_of = {d.spec.adopt.id: n for n, d in p.datasets.items() if d.spec.adopt}
        for f in self.snapshot.files:
            parsed = ident.parse_file_name(f.filename)
            if parsed and parsed[0] == p.project_name and parsed[1] in p.datasets:
                self.dataset_of.setdefault(f.id, parsed[1])
        self.job_spec_of = {j.spec.adopt: n for n, j in p.jobs.items() if j.spec.adopt}

    def named_job(self, job: LiveJob) -> str | None:
        """The FineTuningJob spec of the directory that is this job (adopts it, or made it), if any."""
        if job.id in self.job_spec_of:
            return self.job_spec_of[job.id]
        spec = job.metadata.get(ident.META_SPEC)
        if job.metadata.get(ident.META_PROJECT) == self.project.project_name and spec in self.project.jobs:
            return spec
        return None


def checkpoint_needs(snapshot: Snapshot) -> set[str]:
    """The jobs whose checkpoints tell what an untagged deployment serves: when a deployment serves neither a
    job's fine-tuned model nor a base model a job trained on, it may serve a checkpoint of a succeeded job."""
    finals = {j.fine_tuned_model for j in snapshot.jobs if j.fine_tuned_model}
    bases = {j.model for j in snapshot.jobs}
    if all(d.model in finals or d.model in bases or not untagged(d) for d in snapshot.deployments):
        return set()
    return {j.id for j in snapshot.jobs if j.status == "succeeded" and j.fine_tuned_model}


def decide_import(checked: CheckedProject, snapshot: Snapshot, checkpoints: Mapping[str, list[LiveCheckpoint]],
                  ids: Collection[str] = ()) -> ImportDecision:
    """The specs that adopt what no spec of the checked directory names (all of it, or only `ids`: file ids,
    job ids, deployment names, with what they need: a deployment its job, a job its data and base job)."""
    known = _Known(checked, snapshot)
    _check_ids(known, ids)
    out = ImportDecision()
    served = {d.name: _served(known, d, checkpoints) for d in snapshot.deployments}
    wanted_jobs = _wanted_jobs(known, served, ids)
    names = _Names(checked.project)
    job_names = _import_jobs(known, wanted_jobs, out, names)
    _import_deployments(known, served, job_names, ids, out)
    _import_lone_files(known, ids, out, names)
    return out


def _check_ids(known: _Known, ids: Collection[str]) -> None:
    deployments = {d.name for d in known.snapshot.deployments}
    for i in ids:
        if i not in known.files and i not in known.jobs and i not in deployments:
            raise UsageError(f"--id {i}: no fine-tune file, fine-tuning job or deployment of this account has that "
                             "id (or name)")


@dataclass
class _Names:
    """Names given so far, per kind: the directory's specs and this import's."""

    project: Project
    datasets: set[str] = field(init=False)
    jobs: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.datasets = set(self.project.datasets)
        self.jobs = set(self.project.jobs)

    def dataset(self, file: LiveFile) -> str:
        name = unique_name(spec_name(dataset_stem(file.filename), "data"), self.datasets)
        self.datasets.add(name)
        return name

    def job(self, job: LiveJob) -> str:
        name = unique_name(spec_name(job.suffix or job.id, "job"), self.jobs)
        self.jobs.add(name)
        return name


def _served(known: _Known, d: LiveDeployment, checkpoints: Mapping[str, list[LiveCheckpoint]]
            ) -> tuple[LiveJob, Checkpoint] | None:
    """(the job, the checkpoint) whose model deployment `d` serves; None when no job made it."""
    if d.model is None:
        return None
    if d.model in known.by_model:
        return known.by_model[d.model], "final"
    for job_id, cps in checkpoints.items():
        job = known.jobs.get(job_id)
        epoch = _epoch_of(job, cps, d.model) if job is not None else None
        if job is not None and epoch is not None:
            return job, Epoch(epoch=epoch)
    return None


def _epoch_of(job: LiveJob, checkpoints: list[LiveCheckpoint], model: str) -> int | None:
    """The epoch of the checkpoint deployed as `model` (Foundry keeps the last epochs' checkpoints: the last
    one is the fine-tuned model, earlier ones deploy by their id), as `_resolve.resolve_model` counts them."""
    cps = sorted(checkpoints, key=lambda c: c.step_number)
    n = job.n_epochs or len(cps)
    for i, c in enumerate(cps):
        if model in (c.id, c.fine_tuned_model_checkpoint):
            epoch = n - (len(cps) - 1 - i)
            return epoch if epoch >= 1 else None
    return None


def _wanted_jobs(known: _Known, served: Mapping[str, tuple[LiveJob, Checkpoint] | None],
                 ids: Collection[str]) -> list[LiveJob]:
    """The jobs to consider, oldest first (a base job before the jobs trained on its model)."""
    if not ids:
        chosen = list(known.snapshot.jobs)
    else:
        chosen = [known.jobs[i] for i in ids if i in known.jobs]
        chosen += [s[0] for name, s in served.items() if name in ids and s is not None]
    picked: dict[str, LiveJob] = {}
    todo = list(chosen)
    while todo:  # and the jobs whose models they were trained on
        job = todo.pop()
        if job.id not in picked:
            picked[job.id] = job
            if job.model in known.by_model:
                todo.append(known.by_model[job.model])
    return sorted(picked.values(), key=lambda j: (j.created_at, j.id))


def _import_jobs(known: _Known, jobs: list[LiveJob], out: ImportDecision, names: _Names) -> dict[str, str]:
    """Import each job that can be adopted; returns job id -> spec name, for every job a spec will name."""
    spec_of = {jid: name for jid, name in known.job_spec_of.items()}
    for job in known.snapshot.jobs:
        if (named := known.named_job(job)) is not None:
            spec_of[job.id] = named
    files: dict[str, str] = {}  # file id -> dataset name, for this import's datasets
    for job in jobs:
        if job.id in spec_of:
            out.skipped.append(Skipped(f"job {job.id}", f"FineTuningJob {spec_of[job.id]} already names it", True))
            continue
        refused = _unadoptable(known, job, spec_of)
        if refused is not None:
            out.skipped.append(Skipped(f"job {job.id}", *refused))
            continue
        before = len(out.datasets)
        datasets = [_dataset_for(known, fid, files, out, names) for fid in (job.training_file, job.validation_file)]
        name = names.job(job)
        spec = _job_spec(known, job, spec_of, datasets[0] or "", datasets[1])
        if isinstance(spec, str):  # no spec after all: neither its name nor its new datasets are taken
            names.jobs.discard(name)
            for d in out.datasets[before:]:
                files.pop(d.file.id, None)
                names.datasets.discard(d.name)
            del out.datasets[before:]
            out.skipped.append(Skipped(f"job {job.id}", spec))
            continue
        spec_of[job.id] = name
        out.jobs.append(ImportedJob(name, spec, job))
    return spec_of


def _unadoptable(known: _Known, job: LiveJob, spec_of: Mapping[str, str]) -> tuple[str, bool] | None:
    """(why a job cannot be adopted, whether ftops manages it already), or None."""
    owner = job.metadata.get(ident.META_PROJECT)
    if owner is not None:
        return f"made by ftops (project {owner}): that project's specs manage it", True
    why = _unusable(known, job, spec_of)
    return (why, False) if why is not None else None


def _unusable(known: _Known, job: LiveJob, spec_of: Mapping[str, str]) -> str | None:
    if job.status in UNUSABLE_JOB:
        detail = f": {job.error}" if job.error else ""
        return f"it {job.status}{detail}; nothing to adopt (its model does not exist)"
    for role, fid in (("training", job.training_file), ("validation", job.validation_file)):
        if fid and fid not in known.files:
            return (f"its {role} file {fid} is deleted: ftops cannot know the bytes it trained on (a Dataset is its "
                    "bytes)")
    if not job.training_file:
        return "Foundry names no training file for it"
    if (job.method or "supervised") not in HYPERPARAMETER_MODELS:
        return f"its method {job.method} is not one ftops trains with ({', '.join(HYPERPARAMETER_MODELS)})"
    base = known.by_model.get(job.model)
    if base is not None and base.id not in spec_of:
        return f"it was trained on the model of job {base.id}, which is not imported (said above)"
    catalog = known.checked.catalog
    if base is None and catalog.get(job.model) is None:
        return (f"its base model {job.model} is not in ftops' catalog: add it to ftops.catalog.yaml if Foundry "
                "supports it, then import again")
    if job.suffix and not catalog.suffix_ok(job.suffix):
        return f"its suffix {job.suffix!r} is not one Foundry takes (at most {catalog.suffix_max} of [A-Za-z0-9_-])"
    return None


def _dataset_for(known: _Known, file_id: str | None, files: dict[str, str], out: ImportDecision,
                 names: _Names) -> str | None:
    """The Dataset spec that names file `file_id`: the directory's, this import's, or a new one."""
    if file_id is None:
        return None
    if file_id in known.dataset_of:
        return known.dataset_of[file_id]
    if file_id not in files:
        file = known.files[file_id]
        name = names.dataset(file)
        files[file_id] = name
        out.datasets.append(ImportedDataset(name, file, f"{DATA_DIR}/{name}.jsonl"))
    return files[file_id]


def _job_spec(known: _Known, job: LiveJob, spec_of: Mapping[str, str], training: str,
              validation: str | None) -> FineTuningJobSpec | str:
    """The spec that says exactly what `job` trained (the spec, or why there is none)."""
    method = job.method or "supervised"
    training_type = _training_type(job.training_type)
    if training_type is None:
        return f"its trainingType {job.training_type} is not one ftops knows ({', '.join(TRAINING_TYPES)})"
    base = known.by_model.get(job.model)
    base_model: str | JobRef = JobRef(job=spec_of[base.id]) if base is not None else job.model
    seed = job.seed if job.seed is not None and 0 <= job.seed < 2**31 else None
    try:
        return FineTuningJobSpec.model_validate({  # validated as a written spec is: Foundry's answer is input
            "base_model": base_model, "method": method, "training_type": training_type, "training_data": training,
            "validation_data": validation, "hyperparameters": _resolved_hyperparameters(method, job),
            "suffix": job.suffix or None, "seed": seed, "grader": job.grader if method == "reinforcement" else None,
            "adopt": job.id})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"Foundry's answer does not fit a FineTuningJob spec ({where}: {first['msg']})"


def _training_type(value: str | None) -> TrainingType | None:
    if value is None:
        return "Standard"  # Azure's default when a job names none
    return next((t for t in TRAINING_TYPES if t.lower() == value.lower()), None)


def _resolved_hyperparameters(method: str, job: LiveJob) -> dict[str, int | float | str]:
    """Each hyperparameter Foundry resolved that the method's model takes (values it has not resolved yet,
    such as Azure's -1 before a job runs, are left out: Foundry decides them, as "auto")."""
    model = HYPERPARAMETER_MODELS[method]
    out: dict[str, int | float | str] = {}
    for key, value in sorted(job.hyperparameters.items()):
        if key not in model.model_fields or isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            model.model_validate({key: value})
        except ValidationError:
            continue
        out[key] = value
    return out


def _import_deployments(known: _Known, served: Mapping[str, tuple[LiveJob, Checkpoint] | None],
                        job_names: Mapping[str, str], ids: Collection[str], out: ImportDecision) -> None:
    for d in known.snapshot.deployments:
        if ids and d.name not in ids:
            continue
        what = f"deployment {d.name}"
        spec_or_why = _deployment_spec(known, d, served.get(d.name), job_names)
        if isinstance(spec_or_why, DeploymentSpec):
            found = served[d.name]
            assert found is not None
            out.deployments.append(ImportedDeployment(d.name, spec_or_why, d, found[0].id))
        else:
            why, managed = spec_or_why
            out.skipped.append(Skipped(what, why, managed))


def _deployment_spec(known: _Known, d: LiveDeployment, served: tuple[LiveJob, Checkpoint] | None,
                     job_names: Mapping[str, str]) -> DeploymentSpec | tuple[str, bool]:
    """The spec that takes over deployment `d` as it is, or (why not, whether ftops already manages it)."""
    if d.name in known.project.deployments:
        return f"Deployment {d.name} already names it", True
    if not untagged(d):
        owner = next(v for k, v in d.tags.items() if k.lower() == ident.META_PROJECT)
        return f"made by ftops (project {owner}): that project's specs manage it", True
    if not valid_name(d.name):
        return ("its name is not a spec name (lower-case letters, digits and '-', at most 63): a Deployment spec is "
                "named as its deployment"), False
    sku = next((s for s in SKU_NAMES if s == d.sku), None)
    if sku is None or d.capacity is None or d.capacity < 1:
        return f"its sku {d.sku} x{d.capacity} is not one a Deployment spec sets ({', '.join(SKU_NAMES)})", False
    if served is None:
        return (f"it serves {d.model}, which no fine-tuning job of this account made (a base model, or the model of "
                "a deleted job): ftops deploys the models of its FineTuningJob specs"), False
    job, checkpoint = served
    if job.id not in job_names:
        return f"it serves a model of job {job.id}, which is not imported (said above)", False
    return _deployment(job_names[job.id], checkpoint, sku, d.capacity)


def _deployment(job: str, checkpoint: Checkpoint, sku: SkuName, capacity: int) -> DeploymentSpec:
    return DeploymentSpec(model=ModelRef(job=job, checkpoint=checkpoint), sku=Sku(name=sku, capacity=capacity),
                          adopt=True)


def _import_lone_files(known: _Known, ids: Collection[str], out: ImportDecision, names: _Names) -> None:
    """Files no job of this import trains on: every processed one when importing everything, else those asked."""
    imported = {d.file.id for d in out.datasets}
    for f in known.snapshot.files:
        if f.id in imported or (ids and f.id not in ids):
            continue
        what = f"file {f.id} ({f.filename})"
        parsed = ident.parse_file_name(f.filename)
        if f.id in known.dataset_of:
            out.skipped.append(Skipped(what, f"Dataset {known.dataset_of[f.id]} already names it", True))
        elif parsed is not None:
            out.skipped.append(Skipped(what, f"uploaded by ftops (project {parsed[0]}): that project's specs "
                                             "manage it", True))
        elif f.status != "processed":
            out.skipped.append(Skipped(what, f"it is {f.status}, not processed: nothing a job can train on"))
        else:
            name = names.dataset(f)
            out.datasets.append(ImportedDataset(name, f, f"{DATA_DIR}/{name}.jsonl"))


# -- fetching: the only code here that calls Foundry ---------------------------------------------------
def read_import(checked: CheckedProject, client: FoundryClient, ids: Collection[str] = ()) -> ImportDecision:
    """Read the account (the listings, then the checkpoints an untagged deployment may serve), then decide."""
    snapshot = client.snapshot()
    checkpoints = {job_id: client.checkpoints(job_id) for job_id in sorted(checkpoint_needs(snapshot))}
    return decide_import(checked, snapshot, checkpoints, ids)
