"""Benchmark of planning and applying at scale against the local Foundry (quotas lifted).

    python bench/plan.py [--datasets 200] [--jobs 200] [--deployments 100] [--latency-ms 200]

Builds a spec tree of 200 datasets, 200 jobs and 100 deployments, applies it, then reports:
- API calls made by a no-op plan (target: listing pages of 100 plus a constant, independent of resources),
- no-op plan wall time with a warm hash cache (target: under 2 s),
- apply of 100 independent jobs with injected latency versus the ideal latency x ceil(100 / concurrency)
  (target: within 1.3x).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ftops.apply import apply_plan, open_session  # noqa: E402
from ftops.emulator import (  # noqa: E402
    AdminClient,
    EmulatorServer,
    launch,
)
from ftops.plan import make_plan  # noqa: E402

FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {{name: bench}}
spec: {{local: true, project: bench, speed: 1000000, concurrency: {concurrency}}}
"""


def write_tree(root: Path, datasets: int, jobs: int, deployments: int, concurrency: int) -> None:
    spec = root / "specs"
    (spec / "data").mkdir(parents=True)
    docs = [FOUNDRY.format(concurrency=concurrency)]
    for i in range(datasets):
        with open(spec / "data" / f"d{i}.jsonl", "w") as f:
            for k in range(12):
                f.write(json.dumps({"messages": [{"role": "user", "content": f"question {i}-{k}?"},
                                                 {"role": "assistant", "content": f"answer {i}-{k}."}]}) + "\n")
        docs.append(f"apiVersion: ftops/v1\nkind: Dataset\nmetadata: {{name: d{i}}}\nspec: {{path: data/d{i}.jsonl}}\n")
    for i in range(jobs):
        docs.append(f"apiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{name: j{i}}}\nspec:\n"
                    f"  baseModel: gpt-4.1-mini-2025-04-14\n  trainingData: d{i % datasets}\n  validationData: "
                    f"d{(i + 1) % datasets}\n  hyperparameters: {{n_epochs: 2}}\n  seed: {i}\n")
    for i in range(deployments):
        checkpoint = "best" if i % 2 else "final"
        docs.append(f"apiVersion: ftops/v1\nkind: Deployment\nmetadata: {{name: m{i}}}\nspec:\n"
                    f"  model: {{job: j{i}, checkpoint: {checkpoint}}}\n  sku: {{name: GlobalStandard, capacity: 1}}\n")
    (spec / "bench.yaml").write_text("---\n".join(docs))


def lift_quotas(root: Path) -> AdminClient:
    server = EmulatorServer(root / ".ftops" / "emulator").start()
    admin = AdminClient(server.connection)
    admin.limits(max_running_jobs=10_000, max_running_jobs_developer=10_000, max_queued_jobs=10_000,
                 max_files=100_000, max_total_file_bytes=100 * 1024 ** 3, max_deployments=10_000)
    server.stop()
    return admin


def set_latency(root: Path, latency_ms: float) -> None:
    server = EmulatorServer(root / ".ftops" / "emulator").start()
    AdminClient(server.connection).faults(latency_ms=latency_ms)
    server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--deployments", type=int, default=100)
    ap.add_argument("--independent-jobs", type=int, default=100)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, args.datasets, args.jobs, args.deployments, args.concurrency)
        os.chdir(root)
        lift_quotas(root)
        t0 = time.perf_counter()
        with open_session("specs", launcher=launch) as s:
            plan = make_plan(s.checked, s.client)
            result = apply_plan(plan, s.checked, s.client, wait_jobs=True, concurrency=args.concurrency)
        assert result.ok, [o for o in result.outcomes if o.state not in ("done", "no-op")][:3]
        rows.append((f"initial apply --wait ({args.datasets} datasets, {args.jobs} jobs, {args.deployments} "
                     "deployments)", f"{time.perf_counter() - t0:.1f} s"))
        # No-op plan, warm hash cache: the whole command path (validate from cache, connect, plan).
        t0 = time.perf_counter()
        with open_session("specs", launcher=launch) as s:
            t1 = time.perf_counter()
            plan = make_plan(s.checked, s.client)
            t2 = time.perf_counter()
        assert not plan.has_changes, plan.summary()
        pages = math.ceil(args.datasets / 100) + math.ceil(args.jobs / 100) + 1
        rows.append(("no-op plan: API calls", f"{plan.api_calls} (listing pages of 100: {pages}; "
                                               f"cache hits {s.checked.cache_hits}/{args.datasets})"))
        rows.append(("no-op plan: wall time, warm cache", f"{t2 - t0:.2f} s (of which planning {t2 - t1:.2f} s)"))
        # Apply N independent jobs with injected latency.
        n = args.independent_jobs
        with open("specs/bench.yaml", "a") as f:
            for i in range(n):
                f.write(f"---\napiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{name: x{i}}}\nspec:\n"
                        f"  baseModel: gpt-4.1-mini-2025-04-14\n  trainingData: d{i % args.datasets}\n  seed: {i}\n")
        set_latency(root, args.latency_ms)
        with open_session("specs", launcher=launch) as s:
            plan = make_plan(s.checked, s.client)
            creates = sum(1 for a in plan.actions if a.action == "create")
            assert creates == n, plan.summary()
            calls = s.client.api_calls
            t0 = time.perf_counter()
            result = apply_plan(plan, s.checked, s.client, wait_jobs=False, concurrency=args.concurrency)
            secs = time.perf_counter() - t0
            calls = s.client.api_calls - calls
        assert result.ok
        ideal = args.latency_ms / 1000 * math.ceil(n / args.concurrency)
        rows.append((f"apply {n} independent jobs, {args.latency_ms:.0f} ms latency, concurrency {args.concurrency}",
                     f"{secs:.2f} s vs ideal {ideal:.2f} s = {secs / ideal:.2f}x ({calls} API calls)"))
        set_latency(root, 0)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}} | result")
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\ncpus={os.cpu_count()}  python={sys.version.split()[0]}  targets: no-op plan calls = pages + constant; "
          "no-op plan < 2 s; apply within 1.3x of ideal")


if __name__ == "__main__":
    main()
