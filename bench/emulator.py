"""Benchmark of the local Foundry over loopback HTTPS, through the real openai client.

    python bench/emulator.py [--upload-mb 512] [--jobs 100]

Reports: job-list requests/s, file upload MB/s and the emulator's peak RSS during a large upload
(the emulator runs in its own process so its RSS is its own), and the time to create and complete
100 jobs at high speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def start_emulator(data_dir: Path, speed: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "--data-dir", str(data_dir),
                             "--speed", str(speed)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    conn: dict[str, str] = json.loads(proc.stdout.readline())
    return proc, conn


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def client(conn: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=conn["endpoint"], api_key=conn["api_key"], max_retries=0,
                         http_client=openai.DefaultHttpxClient(
                             verify=ssl.create_default_context(cafile=conn["ca_cert"]), timeout=600))


def make_jsonl(path: Path, size_mb: int) -> None:
    line = json.dumps({"messages": [{"role": "user", "content": "x" * 400},
                                    {"role": "assistant", "content": "y" * 400}]}) + "\n"
    n = size_mb * 1024 * 1024 // len(line)
    block = line * 1000
    with open(path, "w") as f:
        for _ in range(n // 1000):
            f.write(block)
        f.write(line * (n % 1000))


def admin(conn: dict[str, str], path: str, body: dict[str, object]) -> None:
    httpx.post(f"{conn['arm_endpoint']}/_emulator/{path}", json=body,
               headers={"Authorization": f"Bearer {conn['api_key']}"},
               verify=ssl.create_default_context(cafile=conn["ca_cert"])).raise_for_status()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upload-mb", type=int, default=512)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--list-requests", type=int, default=300)
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, conn = start_emulator(Path(tmp) / "emu", speed=1e6)
        try:
            oai = client(conn)
            admin(conn, "limits", {"max_queued_jobs": 10_000, "max_running_jobs": 10_000, "max_files": 10_000,
                                   "max_total_file_bytes": 10 * 1024 ** 3})
            small = Path(tmp) / "small.jsonl"
            make_jsonl(small, 1)
            fid = oai.files.create(file=small.open("rb"), purpose="fine-tune").id
            time.sleep(0.05)
            t0 = time.perf_counter()
            jobs = [oai.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=fid, seed=i,
                                                extra_body={"trainingType": "GlobalStandard"}).id
                    for i in range(args.jobs)]
            created = time.perf_counter() - t0
            while any(j.status not in ("succeeded", "failed") for j in oai.fine_tuning.jobs.list(limit=100).data):
                time.sleep(0.01)
            done = time.perf_counter() - t0
            rows.append((f"create {args.jobs} jobs", f"{created:.2f} s ({args.jobs / created:.0f} jobs/s)"))
            rows.append((f"create + complete {args.jobs} jobs", f"{done:.2f} s"))
            assert len(jobs) == args.jobs
            t0 = time.perf_counter()
            for _ in range(args.list_requests):
                oai.fine_tuning.jobs.list(limit=20)
            secs = time.perf_counter() - t0
            rows.append(("job list (limit 20, 100 jobs stored)", f"{args.list_requests / secs:.0f} requests/s"))
            rss_before = peak_rss_mb(proc.pid)
            big = Path(tmp) / "big.jsonl"
            make_jsonl(big, args.upload_mb)
            size = big.stat().st_size / 2 ** 20
            t0 = time.perf_counter()
            with big.open("rb") as f:
                oai.files.create(file=("big.jsonl", f), purpose="fine-tune")
            secs = time.perf_counter() - t0
            rows.append((f"upload {size:.0f} MB (files.create, multipart)", f"{size / secs:.0f} MB/s ({secs:.1f} s)"))
            rows.append(("emulator peak RSS before / after the upload",
                         f"{rss_before:.0f} MB / {peak_rss_mb(proc.pid):.0f} MB"))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}} | result")
    print("-" * (width + 30))
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\ncpus={os.cpu_count()}  python={sys.version.split()[0]}  client peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB  target: emulator RSS < 150 MB "
          "during a 512 MB upload")


if __name__ == "__main__":
    main()
