"""Benchmark of dataset hashing, validation and token counting (issues 7 and 11). Prints a table.

    python bench/validate.py [--sizes 50,512] [--dir bench/_data] [--runs 3] [--no-tokens-on-large]

Every figure is a ratio against a reference measured in the same run, on the same file:

- hash      vs `sha256sum` (the disk + hash limit);
- validate  vs single-core `orjson` line parsing (read in blocks, split lines, `orjson.loads` each);
- tokens    vs single-thread tiktoken (`encode_ordinary` on every message text, one at a time);
- warm      re-validate through the stat cache (no reference: seconds);
- long line validate of a 512 MB file holding one 100 MB line (target: peak RSS < 300 MB);
- process   `ftops validate --no-tokens` as a whole process with an empty hash cache, vs a whole process
            parsing the file with single-core orjson (--process-sizes, default 200 MB; target >= 1.0x).

Seconds are wall-clock; CPU s is user + system time of the process and its workers, which shows the
work done when the machine is shared and wall-clock ratios are not.

Each measurement runs in a fresh process. Memory is sampled (every 5 ms, every 50 ms after the first
half second) by this process over the
measured process and all its descendants (worker processes included), summed: RSS counts a page a
forked worker shares with its parent in both (an upper bound), PSS splits it between them (the
memory actually used). Seconds are the best of --runs
(the machine is shared; a measure and its reference alternate), except token counting, which runs once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "sarcastic", "clippy", "answers", "every", "question", "with", "a", "little", "too", "much", "attitude", "about", "oceans", "planets", "painters", "rivers", "mountains", "inventors", "and", "elements"]
MiB = 1024 * 1024


def generate(path: Path, size_mb: int) -> None:
    target = size_mb * MiB - 64 * 1024  # just under the size, so 512 MB stays within Foundry's limit
    if path.exists() and target <= path.stat().st_size <= size_mb * MiB:
        return
    rng = random.Random(size_mb)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            turns: list[dict[str, object]] = [{"role": "system",
                                               "content": "Clippy is a factual chatbot that is also sarcastic."}]
            for _ in range(rng.randint(1, 3)):
                turns.append({"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(8, 40))) + "?"})
                turns.append({"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(20, 120))),
                              "weight": rng.choice((0, 1))})
            line = json.dumps({"messages": turns}) + "\n"
            f.write(line)
            written += len(line)


def generate_long_line(path: Path, base: Path, line_mb: int = 100) -> None:
    """`base`'s records with one `line_mb` MiB line 40% of the way in, about as large as `base` in all."""
    size = base.stat().st_size
    if path.exists() and size - MiB <= path.stat().st_size <= size:
        return
    with open(base, "rb") as src, open(path, "wb") as out:
        head = src.read(int(size * 0.4))
        head = head[: head.rindex(b"\n") + 1]
        out.write(head)
        out.write(b'{"messages": [{"role": "user", "content": "')
        filler = b"lorem ipsum " * (MiB // 12)
        for _ in range(line_mb):
            out.write(filler)
        out.write(b'"}, {"role": "assistant", "content": "ok"}]}\n')
        src.seek(out.tell())  # the base records the long line displaced are dropped
        src.readline()  # from the next whole line on
        while block := src.read(min(8 * MiB, size - out.tell())):
            out.write(block)


CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {src!r})
def cpu():
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
{setup}
t0, c0 = time.perf_counter(), cpu()
{body}
secs, cpu_secs = time.perf_counter() - t0, cpu() - c0
print(json.dumps({{"seconds": secs, "cpu": cpu_secs}}))
"""

ORJSON_LINES = """
import orjson
rest = b""
with open({p!r}, "rb", buffering=0) as f:
    while block := f.read(8 << 20):
        lines = (rest + block).split(b"\\n")
        rest = lines.pop()
        for raw in lines:
            orjson.loads(raw)
if rest:
    orjson.loads(rest)
"""

TIKTOKEN_LINES = """
n = 0
with open({p!r}, "rb") as f:
    for raw in f:
        for m in orjson.loads(raw)["messages"]:
            n += len(enc.encode_ordinary(m["content"]))
"""


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MiB; PSS splits each shared page between the processes sharing it."""
    rss = pss = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Rss:", "Pss:")):
                    kb = int(line.split()[1]) / 1024
                    rss, pss = (kb, pss) if line.startswith("Rss:") else (rss, kb)
    except (OSError, IndexError, ValueError):
        pass
    return rss, pss


def run_tree(argv: list[str]) -> tuple[str, float, float]:
    """Run argv; returns (stdout, peak RSS, peak PSS), each summed over it and its descendants, in MiB,
    sampled every 5 ms for the first half second, then every 50 ms: reading smaps_rollup of ~300 MB
    of processes every 5 ms takes about a fifth of a core, which on 2 cores slowed a measure that
    uses both (token counting: 7.0 s instead of 5.8 s) and not its single-core reference."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.is_set():
            mem = [_memory_mb(p) for p in _descendants(proc.pid)]
            peak[0] = max(peak[0], sum(r for r, _ in mem))
            peak[1] = max(peak[1], sum(p for _, p in mem))
            time.sleep(0.005 if time.perf_counter() - start < 0.5 else 0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{err}")
    return out, peak[0], peak[1]


def measure(what: str, path: Path) -> tuple[float, float, float, float]:
    """(seconds, CPU seconds, peak RSS, peak PSS) of one measurement in a fresh process."""
    p = str(path)
    setup = "from ftops.datasets import hash_file, scan_file, ScanOptions, HashCache, get_encoding"
    if what == "sha256sum":
        setup, body = "import subprocess", f"subprocess.run(['sha256sum', {p!r}], check=True, capture_output=True)"
    elif what == "orjson":
        setup, body = "", ORJSON_LINES.format(p=p)
    elif what == "tiktoken":
        setup += "; import orjson; enc = get_encoding('o200k_base')"
        body = TIKTOKEN_LINES.format(p=p)
    elif what == "hash":
        body = f"hash_file(Path({p!r}))"
    elif what == "validate":
        body = f"r = scan_file(Path({p!r}), ScanOptions()); assert r.ok, r.problems[:3]"
    elif what == "long line":
        body = (f"r = scan_file(Path({p!r}), ScanOptions()); "
                "assert [x.message[:8] for x in r.problems if x.severity == 'error'] == ['line is '], r.problems[:3]")
    elif what == "tokens":
        setup += "; get_encoding('o200k_base')"
        body = f"r = scan_file(Path({p!r}), ScanOptions(count_tokens=True)); assert r.ok, r.problems[:3]"
    elif what == "warm":  # the cache is filled by a process of its own, so only the lookup is measured
        cache_root = path.parent / f".cache-{path.stem}"
        fill = f"c = HashCache(Path({str(cache_root)!r})); c.scan(Path({p!r}), ScanOptions()); c.save()"
        run_tree([sys.executable, "-c", CHILD.format(src=SRC, setup=setup, body=fill)])
        body = (f"c = HashCache(Path({str(cache_root)!r})); r = c.scan(Path({p!r}), ScanOptions()); "
                "assert c.hits == 1")
    elif what == "orjson process":  # the reference as a whole process too: the interpreter's start included
        setup, body = "import subprocess", f"subprocess.run([sys.executable, '-c', {ORJSON_LINES.format(p=p)!r}], check=True)"
    elif what == "process":  # `ftops validate --no-tokens` as a user runs it, its hash cache empty (cold)
        root = _process_project(path)
        setup = f"import os, shutil, subprocess; shutil.rmtree({str(root / '.ftops')!r}, ignore_errors=True)"
        body = (f"subprocess.run([sys.executable, '-m', 'ftops', 'validate', '--no-tokens', 'specs'], cwd={str(root)!r}, "
                f"env={{**os.environ, 'PYTHONPATH': {SRC!r}, 'CI': '1'}}, check=True, capture_output=True)")
    else:
        raise ValueError(what)
    out, rss, pss = run_tree([sys.executable, "-c", CHILD.format(src=SRC, setup=setup, body=body)])
    times = json.loads(out.strip().splitlines()[-1])
    return times["seconds"], times["cpu"], rss, pss


def _process_project(path: Path) -> Path:
    """A project beside `path` whose one Dataset is `path` (hard-linked into its spec directory, not copied)."""
    root = path.parent / f"project-{path.stem}"
    data = root / "specs" / "data" / path.name
    data.parent.mkdir(parents=True, exist_ok=True)
    # Its own project root (find_root stops at the nearest `.git`): without it the root was this repository's,
    # whose `.ftops/cache` the measure never emptied, so every run after the first read a warm cache.
    (root / ".git").mkdir(exist_ok=True)
    if not data.exists() or not os.path.samefile(data, path):
        data.unlink(missing_ok=True)
        os.link(path, data)
    (root / "specs" / "ftops.yaml").write_text(
        "apiVersion: ftops/v1\nkind: Foundry\nmetadata: {name: local}\nspec: {local: true, namespace: bench}\n"
        f"---\napiVersion: ftops/v1\nkind: Dataset\nmetadata: {{name: data}}\nspec: {{path: data/{path.name}}}\n")
    return root


def best(whats: list[str], path: Path, runs: int) -> dict[str, tuple[float, float, float, float]]:
    """For each measure, the fastest of `runs` (seconds and its CPU seconds) with the highest memory peaks
    of any run. A measure and its reference alternate run by run, so both meet the same machine load."""
    results: dict[str, list[tuple[float, float, float, float]]] = {w: [] for w in whats}
    for _ in range(runs):
        for w in whats:
            results[w].append(measure(w, path))
    return {w: (min(r)[0], min(r)[1], max(x[2] for x in r), max(x[3] for x in r)) for w, r in results.items()}


# (measure, its reference, what the ratio must reach)
ROWS = [("sha256sum", None, None), ("hash", "sha256sum", 0.8), ("orjson", None, None),
        ("validate", "orjson", 1.0), ("tiktoken", None, None), ("tokens", "tiktoken", 1.8), ("warm", None, None)]
# Whole processes (issue 20): `ftops validate --no-tokens` with an empty hash cache against a process that
# parses the file with single-core orjson, on the --process-sizes files.
PROCESS_ROWS = [("orjson process", None, None), ("process", "orjson process", 1.0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,512", help="file sizes in MB, comma separated")
    ap.add_argument("--dir", default=str(HERE / "_data"))
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement, best kept (token rows: 1)")
    ap.add_argument("--no-tokens-on-large", action="store_true", help="skip token counting above 100 MB")
    ap.add_argument("--process-sizes", default="200", help="file sizes in MB for the whole-process rows ('' none)")
    ap.add_argument("--only", default="", help="measures to run, comma separated (default: all), "
                                               "e.g. orjson,validate or tiktoken,tokens or 'long line'")
    args = ap.parse_args()
    only = {m.strip() for m in args.only.split(",") if m.strip()}
    table = []
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for size in sizes + [int(s) for s in args.process_sizes.split(",") if s.strip()]:
        path = Path(args.dir) / f"chat-{size}mb.jsonl"
        generate(path, size)
        mb = path.stat().st_size / MiB
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache: CPU, not disk
        rows = ROWS if size in sizes else PROCESS_ROWS
        wanted = [what for what, _, _ in rows if not (only and what not in only)
                  and not (what in ("tiktoken", "tokens") and args.no_tokens_on_large and size > 100)]
        measured = best([w for w in wanted if w not in ("tiktoken", "tokens")], path, args.runs)
        measured |= best([w for w in wanted if w in ("tiktoken", "tokens")], path, 1)  # long: once each
        secs: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for what, ref, target in rows:
            if what not in measured:
                continue
            secs[what], cpus[what], rss, pss = measured[what]
            ratio = (f"{secs[ref] / secs[what]:.2f}x {ref}" if ref in secs else
                     "" if ref or what == "warm" else "reference")
            work = f"{cpus[ref] / cpus[what]:.2f}" if ref in cpus and cpus[what] > 0 else ""
            goal = f">= {target}x" if target else ("< 0.5 s" if what == "warm" else "")
            table.append((f"{size} MB", what, secs[what], cpus[what], mb / secs[what], ratio, work, goal, rss, pss))
        if size >= 512 and size in sizes and (not only or "long line" in only):
            long_path = Path(args.dir) / f"chat-{size}mb-100mb-line.jsonl"
            generate_long_line(long_path, path)
            subprocess.run(["cat", str(long_path)], stdout=subprocess.DEVNULL, check=True)
            s, cpu, rss, pss = best(["long line"], long_path, args.runs)["long line"]
            table.append((f"{size} MB", "long line", s, cpu, long_path.stat().st_size / MiB / s, "100 MB line", "",
                          "RSS < 300", rss, pss))
    print(f"{'file':>7} | {'measure':<9} | {'seconds':>7} | {'CPU s':>6} | {'MB/s':>7} | {'ratio':<17} | "
          f"{'CPU ratio':>9} | {'target':<9} | {'peak RSS':>8} | {'peak PSS':>8}")
    print("-" * 118)
    for file, what, s, cpu, mbs, ratio, work, goal, rss, pss in table:
        mbs_s = "-" if what == "warm" else f"{mbs:.1f}"
        print(f"{file:>7} | {what:<9} | {s:7.3f} | {cpu:6.2f} | {mbs_s:>7} | {ratio:<17} | {work:>9} | {goal:<9} | "
              f"{rss:8.0f} | {pss:8.0f}")
    print(f"\ncpus={len(os.sched_getaffinity(0))}  python={sys.version.split()[0]}  load={os.getloadavg()[0]:.1f}\n"
          "ratio: the reference's seconds / ours (wall clock). CPU ratio: the reference's CPU seconds / ours, the\n"
          "work each costs: on N idle cores a parallel measure's ratio approaches N x its CPU ratio; on a busy\n"
          "machine extra workers gain little (with autogroup on, Linux shares CPU per session, not per process).\n"
          "Memory in MiB, the process and its workers summed (RSS counts shared pages in each,\n"
          "PSS splits them); RSS target: validate < 200 MB")


if __name__ == "__main__":
    main()
