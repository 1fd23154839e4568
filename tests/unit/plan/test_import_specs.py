"""`ftops import`'s decision offline: names, what is adopted, what is left alone and why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftops._exceptions import UsageError
from ftops.checks import CheckedProject, validate_dir
from ftops.foundry import LiveCheckpoint, LiveDeployment, LiveFile, LiveJob, Snapshot
from ftops.plan import ImportDecision, decide_import
from ftops.plan._import_names import dataset_stem, spec_name, unique_name, valid_name
from ftops.spec import Epoch, JobRef
from tests.conftest import FOUNDRY, MakeProject

BASE = "gpt-4.1-mini-2025-04-14"


def file(fid: str, name: str = "train.jsonl", status: str = "processed") -> LiveFile:
    return LiveFile(id=fid, filename=name, bytes=10, status=status, purpose="fine-tune", created_at=1)


def job(jid: str, training: str = "file-t", *, status: str = "succeeded", model: str = BASE, suffix: str | None = "bot",
        created_at: int = 5, **fields: object) -> LiveJob:
    values: dict[str, object] = dict(
        id=jid, status=status, model=model, created_at=created_at,
        fine_tuned_model=f"{model}.ft-{jid}" if status == "succeeded" else None, metadata={},
        training_file=training, validation_file=None, n_epochs=3, suffix=suffix, method="supervised",
        hyperparameters={"n_epochs": 3, "batch_size": -1, "learning_rate_multiplier": 1.5},
        training_type="GlobalStandard", seed=42)
    return LiveJob(**(values | fields))  # type: ignore[arg-type]


def deployment(name: str, model: str | None, tags: dict[str, str] | None = None) -> LiveDeployment:
    return LiveDeployment(name=name, model=model, sku_name="GlobalStandard", capacity=10, tags=tags or {},
                          provisioning_state="Succeeded")


@pytest.fixture
def project(make_project: MakeProject) -> CheckedProject:
    root = make_project(spec=FOUNDRY)
    return validate_dir(root / "specs", root)


def test_names_are_valid_and_unique() -> None:
    assert spec_name("Support_Bot.v2", "job") == "support-bot-v2"
    assert spec_name("___", "job") == "job" and spec_name("日本語", "data") == "data"
    assert len(spec_name("x" * 200, "job")) == 63
    assert unique_name("bot", {"bot", "bot-2"}) == "bot-3"
    assert unique_name("x" * 63, {"x" * 63}) == "x" * 61 + "-2"
    assert dataset_stem("dir/sub\\Train.JSONL") == "Train"


@given(st.text(max_size=120), st.sets(st.text(alphabet="ab-", max_size=5), max_size=5))
def test_hostile_text_always_gives_a_valid_unused_name(text: str, taken: set[str]) -> None:
    name = unique_name(spec_name(text, "job"), taken)
    assert valid_name(name) and name not in taken


def test_a_job_its_files_and_its_deployment_are_imported(project: CheckedProject) -> None:
    snap = Snapshot(files=[file("file-t"), file("file-v", "valid.jsonl")],
                    jobs=[job("ftjob-1", validation_file="file-v")],
                    deployments=[deployment("bot-prod", f"{BASE}.ft-ftjob-1")])
    d = decide_import(project, snap, {})
    assert [x.name for x in d.datasets] == ["train", "valid"] and d.datasets[0].path == "data/train.jsonl"
    (j,) = d.jobs
    assert j.name == "bot" and j.spec.adopt == "ftjob-1" and j.spec.validation_data == "valid"
    # -1 is Azure's "not resolved yet": left to Foundry, as auto
    assert j.spec.hyperparameters == {"learning_rate_multiplier": 1.5, "n_epochs": 3} and j.spec.seed == 42
    (dep,) = d.deployments
    assert dep.spec.adopt and dep.spec.model.job == "bot" and dep.spec.model.checkpoint == "final"
    assert d.skipped == []


def test_continuous_fine_tuning_names_its_base_job(project: CheckedProject) -> None:
    snap = Snapshot(files=[file("file-t")], jobs=[
        job("ftjob-2", model=f"{BASE}.ft-ftjob-1", suffix="v2", created_at=9), job("ftjob-1")])
    d = decide_import(project, snap, {}, ids=["ftjob-2"])
    assert [j.name for j in d.jobs] == ["bot", "v2"]
    assert d.jobs[1].spec.base_model == JobRef(job="bot")


def test_an_intermediate_checkpoint_is_its_epoch(project: CheckedProject) -> None:
    cps = [LiveCheckpoint(id=f"ftchkpt-{i}", step_number=i * 10, full_valid_loss=None, valid_loss=None,
                          fine_tuned_model_checkpoint=None) for i in (1, 2, 3)]
    snap = Snapshot(files=[file("file-t")], jobs=[job("ftjob-1")], deployments=[deployment("early", "ftchkpt-2")])
    d = decide_import(project, snap, {"ftjob-1": cps})
    assert d.deployments[0].spec.model.checkpoint == Epoch(epoch=2)


def test_what_is_left_alone_says_why(project: CheckedProject) -> None:
    snap = Snapshot(
        files=[file("file-t"), file("file-p", "pending.jsonl", status="pending"),
               file("file-f", "ftops.other.train.0123.jsonl")],
        jobs=[job("ftjob-failed", status="failed", error="bad data"), job("ftjob-gone", "file-deleted", suffix="g"),
              job("ftjob-ftops", metadata={"ftops-project": "other"}), job("ftjob-ok", suffix="ok")],
        deployments=[deployment("base", "gpt-4.1-mini"), deployment("Bad_Name", f"{BASE}.ft-ftjob-ok"),
                     deployment("theirs", f"{BASE}.ft-ftjob-ftops", {"ftops-project": "other"}),
                     deployment("of-failed", f"{BASE}.ft-ftjob-gone")])
    d = decide_import(project, snap, {})
    why = {s.what: (s.why, s.managed) for s in d.skipped}
    assert why["job ftjob-failed"] == ("it failed: bad data; nothing to adopt (its model does not exist)", False)
    assert "training file file-deleted is deleted" in why["job ftjob-gone"][0]
    assert why["job ftjob-ftops"][1] and why["deployment theirs"][1]
    assert why["file file-f (ftops.other.train.0123.jsonl)"][1]
    assert "pending" in why["file file-p (pending.jsonl)"][0]
    assert "which no fine-tuning job of this account made" in why["deployment base"][0]
    assert "not a spec name" in why["deployment Bad_Name"][0]
    assert "ftjob-gone, which is not imported" in why["deployment of-failed"][0]
    assert [j.name for j in d.jobs] == ["ok"]


def test_an_unknown_id_is_a_usage_error(project: CheckedProject) -> None:
    with pytest.raises(UsageError, match="--id ftjob-x: no fine-tune file"):
        decide_import(project, Snapshot(), {}, ids=["ftjob-x"])


def test_what_the_directory_names_is_not_imported_again(make_project: MakeProject, tmp_path: Path) -> None:
    snap = Snapshot(files=[file("file-t")], jobs=[job("ftjob-1")], deployments=[deployment("bot", f"{BASE}.ft-ftjob-1")])
    root = make_project(spec=FOUNDRY)
    first = decide_import(validate_dir(root / "specs", root), snap, {})
    write_import(root, first)
    again = decide_import(validate_dir(root / "specs", root), snap, {})
    assert again.empty and all(s.managed for s in again.skipped)


def write_import(root: Path, decision: ImportDecision) -> None:
    """The import's files as the CLI writes them (the data: chat records; the specs: the renderer's YAML)."""
    import hashlib

    from ftops.cli._import_yaml import import_yaml
    from tests.conftest import chat_jsonl

    data = chat_jsonl(20)
    for d in decision.datasets:
        (root / "specs" / d.path).parent.mkdir(parents=True, exist_ok=True)
        (root / "specs" / d.path).write_text(data)
    sha = hashlib.sha256(data.encode()).hexdigest()
    (root / "specs" / "imported.yaml").write_text(import_yaml(decision, {d.name: sha for d in decision.datasets}))


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=40), st.one_of(st.none(), st.text(max_size=40)), st.text(min_size=1, max_size=70))
def test_hostile_live_names_import_into_specs_that_load(tmp_path_factory: pytest.TempPathFactory, filename: str,
                                                        suffix: str | None, dep_name: str) -> None:
    root = tmp_path_factory.mktemp("import")
    (root / "specs").mkdir()
    (root / "specs" / "main.yaml").write_text(FOUNDRY)
    snap = Snapshot(files=[file("file-t", filename)], jobs=[job("ftjob-1", suffix=suffix)],
                    deployments=[deployment(dep_name, f"{BASE}.ft-ftjob-1")])
    d = decide_import(validate_dir(root / "specs", root), snap, {})
    assert all(valid_name(x.name) for x in [*d.datasets, *d.jobs])
    assert all(x.path == f"data/{x.name}.jsonl" for x in d.datasets)
    assert len(d.jobs) == (0 if suffix and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", suffix) else 1)
    assert len(d.deployments) == (1 if valid_name(dep_name) and d.jobs else 0)
    write_import(root, d)
    loaded = validate_dir(root / "specs", root).project  # the YAML loads back, every spec as written
    assert {n: j.spec for n, j in loaded.jobs.items()} == {j.name: j.spec for j in d.jobs}
    assert {n: x.spec for n, x in loaded.deployments.items()} == {x.name: x.spec for x in d.deployments}


def test_a_file_whose_content_foundry_refuses_leaves_out_what_needs_it(project: CheckedProject) -> None:
    snap = Snapshot(files=[file("file-t"), file("file-v", "valid.jsonl")],
                    jobs=[job("ftjob-1"), job("ftjob-2", "file-v", model=f"{BASE}.ft-ftjob-1", suffix="v2", created_at=9),
                          job("ftjob-3", "file-v", suffix="other")],
                    deployments=[deployment("v2-prod", f"{BASE}.ft-ftjob-1.ft-ftjob-2"), deployment("other", f"{BASE}.ft-ftjob-3")])
    d = decide_import(project, snap, {}).without_datasets({"train": "Foundry refused its content (403)"})
    assert [x.name for x in d.datasets] == ["valid"] and [j.name for j in d.jobs] == ["other"]
    assert [x.name for x in d.deployments] == ["other"]
    why = {s.what: s.why for s in d.skipped}
    assert why["file file-t (train.jsonl)"] == "Foundry refused its content (403)"
    assert why["job ftjob-1"] == "its data train is not imported: Foundry refused its content (403)"
    assert why["job ftjob-2"] == "it was trained on the model of bot, which is not imported"
    assert why["deployment v2-prod"] == "its job ftjob-2 is not imported"
