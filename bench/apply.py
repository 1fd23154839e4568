"""Apply benchmark: whole-process wall time of the demo's `ftops apply --auto-approve --wait` on a fresh local
Foundry, against `ftops plan` of the same specs measured in the same rounds.

    python bench/apply.py [--runs 5] [--before ../main/src]

The demo `specs/` in a temporary git repository (as bench/startup.py); before each command the local
Foundry's state is removed (its certificates kept), so every plan and apply starts from an empty account,
as `make demo` does the first time. Rounds interleave the two commands so that both see the same machine
load. Target (issue 20): apply at most 3x plan, medians of the same rounds. What apply adds to a plan: the two
uploads (13 KB and 3 KB) and their race settling (docs/reference.md "Racing applies": a look once Foundry's
clock is 1.5 s past the upload's created_at second), the job (about 0.65 s of the local Foundry's emulated
training at the demo's speed) and the deployment.

`--before SRC` also times the apply of another checkout's `src` (say main's, before a change) in the same rounds,
so that a change is measured against what it changes under the same load.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from startup import demo_repo  # noqa: E402

ROOT = HERE.parent
TARGET = 3.0
COMMANDS = {
    "ftops plan specs/ (reference)": [sys.executable, "-m", "ftops", "plan", "specs/"],
    "ftops apply specs/ --auto-approve --wait": [sys.executable, "-m", "ftops", "apply", "specs/",
                                                  "--auto-approve", "--wait"],
}


def fresh(repo: Path) -> None:
    """An empty local Foundry: its state and stored files removed, its certificates and key kept."""
    state = repo / ".ftops" / "emulator"
    for p in state.glob("state.sqlite3*"):
        p.unlink()
    shutil.rmtree(state / "blobs", ignore_errors=True)


def timed(cmd: list[str], cwd: Path, src: Path = ROOT / "src") -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "CI": "1"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t0
    if r.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode()[-500:]}")
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", type=Path, help="another checkout's src directory: its apply is timed too")
    args = ap.parse_args()
    runs = {name: (cmd, ROOT / "src") for name, cmd in COMMANDS.items()}
    if args.before:
        runs[f"same, {args.before}"] = (COMMANDS["ftops apply specs/ --auto-approve --wait"], args.before.resolve())
    for src in {src for _, src in runs.values()}:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as tmp:
        repo = demo_repo(Path(tmp))
        for cmd, src in runs.values():  # warm: hash cache, certificates, page cache
            fresh(repo)
            timed(cmd, repo, src)
        for _ in range(args.runs):
            # An upload settles once Foundry's clock is 1.5 s past its created_at second: 0.5 to 1.5 s after it, by
            # where in its second it fell. Rounds of a fixed length would put each command's uploads at the same
            # point of the second, round after round: each round starts its commands at one random point of the
            # second (the local Foundry's clock is this machine's), so the commands of a round are compared at
            # the same point and the rounds spread over the second.
            phase = random.random()
            for name, (cmd, src) in runs.items():
                fresh(repo)
                time.sleep((phase - time.time()) % 1.0)
                samples[name].append(timed(cmd, repo, src))
    plan = statistics.median(samples["ftops plan specs/ (reference)"])
    width = max(len(n) for n in runs)
    print(f"{'command (whole process, wall, fresh local Foundry)':<{width}} | median  | mean    | min     | max     "
          "| vs plan | target")
    print("-" * (width + 70))
    for name, xs in samples.items():
        ratio = statistics.median(xs) / plan
        target = "" if "reference" in name else f"<= {TARGET:.1f}x plan " + ("met" if ratio <= TARGET else "NOT met")
        print(f"{name:<{width}} | {statistics.median(xs):.3f} s | {statistics.mean(xs):.3f} s | {min(xs):.3f} s "
              f"| {max(xs):.3f} s | {ratio:6.2f}x | {target}")
    if args.before:
        ours, theirs = samples["ftops apply specs/ --auto-approve --wait"], samples[f"same, {args.before}"]
        diff = [a - b for a, b in zip(ours, theirs, strict=True)]
        print(f"\napply less the --before apply, round by round (same point of the second): median "
              f"{statistics.median(diff):+.3f} s, mean {statistics.mean(diff):+.3f} s")
    print("(where in Foundry's second the uploads fall moves an apply by up to 1 s: compare means of many runs)")
    print(f"\ncpus={os.cpu_count()}  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          f"python={sys.version.split()[0]}  runs={args.runs}")


if __name__ == "__main__":
    main()
