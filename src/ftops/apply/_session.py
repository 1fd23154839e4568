"""A session (checked specs plus a connected client); saved plan files, their validation and freshness.

A plan file is an approval, not a program. It is validated as a whole before anything runs: its schema
(`format_version`, every action's type and fields), its graph (known ids, no cycle), its paths (inside the
project root, the files the specs name), its hashes (the bytes and specs it was made for), then the live
state it was made against; and then apply decides again and runs that fresh decision only if the file
approved exactly it (`_approval.py`).

Two kinds of refusal: a *stale* plan (StalePlanError: the specs, their data or the live state moved since,
by the fingerprints) is planned again under `--on-stale replan`; a plan that is *not approved*
(PlanNotApproved: nothing moved, yet the file is not what ftops decides, so it was edited) is always refused.
"""

from __future__ import annotations

import graphlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import ValidationError

from .._exceptions import FtopsError, PlanNotApproved, PreflightFailed, StalePlanError
from .._urls import plan_form
from ..checks import CheckedProject, validate_dir
from ..foundry import FoundryClient, Launcher, connect, storage_headers
from ..plan import (
    CreateJob,
    EvaluateCandidates,
    ImportDataset,
    Plan,
    PutRaiPolicy,
    RollOut,
    UploadDataset,
    WaitFile,
    evaluations,
    make_plan,
    matching,
    spec_fingerprint,
)
from ..spec import require_connection
from ._approval import approve

MAX_PLAN_BYTES = 64 * 1024 * 1024


@dataclass
class Session:
    checked: CheckedProject
    client: FoundryClient


@contextmanager
def open_session(spec_dir: str | Path, root: str | Path | None = None, *,
                 launcher: Launcher | None = None, checked: CheckedProject | None = None) -> Iterator[Session]:
    """Validate the specs (offline, cached), then connect to the Foundry they name.

    `launcher` starts the local Foundry for a `local: true` spec (the CLI passes the emulator's);
    `checked` is `validate_dir(spec_dir, root)` when the caller has validated already.
    """
    checked = checked or validate_dir(spec_dir, root, url_auth=storage_headers)
    require_connection(checked.project)  # unset ${VAR}s: fine for validate, an error to connect
    foundry = checked.project.foundry
    assert foundry is not None
    client = connect(foundry.spec, checked.project.root, launcher=launcher)
    try:
        yield Session(checked, client)
    finally:
        client.close()


def save_plan_file(plan: Plan, path: str | Path) -> None:
    """Write the plan as versioned JSON, atomically."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a directory, a device (/dev/full), a fifo: never replace it
        raise FtopsError("cannot write the plan file: it exists and is not a regular file", path=path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
    except OSError as e:
        raise FtopsError(f"cannot write the plan file: {e.strerror or e}", path=path) from e


def load_plan_file(path: str | Path) -> Plan:
    """Read and validate a plan file's schema; one line for whatever is wrong with it."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PLAN_BYTES:
            raise FtopsError(f"not a plan file (larger than {MAX_PLAN_BYTES // 2**20} MiB)", path=path)
        data = orjson.loads(p.read_bytes())
    except OSError as e:
        raise FtopsError(f"cannot read plan file: {e.strerror or e}", path=path) from e
    except orjson.JSONDecodeError as e:
        raise FtopsError(f"not a plan file (invalid JSON: {e.msg})", path=path) from e
    if not isinstance(data, dict) or "format_version" not in data:
        raise FtopsError("not a plan file (no format_version)", path=path)
    if data.get("format_version") != 2:
        raise FtopsError(f"plan file has format_version {repr(data.get('format_version'))[:40]}; this ftops reads 2 "
                         "(plan again with this version)", path=path)
    try:
        return Plan.from_dict(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"][:4])
        raise FtopsError(f"plan file is malformed at {where or 'top level'}: {first['msg']} "
                         f"({e.error_count()} problem(s))", path=path) from None


def verify_plan(plan: Plan, checked: CheckedProject) -> None:
    """Refuse, before any change, a plan that does not fit these specs and data, offline.

    StalePlanError when the specs or data changed since; PlanNotApproved for what no plan of ftops holds
    (a repeated id, an unknown dependency, a cycle; once the specs are the plan's own, an action that
    does not match them).
    """
    project = checked.project
    if plan.project != project.project_name:
        raise StalePlanError(f"the plan is for project {plan.project!r}, the specs are for "
                             f"{project.project_name!r}")
    _check_graph(plan)
    require_preflight(plan)
    if plan.spec_fingerprint != spec_fingerprint(checked):
        raise StalePlanError("the specs or their data changed since the plan was made; run `ftops plan` again")
    for a in plan.actions:
        if isinstance(a, UploadDataset):
            _check_upload(a, checked)
        elif isinstance(a, ImportDataset):
            _check_import(a, checked)
        elif isinstance(a, WaitFile) and (a.name not in checked.reports or a.filename != matching.file_name(
                project.project_name, a.name, checked.reports[a.name].sha256)):
            raise PlanNotApproved(f"plan action {a.id}: file name {a.filename!r} is not this dataset's upload; "
                                  "refusing it")
        elif isinstance(a, CreateJob) and (a.name not in project.jobs or (a.base_job and (
                a.base_job not in project.jobs or a.base_hash is None))):
            raise PlanNotApproved(f"plan action {a.id}: job {a.name} does not match the specs; refusing it")
        elif isinstance(a, RollOut) and (a.name not in project.deployments or a.job not in project.jobs):
            raise PlanNotApproved(f"plan action {a.id}: deployment {a.name} does not match the specs; refusing it")
        elif isinstance(a, PutRaiPolicy) and a.name not in project.rai_policies:
            raise PlanNotApproved(f"plan action {a.id}: content filter policy {a.name} does not match the specs; "
                                  "refusing it")
        elif isinstance(a, EvaluateCandidates) and (
                a.name not in project.evaluations or a.deployment not in project.deployments
                or a.job not in project.jobs or (ref := project.deployments[a.deployment].spec.evaluation) is None
                or ref.name != a.name):
            raise PlanNotApproved(f"plan action {a.id}: evaluation {a.name} does not match the specs; refusing it")
        elif isinstance(a, EvaluateCandidates) and (
                a.job != project.deployments[a.deployment].spec.model.job
                or a.criteria_hash != evaluations.criteria_hash(checked, project.evaluations[a.name])):
            raise PlanNotApproved(f"plan action {a.id}: evaluation {a.name} is not for these criteria, data or "
                                  "job; refusing it")


def require_preflight(plan: Plan) -> None:
    """Refuse a plan whose preflight found what Foundry would refuse (one line: the first problem)."""
    if plan.refused:
        first = plan.refused[0]
        more = f" (and {len(plan.refused) - 1} more)" if len(plan.refused) > 1 else ""
        raise PreflightFailed(f"preflight: {first.resource}: {first.message}{more}; nothing was applied")


def _check_graph(plan: Plan) -> None:
    ids = [a.id for a in plan.actions]
    if len(set(ids)) != len(ids):
        raise PlanNotApproved("the plan file repeats an action id; refusing it")
    known = set(ids)
    for a in plan.actions:
        unknown = [d for d in a.depends_on if d not in known]
        if unknown:
            raise PlanNotApproved(f"plan action {a.id} depends on unknown action {unknown[0]!r}")
    try:
        graphlib.TopologicalSorter({a.id: set(a.depends_on) for a in plan.actions}).prepare()
    except graphlib.CycleError as e:
        raise PlanNotApproved(f"the plan's dependencies form a cycle ({' -> '.join(map(str, e.args[1]))})") from e


def _check_upload(a: UploadDataset, checked: CheckedProject) -> None:
    project = checked.project
    expected = project.dataset_paths.get(a.name)
    target = (project.root / a.path).resolve()
    if expected is None or not target.is_relative_to(project.root) or target != expected:
        raise PlanNotApproved(f"plan action {a.id}: path {a.path!r} is not the file the specs name for dataset "
                              f"{a.name}; refusing to upload it")
    report = checked.reports[a.name]
    if a.sha256 != report.sha256 or a.bytes != report.size:
        # The specs' data is what the plan was made for (spec_fingerprint): other bytes here are an edit.
        raise PlanNotApproved(f"plan action {a.id}: sha256 or size of dataset {a.name} is not its file's; "
                              "refusing to upload it")
    if a.filename != matching.file_name(project.project_name, a.name, a.sha256):
        raise PlanNotApproved(f"plan action {a.id}: file name {a.filename!r} does not follow ftops' naming; "
                              "refusing it")


def _check_import(a: ImportDataset, checked: CheckedProject) -> None:
    """An import sends the spec's url (expanded at apply): the plan must have been made for that url, the
    identity validation found now, and the name ftops gives it."""
    project = checked.project
    ds = project.datasets.get(a.name)
    if ds is None or ds.spec.url is None or plan_form(ds.spec.url) != a.url:
        raise PlanNotApproved(f"plan action {a.id}: url {a.url!r} is not the url the specs name for dataset "
                              f"{a.name}; refusing to import it")
    report = checked.reports[a.name]
    if (a.sha256, a.bytes, a.identity) != (report.sha256, report.size, report.identity):
        # The specs' data is what the plan was made for (spec_fingerprint): another identity here is an edit.
        raise PlanNotApproved(f"plan action {a.id}: identity of dataset {a.name} is not its url's; refusing to "
                              "import it")
    if a.filename != matching.file_name(project.project_name, a.name, a.sha256):
        raise PlanNotApproved(f"plan action {a.id}: file name {a.filename!r} does not follow ftops' naming; "
                              "refusing it")


def check_fresh(plan: Plan, session: Session) -> Plan:
    """The plan to run for a saved `plan`: a fresh decision from the specs and the live state, when `plan`
    approved exactly it. Refuses a plan made for other specs, another account or another live state
    (StalePlanError), and one whose actions are not that decision (PlanNotApproved)."""
    verify_plan(plan, session.checked)
    if plan.endpoint != session.client.target:
        raise StalePlanError(f"the plan was made against another account ({plan.endpoint}), not "
                             f"{session.client.target}")
    fresh = make_plan(session.checked, session.client, prune=plan.prune)
    if fresh.fingerprint != plan.fingerprint:
        raise StalePlanError("the live state changed since the plan was made (fingerprint "
                             f"{plan.fingerprint[:12]} -> {fresh.fingerprint[:12]}); run `ftops plan` again")
    require_preflight(fresh)  # what Foundry would refuse now (a model retired since), even if the plan was clean
    return approve(plan, fresh)
