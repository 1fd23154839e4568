"""Benchmark of planning and applying at scale against the local Foundry (quotas lifted via the admin API).

    python bench/plan.py [--datasets 2000 --jobs 2000 --deployments 1000 --parts 10] [--latency-ms 200]

Builds two spec trees, each spread over `--parts` spec directories: a small one (a tenth: 200 datasets,
200 jobs, 100 deployments = 500 resources) and the large one (5,000 resources), applies each once
(jobs run to the end), then reports for each:
- API calls of a no-op plan (target: listing pages plus a constant, nothing per resource; files come
  10,000 a page, jobs and deployments 100),
- no-op plan wall time, warm hash cache: validate from cache, connect, plan (target: under 1.5 s),
- planner CPU: the pure `decide()` on the same LiveState the no-op plan read (target: 500 -> 5,000
  grows at most 11x, i.e. linearly),
and, on the small tree, apply of `--independent-jobs` new independent jobs with `--latency-ms` injected
on every request, against an ideal (target: within 1.10x of it).

The ideal is the time a perfect client must pay for the calls it cannot avoid: each job is one create
call, `concurrency` creates run at once, so ceil(jobs / concurrency) rounds of one latency each; then race
settling (docs/reference.md "Racing applies") needs one conclusive listing: one that begins once Foundry's
clock reads the last job's created_at second + 1.5 s (so no rival of that second or before can be missing),
and takes one latency. A perfect client knows Foundry's clock exactly; ftops learns it from Date headers
(whole seconds), timing a few listings to see the second turn. The local Foundry stamps a job's created_at when it processes the
create, after the injected latency, i.e. at the end of the create's round, and stamps Date when a request
arrives; its clock is this machine's. So, with t0 the epoch time apply starts and L the latency:
    creates = L x ceil(jobs / concurrency)
    ideal   = max(creates, floor(t0 + creates) + 1.5 - t0) + L
The listings ftops makes while the creates go on (first looks, in the background) are calls too, and are
reported per job, but they overlap the creates, so the ideal does not count them; client CPU and the local
Foundry's time are not in the ideal either.
The local Foundry runs in a child process (as the CLI runs it), so its CPU is not the planner's.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ftops.apply import apply_plan  # noqa: E402
from ftops.apply._runtime import UPLOAD_SETTLE_SECONDS  # noqa: E402
from ftops.checks import CheckedProject  # noqa: E402
from ftops.cli._local import session  # noqa: E402
from ftops.emulator import AdminClient, EmulatorServer, spawn  # noqa: E402
from ftops.foundry._client import FILES_PAGE, JOBS_PAGE  # noqa: E402
from ftops.plan import LiveState, Plan, decide, make_plan, read_live  # noqa: E402
from ftops.session import open_session  # noqa: E402

FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {{name: bench}}
spec: {{local: true, namespace: bench, speed: 1000000, concurrency: {concurrency}}}
"""
MODEL = "gpt-4.1-mini-2025-04-14"


@dataclass
class Scale:
    datasets: int
    jobs: int
    deployments: int
    parts: int

    @property
    def resources(self) -> int:
        return self.datasets + self.jobs + self.deployments

    def __str__(self) -> str:
        return (f"{self.resources:,} resources ({self.datasets} datasets, {self.jobs} jobs, {self.deployments} "
                f"deployments in {self.parts} spec directories)")


def _dataset(i: int) -> str:
    return f"apiVersion: ftops/v1\nkind: Dataset\nmetadata: {{name: d{i}}}\nspec: {{path: ../data/d{i}.jsonl}}\n"


def _job(i: int, datasets: int) -> str:
    return (f"apiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{name: j{i}}}\nspec:\n  baseModel: {MODEL}\n"
            f"  trainingData: d{i % datasets}\n  validationData: d{(i + 1) % datasets}\n"
            f"  hyperparameters: {{n_epochs: 2}}\n  seed: {i}\n")


def _deployment(i: int) -> str:
    checkpoint = "best" if i % 2 else "final"
    return (f"apiVersion: ftops/v1\nkind: Deployment\nmetadata: {{name: m{i}}}\nspec:\n"
            f"  model: {{job: j{i}, checkpoint: {checkpoint}}}\n  sku: {{name: GlobalStandard, capacity: 1}}\n")


def write_tree(root: Path, scale: Scale, concurrency: int) -> None:
    spec = root / "specs"
    (spec / "data").mkdir(parents=True)
    (spec / "foundry.yaml").write_text(FOUNDRY.format(concurrency=concurrency))
    for i in range(scale.datasets):
        with open(spec / "data" / f"d{i}.jsonl", "w") as f:
            for k in range(12):
                f.write(json.dumps({"messages": [{"role": "user", "content": f"question {i}-{k}?"},
                                                 {"role": "assistant", "content": f"answer {i}-{k}."}]}) + "\n")
    docs: list[list[str]] = [[] for _ in range(scale.parts)]
    for i in range(scale.datasets):
        docs[i % scale.parts].append(_dataset(i))
    for i in range(scale.jobs):
        docs[i % scale.parts].append(_job(i, scale.datasets))
    for i in range(scale.deployments):
        docs[i % scale.parts].append(_deployment(i))
    for part, texts in enumerate(docs):
        (spec / f"team-{part}").mkdir()
        (spec / f"team-{part}" / "specs.yaml").write_text("---\n".join(texts))


def admin(root: Path) -> tuple[EmulatorServer, AdminClient]:
    server = EmulatorServer(root / ".ftops" / "emulator").start()
    return server, AdminClient(server.connection)


def lift_quotas(root: Path) -> None:
    server, client = admin(root)
    client.limits(max_running_jobs=100_000, max_running_jobs_developer=100_000, max_queued_jobs=100_000,
                  max_files=100_000, max_total_file_bytes=100 * 1024 ** 3, max_deployments=100_000)
    client.close()
    server.stop()


def set_latency(root: Path, latency_ms: float) -> None:
    server, client = admin(root)
    client.faults(latency_ms=latency_ms)
    client.close()
    server.stop()


def apply_all(root: Path, concurrency: int) -> float:
    t0 = time.perf_counter()
    with open_session(root / "specs", root, launcher=spawn) as s:
        plan = make_plan(s.checked, s.client)
        result = apply_plan(plan, s.checked, s.client, wait_jobs=True, concurrency=concurrency)
    assert result.ok, [o for o in result.outcomes if o.state not in ("done", "no-op")][:3]
    return time.perf_counter() - t0


@dataclass
class NoOp:
    calls: int
    pages: int
    wall: float
    planning: float
    decide_cpu: float
    decide_cpu_no_gc: float
    cache_hits: str


def decide_cpu(checked: CheckedProject, live: LiveState, plan: Plan, repeats: int, collect: bool) -> float:
    """Least CPU seconds of `repeats` decide() calls; with collect=False, CPython's cyclic GC is off meanwhile."""
    cpu = []
    for _ in range(repeats):
        gc.collect()
        if not collect:
            gc.disable()
        c0 = time.process_time()
        decide(checked, live, endpoint=plan.endpoint, created_at=plan.created_at)
        cpu.append(time.process_time() - c0)
        gc.enable()
    return min(cpu)


def noop_plan(root: Path, scale: Scale, repeats: int = 5) -> NoOp:
    """A warm no-op plan through the whole path, then the pure decide() timed on the LiveState it read."""
    os.chdir(root)
    with open_session(root / "specs", root, launcher=spawn) as s:
        s.client.snapshot()  # warm: connections, TLS sessions, lazily built response models
    t0 = time.perf_counter()
    with session(root / "specs") as s:  # as `ftops plan` does: the local Foundry starts while specs validate
        t1 = time.perf_counter()
        live = read_live(s.client)
        plan = make_plan(s.checked, s.client, live=live)
        t2 = time.perf_counter()
        checked = s.checked
    assert not plan.has_changes, plan.summary()
    pages = (math.ceil(scale.datasets / FILES_PAGE) + math.ceil(scale.jobs / JOBS_PAGE)
             + max(1, math.ceil(scale.deployments / 100)))
    return NoOp(plan.api_calls, pages, t2 - t0, t2 - t1, decide_cpu(checked, live, plan, repeats, True),
                decide_cpu(checked, live, plan, repeats, False), f"{checked.cache_hits}/{scale.datasets}")


def apply_independent(root: Path, n: int, latency_ms: float, concurrency: int, datasets: int) -> tuple[str, float]:
    with open(root / "specs" / "team-0" / "specs.yaml", "a") as f:
        for i in range(n):
            f.write(f"---\napiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{name: x{i}}}\nspec:\n"
                    f"  baseModel: {MODEL}\n  trainingData: d{i % datasets}\n  seed: {i}\n")
    set_latency(root, latency_ms)
    try:
        with open_session(root / "specs", root, launcher=spawn) as s:
            plan = make_plan(s.checked, s.client)
            creates = sum(1 for a in plan.actions if a.action == "create")
            assert creates == n, plan.summary()
            calls = s.client.api_calls
            epoch, t0 = time.time(), time.perf_counter()
            result = apply_plan(plan, s.checked, s.client, wait_jobs=False, concurrency=concurrency)
            secs = time.perf_counter() - t0
            calls = s.client.api_calls - calls
        assert result.ok
    finally:
        set_latency(root, 0)
    latency = latency_ms / 1000
    creating = latency * math.ceil(n / concurrency)  # see the docstring
    clock = math.floor(epoch + creating) + UPLOAD_SETTLE_SECONDS - epoch
    ideal = max(creating, clock) + latency
    return (f"{secs:.2f} s vs ideal {ideal:.2f} s (creates {creating:.2f} s, Foundry's clock ready {clock:.2f} s, "
            f"+ one listing {latency:.2f} s) = {secs / ideal:.2f}x; {calls} API calls, {calls / n:.2f} per job"), \
        secs / ideal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--deployments", type=int, default=1000)
    ap.add_argument("--parts", type=int, default=10, help="spec directories the tree is spread over")
    ap.add_argument("--independent-jobs", type=int, default=100)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=8, help="apply's default (see README: Foundry's limits)")
    ap.add_argument("--setup-concurrency", type=int, default=64, help="for the initial applies only")
    ap.add_argument("--small-only", action="store_true", help="only the tree of a tenth (500 resources)")
    args = ap.parse_args()
    large = Scale(args.datasets, args.jobs, args.deployments, args.parts)
    small = Scale(args.datasets // 10, args.jobs // 10, args.deployments // 10, max(1, args.parts // 5))
    rows: list[tuple[str, str]] = []
    results: dict[str, NoOp] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, scale in (("500", small), ("5000", large))[:1 if args.small_only else 2]:
            root = Path(tmp) / label
            write_tree(root, scale, args.concurrency)
            lift_quotas(root)
            secs = apply_all(root, args.setup_concurrency)
            rows.append((f"initial apply --wait, {scale}", f"{secs:.1f} s (setup, concurrency "
                                                           f"{args.setup_concurrency})"))
            r = results[label] = noop_plan(root, scale)
            rows.append(("  no-op plan: API calls", f"{r.calls} (listing pages: {r.pages}, plus the account's models "
                         f"and quota usages: 2; "
                                                       f"hash cache hits {r.cache_hits})"))
            rows.append(("  no-op plan: wall time, warm (validate + connect + plan)",
                         f"{r.wall:.2f} s (of which reading and planning {r.planning:.2f} s)"))
            rows.append(("  planner CPU: decide() on the LiveState read", f"{r.decide_cpu * 1000:.0f} ms "
                         f"({r.decide_cpu_no_gc * 1000:.0f} ms with the cyclic GC off)"))
            if label == "500":
                text, _ = apply_independent(root, args.independent_jobs, args.latency_ms, args.concurrency,
                                            scale.datasets)
                rows.append((f"  apply {args.independent_jobs} independent jobs, {args.latency_ms:.0f} ms latency, "
                             f"concurrency {args.concurrency}", text))
        if "5000" in results:
            ratio = results["5000"].decide_cpu / results["500"].decide_cpu
            no_gc = results["5000"].decide_cpu_no_gc / results["500"].decide_cpu_no_gc
            rows.append((f"planner CPU {small.resources:,} -> {large.resources:,} resources",
                         f"{ratio:.1f}x for {large.resources / small.resources:.0f}x the resources, {no_gc:.1f}x "
                         "with the GC off (target <= 11x)"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}} | result")
    print("-" * (width + 60))
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\ncpus={os.cpu_count()}  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          f"python={sys.version.split()[0]}  targets: no-op plan calls = pages + constant; no-op plan < 1.5 s; "
          "planner CPU 500 -> 5,000 <= 11x; apply within 1.10x of ideal")


if __name__ == "__main__":
    main()
