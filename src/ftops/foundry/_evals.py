"""Foundry's Evals API for ftops: create an eval, run it against a deployment, read per-criterion scores.

Everything returned is a plain dataclass; no `openai` object leaves this module. Creates are not
retried blindly: after an ambiguous failure the eval (or run) the attempt may have made is found by
its metadata and adopted, as jobs are (`FoundryClient.create_job`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import orjson

from .._exceptions import FoundryError, FoundryNotFound, TemporaryFoundryError
from ._client import PAGE, Cursor, FoundryClient, _date
from ._live_objects import LiveFile, _get

T = TypeVar("T")
RUN_TERMINAL = frozenset({"completed", "failed", "canceled"})
# The item shape ftops evaluates a chat dataset with: the conversation up to the last assistant turn,
# and that turn as the reference.
CHAT_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"messages": {"type": "array"}, "reference": {"type": "string"}},
    "required": ["messages", "reference"],
}
OUTPUT_ITEM_PAGES = 100_000  # pages of an eval run's output items (10 million items): past it, paging is looping
SCORE_RANGE = (0.0, 1.0)  # ftops' criteria all score in [0, 1] (score_model graders are created with this range)
OUTPUT = "{{sample.output_text}}"
REFERENCE = "{{item.reference}}"


# -- what goes in ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Criterion:
    """One testing criterion: its name and the grader definition Foundry receives."""

    name: str
    grader: Mapping[str, Any]

    @classmethod
    def string_check(cls, name: str, operation: str = "eq", input: str = OUTPUT,
                     reference: str = REFERENCE) -> Criterion:
        return cls(name, {"type": "string_check", "name": name, "operation": operation, "input": input,
                          "reference": reference})

    @classmethod
    def text_similarity(cls, name: str, metric: str, pass_threshold: float, input: str = OUTPUT,
                        reference: str = REFERENCE) -> Criterion:
        return cls(name, {"type": "text_similarity", "name": name, "evaluation_metric": metric,
                          "pass_threshold": pass_threshold, "input": input, "reference": reference})

    @classmethod
    def python(cls, name: str, source: str, pass_threshold: float | None = None) -> Criterion:
        grader: dict[str, Any] = {"type": "python", "name": name, "source": source}
        if pass_threshold is not None:
            grader["pass_threshold"] = pass_threshold
        return cls(name, grader)

    @classmethod
    def score_model(cls, name: str, model: str, prompt: str, score_range: tuple[float, float] = (0.0, 1.0),
                    pass_threshold: float | None = None) -> Criterion:
        """A judge: `prompt` (a system message) asks it to score `{{sample.output_text}}` against the item."""
        grader: dict[str, Any] = {
            "type": "score_model", "name": name, "model": model, "range": list(score_range),
            "input": [{"role": "system", "content": prompt},
                      {"role": "user", "content": f"Reference: {REFERENCE}\nAnswer: {OUTPUT}"}]}
        if pass_threshold is not None:
            grader["pass_threshold"] = pass_threshold
        return cls(name, grader)


def chat_eval_item(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A chat record as an eval item: its messages before the last assistant turn, and that turn as reference."""
    msgs = record.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return None
    last = msgs[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant" or not isinstance(last.get("content"), str):
        return None
    return {"messages": msgs[:-1], "reference": last["content"]}


# -- what comes out -------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveEval:
    id: str
    name: str
    criteria: tuple[str, ...]
    metadata: dict[str, str]
    created_at: int

    @classmethod
    def parse(cls, e: Any) -> LiveEval:
        return cls(id=str(_get(e, "id")), name=str(_get(e, "name") or ""),
                   criteria=tuple(str(_get(c, "name") or "") for c in _get(e, "testing_criteria") or []),
                   metadata=dict(_get(e, "metadata") or {}), created_at=int(_get(e, "created_at") or 0))


@dataclass(frozen=True)
class CriterionCounts:
    name: str
    passed: int
    failed: int


@dataclass(frozen=True)
class LiveEvalRun:
    id: str
    eval_id: str
    name: str
    status: str  # queued | in_progress | completed | failed | canceled | anything Foundry adds
    model: str
    metadata: dict[str, str]
    total: int
    passed: int
    failed: int
    errored: int
    criteria: tuple[CriterionCounts, ...]
    tokens: int
    error: str | None = None
    created_at: int = 0

    @property
    def done(self) -> bool:
        return self.status in RUN_TERMINAL

    @classmethod
    def parse(cls, r: Any) -> LiveEvalRun:
        counts = _get(r, "result_counts") or {}
        err = _get(r, "error")
        message = _get(err, "message") if err is not None else None
        return cls(
            id=str(_get(r, "id")), eval_id=str(_get(r, "eval_id") or ""), name=str(_get(r, "name") or ""),
            status=str(_get(r, "status") or "unknown"), model=str(_get(r, "model") or ""),
            metadata=dict(_get(r, "metadata") or {}), total=int(_get(counts, "total") or 0),
            passed=int(_get(counts, "passed") or 0), failed=int(_get(counts, "failed") or 0),
            errored=int(_get(counts, "errored") or 0),
            criteria=tuple(CriterionCounts(str(_get(c, "testing_criteria") or ""), int(_get(c, "passed") or 0),
                                           int(_get(c, "failed") or 0))
                           for c in _get(r, "per_testing_criteria_results") or []),
            tokens=sum(int(_get(u, "total_tokens") or 0) for u in _get(r, "per_model_usage") or []),
            error=str(message) if message else None, created_at=int(_get(r, "created_at") or 0))


@dataclass(frozen=True)
class CriterionScore:
    """A criterion over a run's items: mean score, pass rate, and how many items it could not grade."""

    name: str
    mean: float | None
    pass_rate: float | None
    graded: int
    errored: int  # items it could not grade, including out_of_range
    out_of_range: int = 0  # items whose score was outside the range ftops reads scores in


@dataclass(frozen=True)
class EvalScores:
    run: LiveEvalRun
    criteria: tuple[CriterionScore, ...]
    items: int

    def score(self, name: str) -> CriterionScore:
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class GraderResult:
    reward: float
    errors: tuple[str, ...]  # the error flags Foundry raised (e.g. python_grader_runtime_error)
    details: str | None = None
    sub_rewards: dict[str, float] = field(default_factory=dict)


# -- the client -----------------------------------------------------------------------------
class EvalsClient:
    """The Evals API and grader endpoints over a FoundryClient (its retries, timeouts and API-call count)."""

    def __init__(self, client: FoundryClient) -> None:
        self.client = client
        self.oai = client.oai
        self._offset: float | None = None  # Foundry's clock minus this machine's

    def clock(self) -> float:
        """Foundry's clock now: its Date header, read once, then this machine's clock plus the difference."""
        if self._offset is None:
            raw = self._read(lambda t: self.oai.evals.with_raw_response.list(limit=1, timeout=t),
                             "read Foundry's clock")
            when = _date(raw.headers.get("date"))
            self._offset = when - time.time() if when is not None else 0.0
        return time.time() + self._offset

    def _read(self, fn: Callable[[Any], T], what: str) -> T:
        """A read: fn(openai timeout), retried within the client's budget."""
        result: T = self.client._call(lambda t: fn(self.client._oai(t)), what, timeout=self.client.timeouts.read)
        return result

    def _pages(self, fn: Callable[..., Any], what: str, **kwargs: Any) -> list[Any]:
        """Every item of a cursor-paginated list."""
        out: list[Any] = []
        after: str | None = None
        cursor = Cursor(what)
        while True:
            args = {**kwargs, "limit": PAGE, **({"after": after} if after else {})}
            page = self.client._call(self.client._page(fn, args), what, timeout=self.client.timeouts.read)
            out.extend(page.data)
            if not page.data or not page.has_more:
                return out
            after = cursor.next(page.data[-1].id)

    # evals
    def create_eval(self, name: str, criteria: Iterable[Criterion], metadata: Mapping[str, str],
                    item_schema: Mapping[str, Any] = CHAT_ITEM_SCHEMA) -> LiveEval:
        """Create once; after an ambiguous failure, adopt the eval that carries the same metadata."""
        graders: Any = [dict(c.grader) for c in criteria]
        cfg: Any = {"type": "custom", "item_schema": dict(item_schema), "include_sample_schema": True}
        created: LiveEval = self.client._create_once(
            lambda t: LiveEval.parse(self.oai.evals.create(name=name, data_source_config=cfg, testing_criteria=graders,
                                                           metadata=dict(metadata), timeout=self.client._oai(t))),
            lambda: _oldest(self.find_evals(metadata)), f"create eval {name}", timeout=self.client.timeouts.write)
        return created

    def update_metadata(self, eval_id: str, metadata: Mapping[str, str]) -> LiveEval:
        """Replace the eval's metadata (at most 16 pairs): a PUT-like write, safe to repeat."""
        meta: Any = dict(metadata)
        updated: LiveEval = self.client._call(
            lambda t: LiveEval.parse(self.oai.evals.update(eval_id, metadata=meta, timeout=self.client._oai(t))),
            f"update eval {eval_id}", timeout=self.client.timeouts.write)
        return updated

    def list_evals(self) -> list[LiveEval]:
        return [LiveEval.parse(e) for e in self._pages(self.oai.evals.list, "list evals")]

    def find_evals(self, metadata: Mapping[str, str]) -> list[LiveEval]:
        return [e for e in self.list_evals() if _has(e.metadata, metadata)]

    def delete_eval(self, eval_id: str) -> None:
        with contextlib.suppress(FoundryNotFound):  # gone already: what we wanted
            self.client._call(lambda t: self.oai.evals.delete(eval_id, timeout=self.client._oai(t)),
                              f"delete eval {eval_id}", timeout=self.client.timeouts.write)

    # data
    def upload_items(self, items: Iterable[Mapping[str, Any]], filename: str) -> LiveFile:
        """Upload eval items as a JSONL file (purpose `evals`), one `{"item": ...}` per line.

        `filename` must be unique to this upload: after an ambiguous failure (a dropped answer), the file the
        attempt may have made is found by it and adopted, so the caller knows every file it must delete.
        """
        data = b"".join(orjson.dumps({"item": dict(i)}) + b"\n" for i in items)
        created: LiveFile = self.client._create_once(
            lambda t: LiveFile.parse(self.oai.files.create(file=(filename, data, "application/jsonl"), purpose="evals",
                                                           timeout=self.client._oai(t))),
            lambda: next((f for f in self.list_item_files() if f.filename == filename), None),
            f"upload {filename}", timeout=self.client.timeouts.for_upload(len(data)))
        return created

    def list_item_files(self) -> list[LiveFile]:
        """Every file of purpose `evals` (eval items), newest first."""
        return [LiveFile.parse(f) for f in self._pages(self.oai.files.list, "list eval item files", purpose="evals",
                                                       order="desc")]

    # runs
    def start_run(self, eval_id: str, deployment: str, file_id: str, name: str, metadata: Mapping[str, str],
                  max_completion_tokens: int | None = None) -> LiveEvalRun:
        """Sample `deployment` on the file's items (their `messages`) and grade; adopt after ambiguity."""
        sampling: dict[str, Any] = {"temperature": 0.0, "seed": 42}
        if max_completion_tokens is not None:
            sampling["max_completion_tokens"] = max_completion_tokens
        source: Any = {"type": "completions", "model": deployment, "source": {"type": "file_id", "id": file_id},
                       "input_messages": {"type": "item_reference", "item_reference": "item.messages"},
                       "sampling_params": sampling}
        run: LiveEvalRun = self.client._create_once(
            lambda t: LiveEvalRun.parse(self.oai.evals.runs.create(eval_id, name=name, data_source=source,
                                                                   metadata=dict(metadata),
                                                                   timeout=self.client._oai(t))),
            lambda: _oldest([r for r in self.list_runs(eval_id) if r.name == name and _has(r.metadata, metadata)]),
            f"start eval run {name}", timeout=self.client.timeouts.write)
        return run

    def list_runs(self, eval_id: str) -> list[LiveEvalRun]:
        return [LiveEvalRun.parse(r) for r in self._pages(partial(self.oai.evals.runs.list, eval_id),
                                                           f"list runs of {eval_id}")]

    def get_run(self, eval_id: str, run_id: str) -> LiveEvalRun:
        return LiveEvalRun.parse(self._read(lambda t: self.oai.evals.runs.retrieve(run_id, eval_id=eval_id, timeout=t),
                                            f"read eval run {run_id}"))

    def wait_run(self, eval_id: str, run_id: str, timeout: float = 3600,
                 tick: Callable[[], None] | None = None) -> LiveEvalRun:
        """Poll the run until it ends; `tick` is called between polls (to renew what the run needs). The run
        as last read, at once, when the client is stopped (Ctrl-C)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(eval_id, run_id)
            if run.done:
                return run
            if time.monotonic() > deadline:
                raise TemporaryFoundryError(f"eval run {run_id} still {run.status} after {timeout:.0f}s")
            if self.client._pause(self.client.poll_interval):
                return run
            if tick is not None:
                tick()

    def cancel_run(self, eval_id: str, run_id: str) -> LiveEvalRun:
        try:
            return LiveEvalRun.parse(self.client._call(
                lambda t: self.oai.evals.runs.cancel(run_id, eval_id=eval_id, timeout=self.client._oai(t)),
                f"cancel eval run {run_id}", timeout=self.client.timeouts.write, idempotent=False))
        except FoundryError:
            run = self.get_run(eval_id, run_id)  # done already, by us before or by the service
            if run.done:
                return run
            raise

    def scores(self, eval_id: str, run_id: str, score_range: tuple[float, float] = SCORE_RANGE) -> EvalScores:
        """Mean score and pass rate of each criterion over the run's output items (read page by page).

        A score outside `score_range` (or not a finite number) counts as an error of that item, not as a score:
        a grader that returns 1e9 must not win a comparison of means.
        """
        run = self.get_run(eval_id, run_id)
        tally = Tally([c.name for c in run.criteria], score_range)
        after: str | None = None
        cursor = Cursor(f"read output items of {run_id}", OUTPUT_ITEM_PAGES)
        while True:
            kwargs: dict[str, Any] = {"eval_id": eval_id, "limit": PAGE, **({"after": after} if after else {})}
            # Raw JSON: building SDK models for 100 items a page costs more than the request itself.
            page = self._read(partial(self._items_page, run_id, kwargs), f"read output items of {run_id}")
            tally.add(page["data"])
            if not page["data"] or not page.get("has_more"):
                break
            after = cursor.next(page["data"][-1]["id"])
        return EvalScores(run, tally.criteria(), tally.items)

    def _items_page(self, run_id: str, kwargs: dict[str, Any], timeout: Any) -> dict[str, Any]:
        raw = self.oai.evals.runs.output_items.with_raw_response.list(run_id, **kwargs, timeout=timeout)
        page: dict[str, Any] = orjson.loads(raw.http_response.content)
        return page

    # graders
    def validate_grader(self, grader: Mapping[str, Any]) -> None:
        """Raises PermanentFoundryError with Foundry's reason if the grader is refused."""
        body: Any = dict(grader)
        self._read(lambda t: self.oai.fine_tuning.alpha.graders.validate(grader=body, timeout=t), "validate grader")

    def run_grader(self, grader: Mapping[str, Any], model_sample: str,
                   item: Mapping[str, Any] | None = None) -> GraderResult:
        body: Any = dict(grader)
        r = self._read(lambda t: self.oai.fine_tuning.alpha.graders.run(grader=body, model_sample=model_sample,
                                                                        item=dict(item or {}), timeout=t),
                       "run grader")
        meta = _get(r, "metadata")
        errors = _get(meta, "errors") if meta is not None else None
        raised: dict[str, Any] = dict(errors) if isinstance(errors, dict) else (
            errors.model_dump() if errors is not None and hasattr(errors, "model_dump") else {})
        flags = tuple(k for k, v in raised.items() if v is True)
        details = raised.get("python_grader_runtime_error_details") or raised.get("model_grader_server_error_details")
        subs = _get(r, "sub_rewards") or {}
        return GraderResult(float(_get(r, "reward") or 0.0), flags, details,
                            {str(k): float(v) for k, v in dict(subs).items() if isinstance(v, int | float)})


def _oldest(found: list[L]) -> L | None:
    return min(found, key=lambda x: (x.created_at, x.id)) if found else None


L = TypeVar("L", "LiveEval", "LiveEvalRun")


def _has(metadata: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(metadata.get(k) == v for k, v in wanted.items())


class Tally:
    """Per-criterion sums over output items: score, passed, graded, errored, out of range."""

    def __init__(self, order: list[str], score_range: tuple[float, float]) -> None:
        self.order = list(order)
        self.low, self.high = score_range
        self.sums: dict[str, list[float]] = {}
        self.items = 0

    def add(self, items: Iterable[Any]) -> None:
        for it in items:
            self.items += 1
            for res in _get(it, "results") or []:
                name = str(_get(res, "name") or "")
                if name not in self.order:
                    self.order.append(name)
                acc = self.sums.setdefault(name, [0.0, 0.0, 0.0, 0.0, 0.0])
                score = _number(_get(res, "score"))
                if _get(res, "error") or score is None or not self.low <= score <= self.high:
                    acc[3] += 1
                    acc[4] += 0 if _get(res, "error") else 1
                    continue
                acc[0] += score
                acc[1] += 1.0 if _get(res, "passed") else 0.0
                acc[2] += 1

    def criteria(self) -> tuple[CriterionScore, ...]:
        return tuple(_criterion(name, self.sums.get(name)) for name in self.order)


def _number(value: Any) -> float | None:
    """A finite number, else None (a bool, a string, NaN or infinity is no score)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _criterion(name: str, acc: list[float] | None) -> CriterionScore:
    if acc is None:
        return CriterionScore(name, None, None, 0, 0)
    if acc[2] == 0:
        return CriterionScore(name, None, None, 0, int(acc[3]), int(acc[4]))
    return CriterionScore(name, acc[0] / acc[2], acc[1] / acc[2], int(acc[2]), int(acc[3]), int(acc[4]))
