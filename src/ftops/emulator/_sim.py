"""The training simulation: a job's status, checkpoints, events and results as functions of time.

Nothing here runs in the background. A job stores its timestamps (created, queued, started,
pauses, finished) and `advance()` moves every job forward to `now` when a request arrives, so jobs
progress while no process runs. Durations are Foundry-like emulated seconds divided by the job's
speed. Losses are deterministic from the seed and dataset size.
"""

from __future__ import annotations

import hashlib
import math
import random
import sqlite3
from typing import Any

from ._store import Store

VALIDATE_SECONDS = 20.0  # emulated
QUEUE_SECONDS = 5.0
EPOCH_BASE_SECONDS = 120.0
STEP_SECONDS = 0.5
ACTIVE = ("validating_files", "queued", "running", "paused")
TERMINAL = ("succeeded", "failed", "cancelled")
DEPLOYABLE_CHECKPOINTS = 3
MIN_EXAMPLES = 10  # "Fine-tuning jobs won't proceed without at least 10 training examples" (reference 001)
UNRESOLVED = -1  # how Azure answers a hyperparameter left to "auto" until the job runs (Learn tutorial)


def digest(*parts: object, n: int = 32) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:n]


def resolve_hyperparameters(method: str, given: dict[str, Any], examples: int) -> dict[str, Any]:
    h = dict(given)
    if h.get("n_epochs", "auto") == "auto":
        h["n_epochs"] = 3 if examples < 1000 else 2
    if h.get("batch_size", "auto") == "auto":
        h["batch_size"] = max(1, min(32, math.ceil(examples * 0.002)))
    if h.get("learning_rate_multiplier", "auto") == "auto":
        h["learning_rate_multiplier"] = 1.0
    if method == "dpo" and h.get("beta", "auto") == "auto":
        h["beta"] = 0.1
    return h


def plan_timeline(job: dict[str, Any]) -> None:
    """Fix steps and durations at creation (real seconds = emulated / speed)."""
    h = job["hyperparameters"]
    spe = max(1, math.ceil(job["examples"] / int(h["batch_size"])))
    job["steps_per_epoch"] = spe
    job["n_epochs"] = int(h["n_epochs"])
    speed = job["speed"]
    job["validate_real"] = VALIDATE_SECONDS / speed
    job["queue_real"] = QUEUE_SECONDS / speed
    job["epoch_real"] = (EPOCH_BASE_SECONDS + spe * STEP_SECONDS) / speed


# -- losses ---------------------------------------------------------------------------------
def _rng(job: dict[str, Any], *salt: object) -> random.Random:
    return random.Random(digest(job["seed"], job["examples"], *salt))


def best_epoch(job: dict[str, Any]) -> int:
    n = int(job["n_epochs"])
    if n >= 3 and _rng(job, "best").random() < 0.6:
        return n - 1  # validation loss turns up in the last epoch: "best" differs from "final"
    return n


def full_valid_loss(job: dict[str, Any], epoch: int) -> float:
    base = 0.35 + 0.1 * _rng(job, "base").random()
    overfit = 0.12 * max(0, epoch - best_epoch(job)) ** 2
    return round(base + 1.2 * math.exp(-1.6 * epoch) + overfit, 4)


def train_loss(job: dict[str, Any], step: int) -> float:
    total = job["steps_per_epoch"] * job["n_epochs"]
    p = step / total
    noise = (random.Random(digest(job["seed"], job["examples"], step)).random() - 0.5) * 0.08
    return round(max(0.01, 0.25 + 1.6 * math.exp(-3.5 * p) + noise), 4)


def accuracy(loss: float) -> float:
    return round(max(0.0, min(1.0, 1.0 - loss / 2.5)), 4)


def step_metrics(job: dict[str, Any], step: int) -> dict[str, Any]:
    spe = job["steps_per_epoch"]
    epoch = max(1, math.ceil(step / spe))
    tl = train_loss(job, step)
    m: dict[str, Any] = {"step": step, "train_loss": tl, "train_mean_token_accuracy": accuracy(tl)}
    if job.get("validation_file"):
        fvl = full_valid_loss(job, epoch)
        vl = round(fvl + (random.Random(digest(job["seed"], "v", step)).random() - 0.5) * 0.1, 4)
        if job.get("diverge"):  # `fail-job --kind diverge`: validation loss rises from its first evaluation
            fvl = round(0.8 + 1.5 * epoch / job["n_epochs"], 4)
            vl = round(0.8 + 1.5 * step / (spe * job["n_epochs"]), 4)
        m.update(valid_loss=vl, valid_mean_token_accuracy=accuracy(vl))
        if step % spe == 0:
            m.update(full_valid_loss=fvl, full_valid_mean_token_accuracy=accuracy(fvl))
    return m


# -- time -----------------------------------------------------------------------------------
def training_time(job: dict[str, Any], now: float) -> float:
    """Seconds of training done by `now` (pauses excluded)."""
    if job.get("started_at") is None:
        return 0.0
    end = now
    if job["status"] in TERMINAL and job.get("finished_at") is not None:
        end = min(end, job["finished_at"])
    paused = sum(min(e if e is not None else end, end) - s for s, e in job.get("pauses", []) if s < end)
    return max(0.0, float(end - job["started_at"] - paused))


def wall_at(job: dict[str, Any], t: float) -> float:
    """The wall time at which the job had trained `t` seconds."""
    wall = float(job["started_at"]) + t
    for s, e in job.get("pauses", []):
        if s <= wall and e is not None:
            wall += e - s
    return wall


def total_training(job: dict[str, Any]) -> float:
    return float(job["n_epochs"] * job["epoch_real"])


def current_step(job: dict[str, Any], now: float) -> int:
    t = training_time(job, now)
    total_steps = int(job["n_epochs"] * job["steps_per_epoch"])
    return min(total_steps, int(total_steps * t / total_training(job)))


# -- advancing the world --------------------------------------------------------------------
def advance(store: Store, c: sqlite3.Connection, now: float) -> None:
    """Move every active job forward to `now`, honouring the running-job limits."""
    jobs = store.active_jobs(c)
    if not jobs:
        return
    limits = store.limits(c)
    changed: dict[str, dict[str, Any]] = {}

    def pool(j: dict[str, Any]) -> str:
        return "developer" if j["training_type"] == "Developer" else "standard"

    cap = {"standard": limits["max_running_jobs"], "developer": limits["max_running_jobs_developer"]}
    # Discrete events in time order: validation ends, training ends (or fails), slots free up.
    while True:
        events: list[tuple[float, str, dict[str, Any]]] = []
        for j in jobs:
            if j["status"] == "validating_files":
                events.append((j["created_at"] + j["validate_real"], "validated", j))
            elif j["status"] == "running":
                total = total_training(j)
                end_t = total * j["fail_at"] if j.get("fail_at") is not None else total
                events.append((wall_at(j, end_t), "end", j))
        # Queued jobs start when a slot is free, at the earliest once queued.
        running = {p: sum(1 for j in jobs if j["status"] in ("running", "paused") and pool(j) == p) for p in cap}
        for j in sorted((j for j in jobs if j["status"] == "queued"), key=lambda j: j["queued_at"]):
            p = pool(j)
            if running[p] < cap[p]:
                running[p] += 1
                events.append((max(j["queued_at"] + j["queue_real"], j.get("slot_free_at") or 0), "start", j))
        due = sorted((e for e in events if e[0] <= now), key=lambda e: (e[0], e[2]["created_at"]))
        if not due:
            break
        at, kind, j = due[0]
        if kind == "validated":
            if j.get("validation_error"):
                _finish(j, "failed", at, {"code": "invalid_training_file", "message": j["validation_error"],
                                          "param": "training_file"})
            elif j["examples"] < MIN_EXAMPLES:  # OpenAI's error for the same rule (openai-php/client tests)
                _finish(j, "failed", at, {"code": "invalid_n_examples", "param": "training_file", "message":
                                          f"Training file has {j['examples']} example(s), but must have at least "
                                          f"{MIN_EXAMPLES} examples"})
            else:
                j["status"], j["queued_at"] = "queued", at
        elif kind == "start":
            j["status"], j["started_at"] = "running", at
        else:
            if j.get("fail_at") is not None:
                _finish(j, "failed", at, {"code": "internal_error", "message": j.get("fail_message")
                                          or "The job failed due to an internal error.", "param": None})
            else:
                _finish(j, "succeeded", at, None)
            for q in jobs:  # the slot it frees is taken no earlier than now
                if q["status"] == "queued" and pool(q) == pool(j):
                    q["slot_free_at"] = max(q.get("slot_free_at") or 0, at)
        changed[j["id"]] = j
        for q in jobs:
            if q.get("slot_free_at") is not None:
                changed[q["id"]] = q
    for j in changed.values():
        store.put(c, "job", j["id"], j)
        if j["status"] == "succeeded" and store.get(c, "file", j["result_file_id"]) is None:
            store.put(c, "file", j["result_file_id"], {
                "id": j["result_file_id"], "object": "file", "bytes": len(results_csv(j)),
                "created_at": int(j["finished_at"]), "filename": "results.csv", "purpose": "fine-tune-results",
                "processed_at": j["finished_at"], "status_details": None, "job_id": j["id"]})


def _finish(job: dict[str, Any], status: str, at: float, error: dict[str, Any] | None) -> None:
    job["status"] = status
    job["finished_at"] = at
    job["error"] = error
    if status == "succeeded":
        job["fine_tuned_model"] = job["fine_tuned_model_name"]
        job["trained_tokens"] = job["tokens_per_epoch"] * job["n_epochs"]
        job["result_files"] = [job["result_file_id"]]


def cancel(job: dict[str, Any], now: float) -> None:
    if job["status"] == "paused":
        job["pauses"][-1][1] = now
    _finish(job, "cancelled", now, None)


# -- views ----------------------------------------------------------------------------------
def checkpoints(job: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Checkpoint objects, newest first; only the last three epochs are kept (as in Foundry)."""
    if job.get("started_at") is None:
        return []
    done = epochs_done(job, now)
    out = []
    for e in range(done, max(0, done - DEPLOYABLE_CHECKPOINTS), -1):
        step = e * job["steps_per_epoch"]
        out.append({
            "object": "fine_tuning.job.checkpoint",
            "id": checkpoint_id(job["id"], e),
            "created_at": int(wall_at(job, e * job["epoch_real"])),
            "fine_tuned_model_checkpoint": checkpoint_model(job, e),
            "fine_tuning_job_id": job["id"],
            "step_number": step,
            "metrics": {k: v for k, v in step_metrics(job, step).items()},
        })
    return out


def checkpoint_model(job: dict[str, Any], epoch: int) -> str:
    """The model name of epoch `epoch`'s checkpoint: the final epoch of a succeeded job IS the fine-tuned
    model ("The final epoch will be represented by your fine-tuned model", Learn tutorial output)."""
    if job["status"] == "succeeded" and epoch == int(job["n_epochs"]):
        return str(job["fine_tuned_model_name"])
    return f"{job['fine_tuned_model_name']}:ckpt-step-{epoch * job['steps_per_epoch']}"


def epochs_done(job: dict[str, Any], now: float) -> int:
    if job["status"] == "succeeded":
        return int(job["n_epochs"])
    n = int(job["n_epochs"])
    done = min(n, int(training_time(job, now) / job["epoch_real"] + 1e-6))
    return min(done, n - 1) if job["status"] == "failed" else done


def checkpoint_id(job_id: str, epoch: int) -> str:
    return f"ftchkpt-{digest(job_id, 'epoch', epoch)}"


def events(job: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Events, oldest first."""
    out: list[tuple[float, str, str, str, dict[str, Any] | None]] = []

    def ev(at: float, message: str, level: str = "info", etype: str = "message",
           data: dict[str, Any] | None = None) -> None:
        out.append((at, message, level, etype, data))

    ev(job["created_at"], f"Created fine-tuning job: {job['id']}")
    ev(job["created_at"], f"Validating training file: {job['training_file']}")
    if job.get("queued_at") is not None:
        ev(job["queued_at"], "Training file validated")
        ev(job["queued_at"], "Job enqueued. Waiting for jobs ahead to complete.")
    if job.get("started_at") is not None:
        ev(job["started_at"], "Job started.")
        total_steps = job["n_epochs"] * job["steps_per_epoch"]
        every = max(1, total_steps // 10)
        step_now = current_step(job, now)
        for s in range(every, step_now + 1, every):
            m = step_metrics(job, s)
            ev(wall_at(job, s / total_steps * total_training(job)),
               f"Step {s}/{total_steps}: training loss={m['train_loss']:.4f}", etype="metrics", data=m)
        for e in range(1, epochs_done(job, now) + 1):
            ev(wall_at(job, e * job["epoch_real"]), f"Checkpoint created at step {e * job['steps_per_epoch']}")
    for s, e in job.get("pauses", []):
        ev(s, "Job paused.")
        if e is not None:
            ev(e, "Job resumed.")
    if job["status"] == "succeeded":
        # Azure's text, not OpenAI's ("Fine tuning job successfully completed"): the authoring spec's
        # get_finetuning_job_events.json ends with "Job succeeded." (docs/emulator.md, "Azure fidelity").
        ev(job["finished_at"], "Job succeeded.")
    elif job["status"] == "failed":
        ev(job["finished_at"], f"The job failed: {job['error']['message']}", level="error")
    elif job["status"] == "cancelled":
        ev(job["finished_at"], "The job has been cancelled.")
    out.sort(key=lambda e: e[0])
    return [{"object": "fine_tuning.job.event", "id": f"ftevent-{digest(job['id'], i, msg)}",
             "created_at": int(at), "level": level, "message": msg, "type": etype, "data": data or {}}
            for i, (at, msg, level, etype, data) in enumerate(out)]


RESULT_COLUMNS = ["step", "train_loss", "train_mean_token_accuracy", "valid_loss", "validation_mean_token_accuracy",
                  "full_valid_loss", "full_valid_mean_token_accuracy"]


def results_csv(job: dict[str, Any]) -> bytes:
    """results.csv with exactly the columns the Foundry docs list; one row per training step."""
    lines = [",".join(RESULT_COLUMNS)]
    total = job["n_epochs"] * job["steps_per_epoch"]
    for step in range(1, total + 1):
        m = step_metrics(job, step)
        row = [step, m["train_loss"], m["train_mean_token_accuracy"], m.get("valid_loss", ""),
               m.get("valid_mean_token_accuracy", ""), m.get("full_valid_loss", ""),
               m.get("full_valid_mean_token_accuracy", "")]
        lines.append(",".join(str(v) for v in row))
    return ("\n".join(lines) + "\n").encode()


def shown_hyperparameters(job: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as Azure answers them: epochs and batch size left to "auto" read -1 until the job
    starts running, then the values it resolved."""
    h = dict(job["hyperparameters"])
    given = job.get("hyperparameters_given")
    if job.get("started_at") is None and given is not None:
        for k in ("n_epochs", "batch_size"):
            if k not in given:
                h[k] = UNRESOLVED
    return h


def job_view(job: dict[str, Any], now: float) -> dict[str, Any]:
    """The fine_tuning.job object as Foundry returns it (nulls where Azure has them)."""
    status = job["status"]
    estimated = None
    if status == "running":
        estimated = int(wall_at(job, total_training(job)))
    method_h = shown_hyperparameters(job)
    hp = {k: method_h[k] for k in ("n_epochs", "batch_size", "learning_rate_multiplier")}
    return {
        "object": "fine_tuning.job",
        "id": job["id"],
        "created_at": int(job["created_at"]),
        "error": job.get("error"),
        "fine_tuned_model": job.get("fine_tuned_model"),
        "finished_at": int(job["finished_at"]) if job.get("finished_at") is not None else None,
        "hyperparameters": hp,
        "model": job["model"],
        "organization_id": None,
        "result_files": job.get("result_files"),
        # Azure answers "pending" for a job it has accepted but not yet begun validating.
        "status": "pending" if status == "validating_files" and now < job["created_at"] + job["validate_real"] / 4
        else status,
        "trained_tokens": job.get("trained_tokens"),
        "training_file": job["training_file"],
        "validation_file": job.get("validation_file"),
        "integrations": None,
        "seed": job["seed"],
        "estimated_finish": estimated,
        "method": {"type": job["method"], job["method"]: {"hyperparameters": method_h}},
        "metadata": job.get("metadata"),
        "suffix": job.get("suffix"),
        "trainingType": job["training_type"],
    }
