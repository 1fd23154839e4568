"""Benchmark: evaluate 3 candidate checkpoints and the serving baseline on 1,000 held-out items.

    python bench/evals.py [--items 1000] [--speed 2000] [--concurrency 4]

The local Foundry runs in its own process. One job (4 epochs) gives the three kept checkpoints; an
earlier job's model serves as the baseline. Candidates go on Developer-tier deployments (one
deployment write at a time, as Foundry serializes them), then the four eval runs (exact match,
ROUGE-L and a python grader) start together, bounded by --concurrency, through ftops' EvalsClient.
Reports wall time and API calls per phase, and each model's scores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ftops.foundry import (  # noqa: E402
    Criterion,
    DeploymentWrite,
    EvalsClient,
    EvalScores,
    FoundryClient,
    JobRequest,
    RetryPolicy,
    StaticTokenCredential,
    chat_eval_item,
)

WORDS = ["red", "blue", "green", "cat", "dog", "owl", "eats", "honey", "bread", "fish", "river", "hill", "night"]
PYTHON = "def grade(sample, item):\n    return 1.0 if len(sample['output_text']) <= 2 * len(item['reference']) else 0.0\n"


def fact(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    answer = f"Fact {i}: " + " ".join(rng.choice(WORDS) for _ in range(12)) + "."
    return {"messages": [{"role": "system", "content": "Answer questions about numbered facts."},
                         {"role": "user", "content": f"What does fact {i} say?"},
                         {"role": "assistant", "content": answer}]}


def start_emulator(data_dir: Path, speed: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "--data-dir", str(data_dir),
                             "--speed", str(speed)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    conn: dict[str, str] = json.loads(proc.stdout.readline())
    return proc, conn


def foundry(conn: dict[str, str]) -> FoundryClient:
    import ssl

    verify = ssl.create_default_context(cafile=conn["ca_cert"])
    oai = openai.OpenAI(base_url=conn["endpoint"], api_key=conn["api_key"], max_retries=0, timeout=600,
                        http_client=openai.DefaultHttpxClient(verify=verify, timeout=600))
    arm = CognitiveServicesManagementClient(StaticTokenCredential(conn["api_key"]), conn["subscription"],
                                            base_url=conn["arm_endpoint"], connection_verify=conn["ca_cert"],
                                            retry_total=0)
    return FoundryClient(oai, arm, resource_group=conn["resource_group"], account=conn["account"],
                         endpoint=conn["endpoint"], policy=RetryPolicy(attempts=8, base_delay=0.05, max_delay=1.0),
                         poll_interval=0.05)


def train(c: FoundryClient, tmp: Path, name: str, epochs: int, records: list[dict[str, Any]]) -> Any:
    path = tmp / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    f = c.wait_file(c.upload(path, f"{name}.jsonl").id)
    job = c.create_job(JobRequest("gpt-4.1-mini-2025-04-14", f.id, "supervised", "Standard", {"bench": name},
                                  validation_file=f.id, hyperparameters={"n_epochs": epochs}, seed=2),
                       {"bench": name})
    while (job := c.get_job(job.id)).active:
        time.sleep(0.05)
    assert job.status == "succeeded", job
    return job


def evaluate(evals: EvalsClient, eval_id: str, deployment: str, file_id: str) -> tuple[EvalScores, list[float]]:
    """(scores, [seconds to start the run, to see it complete, to read its output items])."""
    marks = [time.perf_counter()]
    run = evals.start_run(eval_id, deployment, file_id, f"bench-{deployment}", {"bench": deployment})
    marks.append(time.perf_counter())
    run = evals.wait_run(eval_id, run.id)
    assert run.status == "completed", run
    marks.append(time.perf_counter())
    scores = evals.scores(eval_id, run.id)
    marks.append(time.perf_counter())
    return scores, [b - a for a, b in itertools.pairwise(marks)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--speed", type=float, default=2000.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        proc, conn = start_emulator(tmp / "emu", args.speed)
        try:
            run(foundry(conn), tmp, args)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def run(c: FoundryClient, tmp: Path, args: argparse.Namespace) -> None:
    rows: list[tuple[str, str]] = []
    t0, calls0 = time.perf_counter(), c.api_calls
    records = [fact(i) for i in range(2000)]
    old = train(c, tmp, "baseline", 1, records[:400])
    job = train(c, tmp, "candidates", 4, records)
    checkpoints = sorted(c.checkpoints(job.id), key=lambda cp: cp.step_number)
    rows.append(("train 2 jobs (setup)", f"{time.perf_counter() - t0:.2f} s, {c.api_calls - calls0} calls"))

    t1, calls1 = time.perf_counter(), c.api_calls
    assert old.fine_tuned_model
    c.put_deployment("prod", DeploymentWrite(old.fine_tuned_model, "GlobalStandard", 1, {}))
    names: dict[str, tuple[str, float | None]] = {"prod": (old.fine_tuned_model, None)}
    for n, cp in enumerate(checkpoints):  # Foundry allows one deployment write at a time
        c.put_deployment(f"canary-{n}", DeploymentWrite(cp.id, "Developer", 1, {}))
        names[f"canary-{n}"] = (cp.id, cp.loss)
    rows.append(("deploy baseline + 3 canaries", f"{time.perf_counter() - t1:.2f} s, {c.api_calls - calls1} calls"))

    evals = EvalsClient(c)
    t2, calls2 = time.perf_counter(), c.api_calls
    ev = evals.create_eval("bench", [Criterion.string_check("exact"), Criterion.text_similarity("rouge_l", "rouge_l", 0.7),
                                     Criterion.python("not_rambling", PYTHON, 0.5)], {"bench": "evals"})
    items = [it for i in range(100_000, 100_000 + args.items) if (it := chat_eval_item(fact(i)))]
    data = evals.upload_items(items, "bench.eval.jsonl")
    c.wait_file(data.id)
    rows.append((f"create eval + upload {args.items} items", f"{time.perf_counter() - t2:.2f} s, "
                 f"{c.api_calls - calls2} calls"))

    t3, calls3 = time.perf_counter(), c.api_calls
    with ThreadPoolExecutor(args.concurrency) as pool:
        futures = {name: pool.submit(evaluate, evals, ev.id, name, data.id) for name in names}
        results = {name: f.result() for name, f in futures.items()}
    wall = time.perf_counter() - t3
    rows.append((f"evaluate 4 models x {args.items} items (concurrency {args.concurrency})",
                 f"{wall:.2f} s, {c.api_calls - calls3} calls"))
    rows.append(("total", f"{time.perf_counter() - t0:.2f} s, {c.api_calls - calls0} calls"))

    width = max(len(r[0]) for r in rows)
    print(f"{'phase':<{width}} | wall, API calls")
    print("-" * (width + 30))
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\n{'model':<10} {'valid loss':>10} {'exact':>7} {'rouge_l':>7} {'python':>7}   start s  wait s  read s")
    for name, (scores, secs) in results.items():
        loss = names[name][1]
        means = [scores.score(k).mean for k in ("exact", "rouge_l", "not_rambling")]
        print(f"{name:<10} {loss if loss is not None else '(serving)':>10} "
              + " ".join(f"{m:>7.3f}" if m is not None else f"{'—':>7}" for m in means)
              + "".join(f" {t:>7.2f}" for t in secs))
    print(f"\ncpus={os.cpu_count()}  python={sys.version.split()[0]}  emulator speed={args.speed:g}")


if __name__ == "__main__":
    main()
