"""Benchmark of dataset hashing and validation (issue: foundation). Prints a table of figures.

    python bench/validate.py [--sizes 50,512] [--dir bench/_data] [--no-tokens-on-large]

For each generated chat JSONL file it measures, each in a fresh subprocess so peak RSS is its own:
`sha256sum` (the disk + hash limit), ftops hashing, ftops validation without token counts, with
token counts, and a warm re-validate through the (size, mtime, inode) cache.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "sarcastic", "clippy", "answers", "every", "question", "with", "a", "little", "too", "much", "attitude", "about", "oceans", "planets", "painters", "rivers", "mountains", "inventors", "and", "elements"]


def generate(path: Path, size_mb: int) -> None:
    target = size_mb * 1024 * 1024 - 64 * 1024  # just under the size, so 512 MB stays within Foundry's limit
    if path.exists() and target <= path.stat().st_size <= size_mb * 1024 * 1024:
        return
    rng = random.Random(size_mb)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            turns = [{"role": "system", "content": "Clippy is a factual chatbot that is also sarcastic."}]
            for _ in range(rng.randint(1, 3)):
                turns.append({"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(8, 40))) + "?"})
                turns.append({"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(20, 120))),
                              "weight": rng.choice((0, 1))})
            line = json.dumps({"messages": turns}) + "\n"
            f.write(line)
            written += len(line)


def run_child(code: str) -> tuple[float, float]:
    """Run python code in a child; returns (seconds, peak RSS MiB) of that child."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["seconds"], out["rss_mb"]


CHILD = """
import json, resource, time, sys
from pathlib import Path
sys.path.insert(0, {src!r})
{setup}
t0 = time.perf_counter()
{body}
secs = time.perf_counter() - t0
print(json.dumps({{"seconds": secs, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(path: Path, what: str) -> tuple[float, float]:
    src = str(HERE.parent / "src")
    p = str(path)
    if what == "sha256sum":
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", p], check=True, capture_output=True)
        secs = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return secs, rss
    setup = "from ftops.datasets import hash_file, scan_file, ScanOptions, HashCache, get_encoding"
    if what == "hash":
        body = f"hash_file(Path({p!r}))"
    elif what == "validate":
        body = f"r = scan_file(Path({p!r}), ScanOptions(count_tokens=False)); assert r.ok, r.problems[:3]"
    elif what == "tokens":
        setup += "; get_encoding('o200k_base')"
        body = f"r = scan_file(Path({p!r}), ScanOptions(count_tokens=True)); assert r.ok, r.problems[:3]"
    elif what == "warm":
        cache_root = path.parent / f".cache-{path.stem}"
        setup += (f"; c = HashCache(Path({str(cache_root)!r})); c.scan(Path({p!r}), ScanOptions()); c.save()"
                  f"; t_ = HashCache")
        body = (f"c = HashCache(Path({str(cache_root)!r})); r = c.scan(Path({p!r}), ScanOptions()); "
                "assert c.hits == 1")
    else:
        raise ValueError(what)
    return run_child(CHILD.format(src=src, setup=setup, body=body))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,512", help="file sizes in MB, comma separated")
    ap.add_argument("--dir", default=str(HERE / "_data"))
    ap.add_argument("--no-tokens-on-large", action="store_true", help="skip token counting above 100 MB")
    args = ap.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = Path(args.dir) / f"chat-{size}mb.jsonl"
        generate(path, size)
        mb = path.stat().st_size / 2**20
        # Warm the page cache so every row measures the same thing (hashing and parsing, not the disk).
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
        ref_secs, _ = measure(path, "sha256sum")
        for what in ("sha256sum", "hash", "validate", "tokens", "warm"):
            if what == "tokens" and args.no_tokens_on_large and size > 100:
                continue
            secs, rss = (ref_secs, float("nan")) if what == "sha256sum" else measure(path, what)
            rows.append((f"{size} MB", what, secs, mb / secs, ref_secs / secs, rss))
    print(f"{'file':>8} | {'measure':<10} | {'seconds':>8} | {'MB/s':>9} | {'x sha256sum':>11} | {'peak RSS MB':>11}")
    print("-" * 74)
    for file, what, secs, mbs, ratio, rss in rows:
        rss_s = "-" if rss != rss else f"{rss:.0f}"
        print(f"{file:>8} | {what:<10} | {secs:8.3f} | {mbs:9.1f} | {ratio:11.2f} | {rss_s:>11}")
    print(f"\ncpus={os.cpu_count()}  python={sys.version.split()[0]}  "
          "targets: hash >= 0.8x sha256sum; validate >= 150 MB/s; RSS < 200 MB; warm < 0.5 s")


if __name__ == "__main__":
    main()
