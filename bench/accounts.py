"""Benchmark of one run over several Foundry accounts: a no-op plan of every account at once against the slowest
single account's (issue 17: "reads the accounts concurrently, wall time under 2x the slowest single account").

    python bench/accounts.py [--accounts 10 --datasets 100 --jobs 100 --deployments 50] [--latency-ms 100]
                             [--repeats 3]

Writes one spec directory of `--accounts` `local: true` Foundry documents (a0, a1 ...: accounts of one local
Foundry, one data dir), each with datasets + jobs + deployments resources (250 by default), applies it once
(jobs run to the end), injects `--latency-ms` on every request of every account (as a remote region adds), then
times, warm (hash cache filled, the local Foundry started once before):
- the no-op plan over every account: validate, start the local Foundry, connect all, read all at once, decide
  wave by wave (`ftops plan` with no --foundry),
- the no-op plan of each account alone (`ftops plan --foundry aN`); the slowest of them,
each the least of `--repeats` runs, and prints the ratio against its target (under 2x).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ftops.apply import apply_plan  # noqa: E402
from ftops.cli._local import fleet  # noqa: E402
from ftops.emulator import AccountSpec, AdminClient, EmulatorServer  # noqa: E402
from ftops.session import for_each, plan_fleet  # noqa: E402

FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {{name: {name}}}
spec: {{local: true, namespace: bench-{name}, region: {region}, speed: 1000000}}
"""
REGIONS = ("swedencentral", "eastus2", "northcentralus", "westus3")
MODEL = "gpt-4.1-mini-2025-04-14"
TARGET = 2.0


def write_tree(root: Path, accounts: int, datasets: int, jobs: int, deployments: int) -> list[str]:
    spec = root / "specs"
    (spec / "data").mkdir(parents=True)
    for i in range(datasets):
        with open(spec / "data" / f"d{i}.jsonl", "w") as f:
            for k in range(12):
                f.write(json.dumps({"messages": [{"role": "user", "content": f"question {i}-{k}?"},
                                                 {"role": "assistant", "content": f"answer {i}-{k}."}]}) + "\n")
    names = [f"a{n}" for n in range(accounts)]
    for n, name in enumerate(names):
        docs = [FOUNDRY.format(name=name, region=REGIONS[n % len(REGIONS)])]
        meta = f"foundry: {name}, name"
        docs += [f"apiVersion: ftops/v1\nkind: Dataset\nmetadata: {{{meta}: {name}-d{i}}}\n"
                 f"spec: {{path: data/d{i}.jsonl}}\n" for i in range(datasets)]
        docs += [f"apiVersion: ftops/v1\nkind: FineTuningJob\nmetadata: {{{meta}: {name}-j{i}}}\nspec:\n"
                 f"  baseModel: {MODEL}\n  trainingData: {name}-d{i % datasets}\n  hyperparameters: {{n_epochs: 1}}\n"
                 f"  seed: {i}\n" for i in range(jobs)]
        docs += [f"apiVersion: ftops/v1\nkind: Deployment\nmetadata: {{{meta}: {name}-m{i}}}\nspec:\n"
                 f"  model: {{job: {name}-j{i}}}\n  sku: {{name: GlobalStandard, capacity: 1}}\n"
                 for i in range(deployments)]
        (spec / f"{name}.yaml").write_text("---\n".join(docs))
    return names


def each_account(root: Path, names: list[str], **faults: float) -> None:
    """Quotas lifted on every account, and `faults` (latency) set on each (an account's admin API is its own)."""
    added = tuple(AccountSpec(name=n, region=REGIONS[i % len(REGIONS)]) for i, n in enumerate(names) if i)
    server = EmulatorServer(root / ".ftops" / "emulator", speed=1_000_000, region=REGIONS[0], accounts=added).start()
    try:
        for name in names:
            conn = server.connection.for_account(name) if name != names[0] else server.connection
            client = AdminClient(conn)
            client.limits(max_running_jobs=100_000, max_running_jobs_developer=100_000, max_queued_jobs=100_000,
                          max_files=100_000, max_deployments=100_000)
            client.faults(latency_ms=faults.get("latency_ms", 0.0))
            client.close()
    finally:
        server.stop()


def apply_all(root: Path) -> None:
    with fleet(root / "specs", []) as f:
        plans = plan_fleet(f)

        def applied(name: str) -> bool:
            s = f.accounts[name].session
            plan = next(ap.plan for ap in plans if ap.foundry == name)
            return apply_plan(plan, s.checked, s.client, wait_jobs=True).ok

        ok = for_each(list(f.accounts), applied)
    assert all(ok.values()), ok


def noop_plan(root: Path, names: list[str], repeats: int) -> float:
    """The least wall time of `repeats` no-op plans of `names` (every account when empty): the machine is shared,
    and the least is the run's own cost."""
    took = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with fleet(root / "specs", names) as f:
            plans = plan_fleet(f)
        took.append(time.perf_counter() - t0)
        assert not any(ap.plan.has_changes for ap in plans), [ap.plan.summary() for ap in plans
                                                              if ap.plan.has_changes]
    return min(took)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--datasets", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--deployments", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=3, help="each no-op plan timed this often, the least kept")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)
        os.environ["FTOPS_LOCAL_FOUNDRY"] = "process"
        names = write_tree(root, args.accounts, args.datasets, args.jobs, args.deployments)
        each_account(root, names)
        t0 = time.perf_counter()
        apply_all(root)
        setup = time.perf_counter() - t0
        each_account(root, names, latency_ms=args.latency_ms)
        noop_plan(root, names, 1)  # warm: the hash cache, the local Foundry's first start
        every = noop_plan(root, [], args.repeats)
        singles = {n: noop_plan(root, [n], args.repeats) for n in names}
    slowest = max(singles, key=lambda n: singles[n])
    per = args.datasets + args.jobs + args.deployments
    ratio = every / singles[slowest]
    print(f"accounts bench: {args.accounts} accounts x {per} resources ({args.datasets} datasets, {args.jobs} jobs, "
          f"{args.deployments} deployments), {args.latency_ms:.0f} ms latency per request (set up in {setup:.0f} s)")
    print(f"  no-op plan, every account in one run   {every:6.2f} s (least of {args.repeats})")
    print(f"  no-op plan, slowest single ({slowest:>4})    {singles[slowest]:6.2f} s "
          f"(fastest {min(singles.values()):.2f} s; sum of all {sum(singles.values()):.2f} s)")
    verdict = "ok" if ratio < TARGET else "OVER TARGET"
    print(f"  ratio {ratio:.2f}x (target: under {TARGET:.0f}x) {verdict}")


if __name__ == "__main__":
    main()
