"""`adopt:` offline: a spec follows the live object it adopts while the object is what the spec says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ftops.foundry import LiveDeployment, LiveFile, LiveJob
from ftops.plan import CreateJob, NoOp, RollOut, UploadDataset
from ftops.plan._adoption import job_differences
from ftops.spec import FineTuningJobSpec
from tests.conftest import FOUNDRY, MakeProject, chat_jsonl
from tests.unit.plan.snapshots import World, by_resource, world

BASE = "gpt-4.1-mini-2025-04-14"
MODEL = f"{BASE}.ft-{'a' * 32}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _spec(epochs: int = 2, train_sha: str | None = None, adopt_deployment: bool = True, capacity: int = 20) -> str:
    return FOUNDRY + f"""---
apiVersion: ftops/v1
kind: Dataset
metadata: {{name: train}}
spec:
  path: data/train.jsonl
  adopt: {{id: file-train, sha256: {train_sha or _sha(chat_jsonl(60))}}}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {{name: bot}}
spec:
  baseModel: {BASE}
  trainingType: GlobalStandard
  trainingData: train
  hyperparameters: {{n_epochs: {epochs}, batch_size: 1, learning_rate_multiplier: 2}}
  suffix: bot
  seed: 7
  adopt: ftjob-hand
---
apiVersion: ftops/v1
kind: Deployment
metadata: {{name: bot-prod}}
spec:
  model: {{job: bot}}
  sku: {{name: GlobalStandard, capacity: {capacity}}}
  adopt: {str(adopt_deployment).lower()}
"""


def _live_job(**changes: object) -> LiveJob:
    fields: dict[str, object] = dict(
        id="ftjob-hand", status="succeeded", model=BASE, created_at=5, fine_tuned_model=MODEL, metadata={},
        training_file="file-train", validation_file=None, n_epochs=2, suffix="bot", method="supervised",
        hyperparameters={"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 2.0},
        training_type="GlobalStandard", seed=7)
    fields.update(changes)
    return LiveJob(**fields)  # type: ignore[arg-type]


def _world(root: Path, **job_changes: object) -> World:
    w = world(root)
    w.files = [LiveFile(id="file-train", filename="train.jsonl", bytes=100, status="processed", purpose="fine-tune",
                        created_at=1)]
    w.jobs = [_live_job(**job_changes)]
    w.deployments = [LiveDeployment(name="bot-prod", model=MODEL, sku_name="GlobalStandard", capacity=20,
                                    tags={"owner": "team-a"}, provisioning_state="Succeeded")]
    return w


@pytest.fixture
def root(make_project: MakeProject) -> Path:
    return make_project(spec=_spec())


def test_adopted_objects_that_match_the_specs_plan_nothing(root: Path) -> None:
    plan = _world(root).plan()
    a = by_resource(plan)
    assert all(isinstance(x, NoOp) and not x.blocked for x in a.values()), a
    assert a["Dataset/train"].live_id == "file-train" and "adopted file-train" in a["Dataset/train"].reason
    assert a["FineTuningJob/bot"].live_id == "ftjob-hand" and "adopted" in a["FineTuningJob/bot"].reason
    assert a["Deployment/bot-prod"].live_id == "bot-prod"
    assert not plan.has_changes
    assert plan.unmanaged.deployments == 0  # an adopted deployment is the project's, in its hosting


def test_a_changed_job_field_is_a_new_job_that_names_the_difference(make_project: MakeProject) -> None:
    plan = _world(make_project(spec=_spec(epochs=3))).plan()
    a = by_resource(plan)
    job = a["FineTuningJob/bot"]
    assert isinstance(job, CreateJob) and not job.blocked  # the adopted job is no stranger's twin
    assert job.changes == {"n_epochs": (2, 3)} and "adopted ftjob-hand differs in n_epochs" in job.reason
    assert not job.supersedes  # a job is never cancelled for leaving adoption
    assert isinstance(a["Deployment/bot-prod"], RollOut)  # pending the new job's model


def test_edited_bytes_are_uploaded_as_usual(make_project: MakeProject) -> None:
    plan = _world(make_project(spec=_spec(train_sha="f" * 64))).plan()
    assert isinstance(by_resource(plan)["Dataset/train"], UploadDataset)


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_a_failed_or_cancelled_adopted_job_is_not_followed(root: Path, status: str) -> None:
    a = by_resource(_world(root, status=status, fine_tuned_model=None).plan())
    assert isinstance(a["FineTuningJob/bot"], CreateJob)


def test_a_capacity_edit_updates_the_adopted_deployment(make_project: MakeProject) -> None:
    a = by_resource(_world(make_project(spec=_spec(capacity=30))).plan())
    dep = a["Deployment/bot-prod"]
    assert isinstance(dep, RollOut) and dep.action == "update" and dep.changes == {"sku.capacity": (20, 30)}


def test_without_adopt_or_when_another_project_tagged_it_the_deployment_is_foreign(make_project: MakeProject) -> None:
    w = _world(make_project(spec=_spec(adopt_deployment=False)))
    assert by_resource(w.plan())["Deployment/bot-prod"].drift == "foreign"
    w = _world(make_project(spec=_spec()))
    w.deployments = [LiveDeployment(name="bot-prod", model=MODEL, sku_name="GlobalStandard", capacity=20,
                                    tags={"FTOPS-PROJECT": "other"}, provisioning_state="Succeeded")]
    dep = by_resource(w.plan())["Deployment/bot-prod"]
    assert dep.blocked and dep.drift == "foreign"


def _job_spec(**fields: object) -> FineTuningJobSpec:
    return FineTuningJobSpec.model_validate({"base_model": BASE, "training_data": "train", **fields})


def test_job_differences_compare_as_foundry_reads_them() -> None:
    live = _live_job(training_type="globalstandard")  # Azure takes and may answer any case
    files = {"train": "file-train"}
    same = _job_spec(hyperparameters={"n_epochs": 2, "learning_rate_multiplier": 2}, suffix="bot",
                     training_type="GlobalStandard")
    assert job_differences(live, same, BASE, files) == {}  # 2 == 2.0; trainingType in any case
    assert job_differences(live, _job_spec(suffix="bot", hyperparameters={"n_epochs": "auto"}), BASE, files) == {}
    assert job_differences(live, _job_spec(suffix="bot", seed=8), BASE, files) == {"seed": (7, 8)}
    assert job_differences(live, _job_spec(suffix="bot"), "gpt-4o", files) == {"model": (BASE, "gpt-4o")}
    assert job_differences(live, _job_spec(suffix="bot"), BASE, {"train": "file-other"}) == {
        "training_file": ("file-train", "file-other")}
    assert job_differences(live, _job_spec(), BASE, files) == {"suffix": ("bot", None)}
