"""Start-up benchmark: whole-process wall time of `ftops validate` and `ftops plan` on the demo, as a user runs them.

    python bench/startup.py [--runs 7]

Byte-compiles ftops first (as `pip install` leaves it), copies `specs/` into a temporary git repository, runs each command once to warm the caches (hash
cache, the local Foundry's certificates and state), then times `--runs` runs of each, interleaved
with the reference `python -c pass` so that all of them see the same machine load. Prints median,
min and max, and what bounds `plan`: the import time of the modules it needs, each in a fresh process.
Targets: validate <= 0.35 s median (issue 11); plan <= 1.25x a bare import of the two SDKs it must load,
`python -c "import openai, azure.mgmt.cognitiveservices"`, timed in the same interleaved rounds (issue 20).
Also `plan` against a local Foundry that answers each call 50 ms late (no target): what a remote Foundry's
latency adds once the listings load while the planner does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDKS = "import openai, azure.mgmt.cognitiveservices (reference)"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMMANDS = {
    "python -c pass (reference)": [sys.executable, "-c", "pass"],
    SDKS: [sys.executable, "-c", "import openai, azure.mgmt.cognitiveservices"],
    "ftops validate specs/": [sys.executable, "-m", "ftops", "validate", "specs/"],
    "ftops plan specs/": [sys.executable, "-m", "ftops", "plan", "specs/"],
    # The same with the local Foundry on a thread of the CLI's process (as before issue 11).
    "ftops plan specs/ (Foundry in-process)": ["env", "FTOPS_LOCAL_FOUNDRY=thread", sys.executable, "-m", "ftops",
                                               "plan", "specs/"],
}
# The same plan against a local Foundry that answers every call 50 ms late, as a remote Foundry does: a plan
# reads its listings while it loads its planner (`foundry.start_reading`), so part of the wait is hidden.
SLOW = "ftops plan specs/ (every call 50 ms late)"
SLOW_MS = 50
COMMANDS[SLOW] = COMMANDS["ftops plan specs/"]
TARGETS = {"ftops validate specs/": 0.35}
RATIO_TARGETS = {"ftops plan specs/": 1.25}  # times the SDKs' import (SDKS), medians of the same rounds
# What `ftops plan` must import, by layer (each timed alone in a fresh process, CPU seconds, with the
# cyclic GC paused as the CLI loads them: see ftops/cli/_startup.py).
IMPORTS = {
    "CLI (typer, rich, spec models)": "import ftops.cli._main",
    "openai": "import openai",
    "azure-mgmt-cognitiveservices": "import azure.mgmt.cognitiveservices",
    "everything plan imports": "import ftops.cli._main, ftops.cli.commands.reconcile, ftops.apply, ftops.cli._render",
    "local Foundry server (child process)": "import ftops.emulator._server",
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CI": "1"}


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the command and every process it waited for (the local Foundry)."""
    before = os.times()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t0
    after = os.times()
    if r.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode()[-500:]}")
    return secs, after.children_user - before.children_user + after.children_system - before.children_system


def cpu_seconds(code: str, runs: int) -> float:
    """Median user+system CPU of a fresh interpreter running `code` (children included)."""
    samples = []
    for _ in range(runs):
        before = os.times()
        subprocess.run([sys.executable, "-c", f"import gc; gc.disable(); {code}"], env=_env(), check=True)
        after = os.times()
        samples.append(after.children_user - before.children_user + after.children_system - before.children_system)
    return statistics.median(samples)


def child_start(runs: int) -> float:
    """Median wall seconds from spawning the local Foundry's child process until it serves (its
    connection line), as `ftops plan` starts it; the CLI imports the SDKs meanwhile."""
    sys.path.insert(0, str(ROOT / "src"))
    from ftops.emulator import spawn

    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs + 1):  # the first run makes the certificates
            t0 = time.perf_counter()
            child = spawn(Path(tmp), speed=1.0, subscription=None, resource_group=None, account=None,
                          region="swedencentral")
            child.connection  # noqa: B018 (waits until it serves)
            samples.append(time.perf_counter() - t0)
            child.stop()
    return statistics.median(samples[1:])


def slowed(repo: Path, latency_ms: float) -> None:
    """Make the local Foundry of `repo` answer every call `latency_ms` late (its fault settings persist)."""
    sys.path.insert(0, str(ROOT / "src"))
    from ftops.emulator import AdminClient, EmulatorServer

    server = EmulatorServer(repo / ".ftops" / "emulator").start()
    client = AdminClient(server.connection)
    client.faults(latency_ms=latency_ms)
    client.close()
    server.stop()


def demo_repo(tmp: Path, name: str = "demo") -> Path:
    repo = tmp / name
    shutil.copytree(ROOT / "specs", repo / "specs")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "demo"],
                   cwd=repo, check=True)
    return repo


def _target(name: str, median: float, sdks: float) -> str:
    if name in TARGETS:
        return f"<= {TARGETS[name]:.2f} s " + ("met" if median <= TARGETS[name] else "NOT met")
    if name in RATIO_TARGETS:
        goal = RATIO_TARGETS[name]
        return f"<= {goal:.2f}x the SDKs' import " + ("met" if median <= goal * sdks else "NOT met")
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    # ftops byte-compiled as `pip install` leaves it (an editable install under PYTHONDONTWRITEBYTECODE
    # would compile every module of ours again on each run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        repo, slow = demo_repo(Path(tmp)), demo_repo(Path(tmp), "slow")
        slowed(slow, SLOW_MS)
        where = {name: slow if name == SLOW else repo for name in COMMANDS}
        for name, cmd in COMMANDS.items():
            timed(cmd, where[name])  # warm: hash cache, certificates, emulator state, page cache
        samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(max(5, args.runs)):
            for name, cmd in COMMANDS.items():
                wall, used = timed(cmd, where[name])
                samples[name].append(wall)
                cpu[name].append(used)
    ref = statistics.median(samples["python -c pass (reference)"])
    width = max(len(n) for n in COMMANDS)
    sdks = statistics.median(samples[SDKS])
    print(f"{'command (whole process, wall)':<{width}} | median  | min     | max     | vs python -c pass | "
          "vs the SDKs' import | CPU s | target")
    print("-" * (width + 102))
    for name, xs in samples.items():
        print(f"{name:<{width}} | {statistics.median(xs):.3f} s | {min(xs):.3f} s | {max(xs):.3f} s | "
              f"{statistics.median(xs) / ref:8.1f}x         | {statistics.median(xs) / sdks:8.2f}x          | "
              f"{statistics.median(cpu[name]):.3f} | {_target(name, statistics.median(xs), sdks)}")
    print(f"\nwhat bounds `ftops plan`: import CPU time in a fresh process (median of {args.runs // 2 + 1})")
    for name, code in IMPORTS.items():
        print(f"  {name:<40} {cpu_seconds(code, args.runs // 2 + 1):.3f} s CPU")
    print(f"  {'local Foundry child: spawn -> serving':<40} {child_start(args.runs):.3f} s wall (median)")
    print(f"\ncpus={os.cpu_count()}  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          f"python={sys.version.split()[0]}  runs={max(5, args.runs)}")


if __name__ == "__main__":
    main()
