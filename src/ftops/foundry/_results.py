"""A job's training metrics: its results.csv (per step) and its checkpoints' metrics, as plain data."""

from __future__ import annotations

import base64
import binascii
import csv
import io
from dataclasses import dataclass
from functools import partial
from typing import Any

from ._client import PAGE, FoundryClient
from ._live_objects import LiveJob, _get

# results.csv columns as Foundry documents them, with the spelling variants seen for validation accuracy.
_COLUMNS = {
    "train_loss": ("train_loss",), "train_accuracy": ("train_mean_token_accuracy",),
    "valid_loss": ("valid_loss",), "valid_accuracy": ("validation_mean_token_accuracy", "valid_mean_token_accuracy"),
    "full_valid_loss": ("full_valid_loss",),
    "full_valid_accuracy": ("full_valid_mean_token_accuracy", "full_validation_mean_token_accuracy"),
}


@dataclass(frozen=True)
class StepMetrics:
    step: int
    train_loss: float | None = None
    train_accuracy: float | None = None
    valid_loss: float | None = None
    valid_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_accuracy: float | None = None


@dataclass(frozen=True)
class CheckpointMetrics:
    id: str
    step: int
    model: str | None
    train_loss: float | None
    valid_loss: float | None
    full_valid_loss: float | None
    full_valid_accuracy: float | None


@dataclass(frozen=True)
class JobMetrics:
    job: LiveJob
    steps: tuple[StepMetrics, ...]
    checkpoints: tuple[CheckpointMetrics, ...]  # oldest first
    source: str  # "results.csv" | "events" (a job still running has no results file yet)


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_results_csv(data: bytes) -> list[StepMetrics]:
    """Rows of a results.csv; tolerant of a base64-encoded body and of unknown extra columns."""
    text = data.decode("utf-8-sig", errors="replace").strip()
    if text and not text.startswith("step"):
        try:
            text = base64.b64decode(text, validate=False).decode("utf-8-sig", errors="replace").strip()
        except (binascii.Error, ValueError):
            return []
    rows: list[StepMetrics] = []
    for rec in csv.DictReader(io.StringIO(text)):
        step = _num(rec.get("step"))
        if step is None:
            continue
        values = {field: next((_num(rec.get(col)) for col in cols if _num(rec.get(col)) is not None), None)
                  for field, cols in _COLUMNS.items()}
        rows.append(StepMetrics(int(step), **values))
    return rows


def _steps_from_events(client: FoundryClient, job_id: str) -> list[StepMetrics]:
    events = client._call(lambda t: client.oai.fine_tuning.jobs.list_events(job_id, limit=1000,
                                                                            timeout=client._oai(t)),
                          f"read events of {job_id}", timeout=client.timeouts.read)
    rows = {}
    for e in events.data:
        data = _get(e, "data") or {}
        step = _num(_get(data, "step"))
        if step is None:
            continue
        rows[int(step)] = StepMetrics(int(step), **{
            field: next((_num(_get(data, col)) for col in cols if _num(_get(data, col)) is not None), None)
            for field, cols in _COLUMNS.items()})
    return [rows[k] for k in sorted(rows)]


def _checkpoints(client: FoundryClient, job_id: str) -> list[CheckpointMetrics]:
    page = client._call(lambda t: client.oai.fine_tuning.jobs.checkpoints.list(job_id, limit=PAGE,
                                                                               timeout=client._oai(t)),
                        f"list checkpoints of {job_id}", timeout=client.timeouts.read)
    out = []
    for cp in page.data:
        m = _get(cp, "metrics") or {}
        out.append(CheckpointMetrics(
            id=str(_get(cp, "id")), step=int(_get(cp, "step_number") or 0),
            model=_get(cp, "fine_tuned_model_checkpoint"), train_loss=_num(_get(m, "train_loss")),
            valid_loss=_num(_get(m, "valid_loss")), full_valid_loss=_num(_get(m, "full_valid_loss")),
            full_valid_accuracy=_num(_get(m, "full_valid_mean_token_accuracy"))))
    return sorted(out, key=lambda c: c.step)


def _download(client: FoundryClient, file_id: str, seconds: float) -> bytes:
    return bytes(client.oai.files.content(file_id, timeout=client._oai(seconds)).read())


def read_job_metrics(client: FoundryClient, job_id: str) -> JobMetrics:
    """results.csv of a finished job (else the step metrics in its events), and its checkpoints."""
    raw = client._call(lambda t: client.oai.fine_tuning.jobs.retrieve(job_id, timeout=client._oai(t)),
                       f"read job {job_id}", timeout=client.timeouts.read)
    job = LiveJob.parse(raw)
    steps: list[StepMetrics] = []
    source = "events"
    for fid in _get(raw, "result_files") or []:
        content = client._call(partial(_download, client, str(fid)), f"download results {fid}",
                               timeout=client.timeouts.read)
        steps = parse_results_csv(content)
        if steps:
            source = "results.csv"
            break
    if not steps:
        steps = _steps_from_events(client, job_id)
    return JobMetrics(job, tuple(steps), tuple(_checkpoints(client, job_id)), source)
