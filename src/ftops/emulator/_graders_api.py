"""The grader endpoints of fine-tuning: /openai/v1/fine_tuning/alpha/graders/validate and /run."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _graders, _pysandbox
from ._evals import python_limits
from ._graders import Env, GraderInvalid, Outcome
from ._http import JSON, json_body, openai_error
from ._http import emulator_of as _emu

ERROR_FLAGS = ("formula_parse_error", "sample_parse_error", "truncated_observation_error", "unresponsive_reward_error",
               "invalid_variable_error", "other_error", "python_grader_server_error", "python_grader_runtime_error",
               "model_grader_server_error", "model_grader_refusal_error", "model_grader_parse_error")


async def _grader_of(request: Request) -> tuple[dict[str, Any], dict[str, Any]] | JSON:
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    try:
        _graders.validate(body.get("grader"), "grader", _graders.RUN_TYPES, in_eval=False)
    except GraderInvalid as e:
        return openai_error(400, e.message, "invalid_grader", e.param)
    return body["grader"], body


async def validate_grader(request: Request) -> Response:
    found = await _grader_of(request)
    return found if isinstance(found, JSON) else JSON({"grader": found[0]})


def _errors(o: Outcome) -> dict[str, Any]:
    flags: dict[str, Any] = dict.fromkeys(ERROR_FLAGS, False)
    flags.update(python_grader_server_error_type=None, python_grader_runtime_error_details=None,
                 model_grader_server_error_details=None)
    if o.kind:
        flags[o.kind if o.kind in ERROR_FLAGS else "other_error"] = True
        if o.kind == "python_grader_runtime_error":
            flags["python_grader_runtime_error_details"] = o.error
    return flags


async def run_grader(request: Request) -> Response:
    found = await _grader_of(request)
    if isinstance(found, JSON):
        return found
    grader, body = found
    if _graders.uses_python(grader) and (problem := await run_in_threadpool(_pysandbox.sandbox_problem)):
        return openai_error(400, _pysandbox.refusal(problem), "python_grader_unavailable", "grader")
    sample_text = body.get("model_sample")
    if not isinstance(sample_text, str):
        return openai_error(400, "Missing required parameter: 'model_sample' (a string).", "invalid_request",
                            "model_sample")
    given = body.get("item")
    item: dict[str, Any] = given if isinstance(given, dict) else {}
    emu = _emu(request)
    with emu.store.tx() as c:
        limits = python_limits(emu.store, c)
    sample: dict[str, Any] = {"output_text": sample_text}
    with contextlib.suppress(ValueError):
        sample["output_json"] = orjson.loads(sample_text)
    env = Env(limits, lambda it: _graders.item_reference(it, [grader]))
    started = time.monotonic()
    outcome = (await run_in_threadpool(_graders.grade_all, grader, [(item, sample)], env))[0]
    judge = grader.get("model") if grader["type"] in ("score_model", "label_model") else None
    return JSON({
        "reward": outcome.score,
        "metadata": {"name": grader["name"], "type": grader["type"], "errors": _errors(outcome),
                     "execution_time": round(time.monotonic() - started, 6),
                     "scores": outcome.sub or {grader["name"]: outcome.score},
                     "token_usage": outcome.tokens or None, "sampled_model_name": judge},
        "sub_rewards": outcome.sub,
        "model_grader_token_usage_per_model": {judge: {"prompt_tokens": outcome.tokens}} if judge else {},
    })


ROUTES = [
    Route("/openai/v1/fine_tuning/alpha/graders/validate", validate_grader, methods=["POST"]),
    Route("/openai/v1/fine_tuning/alpha/graders/run", run_grader, methods=["POST"]),
]
