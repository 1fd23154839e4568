"""Inference for smoke tests: chat completions against a deployment, counted as use."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _sim
from ._http import JSON, json_body, openai_error
from ._http import emulator_of as _emu


# -- inference ------------------------------------------------------------------------------
async def chat_completions(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    name = request.path_params.get("deployment") or body.get("model")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        emu.sweep_deployments(c, now)
        dep = emu.store.get(c, "deployment", str(name))
        if dep is None or dep.get("deleting"):
            return openai_error(404, "The API deployment for this resource does not exist. If you created the "
                                "deployment within the last 5 minutes, please wait a moment and try again.",
                                "DeploymentNotFound")
        dep["last_used_at"] = now
        emu.store.put(c, "deployment", dep["name"], dep)
        job = emu.job_for_model(c, dep["model"])
    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict)
                      and m.get("role") == "user")
    answer = await run_in_threadpool(emu.closest_answer, job["training_file"] if job else None, prompt)
    return JSON({
        "id": f"chatcmpl-{_sim.digest(now, prompt, n=24)}", "object": "chat.completion", "created": int(now),
        "model": dep["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer}}],
        "usage": {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(answer) // 4),
                  "total_tokens": max(1, len(prompt) // 4) + max(1, len(answer) // 4)},
    })


ROUTES = [
    Route("/openai/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/openai/deployments/{deployment}/chat/completions", chat_completions, methods=["POST"]),
]
