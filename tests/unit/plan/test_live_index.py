"""The planner's index of the snapshot: every lookup finds what a scan of the snapshot found, in the same order."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from ftops.foundry import LiveDeployment, LiveFile, LiveJob, Snapshot
from ftops.plan import _matching as matching
from ftops.plan._live import LiveIndex
from tests.conftest import MakeProject
from tests.unit.plan.snapshots import World, new_id, world

PROJECTS = ["clippy-demo", "other", "third"]
SPECS = [f"job{i}" for i in range(12)]


def _mixed_snapshot(seed: int) -> Snapshot:
    """Many projects, specs, hashes, files and deployments interleaved, with repeats and strangers."""
    rnd = random.Random(seed)
    files = [LiveFile(id=new_id("file-"), filename=matching.file_name(rnd.choice(PROJECTS), f"d{rnd.randrange(8)}",
                                                                       f"{rnd.randrange(4):064x}"),
                      bytes=10, status=rnd.choice(["processed", "pending", "error"]), purpose="fine-tune",
                      created_at=rnd.randrange(5)) for _ in range(300)]
    jobs: list[LiveJob] = []
    for _ in range(400):
        metadata = {}
        if rnd.random() < 0.8:
            metadata = matching.job_metadata(rnd.choice(PROJECTS), rnd.choice(SPECS), f"h{rnd.randrange(3)}",
                                             f"c{rnd.randrange(3)}")
            if rnd.random() < 0.3:  # a job from before content identity
                del metadata[matching.META_CONTENT]
            metadata[matching.META_FIELDS] = (f'{{"training_data":"{rnd.randrange(4):016x}",'
                                              f'"validation_data":"{rnd.randrange(4):016x}"}}')
        jobs.append(LiveJob(id=new_id("ftjob-"), status=rnd.choice(["running", "succeeded", "failed", "cancelled"]),
                            model="gpt-4.1-mini-2025-04-14", created_at=rnd.randrange(100), fine_tuned_model=None,
                            metadata=metadata, training_file=rnd.choice([*(f.id for f in files[:20]), "file-gone", None]),
                            validation_file=rnd.choice([files[0].id, "file-gone2", None]), n_epochs=2))
    deployments = [LiveDeployment(name=f"dep{rnd.randrange(50)}", model="m", sku_name="Standard", capacity=1,
                                  tags={matching.META_PROJECT: rnd.choice(PROJECTS)}, provisioning_state="Succeeded")
                   for _ in range(120)]
    return Snapshot(files=files, jobs=jobs, deployments=deployments)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("project", PROJECTS)
def test_each_lookup_equals_the_scan_it_replaces(seed: int, project: str) -> None:
    snap = _mixed_snapshot(seed)
    index = LiveIndex(snap, project)
    for name in {f.filename for f in snap.files} | {"ftops.none.d0.x.jsonl"}:
        assert index.files_named(name) == [f for f in snap.files if f.filename == name]
    for spec in [*SPECS, "missing"]:
        assert index.jobs_of_spec(spec) == [j for j in snap.jobs if j.metadata.get(matching.META_PROJECT) == project
                                             and j.metadata.get(matching.META_SPEC) == spec]
    for content, spec_hash in ((f"c{a}", f"h{b}") for a in range(4) for b in range(4)):
        scan = [j for j in snap.jobs if matching.META_PROJECT in j.metadata and (
            j.metadata.get(matching.META_CONTENT) == content
            or (matching.META_CONTENT not in j.metadata and j.metadata.get(matching.META_HASH) == spec_hash))]
        assert sorted(j.id for j in index.jobs_with_content(content, spec_hash)) == sorted(j.id for j in scan)
    for fid in [*(f.id for f in snap.files[:25]), "file-gone"]:
        assert index.unlabelled_jobs_on(fid) == [j for j in snap.jobs if matching.META_HASH not in j.metadata
                                                 and j.training_file == fid]
    for n in range(52):
        assert index.deployment(f"dep{n}") == next((d for d in snap.deployments if d.name == f"dep{n}"), None)
    live_ids = {f.id for f in snap.files}
    for sha in (f"{i:016x}" for i in range(5)):
        scan = next((fid for j in snap.jobs if j.metadata.get(matching.META_PROJECT) == project
                     for key, fid in (("training_data", j.training_file), ("validation_data", j.validation_file))
                     if fid and matching.stored_fields_of(j).get(key) == sha and fid not in live_ids), None)
        assert index.deleted_uploads.get(sha) == scan


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project())


def _foreign(w: World, rnd: random.Random) -> None:
    """Other projects' files and jobs, under the same dataset and spec names, spread through the listings."""
    for _ in range(200):
        project = rnd.choice(PROJECTS[1:])
        name = rnd.choice(list(w.checked.project.datasets))
        w.files.insert(rnd.randrange(len(w.files) + 1), LiveFile(
            id=new_id("file-"), filename=matching.file_name(project, name, w.checked.reports[name].sha256),
            bytes=1, status="processed", purpose="fine-tune", created_at=0))
    for job in list(w.jobs):
        for _ in range(20):
            other = replace(job, id=new_id("ftjob-"), metadata={**job.metadata,
                                                                 matching.META_PROJECT: rnd.choice(PROJECTS[1:])})
            w.jobs.insert(rnd.randrange(len(w.jobs) + 1), other)


def test_other_projects_objects_change_no_decision(w: World) -> None:
    """Thousands of foreign objects under the same names: the plan is the one made without them."""
    w.uploads()
    job = w.job("clippy", status="running")
    w.events[job.id] = []
    w.job("clippy", status="failed", created_at=5)
    alone = w.plan().to_dict()
    _foreign(w, random.Random(7))
    assert len(w.jobs) > 40 and len(w.files) > 200
    mixed = w.plan().to_dict()
    assert mixed["actions"] == alone["actions"]
    assert mixed["fingerprint"] == alone["fingerprint"]
