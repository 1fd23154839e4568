"""The Evals API under /openai/v1/evals: evals, runs, output items, and their fault injection.

Creating a run answers at once, `queued`, as Foundry does; the run is graded in the background
(`_grading`: sampling from the deployment through the simulation in `_inference`, then every testing
criterion through `_graders`, python graders in their jails). Once its items are stored, what the API
shows follows the emulator clock, like a job: `queued` for 5 emulated seconds, `in_progress` while its
items complete one by one (0.2 emulated seconds each, plus 5), then `completed` (or `failed`/`canceled`
when a fault or a cancel stops it part way); while it is still being graded it reads `queued`, then
`in_progress`, with no items. Counts, usage and output items cover the items done
by then. Output items live in their own table (`eval_items`), evals and runs in the object store.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _catalog, _evalfail, _graders, _grading, _inference, _pysandbox
from ._examples import user_text
from ._graders import Env, GraderInvalid, Outcome
from ._http import JSON, int_param, json_body, openai_error, paginate
from ._http import emulator_of as _emu
from ._pysandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, PyLimits
from ._sim import digest
from ._state import Emulator
from ._store import Store

QUEUE_SECONDS = 5.0  # emulated
RUN_BASE_SECONDS = 5.0
ITEM_SECONDS = 0.2
TERMINAL = ("completed", "failed", "canceled")
FAULT_MODES = ("fail", "slow", "cancel")
NO_ERROR = {"code": "", "message": ""}  # EvalRun.error and sample.error are required objects in the spec
SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_items (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS eval_items_id ON eval_items (run_id, id);
"""


def _tables(c: sqlite3.Connection) -> None:
    """Create the output-item table if this data dir has none yet (cheap when it exists)."""
    for stmt in SCHEMA.strip().split(";"):
        if stmt.strip():
            c.execute(stmt)


def _metadata_problem(metadata: Any) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16 or any(
            len(k) > 64 or not isinstance(v, str) or len(v) > 512 for k, v in metadata.items()):
        return "metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters."
    return None


def _list(request: Request, items: list[dict[str, Any]]) -> JSON:
    """A list object with the spec's required first_id/last_id (strings, empty for an empty page)."""
    page, more = paginate(items, request.query_params.get("after"), int_param(request, "limit", 20, 100))
    return JSON({"object": "list", "data": page, "first_id": page[0]["id"] if page else "",
                 "last_id": page[-1]["id"] if page else "", "has_more": more})


def _ordered(request: Request, items: list[dict[str, Any]], key: str = "created_at") -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i[key], i["id"]), reverse=request.query_params.get("order") == "desc")


# -- evals ----------------------------------------------------------------------------------
def eval_view(e: dict[str, Any]) -> dict[str, Any]:
    cfg = e["data_source_config"]
    props: dict[str, Any] = {"item": cfg["item_schema"]}
    required = ["item"]
    if cfg.get("include_sample_schema"):
        props["sample"] = {"type": "object", "properties": {"output_text": {"type": "string"},
                                                            "model": {"type": "string"}}}
        required.append("sample")
    return {"object": "eval", "id": e["id"], "name": e["name"], "created_at": int(e["created_at"]),
            "metadata": e.get("metadata") or {}, "testing_criteria": e["testing_criteria"],
            "data_source_config": {"type": "custom", "schema": {"type": "object", "properties": props,
                                                                "required": required}}}


def _check_eval(body: dict[str, Any]) -> JSON | None:
    cfg = body.get("data_source_config")
    if not isinstance(cfg, dict):
        return openai_error(400, "Missing required parameter: 'data_source_config'.", "invalid_request",
                            "data_source_config")
    if cfg.get("type", "custom") != "custom":
        return openai_error(400, f"data_source_config type {cfg.get('type')!r} is not supported by the local "
                            "Foundry (only 'custom').", "invalid_request", "data_source_config.type")
    schema = cfg.get("item_schema")
    import jsonschema  # here: the local Foundry starts (for every plan) without it, about 30 ms of CPU

    try:
        if not isinstance(schema, dict):
            raise jsonschema.SchemaError("item_schema must be an object")
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        return openai_error(400, f"Invalid item_schema: {e.message}", "invalid_request",
                            "data_source_config.item_schema")
    criteria = body.get("testing_criteria")
    if not isinstance(criteria, list):
        return openai_error(400, "Missing required parameter: 'testing_criteria'.", "invalid_request",
                            "testing_criteria")
    try:
        for i, g in enumerate(criteria):
            _graders.validate(g, f"testing_criteria[{i}]", _graders.EVAL_TYPES, in_eval=True)
    except GraderInvalid as e:
        return openai_error(400, e.message, "invalid_grader", e.param)
    if (problem := _metadata_problem(body.get("metadata"))) is not None:
        return openai_error(400, problem, "invalid_request", "metadata")
    return None


async def create_eval(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    if (bad := _check_eval(body)) is not None:
        return bad
    cfg = body["data_source_config"]
    with emu.store.tx() as c:
        now = emu.store.now(c)
        eid = emu.new_id("eval_")
        e = {"id": eid, "created_at": now, "updated_at": now, "name": str(body.get("name") or eid),
             "metadata": body.get("metadata") or {}, "testing_criteria": body["testing_criteria"],
             "data_source_config": {"type": "custom", "item_schema": cfg["item_schema"],
                                    "include_sample_schema": bool(cfg.get("include_sample_schema"))}}
        emu.store.put(c, "eval", eid, e)
    return JSON(eval_view(e), status_code=201)


def _eval_or_404(emu: Emulator, c: sqlite3.Connection, eid: str) -> dict[str, Any] | JSON:
    e = emu.store.get(c, "eval", eid)
    return e if e is not None else openai_error(404, f"Eval {eid} not found.", "not_found", "eval_id")


def get_eval(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        e = _eval_or_404(emu, c, request.path_params["eval_id"])
    return e if isinstance(e, JSON) else JSON(eval_view(e))


async def update_eval(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request) or {}
    if (problem := _metadata_problem(body.get("metadata"))) is not None:
        return openai_error(400, problem, "invalid_request", "metadata")
    with emu.store.tx() as c:
        e = _eval_or_404(emu, c, request.path_params["eval_id"])
        if isinstance(e, JSON):
            return e
        if isinstance(body.get("name"), str):
            e["name"] = body["name"]
        if body.get("metadata") is not None:
            e["metadata"] = body["metadata"]
        e["updated_at"] = emu.store.now(c)
        emu.store.put(c, "eval", e["id"], e)
    return JSON(eval_view(e))


def list_evals(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        evals = emu.store.all(c, "eval")
    key = "updated_at" if request.query_params.get("order_by") == "updated_at" else "created_at"
    return _list(request, [eval_view(e) for e in _ordered(request, evals, key)])


def delete_eval(request: Request) -> Response:
    emu = _emu(request)
    eid = request.path_params["eval_id"]
    with emu.store.tx() as c:
        e = _eval_or_404(emu, c, eid)
        if isinstance(e, JSON):
            return e
        _tables(c)
        for r in emu.store.all(c, "eval_run"):
            if r["eval_id"] == eid:
                emu.store.delete(c, "eval_run", r["id"])
                c.execute("DELETE FROM eval_items WHERE run_id=?", (r["id"],))
        emu.store.delete(c, "eval", eid)
    return JSON({"object": "eval.deleted", "deleted": True, "eval_id": eid})


# -- runs: time -----------------------------------------------------------------------------
def _stop_fraction(r: dict[str, Any]) -> float:
    """The share of items done when the run stops (1.0 unless a fault or a cancel stops it early)."""
    frac = float(r.get("stop_fraction", 1.0))
    if r.get("canceled_at") is not None:
        frac = min(frac, max(0.0, (float(r["canceled_at"]) - float(r["start"])) / float(r["duration"])))
    return frac


def _stop_at(r: dict[str, Any]) -> float:
    """When the run stops (completes, fails, or is cancelled), on the emulator clock."""
    end = float(r["start"]) + float(r["duration"]) * float(r.get("stop_fraction", 1.0))
    if r.get("canceled_at") is not None:
        end = min(end, max(float(r["canceled_at"]), float(r["created_at"])))
    return end


def run_status(r: dict[str, Any], now: float) -> str:
    if r.get("canceled_at") is not None and now >= r["canceled_at"]:
        return "canceled"
    if r.get("grading"):
        if _grading.abandoned(r["id"], r["grading"]):
            return "failed"
        return "queued" if now < r["start"] else "in_progress"
    if now < r["start"] and now < _stop_at(r):
        return "queued"
    if now < _stop_at(r):
        return "in_progress"
    return {"fail": "failed", "cancel": "canceled"}.get(r.get("fault") or "", "completed")


def done_count(r: dict[str, Any], now: float) -> int:
    if r.get("grading"):
        return 0  # nothing is stored before the grading ends
    total = int(r["total"])
    frac = _stop_fraction(r) if now >= _stop_at(r) else (now - float(r["start"])) / float(r["duration"])
    return max(0, min(total, int(total * frac + 1e-6)))


# -- runs: views ----------------------------------------------------------------------------
def _aggregate(c: sqlite3.Connection, r: dict[str, Any], done: int) -> dict[str, Any]:
    counts = {"total": done, "errored": 0, "failed": 0, "passed": 0}
    per = [[0, 0] for _ in r["criteria"]]
    usage: dict[str, list[int]] = {}
    for (raw,) in c.execute("SELECT summary FROM eval_items WHERE run_id=? AND seq<?", (r["id"], done)):
        s = orjson.loads(raw)
        counts[{"pass": "passed", "fail": "failed"}.get(s["s"], "errored")] += 1
        for i, flag in enumerate(s["c"]):
            if flag in "PF":
                per[i][0 if flag == "P" else 1] += 1
        for model, (n, p, comp) in s["u"].items():
            u = usage.setdefault(model, [0, 0, 0])
            u[0] += n
            u[1] += p
            u[2] += comp
    return {"result_counts": counts,
            "per_testing_criteria_results": [{"testing_criteria": name, "passed": p, "failed": f}
                                             for name, (p, f) in zip(r["criteria"], per, strict=True)],
            "per_model_usage": [{"model_name": m, "invocation_count": n, "prompt_tokens": p, "completion_tokens": comp,
                                 "total_tokens": p + comp, "cached_tokens": 0} for m, (n, p, comp) in usage.items()]}


def run_view(c: sqlite3.Connection, r: dict[str, Any], now: float) -> dict[str, Any]:
    status = run_status(r, now)
    error = NO_ERROR
    if status == "failed" and r.get("grading"):
        error = {"code": "internal_error", "message": "The local Foundry stopped before it had graded this run."}
    elif status == "failed":
        error = {"code": r.get("fault_code") or "internal_error",
                 "message": r.get("fault_message") or "The eval run failed (injected)."}
    return {"object": "eval.run", "id": r["id"], "eval_id": r["eval_id"], "status": status, "model": r["model"],
            "name": r["name"], "created_at": int(r["created_at"]), "report_url": r["report_url"],
            **_aggregate(c, r, done_count(r, now)), "data_source": r["data_source"],
            "metadata": r.get("metadata") or {}, "error": error}


def _run_or_404(emu: Emulator, c: sqlite3.Connection, request: Request) -> dict[str, Any] | JSON:
    eid, rid = request.path_params["eval_id"], request.path_params["run_id"]
    r = emu.store.get(c, "eval_run", rid)
    if r is None or r["eval_id"] != eid:
        return openai_error(404, f"Eval run {rid} not found.", "not_found", "run_id")
    _tables(c)
    return r


def get_run(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        r = _run_or_404(emu, c, request)
        return r if isinstance(r, JSON) else JSON(run_view(c, r, emu.store.now(c)))


def list_runs(request: Request) -> Response:
    emu = _emu(request)
    eid = request.path_params["eval_id"]
    wanted = request.query_params.get("status")
    with emu.store.tx() as c:
        e = _eval_or_404(emu, c, eid)
        if isinstance(e, JSON):
            return e
        _tables(c)
        now = emu.store.now(c)
        runs = [r for r in emu.store.all(c, "eval_run") if r["eval_id"] == eid]
        runs = [r for r in runs if wanted is None or run_status(r, now) == wanted]
        page, more = paginate(_ordered(request, runs), request.query_params.get("after"),
                              int_param(request, "limit", 20, 100))
        data = [run_view(c, r, now) for r in page]
    return JSON({"object": "list", "data": data, "first_id": data[0]["id"] if data else "",
                 "last_id": data[-1]["id"] if data else "", "has_more": more})


def cancel_run(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        r = _run_or_404(emu, c, request)
        if isinstance(r, JSON):
            return r
        now = emu.store.now(c)
        status = run_status(r, now)
        if status in ("completed", "failed"):
            return openai_error(400, f"Eval run {r['id']} is already {status} and cannot be canceled.",
                                "invalid_state")
        if status != "canceled":
            r["canceled_at"] = now
            emu.store.put(c, "eval_run", r["id"], r)
            _grading.cancel(r["id"])  # its jails are killed; what was graded is stored
        return JSON(run_view(c, r, now))


def delete_run(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        r = _run_or_404(emu, c, request)
        if isinstance(r, JSON):
            return r
        emu.store.delete(c, "eval_run", r["id"])
        c.execute("DELETE FROM eval_items WHERE run_id=?", (r["id"],))
    return JSON({"object": "eval.run.deleted", "deleted": True, "run_id": r["id"]})


def list_items(request: Request) -> Response:
    """A page of output items, read from the table by position (not all items decoded per page)."""
    emu = _emu(request)
    wanted = request.query_params.get("status")
    desc = request.query_params.get("order") == "desc"
    limit = int_param(request, "limit", 20, 100)
    with emu.store.tx() as c:
        r = _run_or_404(emu, c, request)
        if isinstance(r, JSON):
            return r
        done = done_count(r, emu.store.now(c))
        sql, args = "SELECT data FROM eval_items WHERE run_id=? AND seq<?", [r["id"], done]
        if wanted in ("pass", "fail"):
            sql += " AND status=?"
            args.append(wanted)
        after = request.query_params.get("after")
        if after:
            row = c.execute("SELECT seq FROM eval_items WHERE run_id=? AND id=?", (r["id"], after)).fetchone()
            sql += " AND seq<?" if desc else " AND seq>?"
            args.append(row[0] if row else (-1 if desc else done))
        rows = c.execute(sql + f" ORDER BY seq {'DESC' if desc else 'ASC'} LIMIT ?", [*args, limit + 1]).fetchall()
    page = [orjson.loads(row[0]) for row in rows[:limit]]
    return JSON({"object": "list", "data": page, "first_id": page[0]["id"] if page else "",
                 "last_id": page[-1]["id"] if page else "", "has_more": len(rows) > limit})


def get_item(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        r = _run_or_404(emu, c, request)
        if isinstance(r, JSON):
            return r
        done = done_count(r, emu.store.now(c))
        row = c.execute("SELECT data FROM eval_items WHERE run_id=? AND id=? AND seq<?",
                        (r["id"], request.path_params["item_id"], done)).fetchone()
    if row is None:
        return openai_error(404, f"Output item {request.path_params['item_id']} not found.", "not_found",
                            "output_item_id")
    return JSON(orjson.loads(row[0]))


# -- runs: creation -------------------------------------------------------------------------
@dataclass
class _Plan:
    """Everything a run needs, read in one transaction, graded outside it."""

    eval: dict[str, Any]
    rows: list[dict[str, Any]]
    profile: _inference.Profile | None
    limits: PyLimits
    refused: dict[str, str] | None = None  # why the run fails at once (a model it needs is missing)
    judges: tuple[str, ...] = ()  # the deployments its model graders use (their deletion fails the run)


def _rows(emu: Emulator, c: sqlite3.Connection, source: dict[str, Any]) -> list[dict[str, Any]] | JSON:
    """The data source rows as {"item": ..., "sample": ...} (a bare object is the item itself)."""
    if source.get("type") == "file_content" and isinstance(source.get("content"), list):
        raw: list[Any] = list(source["content"])
    elif source.get("type") == "file_id" and isinstance(source.get("id"), str):
        f = emu.store.get(c, "file", source["id"])
        if f is None:
            return openai_error(400, f"File {source['id']} not found.", "invalid_request", "data_source.source.id")
        raw = []
        with open(emu.store.blob_dir / f["id"], "rb") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        raw.append(orjson.loads(line))
                    except orjson.JSONDecodeError:
                        return openai_error(400, f"File {f['id']} line {n} is not valid JSON.", "invalid_request",
                                            "data_source.source.id")
    else:
        return openai_error(400, "data_source.source must be file_content (content) or file_id (id) for the local "
                            "Foundry.", "invalid_request", "data_source.source")
    rows = []
    for n, row in enumerate(raw):
        if not isinstance(row, dict):
            return openai_error(400, f"Data source row {n} is not an object.", "invalid_request", "data_source")
        rows.append(row if isinstance(row.get("item"), dict) else {"item": row})
    return rows


def _read_plan(emu: Emulator, c: sqlite3.Connection, eid: str, ds: dict[str, Any]) -> _Plan | JSON:
    e = _eval_or_404(emu, c, eid)
    if isinstance(e, JSON):
        return e
    rows = _rows(emu, c, ds.get("source") or {})
    if isinstance(rows, JSON):
        return rows
    import jsonschema

    validator = jsonschema.Draft202012Validator(e["data_source_config"]["item_schema"])
    for n, row in enumerate(rows):
        err = next(iter(validator.iter_errors(row["item"])), None)
        if err is not None:
            return openai_error(400, f"Item {n} does not match the eval's item_schema: {err.message}",
                                "invalid_request", "data_source")
    prof, refused = None, None
    now = emu.store.now(c)
    emu.sweep_deployments(c, now)
    if ds["type"] == "completions":
        dep = _inference.use_deployment(emu.store, c, str(ds.get("model")), now)
        if dep is None:  # Azure creates the run, and it fails (status failed, error), as OpenAI's Evals API does
            refused = _evalfail.missing("data_source.model", str(ds.get("model")))
        else:
            prof = _inference.profile(emu.store, c, dep["model"])
    judges, no_judge = _judges(emu, c, e["testing_criteria"])
    return _Plan(e, rows, prof, python_limits(emu.store, c), refused or no_judge, judges)


def _judges(emu: Emulator, c: sqlite3.Connection, criteria: list[dict[str, Any]]
            ) -> tuple[tuple[str, ...], dict[str, str] | None]:
    """The deployments the model graders name, and the error of a grader model that is neither a deployment
    nor a base model of this account (the emulator also takes a base model's id, as if it were deployed)."""
    names = [str(g["model"]) for g in criteria if g.get("type") in ("score_model", "label_model")]
    deployed = tuple(n for n in names if (d := emu.store.get(c, "deployment", n)) is not None and not d.get("deleting"))
    for n in names:
        if n not in deployed and _catalog.find(emu.store, c, n) is None:
            return deployed, _evalfail.missing("testing_criteria model", n)
    return deployed, None


def _check_source(ds: Any) -> JSON | None:
    if not isinstance(ds, dict):
        return openai_error(400, "Missing required parameter: 'data_source'.", "invalid_request", "data_source")
    if ds.get("type") not in ("jsonl", "completions"):
        return openai_error(400, f"data_source type {ds.get('type')!r} is not supported by the local Foundry "
                            "(jsonl, completions).", "invalid_request", "data_source.type")
    if ds["type"] == "completions":
        if not isinstance(ds.get("model"), str):
            return openai_error(400, "Missing required parameter: 'data_source.model' (the deployment name).",
                                "invalid_request", "data_source.model")
        msgs = ds.get("input_messages")
        if not isinstance(msgs, dict) or msgs.get("type") not in ("template", "item_reference"):
            return openai_error(400, "data_source.input_messages must be a template or an item_reference.",
                                "invalid_request", "data_source.input_messages")
    return None


def _sample(ds: dict[str, Any], row: dict[str, Any], prof: _inference.Profile | None,
            criteria: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the output item's sample, the grader `sample` namespace or None) for one row."""
    params = ds.get("sampling_params") or {}
    view: dict[str, Any] = {"input": [], "output": [], "finish_reason": "", "model": "", "error": NO_ERROR,
                            "usage": {"total_tokens": 0, "completion_tokens": 0, "prompt_tokens": 0,
                                      "cached_tokens": 0},
                            "temperature": params.get("temperature", 1.0),
                            "max_completion_tokens": params.get("max_completion_tokens", 0),
                            "top_p": params.get("top_p", 1.0), "seed": params.get("seed", 42)}
    if prof is None:
        given = row.get("sample")
        return view, dict(given) if isinstance(given, dict) else None
    item = row["item"]
    try:
        msgs = _input_messages(ds["input_messages"], item)
    except _graders.VariableMissing as e:
        view["error"] = {"code": "invalid_variable", "message": str(e)}
        return view, None
    prompt = user_text(msgs)
    text = _inference.answer(prof, prompt, _graders.item_reference(item, criteria))
    finish = "stop"
    cap = params.get("max_completion_tokens")
    if isinstance(cap, int) and cap > 0 and len(text.split()) > cap:
        text, finish = " ".join(text.split()[:cap]), "length"
    p, comp = sum(_inference.tokens(m["content"]) for m in msgs), _inference.tokens(text)
    view.update(input=msgs, output=[{"role": "assistant", "content": text}], finish_reason=finish,
                model=str(ds["model"]), usage={"total_tokens": p + comp, "completion_tokens": comp,
                                               "prompt_tokens": p, "cached_tokens": 0})
    ns: dict[str, Any] = {"output_text": text, "model": str(ds["model"]), "finish_reason": finish}
    with contextlib.suppress(orjson.JSONDecodeError):
        ns["output_json"] = orjson.loads(text)
    return view, ns


def _input_messages(spec: dict[str, Any], item: dict[str, Any]) -> list[dict[str, str]]:
    if spec["type"] == "item_reference":
        msgs = _graders.lookup(str(spec.get("item_reference", "")), {"item": item})
        if not isinstance(msgs, list):
            raise _graders.VariableMissing(f"{spec.get('item_reference')} is not a list of messages")
        return [{"role": str(m.get("role", "user")), "content": _graders._content_text(m.get("content"))}
                for m in msgs if isinstance(m, dict)]
    return _graders.render_messages([m for m in spec.get("template") or [] if isinstance(m, dict) and "role" in m],
                                    {"item": item})


@dataclass
class _Graded:
    """What the background grading produced: each row's sample view and its outcomes by criterion."""

    samples: list[tuple[dict[str, Any], dict[str, Any] | None]]
    outcomes: list[dict[int, Outcome]]


def _grade(plan: _Plan, ds: dict[str, Any], cancel: threading.Event) -> _Graded:
    """Sample and grade every row (python graders in their jails; `cancel` kills them)."""
    criteria: list[dict[str, Any]] = plan.eval["testing_criteria"]
    samples = [_sample(ds, row, plan.profile, criteria) for row in plan.rows]
    env = Env(plan.limits, lambda item: _graders.item_reference(item, criteria), cancel)
    graded = [(i, row["item"], ns) for i, (row, (_, ns)) in enumerate(zip(plan.rows, samples, strict=True))
              if ns is not None]
    outcomes: list[dict[int, Outcome]] = [{} for _ in plan.rows]
    for ci, g in enumerate(criteria):
        for (i, _, _), o in zip(graded, _graders.grade_all(g, [(item, ns) for _, item, ns in graded], env),
                                strict=True):
            outcomes[i][ci] = o
    return _Graded(samples, outcomes)


def _store_graded(emu: Emulator, plan: _Plan, rid: str, graded: _Graded | Exception) -> None:
    """Store the output items; the run's emulated timeline (queued, items one by one) starts now."""
    with emu.store.tx() as c:
        _tables(c)
        r = emu.store.get(c, "eval_run", rid)
        if r is None:  # deleted while it was graded
            return
        r.pop("grading", None)
        if isinstance(graded, Exception):
            r.update(fault="fail", stop_fraction=0.0, fault_message=f"The local Foundry could not grade the run: "
                                                                    f"{type(graded).__name__}: {graded}")
        else:
            r["start"] = max(float(r["start"]), emu.store.now(c))
            step = float(r["duration"]) / max(1, len(plan.rows))
            criteria = plan.eval["testing_criteria"]
            c.executemany("INSERT INTO eval_items (run_id, seq, id, status, summary, data) VALUES (?, ?, ?, ?, ?, ?)",
                          [(rid, *_item_row(i, row, view, ns, graded.outcomes[i], criteria, plan, rid, r["eval_id"],
                                            r["start"] + (i + 1) * step))
                           for i, (row, (view, ns)) in enumerate(zip(plan.rows, graded.samples, strict=True))])
        emu.store.put(c, "eval_run", rid, r)


def _item_row(i: int, row: dict[str, Any], view: dict[str, Any], ns: dict[str, Any] | None,
              results: dict[int, Outcome], criteria: list[dict[str, Any]], plan: _Plan, rid: str, eid: str,
              done_at: float) -> tuple[int, str, str, str, str]:
    flags = "".join("E" if results.get(ci) is None or results[ci].error else ("P" if results[ci].passed else "F")
                    for ci in range(len(criteria)))
    status = "error" if ns is None or "E" in flags else ("pass" if "F" not in flags else "fail")
    usage: dict[str, list[int]] = {}
    if plan.profile is not None and ns is not None:
        usage[view["model"]] = [1, view["usage"]["prompt_tokens"], view["usage"]["completion_tokens"]]
    entries = []
    for ci, g in enumerate(criteria):
        o = results.get(ci)
        entry: dict[str, Any] = {"name": g["name"], "type": _graders.TYPE_LABEL[g["type"]],
                                 "score": o.score if o else 0.0, "passed": bool(o and o.passed),
                                 "sample": {"label": o.label} if o and o.label else None}
        if o is None or o.error:
            entry["error"] = o.error if o else "no sample to grade"
        if o and o.tokens:
            u = usage.setdefault(str(g["model"]), [0, 0, 0])
            u[0], u[1], u[2] = u[0] + 1, u[1] + o.tokens, u[2] + 8
        entries.append(entry)
    oid = f"outputitem_{digest(rid, i)}"
    data = {"object": "eval.run.output_item", "id": oid, "run_id": rid, "eval_id": eid, "created_at": int(done_at),
            "status": status, "datasource_item_id": i, "datasource_item": row["item"], "results": entries,
            "sample": view}
    summary = {"s": status, "c": flags, "u": usage}
    return i, oid, status, orjson.dumps(summary).decode(), orjson.dumps(data).decode()


def _fault_for(emu: Emulator, c: sqlite3.Connection, eid: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The first injected eval-run fault matching this run (consuming one of its `times`)."""
    rules: list[dict[str, Any]] = emu.store.meta(c, "eval_faults", [])
    model = (body.get("data_source") or {}).get("model")
    for rule in rules:
        if rule.get("times") is not None and rule["times"] <= 0:
            continue
        if any(rule.get(k) is not None and rule[k] != v for k, v in (("model", model), ("eval_id", eid),
                                                                      ("name", body.get("name")))):
            continue
        if not all((body.get("metadata") or {}).get(k) == v for k, v in (rule.get("metadata") or {}).items()):
            continue
        if rule.get("times") is not None:
            rule["times"] -= 1
            emu.store.set_meta(c, "eval_faults", rules)
        return rule
    return None


async def create_run(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    ds = body.get("data_source")
    if (bad := _check_source(ds)) is not None or not isinstance(ds, dict):
        return bad or openai_error(400, "Missing required parameter: 'data_source'.")
    if (problem := _metadata_problem(body.get("metadata"))) is not None:
        return openai_error(400, problem, "invalid_request", "metadata")
    eid = request.path_params["eval_id"]
    if (refused := await _python_refused(emu, eid)) is not None:
        return refused
    with emu.store.tx() as c:
        _tables(c)
        plan = _read_plan(emu, c, eid, ds)
        if isinstance(plan, JSON):
            return plan
        now = emu.store.now(c)
        fault = _fault_for(emu, c, eid, body)
        rid = emu.new_id("evalrun_")
        if plan.refused is not None:  # nothing to grade: the run is created failed
            r = _new_run(request, body, ds, plan, rid, eid, now, fault, emu.speed)
            r.pop("grading")
            r.update(start=now, fault=None)
            _evalfail.fail_at(r, plan.refused, now)
            emu.store.put(c, "eval_run", rid, r)
            return JSON(run_view(c, r, now), status_code=201)
        grading = _grading.register(emu, rid)
        try:
            r = _new_run(request, body, ds, plan, rid, eid, now, fault, emu.speed)
            emu.store.put(c, "eval_run", rid, r)
            answer = JSON(run_view(c, r, now), status_code=201)
        except BaseException:
            _grading.forget(rid)
            raise
    _grading.start(grading, rid, lambda cancel: _grade(plan, ds, cancel),
                   lambda graded: _store_graded(emu, plan, rid, graded))
    return answer


def _new_run(request: Request, body: dict[str, Any], ds: dict[str, Any], plan: _Plan, rid: str, eid: str, now: float,
             fault: dict[str, Any] | None, speed: float) -> dict[str, Any]:
    """A run's record, `grading` until its items are stored (its timeline may start later, see _store_graded)."""
    factor = float(fault.get("factor", 10)) if fault and fault["mode"] == "slow" else 1.0
    r: dict[str, Any] = {
        "id": rid, "eval_id": eid, "created_at": now, "name": str(body.get("name") or rid),
        "model": str(ds.get("model") or ""), "metadata": body.get("metadata") or {}, "data_source": ds,
        "report_url": f"{str(request.base_url).rstrip('/')}/openai/v1/evals/{eid}/runs/{rid}",
        "criteria": [g["name"] for g in plan.eval["testing_criteria"]], "total": len(plan.rows),
        "start": now + QUEUE_SECONDS / speed,
        "duration": factor * (RUN_BASE_SECONDS + ITEM_SECONDS * len(plan.rows)) / speed, "canceled_at": None,
        "grading": _grading.owner(), "judges": list(plan.judges)}
    if fault and fault["mode"] in ("fail", "cancel"):
        r.update(fault=fault["mode"], stop_fraction=float(fault.get("at", 0.5)), fault_message=fault.get("message"))
    return r


async def _python_refused(emu: Emulator, eid: str) -> JSON | None:
    """A 400 with the reason when the eval has a python grader and this machine cannot contain one."""
    with emu.store.tx() as c:
        e = emu.store.get(c, "eval", eid)
    if e is None or not any(_graders.uses_python(g) for g in e["testing_criteria"]):
        return None
    problem = await run_in_threadpool(_pysandbox.sandbox_problem)
    if problem is None:
        return None
    return openai_error(400, _pysandbox.refusal(problem), "python_grader_unavailable", "testing_criteria")


# -- admin: faults and limits of eval runs ---------------------------------------------------
async def set_faults(request: Request) -> Response:
    """{"mode": fail|slow|cancel, "model"?, "eval_id"?, "name"?, "metadata"?, "at"?, "factor"?, "times"?,
    "message"?} adds a rule for runs created later; {} clears them."""
    emu = _emu(request)
    body = await json_body(request) or {}
    with emu.store.tx() as c:
        if not body:
            emu.store.set_meta(c, "eval_faults", [])
            return JSON({"eval_faults": []})
        if body.get("mode") not in FAULT_MODES:
            return JSON({"error": f"mode must be one of {list(FAULT_MODES)}"}, status_code=400)
        rules = [*emu.store.meta(c, "eval_faults", []), body]
        emu.store.set_meta(c, "eval_faults", rules)
    return JSON({"eval_faults": rules})


async def set_limits(request: Request) -> Response:
    """{"python_timeout_seconds": s, "python_memory_mb": n} for python graders of later runs and calls."""
    emu = _emu(request)
    body = await json_body(request) or {}
    unknown = set(body) - {"python_timeout_seconds", "python_memory_mb"}
    if unknown:
        return JSON({"error": f"unknown eval limits {sorted(unknown)}"}, status_code=400)
    with emu.store.tx() as c:
        limits = {**emu.store.meta(c, "eval_limits", {}), **body}
        emu.store.set_meta(c, "eval_limits", limits)
    return JSON({"eval_limits": limits})


def python_limits(store: Store, c: sqlite3.Connection) -> PyLimits:
    settings = store.meta(c, "eval_limits", {})
    return PyLimits(float(settings.get("python_timeout_seconds", DEFAULT_TIMEOUT_S)),
                    int(settings.get("python_memory_mb", DEFAULT_MEMORY_MB)))


EVALS = "/openai/v1/evals"
ROUTES = [
    Route(EVALS, create_eval, methods=["POST"]),
    Route(EVALS, list_evals, methods=["GET"]),
    Route(EVALS + "/{eval_id}", get_eval, methods=["GET"]),
    Route(EVALS + "/{eval_id}", update_eval, methods=["POST"]),
    Route(EVALS + "/{eval_id}", delete_eval, methods=["DELETE"]),
    Route(EVALS + "/{eval_id}/runs", create_run, methods=["POST"]),
    Route(EVALS + "/{eval_id}/runs", list_runs, methods=["GET"]),
    Route(EVALS + "/{eval_id}/runs/{run_id}", get_run, methods=["GET"]),
    Route(EVALS + "/{eval_id}/runs/{run_id}", cancel_run, methods=["POST"]),  # as the reference spec has it
    Route(EVALS + "/{eval_id}/runs/{run_id}/cancel", cancel_run, methods=["POST"]),  # as the openai client sends it
    Route(EVALS + "/{eval_id}/runs/{run_id}", delete_run, methods=["DELETE"]),
    Route(EVALS + "/{eval_id}/runs/{run_id}/output_items", list_items, methods=["GET"]),
    Route(EVALS + "/{eval_id}/runs/{run_id}/output_items/{item_id}", get_item, methods=["GET"]),
    # Admin API (a path Azure never uses), kept beside the behaviour it steers.
    Route("/_emulator/evals/faults", set_faults, methods=["POST"]),
    Route("/_emulator/evals/limits", set_limits, methods=["POST"]),
]
