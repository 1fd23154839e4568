"""Benchmark of loading and validating spec trees of 500 and 5,000 resources (issue 11, target 4). Prints a table.

    python bench/specs.py [--datasets 2000 --jobs 2000 --deployments 1000 --parts 10] [--runs 5]

Builds the trees of bench/plan.py (a tenth of the sizes for the small one) and reports, for each:
- validate: `validate_dir()` in-process, as `ftops validate` runs it, with a warm hash cache (the datasets
  are not re-read), median of --runs;
- of which YAML: ftops' loader (`load_documents`: bounds, lines) over the same spec files, median;
- the reference, in the same run: PyYAML's `yaml.load_all(..., Loader=yaml.CSafeLoader)` of the same
  files (libyaml, no bounds, no lines), and the ratio of ftops' loader to it;
- the pure-Python fallback (PyYAML without libyaml): ftops' loader on PyYAML's Python parser, against
  `yaml.SafeLoader` (the pure-Python PyYAML a loader without libyaml starts from);
and the refusal of a ~340-byte alias bomb in a fresh process, both parsers (seconds inside the
process, then the whole process, which includes starting Python and importing ftops).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from hostile import alias_bomb  # noqa: E402
from plan import Scale, write_tree  # noqa: E402

from ftops._yaml import HAS_LIBYAML, ParserName, load_documents  # noqa: E402
from ftops.checks import validate_dir  # noqa: E402


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def spec_texts(spec_dir: Path) -> list[tuple[str, str]]:
    return [(str(p), p.read_text()) for p in sorted(spec_dir.rglob("*.yaml"))]


def ours(texts: list[tuple[str, str]], parser: ParserName) -> Callable[[], object]:
    return lambda: [load_documents(text, path, parser=parser) for path, text in texts]


def pyyaml(texts: list[tuple[str, str]], loader: type) -> Callable[[], object]:
    return lambda: [list(yaml.load_all(text, Loader=loader)) for _, text in texts]


def measure_tree(root: Path, scale: Scale, runs: int) -> tuple[list[tuple[str, str]], float]:
    write_tree(root, scale, concurrency=8)
    os.chdir(root)
    spec_dir = root / "specs"
    validate_dir(spec_dir)  # warms the hash cache, as a second `ftops validate` finds it
    texts = spec_texts(spec_dir)
    documents = sum(len(load_documents(text, path)) for path, text in texts)
    validate = median_seconds(lambda: validate_dir(spec_dir), runs)
    rows = [(f"{scale.resources:,} resources: validate (validate_dir, warm hash cache)",
             f"{validate:.3f} s ({len(texts)} spec files, {documents:,} documents)")]
    if HAS_LIBYAML:
        mine = median_seconds(ours(texts, "libyaml"), runs)
        ref = median_seconds(pyyaml(texts, yaml.CSafeLoader), runs)
        rows += [("  of which YAML: ftops loader on libyaml (bounds, lines)",
                  f"{mine:.3f} s vs CSafeLoader {ref:.3f} s = {mine / ref:.2f}x (whole validate {validate / ref:.2f}x)")]
    fallback_runs = max(1, runs // 2)
    py = median_seconds(ours(texts, "python"), fallback_runs)
    py_ref = median_seconds(pyyaml(texts, yaml.SafeLoader), fallback_runs)
    rows.append(("  without libyaml: ftops loader on PyYAML's Python parser",
                 f"{py:.3f} s vs yaml.SafeLoader {py_ref:.3f} s = {py / py_ref:.2f}x"))
    return rows, validate


# The child times the refusal itself, then this process times the whole child.
CHILD = """
import sys, time
from ftops._yaml import YamlError, load_documents
text = sys.stdin.read()
t0 = time.perf_counter()
try:
    load_documents(text, "bomb.yaml", parser=sys.argv[1])
    print("accepted!")
except YamlError as e:
    print(f"{time.perf_counter() - t0:.4f} {e.line}: {e.message}")
"""


def bomb_refusal(parser: ParserName) -> tuple[str, str]:
    text = alias_bomb()
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", CHILD, parser], input=text, capture_output=True, text=True,
                       timeout=300, env=env, check=True)
    whole = time.perf_counter() - t0
    inside, message = r.stdout.strip().split(" ", 1)
    return (f"alias bomb ({len(text.encode())} bytes, 9^9 values), {parser}, fresh process",
            f"refused in {float(inside) * 1000:.1f} ms ({whole:.2f} s whole process) at line {message[:70]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--deployments", type=int, default=1000)
    ap.add_argument("--parts", type=int, default=10, help="spec directories the tree is spread over")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    large = Scale(args.datasets, args.jobs, args.deployments, args.parts)
    small = Scale(args.datasets // 10, args.jobs // 10, args.deployments // 10, max(1, args.parts // 5))
    rows: list[tuple[str, str]] = []
    seconds = {}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for label, scale in (("500", small), ("5000", large)):
            tree_rows, seconds[label] = measure_tree(Path(tmp) / label, scale, args.runs)
            rows += tree_rows
        os.chdir(here)
    rows.append((f"validate {small.resources:,} -> {large.resources:,} resources",
                 f"{seconds['5000'] / seconds['500']:.1f}x for {large.resources / small.resources:.0f}x the resources"))
    for parser in ("libyaml", "python") if HAS_LIBYAML else ("python",):
        rows.append(bomb_refusal(parser))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}} | result")
    print("-" * (width + 60))
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\ncpus={os.cpu_count()}  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          f"python={sys.version.split()[0]}  pyyaml={yaml.__version__} libyaml={HAS_LIBYAML}  "
          f"medians of {args.runs} runs ({max(1, args.runs // 2)} for the fallback)")


if __name__ == "__main__":
    main()
