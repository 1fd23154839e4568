"""Benchmark of hostile spec files (issue 7): how fast and how small `ftops validate` refuses them.

    python bench/hostile.py

Each case runs `ftops validate` in a fresh subprocess (so the peak RSS is its own) on a scratch
project whose only spec file is the hostile input, and prints wall time, peak RSS, the exit code and
the first line ftops printed. Target: the ~300-byte alias bomb refused in well under a second.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def alias_bomb() -> str:
    """Nine levels of nine aliases: 9**9 (387 million) strings once expanded, about 340 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


CASES = {
    "alias bomb (9^9)": alias_bomb(),
    "recursive alias": "a: &a [*a]\n",
    "nesting 10,000 deep": "[" * 10_000 + "]" * 10_000 + "\n",
    "5,000 documents": "---\na: 1\n" * 5_000,
    "5,000-digit integer": "a: " + "9" * 5_000 + "\n",
    "2 MB spec file": "# " + "x" * (2 << 20) + "\n",
}


# The child runs the CLI in-process and reports its own peak RSS on the last line of stdout.
CHILD = """
import resource, sys
from ftops.cli import main
try:
    main(["validate", "--no-tokens", "specs"])
except SystemExit as e:
    code = e.code
print(f"RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {code}")
"""


def run(text: str) -> tuple[float, float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        (specs / "hostile.yaml").write_text(text)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - t0
        _, rss_kb, code = r.stdout.splitlines()[-1].split()
        first = r.stderr.splitlines()[0] if r.stderr else ""
        return elapsed, int(rss_kb) / 1024, int(code), first


def main() -> None:
    print(f"{'input':<22} {'bytes':>9} {'seconds':>8} {'peak RSS MB':>12} {'exit':>5}  first line")
    for name, text in CASES.items():
        elapsed, rss, code, first = run(text)
        print(f"{name:<22} {len(text.encode()):>9,} {elapsed:>8.2f} {rss:>12.0f} {code:>5}  {first[:90]}")
    print("\n(Seconds include starting Python and importing ftops, about 0.3 s; so does the peak RSS.)")


if __name__ == "__main__":
    main()
