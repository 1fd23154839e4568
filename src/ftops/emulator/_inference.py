"""Inference: chat completions against a deployment, answered by a deterministic quality simulation.

A deployed model "knows" the task to a degree, its quality, set by the simulated validation loss of
the checkpoint it serves (full_valid_loss, else valid_loss, else train_loss at that step): a better
checkpoint answers closer to the reference, a base model (no training) answers worst. The reference
for a prompt is the answer an evaluation expects when the answer is asked inside an eval run, else
the assistant turn of the same prompt in the job's training or validation file, else that of the
closest training example (word overlap). The answer is the reference kept whole with probability
quality³, else word by word (each kept with probability quality, replaced or dropped otherwise),
all drawn from Random(sha256(model, prompt)): the same model and prompt always give the same answer.
`score_model`/`label_model` judges use the same machinery (see `judge`).
"""

from __future__ import annotations

import random
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _fidelity, _sim
from ._examples import examples, user_text
from ._http import JSON, json_body, openai_error
from ._http import emulator_of as _emu
from ._state import IMPORTED
from ._store import Store

BASE_QUALITY = 0.15  # a model with no fine-tuning on this task
JUDGE_QUALITY = 0.9  # grader models (they need no deployment on Foundry)
MIN_QUALITY, MAX_QUALITY = 0.2, 0.95
FILLER = ("well", "actually", "perhaps", "the", "answer", "is", "probably", "something", "else", "indeed",
          "maybe", "honestly", "it", "depends")
NO_REFERENCE = "I am not sure what you are asking."
_WORD = re.compile(r"[a-z0-9']+")
DEPLOYMENT_404 = _fidelity.DEPLOYMENT_404


@dataclass(frozen=True)
class Profile:
    """What the simulation knows of a model: its quality and the job (data files) behind it."""

    model: str
    quality: float
    training_file: Path | None = None
    validation_file: Path | None = None
    loss: float | None = None


def quality_of_loss(loss: float | None) -> float:
    if loss is None:
        return 0.5
    return max(MIN_QUALITY, min(MAX_QUALITY, 1.3 - 1.4 * loss))


def profile(store: Store, c: sqlite3.Connection, model: str) -> Profile:
    """The profile of a fine-tuned model or checkpoint of this resource, or of one it holds from another account
    (deployed with `source`, or copied in: it answers as in its own account); a base model otherwise."""
    now = store.now(c)
    for j in store.all(c, "job", newest_first=True):
        if (found := _job_profile(j, model, now, store.blob_dir)) is not None:
            return found
    held = store.get(c, IMPORTED, model)
    if held is not None and (found := _job_profile(held["job"], model, now, Path(held["blob_dir"]))) is not None:
        return found
    return Profile(model, BASE_QUALITY)


def _job_profile(j: dict[str, Any], model: str, now: float, blob: Path) -> Profile | None:
    """The profile of `model` if job `j` made it (its fine-tuned model or one of its checkpoints)."""
    named = j.get("fine_tuned_model_name") or ""
    if not (model.startswith("ftchkpt-") or model == j.get("fine_tuned_model") or model.startswith(named + ":")):
        return None  # cheap: only a job that may own this model has its checkpoints computed
    cps = _sim.checkpoints(j, now)
    if j.get("fine_tuned_model") == model and cps:
        served = max(cps, key=lambda cp: int(cp["step_number"]))
    else:
        matches = [cp for cp in cps if model in (cp["id"], cp.get("fine_tuned_model_checkpoint"))]
        if not matches:
            return None
        served = matches[0]
    metrics = served.get("metrics") or {}
    loss = next((metrics[k] for k in ("full_valid_loss", "valid_loss", "train_loss")
                 if isinstance(metrics.get(k), int | float)), None)
    return Profile(model, quality_of_loss(loss), blob / j["training_file"],
                   blob / j["validation_file"] if j.get("validation_file") else None, loss)


def reference_for(p: Profile, prompt: str) -> str | None:
    """The answer the model's own data gives for this prompt: exact, else the closest training example."""
    for path in (p.training_file, p.validation_file):
        if path is not None and (hit := _index(path)[0].get(_norm(prompt))) is not None:
            return hit
    if p.training_file is None:
        return None
    pairs = _index(p.training_file)[1]
    if not pairs:
        return None
    words = set(_WORD.findall(prompt.lower()))
    return max(pairs, key=lambda pair: len(words & pair[0]) / (len(words | pair[0]) or 1))[1]


def answer(p: Profile, prompt: str, reference: str | None) -> str:
    """The simulated answer of model `p` to `prompt` when `reference` is the right one."""
    if reference is None:
        reference = reference_for(p, prompt)
    if reference is None:
        return NO_REFERENCE
    rng = random.Random(_sim.digest(p.model, prompt))
    q = p.quality
    if rng.random() < q ** 3:
        return reference
    out: list[str] = []
    for word in reference.split():
        r = rng.random()
        if r < q:
            out.append(word)
        elif r < q + (1 - q) / 2:
            out.append(rng.choice(FILLER))
    return " ".join(out) or rng.choice(FILLER)


def judge(model: str, prompt: str, output: str, reference: str | None) -> float:
    """A grader model's verdict in [0, 1]: closeness of output to reference, with a judge's noise."""
    from rapidfuzz import fuzz  # here, as in _graders: the local Foundry starts without it

    rng = random.Random(_sim.digest("judge", model, prompt))
    base = fuzz.ratio(_norm(output), _norm(reference)) / 100 if reference is not None else 0.5
    return max(0.0, min(1.0, base + (rng.random() - 0.5) * (1 - JUDGE_QUALITY)))


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@lru_cache(maxsize=32)
def _index(path: Path) -> tuple[dict[str, str], tuple[tuple[frozenset[str], str], ...]]:
    """(normalized user text -> last assistant answer, (user words, answer) pairs) of a chat JSONL file."""
    exact: dict[str, str] = {}
    pairs: list[tuple[frozenset[str], str]] = []
    try:
        for prompt, answer in examples(path, 100_000):
            exact.setdefault(_norm(prompt), answer)
            if len(pairs) < 5000:
                pairs.append((frozenset(_WORD.findall(prompt.lower())), answer))
    except OSError:
        return {}, ()
    return exact, tuple(pairs)


# -- the route ------------------------------------------------------------------------------
def use_deployment(store: Store, c: sqlite3.Connection, name: str, now: float) -> dict[str, Any] | None:
    """The live deployment `name`, marked as used now (the 15-day inactivity rule); None if absent."""
    dep = store.get(c, "deployment", name)
    if dep is None or dep.get("deleting") or _fidelity.propagating(dep, now):
        return None
    dep["last_used_at"] = now
    store.put(c, "deployment", dep["name"], dep)
    return dep


async def chat_completions(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    name = request.path_params.get("deployment") or body.get("model")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        emu.sweep_deployments(c, now)
        dep = use_deployment(emu.store, c, str(name), now)
        if dep is None:
            return openai_error(404, DEPLOYMENT_404, "DeploymentNotFound")
        prof = profile(emu.store, c, dep["model"])
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    prompt = user_text(messages)
    text = await run_in_threadpool(answer, prof, prompt, None)
    return JSON({
        "id": f"chatcmpl-{_sim.digest(now, prompt, n=24)}", "object": "chat.completion", "created": int(now),
        "model": dep["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": tokens(prompt), "completion_tokens": tokens(text),
                  "total_tokens": tokens(prompt) + tokens(text)},
    })


ROUTES = [
    Route("/openai/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/openai/deployments/{deployment}/chat/completions", chat_completions, methods=["POST"]),
]
