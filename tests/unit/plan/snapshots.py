"""Snapshot fixtures for the offline planner tests: live objects built as the Foundry layer parses them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ftops.checks import CheckedProject, validate_dir
from ftops.foundry import LiveCheckpoint, LiveDeployment, LiveEval, LiveEvent, LiveFile, LiveJob, Snapshot
from ftops.plan import LiveState, Plan, decide, submission
from ftops.plan import _matching as matching
from ftops.plan._deployments import deployment_hash
from ftops.plan._jobs import job_submission

NOW = 1_800_000_000.0
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):032x}"


@dataclass
class World:
    """A checked project and the live state the tests arrange around it."""

    checked: CheckedProject
    files: list[LiveFile] = field(default_factory=list)
    jobs: list[LiveJob] = field(default_factory=list)
    deployments: list[LiveDeployment] = field(default_factory=list)
    events: dict[str, list[LiveEvent]] = field(default_factory=dict)
    checkpoints: dict[str, list[LiveCheckpoint]] = field(default_factory=dict)
    evals: list[LiveEval] = field(default_factory=list)
    eval_files: list[LiveFile] = field(default_factory=list)
    now: float = NOW

    @property
    def project(self) -> str:
        return self.checked.project.project_name

    def state(self) -> LiveState:
        snap = Snapshot(files=list(self.files), jobs=list(self.jobs), deployments=list(self.deployments))
        return LiveState(snap, events=dict(self.events), checkpoints=dict(self.checkpoints), evals=list(self.evals),
                         eval_files=list(self.eval_files), now=self.now)

    def plan(self, *, prune: bool = False) -> Plan:
        state = self.state()
        plan = decide(self.checked, state, prune=prune, endpoint="s/g/a", created_at=self.now)
        assert not state.take_needs(), "the test's world lacks events or checkpoints the planner needs"
        return plan

    def upload(self, dataset: str, status: str = "processed", created_at: int = 1, details: str | None = None
               ) -> LiveFile:
        report = self.checked.reports[dataset]
        f = LiveFile(id=new_id("file-"), filename=matching.file_name(self.project, dataset, report.sha256),
                     bytes=report.size, status=status, purpose="fine-tune", created_at=created_at,
                     status_details=details)
        self.files.append(f)
        return f

    def uploads(self) -> dict[str, str]:
        return {d: self.upload(d).id for d in self.checked.project.datasets}

    def job(self, name: str, status: str = "succeeded", *, files: dict[str, str] | None = None,
            base_model: str | None = None, created_at: int = 10, error: str | None = None,
            finished_at: int | None = None, error_code: str | None = None, error_param: str | None = None,
            **metadata_overrides: str) -> LiveJob:
        spec = self.checked.project.jobs[name].spec
        files = files or {d: f.id for f in self.files for d in self.checked.project.datasets
                          if f.filename == matching.file_name(self.project, d, self.checked.reports[d].sha256)}
        base = base_model or (spec.base_model if isinstance(spec.base_model, str) else "")
        request = submission(self.project, name, job_submission(self.checked, name, base), base, files).request
        jid = new_id("ftjob-")
        job = LiveJob(id=jid, status=status, model=base, created_at=created_at,
                      fine_tuned_model=f"{base}.ft-{jid[-32:]}" if status == "succeeded" else None,
                      metadata={**request.metadata, **metadata_overrides}, training_file=request.training_file,
                      validation_file=request.validation_file, n_epochs=_epochs(spec.hyperparameters), error=error, suffix=spec.suffix,
                      finished_at=finished_at if finished_at is not None else int(self.now) - 60,
                      error_code=error_code, error_param=error_param)
        self.jobs.append(job)
        self.events.setdefault(jid, [])
        return job

    def checkpoints_for(self, job: LiveJob, losses: list[float]) -> list[LiveCheckpoint]:
        cps = [LiveCheckpoint(id=new_id("ftchkpt-"), step_number=(i + 1) * 10, full_valid_loss=loss, valid_loss=loss,
                              fine_tuned_model_checkpoint=None) for i, loss in enumerate(losses)]
        self.checkpoints[job.id] = cps
        return cps

    def deploy(self, name: str, job: LiveJob, model: str | None = None, *, capacity: int | None = None,
               sku: str | None = None, **tags: str) -> LiveDeployment:
        spec = self.checked.project.deployments[name].spec
        model = model or job.fine_tuned_model
        base_tags = matching.deployment_tags(self.project, name, deployment_hash(spec), job.id, None, model)
        arm_sku = {"Developer": "DeveloperTier"}.get(sku or spec.sku.name, sku or spec.sku.name)
        d = LiveDeployment(name=name, model=model, sku_name=arm_sku, capacity=capacity or spec.sku.capacity,
                           tags={**base_tags, **tags}, provisioning_state="Succeeded")
        self.deployments = [x for x in self.deployments if x.name != name] + [d]
        return d

    def set_job(self, job: LiveJob, **changes: Any) -> LiveJob:
        new = replace(job, **changes)
        self.jobs = [new if j.id == job.id else j for j in self.jobs]
        return new


def _epochs(hyperparameters: Any) -> int:
    n = dict(hyperparameters).get("n_epochs")
    return n if isinstance(n, int) else 3


def world(root: Path, spec: str | None = None) -> World:
    return World(validate_dir(root / "specs", root))


def by_resource(plan: Plan) -> dict[str, Any]:
    return {a.resource: a for a in plan.actions if a.op != "job.cancel" and a.duplicate_of is None}
