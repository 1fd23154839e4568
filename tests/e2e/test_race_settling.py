"""Race settling through shared listings (docs/reference.md "Racing applies"), in-process against the local
Foundry: applies planned together and applied together, and what the looks for rivals cost in calls."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from ftops.apply import ApplyResult, apply_plan
from ftops.emulator import launch
from ftops.foundry import FoundryClient
from ftops.plan import make_plan
from ftops.session import open_session
from tests.e2e.conftest import Project


def _count_calls(client: FoundryClient) -> Counter[str]:
    """Counts the client's API calls by what they do ("list files", "create job ...")."""
    seen: Counter[str] = Counter()
    call = client._call

    def counted(fn: Callable[[float], Any], what: str, **kw: Any) -> Any:
        seen[" ".join(what.split()[:2])] += 1
        return call(fn, what, **kw)
    client._call = counted  # type: ignore[method-assign]
    return seen


def test_two_applies_planned_together_keep_one_upload_and_one_job(project: Project) -> None:
    project.set("speed", 100)
    with open_session(project.root / "specs", launcher=launch) as a, \
            open_session(project.root / "specs", launcher=launch) as b:
        plans = [make_plan(a.checked, a.client), make_plan(b.checked, b.client)]
        assert all(sum(x.action == "create" for x in p.actions) == 4 for p in plans)  # both would upload
        results: list[ApplyResult] = []
        threads = [threading.Thread(target=lambda s=s, p=p: results.append(apply_plan(p, s.checked, s.client)))
                   for s, p in ((a, plans[0]), (b, plans[1]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        files = Counter(f.filename for f in a.client.list_files())
        jobs = Counter(j.metadata["ftops-hash"] for j in a.client.list_jobs() if j.status != "cancelled")
    assert len(results) == 2 and all(r.ok for r in results)
    assert sorted(files.values()) == [1, 1], files  # the newer upload of each dataset was deleted
    assert list(jobs.values()) == [1], jobs
    notes = [n for r in results for n in r.notes]
    assert sum("deleted our duplicate upload" in n for n in notes) == 2, notes


def test_uploads_settle_on_listings_of_what_is_new(project: Project) -> None:
    with project.live() as live:
        live.admin.limits(max_files=500)
        for _ in range(120):  # older than anything this run uploads: more than a page of 100
            live.upload()
        live.admin.advance(seconds=60)
    with open_session(project.root / "specs", launcher=launch) as s:
        plan = make_plan(s.checked, s.client)
        read: list[int] = []
        recent_files = s.client.recent_files

        def recorded(since: int | None, page: int = 100) -> Any:
            found = recent_files(since, page)
            read.append(len(found[0]))
            return found
        s.client.recent_files = recorded  # type: ignore[method-assign,assignment]
        calls = _count_calls(s.client)
        result = apply_plan(plan, s.checked, s.client)
    assert result.ok
    # The first listing reads from the plan's time back (clock skew allowed), so it meets the 120 older
    # files at most once; every later one reads only what is new (the two uploads).
    assert read and all(n <= 2 for n in read[1:]), read
    assert calls["list files"] <= len(read) + 2, calls  # pages: one a listing (two for the first at most)


def test_jobs_created_together_share_their_first_looks(project: Project) -> None:
    for i in range(16):
        project.append(f"---\napiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{name: x{i}}}\nspec:\n"
                       f"  baseModel: gpt-4.1-mini-2025-04-14\n  trainingData: clippy-train\n  seed: {i}\n")
    assert project.ftops("apply", "--auto-approve").code == 0  # uploads, and the 17 jobs
    project.edit("seed: 105", "seed: 106")
    for i in range(16):
        project.edit(f"seed: {i}\n", f"seed: {100 + i}\n")
    with project.live() as live:
        live.admin.faults(latency_ms=100)  # creates take a while, so several finish while a look is listing
    try:
        with open_session(project.root / "specs", launcher=launch) as s:
            plan = make_plan(s.checked, s.client)
            creates = sum(a.action == "create" for a in plan.actions if a.kind == "FineTuningJob")
            calls = _count_calls(s.client)
            result = apply_plan(plan, s.checked, s.client, concurrency=8)
    finally:
        with project.live() as live:
            live.admin.clear_faults()
    assert result.ok and creates == 17
    assert calls["create job"] == 17
    # One look a job would be 17 listings (and the end of the run one more): shared, they are far fewer.
    assert calls["list fine-tuning"] <= creates // 2, calls
