"""The local Foundry's Evals API and graders through the real openai client, and ftops' EvalsClient.

Every eval, run, list and output item body is validated against the reference schemas in
tests/fixtures/openai-evals-graders.openapi.yaml; graders are checked against known scores.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from jsonschema import Draft202012Validator

from ftops.emulator import AdminClient, Connection, _pysandbox, launch
from ftops.foundry import (
    CHAT_ITEM_SCHEMA,
    Criterion,
    DeploymentWrite,
    EvalsClient,
    FoundryClient,
    JobRequest,
    chat_eval_item,
    connect,
)
from ftops.spec import FoundrySpec
from tests.e2e.conftest import ROOT, Foundry

jailed = pytest.mark.skipif(_pysandbox.sandbox_problem() is not None,
                            reason=f"no python grader jail here: {_pysandbox.sandbox_problem()}")
SPEC = yaml.safe_load((ROOT / "tests" / "fixtures" / "openai-evals-graders.openapi.yaml").read_text())
SYSTEM = "You answer questions about numbered facts."
COLORS = ["red", "blue", "green", "yellow", "purple", "orange"]
ANIMALS = ["cat", "dog", "fox", "owl", "horse", "otter", "crow"]
FOODS = ["apples", "bread", "cheese", "fish", "honey", "rice", "plums"]


def assert_schema(body: Any, name: str) -> None:
    schema = {**SPEC, "$ref": f"#/components/schemas/{name}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{name}: {[e.message for e in errors][:5]}"


def fact(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    answer = (f"Fact {i} says the {rng.choice(COLORS)} {rng.choice(ANIMALS)} eats {rng.choice(FOODS)} "
              f"every {rng.choice(['morning', 'evening', 'night', 'noon'])} near the {rng.choice(['river', 'hill', 'barn'])}.")
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"What does fact {i} say?"},
                         {"role": "assistant", "content": answer}]}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


EXACT = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}", "reference": "{{item.reference}}",
         "operation": "eq"}
BLEU = {"type": "text_similarity", "name": "bleu", "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}", "evaluation_metric": "bleu", "pass_threshold": 0.5}


def make_eval(f: Foundry, criteria: list[dict[str, Any]] | None = None) -> Any:
    return f.oai.evals.create(name="facts", data_source_config={"type": "custom", "item_schema": CHAT_ITEM_SCHEMA},
                              testing_criteria=criteria or [EXACT, BLEU])  # type: ignore[list-item]


def wait_run(f: Foundry, eval_id: str, run_id: str) -> Any:
    for _ in range(2000):
        run = f.oai.evals.runs.retrieve(run_id, eval_id=eval_id)
        if run.status in ("completed", "failed", "canceled"):
            return run
        time.sleep(0.005)
    raise AssertionError("run never finished")


def trained(f: Foundry, tmp_path: Path, seed: int = 2) -> tuple[Any, list[Any]]:
    train = f.upload(write_jsonl(tmp_path / "train.jsonl", [fact(i) for i in range(120)]))
    valid = f.upload(write_jsonl(tmp_path / "valid.jsonl", [fact(i) for i in range(120, 140)]))
    job = f.wait_job(f.job(train, validation_file=valid, hyperparameters={"n_epochs": 4}, seed=seed).id)
    assert job.status == "succeeded"
    return job, f.oai.fine_tuning.jobs.checkpoints.list(job.id).data


def held_out(n: int = 100) -> list[dict[str, Any]]:
    return [{"item": chat_eval_item(fact(i))} for i in range(1000, 1000 + n)]


# -- the API and its schemas ----------------------------------------------------------------
def test_eval_lifecycle_answers_match_the_reference_schemas(foundry: Foundry) -> None:
    f = foundry
    raw = f.oai.evals.with_raw_response.create(
        name="facts", metadata={"ftops-project": "t"},
        data_source_config={"type": "custom", "item_schema": CHAT_ITEM_SCHEMA, "include_sample_schema": True},
        testing_criteria=[EXACT, BLEU])  # type: ignore[list-item]
    assert raw.http_response.status_code == 201
    ev = raw.http_response.json()
    assert_schema(ev, "Eval")
    assert_schema(f.oai.evals.with_raw_response.retrieve(ev["id"]).http_response.json(), "Eval")
    assert_schema(f.oai.evals.with_raw_response.list().http_response.json(), "EvalList")
    assert f.oai.evals.update(ev["id"], name="renamed").name == "renamed"

    rows = [{"item": {"messages": [], "reference": "Paris"}, "sample": {"output_text": text}}
            for text in ("Paris", "paris", "Lyon")]
    raw_run = f.oai.evals.runs.with_raw_response.create(
        ev["id"], name="given samples", data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}})
    assert raw_run.http_response.status_code == 201
    run = raw_run.http_response.json()
    assert_schema(run, "EvalRun")
    done = wait_run(f, ev["id"], run["id"])
    body = f.oai.evals.runs.with_raw_response.retrieve(run["id"], eval_id=ev["id"]).http_response.json()
    assert_schema(body, "EvalRun")
    assert done.status == "completed" and body["result_counts"] == {"total": 3, "errored": 0, "failed": 2, "passed": 1}
    assert body["per_testing_criteria_results"][0] == {"testing_criteria": "exact", "passed": 1, "failed": 2}
    assert_schema(f.oai.evals.runs.with_raw_response.list(ev["id"]).http_response.json(), "EvalRunList")

    items = f.oai.evals.runs.output_items.with_raw_response.list(run["id"], eval_id=ev["id"]).http_response.json()
    assert_schema(items, "EvalRunOutputItemList")
    assert [i["datasource_item_id"] for i in items["data"]] == [0, 1, 2]
    assert [i["status"] for i in items["data"]] == ["pass", "fail", "fail"]
    assert [r["score"] for r in items["data"][0]["results"]] == [1.0, pytest.approx(1.0)]
    one = f.oai.evals.runs.output_items.with_raw_response.retrieve(
        items["data"][2]["id"], eval_id=ev["id"], run_id=run["id"]).http_response.json()
    assert_schema(one, "EvalRunOutputItem")
    passed = f.oai.evals.runs.output_items.list(run["id"], eval_id=ev["id"], status="pass").data
    assert [i.datasource_item_id for i in passed] == [0]

    assert f.oai.evals.runs.delete(run["id"], eval_id=ev["id"]).deleted
    deleted = f.oai.evals.with_raw_response.delete(ev["id"]).http_response.json()
    assert deleted == {"object": "eval.deleted", "deleted": True, "eval_id": ev["id"]}
    with pytest.raises(openai.NotFoundError) as e:
        f.oai.evals.retrieve(ev["id"])
    assert_schema(e.value.body, "Error")


def test_runs_are_refused_when_items_break_the_schema_and_fail_when_the_deployment_is_missing(
        foundry: Foundry) -> None:
    ev = make_eval(foundry)
    with pytest.raises(openai.BadRequestError, match="item_schema"):
        foundry.oai.evals.runs.create(ev.id, data_source={"type": "jsonl", "source": {
            "type": "file_content", "content": [{"item": {"reference": "no messages"}}]}})
    run = foundry.oai.evals.runs.create(ev.id, data_source={  # created, and failed (see the tests at the end)
        "type": "completions", "model": "nope", "input_messages": {"type": "item_reference", "item_reference":
                                                                   "item.messages"},
        "source": {"type": "file_content", "content": held_out(2)}})
    assert run.status == "failed" and run.error.code == "DeploymentNotFound"
    with pytest.raises(openai.BadRequestError, match="cosine"):
        make_eval(foundry, [{**BLEU, "evaluation_metric": "cosine"}])


def test_completions_runs_score_checkpoints_by_their_validation_loss(foundry: Foundry, tmp_path: Path) -> None:
    f = foundry
    _, checkpoints = trained(f, tmp_path)
    ev = make_eval(f)
    scores = {}
    for n, cp in enumerate(checkpoints):
        f.deploy(f"cand-{n}", cp.id).result()
        run = f.oai.evals.runs.create(ev.id, name=f"cand-{n}", data_source={
            "type": "completions", "model": f"cand-{n}", "source": {"type": "file_content", "content": held_out()},
            "input_messages": {"type": "item_reference", "item_reference": "item.messages"}})
        assert wait_run(f, ev.id, run.id).status == "completed"
        body = f.oai.evals.runs.with_raw_response.retrieve(run.id, eval_id=ev.id).http_response.json()
        assert_schema(body, "EvalRun")
        assert body["per_model_usage"][0]["model_name"] == f"cand-{n}" and body["per_model_usage"][0]["invocation_count"] == 100
        items = [i for page in [f.oai.evals.runs.output_items.list(run.id, eval_id=ev.id, limit=100)] for i in page.data]
        assert len(items) == 100
        assert_schema(items[0].model_dump(), "EvalRunOutputItem")
        scores[cp.metrics.full_valid_loss] = sum(i.results[1].score for i in items) / len(items)
    losses = sorted(scores)
    assert losses[-1] - losses[0] > 0.05  # this seed overfits in the last epoch: the checkpoints differ clearly
    assert scores[losses[0]] > scores[losses[-1]]  # the lowest validation loss answers best
    # The same model and prompt always answer the same.
    again = f.oai.evals.runs.create(ev.id, name="again", data_source={
        "type": "completions", "model": "cand-0", "source": {"type": "file_content", "content": held_out()},
        "input_messages": {"type": "item_reference", "item_reference": "item.messages"}})
    wait_run(f, ev.id, again.id)
    first = f.oai.evals.runs.list(ev.id).data[0]
    assert f.oai.evals.runs.retrieve(again.id, eval_id=ev.id).result_counts.model_dump() == first.result_counts.model_dump()


def test_template_input_messages_and_judges(foundry: Foundry, tmp_path: Path) -> None:
    f = foundry
    _, checkpoints = trained(f, tmp_path)
    f.deploy("best", checkpoints[0].id).result()
    judge = {"type": "score_model", "name": "judge", "model": "gpt-4o-2024-08-06", "range": [1, 5],
             "input": [{"role": "system", "content": "Score the answer 1-5 against the reference."},
                       {"role": "user", "content": "Reference: {{item.reference}} Answer: {{sample.output_text}}"}]}
    label = {"type": "label_model", "name": "label", "model": "gpt-4o-2024-08-06", "labels": ["right", "wrong"],
             "passing_labels": ["right"], "input": [{"role": "user", "content": "{{sample.output_text}}"}]}
    ev = make_eval(f, [EXACT, judge, label])
    rows = [{"item": {"question": m["messages"][1]["content"], "messages": [], "reference": m["messages"][2]["content"]}}
            for m in (fact(i) for i in range(2000, 2030))]
    run = f.oai.evals.runs.create(ev.id, data_source={
        "type": "completions", "model": "best", "source": {"type": "file_content", "content": rows},
        "input_messages": {"type": "template", "template": [{"role": "system", "content": SYSTEM},
                                                              {"role": "user", "content": "{{item.question}}"}]}})
    wait_run(f, ev.id, run.id)
    items = f.oai.evals.runs.output_items.list(run.id, eval_id=ev.id, limit=100).data
    assert items[0].sample.input[1].content == rows[0]["item"]["question"]
    judged = [i.results[1].score for i in items]
    assert all(1 <= s <= 5 for s in judged)
    exact = [i for i in items if i.results[0].passed]
    inexact = [i for i in items if not i.results[0].passed]
    assert exact and inexact
    # The judge agrees with exactness: exact answers score higher on average.
    assert sum(i.results[1].score for i in exact) / len(exact) > sum(i.results[1].score for i in inexact) / len(inexact)
    assert {i.results[2].sample["label"] for i in items} <= {"right", "wrong"}  # type: ignore[index]
    usage = f.oai.evals.runs.retrieve(run.id, eval_id=ev.id).per_model_usage
    assert {u.model_name for u in usage} == {"best", "gpt-4o-2024-08-06"}


# -- graders --------------------------------------------------------------------------------
def run_grader(f: Foundry, grader: dict[str, Any], sample: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = f.oai.fine_tuning.alpha.graders.with_raw_response.run(grader=grader, model_sample=sample,  # type: ignore[arg-type]
                                                               item=item or {})
    body: dict[str, Any] = raw.http_response.json()
    assert_schema(body, "RunGraderResponse")
    return body


@pytest.mark.parametrize(("operation", "sample", "reward"), [
    ("eq", "Paris", 1.0), ("eq", "paris", 0.0), ("ne", "Lyon", 1.0), ("ne", "Paris", 0.0),
    ("like", "It is Paris.", 1.0), ("like", "It is paris.", 0.0), ("ilike", "IT IS PARIS", 1.0), ("ilike", "Lyon", 0.0),
])
def test_string_check_operations(foundry: Foundry, operation: str, sample: str, reward: float) -> None:
    grader = {"type": "string_check", "name": "s", "input": "{{sample.output_text}}", "reference": "{{item.answer}}",
              "operation": operation}
    assert run_grader(foundry, grader, sample, {"answer": "Paris"})["reward"] == reward


@pytest.mark.parametrize(("metric", "sample", "reference", "score"), [
    ("fuzzy_match", "abcd", "abce", 0.75),
    ("fuzzy_match", "hello world", "hello world", 1.0),
    ("bleu", "the cat sat on the mat", "the cat sat on the mat", 1.0),
    ("bleu", "completely different words", "the cat sat on the mat", 0.0),
    ("gleu", "the cat sat on the mat", "the cat sat on the mat", 1.0),
    ("meteor", "the cat sat on the mat", "the cat sat on the mat", 1 - 0.5 / 6 ** 3),  # one chunk of 6: the fragmentation penalty
    ("rouge_1", "the cat sat", "the cat", 0.8),
    ("rouge_2", "the cat sat", "the cat", 2 / 3),
    ("rouge_l", "a b c d", "a c d", 6 / 7),
    ("rouge_5", "one two three four five", "one two three four five", 1.0),
])
def test_text_similarity_metrics(foundry: Foundry, metric: str, sample: str, reference: str, score: float) -> None:
    grader = {"type": "text_similarity", "name": "t", "input": "{{sample.output_text}}", "reference": "{{item.ref}}",
              "evaluation_metric": metric}
    assert run_grader(foundry, grader, sample, {"ref": reference})["reward"] == pytest.approx(score, abs=1e-3)


@jailed
def test_python_score_model_and_multi_graders(foundry: Foundry) -> None:
    py = {"type": "python", "name": "len", "source": "def grade(sample, item):\n"
          "    return min(1.0, len(sample['output_text']) / item['n'])\n"}
    assert run_grader(foundry, py, "abc", {"n": 6})["reward"] == 0.5
    judge = {"type": "score_model", "name": "j", "model": "gpt-4o-2024-08-06", "range": [0, 10],
             "input": [{"role": "user", "content": "Reference {{item.reference}}; answer {{sample.output_text}}"}]}
    right, wrong = run_grader(foundry, judge, "Berlin.", {"reference": "Berlin."}), run_grader(
        foundry, judge, "Madrid is lovely.", {"reference": "Berlin."})
    assert 0 <= wrong["reward"] < right["reward"] <= 10 and right["metadata"]["sampled_model_name"] == "gpt-4o-2024-08-06"
    multi = {"type": "multi", "name": "m", "calculate_output": "(exact + 3 * fuzzy) / 4",
             "graders": {"exact": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                                   "reference": "{{item.ref}}", "operation": "eq"},
                         "fuzzy": {"type": "text_similarity", "name": "fuzzy", "input": "{{sample.output_text}}",
                                   "reference": "{{item.ref}}", "evaluation_metric": "fuzzy_match"}}}
    body = run_grader(foundry, multi, "abcd", {"ref": "abce"})
    assert body["reward"] == pytest.approx(0.5625) and body["sub_rewards"] == {"exact": 0.0, "fuzzy": 0.75}
    missing = run_grader(foundry, {**py, "source": "def grade(sample, item):\n    return item['nope']\n"}, "x")
    assert missing["metadata"]["errors"]["python_grader_runtime_error"]
    assert "KeyError" in missing["metadata"]["errors"]["python_grader_runtime_error_details"]
    bad_var = run_grader(foundry, {**multi["graders"]["exact"], "reference": "{{item.absent}}"}, "x")  # type: ignore[index]
    assert bad_var["metadata"]["errors"]["invalid_variable_error"]


@jailed
def test_python_graders_are_held_to_foundrys_limits(foundry: Foundry) -> None:
    f = foundry
    validate = f.oai.fine_tuning.alpha.graders.validate
    ok = "def grade(sample, item):\n    import numpy, json, re\n    return 1.0\n"
    assert validate(grader={"type": "python", "name": "ok", "source": ok}).grader is not None  # type: ignore[arg-type]
    for source, why in [("import requests\ndef grade(sample, item):\n    return 1\n", "requests"),
                        ("def grade(sample, item):\n    return 1\n" + "#" * 262_144, "256 kB"),
                        ("def score(sample, item):\n    return 1\n", "grade\\(sample, item\\)"),
                        ("def grade(sample, item)\n    return 1\n", "does not compile")]:
        with pytest.raises(openai.BadRequestError, match=why):
            validate(grader={"type": "python", "name": "bad", "source": source})  # type: ignore[arg-type]
    f.admin.eval_limits(python_timeout_seconds=1, python_memory_mb=256)
    slow = run_grader(f, {"type": "python", "name": "slow", "source": "def grade(s, i):\n    while True:\n        pass\n"}, "x")
    assert "timed out after 1s" in slow["metadata"]["errors"]["python_grader_runtime_error_details"]
    hungry = run_grader(f, {"type": "python", "name": "mem", "source":
                            "def grade(s, i):\n    b = bytearray(600 * 1024 * 1024)\n    return 1.0\n"}, "x")
    assert "MemoryError" in hungry["metadata"]["errors"]["python_grader_runtime_error_details"]
    net = run_grader(f, {"type": "python", "name": "net", "source":
                         "import socket\ndef grade(s, i):\n    socket.create_connection(('127.0.0.1', 9))\n    return 1\n"}, "x")
    assert "network access is not available" in net["metadata"]["errors"]["python_grader_runtime_error_details"]
    secret = run_grader(f, {"type": "python", "name": "env", "source":
                            "import os\ndef grade(s, i):\n    return float(len([k for k in os.environ if 'KEY' in k]))\n"}, "x")
    assert secret["reward"] == 0.0  # the emulator's environment does not reach grader code


PY_EVAL = {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 1.0\n"}


def test_without_a_jail_python_graders_are_refused_where_they_would_run(foundry: Foundry,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pysandbox, "sandbox_problem", lambda: "unshare: Operation not permitted")
    f = foundry
    ev = make_eval(f, [EXACT, PY_EVAL])  # created and validated: nothing runs yet
    assert f.oai.fine_tuning.alpha.graders.validate(grader=PY_EVAL).grader is not None  # type: ignore[arg-type]
    for call in (lambda: _jsonl_run(f, ev.id, "refused", 2),
                 lambda: f.oai.fine_tuning.alpha.graders.run(grader=PY_EVAL, model_sample="x")):  # type: ignore[arg-type]
        with pytest.raises(openai.BadRequestError) as info:
            call()
        assert info.value.code == "python_grader_unavailable"
        assert "cannot contain them (unshare: Operation not permitted)" in info.value.message
    assert f.oai.evals.runs.list(ev.id).data == []


def _sleepers(marker: str) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, marker)]


def _cmdline_has(proc: Path, marker: str) -> bool:
    try:
        return marker.encode() in (proc / "cmdline").read_bytes() and b"pytest" not in (proc / "cmdline").read_bytes()
    except OSError:
        return False


@jailed
def test_a_run_item_past_the_memory_cap_errors_and_a_cancel_kills_the_graders(foundry: Foundry) -> None:
    f = foundry
    f.admin.eval_limits(python_memory_mb=256)
    hog = {**PY_EVAL, "source": "import os, time\ndef grade(sample, item):\n    if item['reference'] == 'hog':\n"
           "        for _ in range(3):\n            if os.fork() == 0:\n                break\n"
           "        block = bytearray(100 * 1024 * 1024)\n        for k in range(0, len(block), 4096):\n"
           "            block[k] = 1\n        time.sleep(60)\n    return 1.0\n"}
    ev = make_eval(f, [hog])
    rows = [{"item": {"messages": [], "reference": ref}, "sample": {"output_text": "x"}} for ref in ("hog", "ok")]
    run = f.oai.evals.runs.create(ev.id, name="hog", data_source={"type": "jsonl", "source": {
        "type": "file_content", "content": rows}})  # type: ignore[typeddict-item]
    assert wait_run(f, ev.id, run.id).status == "completed"
    first, second = f.oai.evals.runs.output_items.list(run.id, eval_id=ev.id).data
    assert first.status == "error" and "256 MB memory limit" in str(first.results[0].model_extra)
    assert second.status == "pass"

    marker = f"{random.randrange(10 ** 6)}.375"
    slow = {**PY_EVAL, "source": f"import subprocess\ndef grade(sample, item):\n"
            f"    subprocess.run(['sleep', '{marker}'])\n    return 1.0\n"}
    ev = make_eval(f, [slow])
    run = _jsonl_run(f, ev.id, "slow", 2)
    for _ in range(500):  # the grader is running
        if _sleepers(marker):
            break
        time.sleep(0.01)
    assert _sleepers(marker)
    assert f.oai.evals.runs.cancel(run.id, eval_id=ev.id).status == "canceled"
    for _ in range(500):
        if not _sleepers(marker):
            break
        time.sleep(0.01)
    assert _sleepers(marker) == []


# -- faults ---------------------------------------------------------------------------------
def _jsonl_run(f: Foundry, eval_id: str, name: str, n: int = 20) -> Any:
    rows = [{"item": {"messages": [], "reference": "x"}, "sample": {"output_text": "x"}} for _ in range(n)]
    return f.oai.evals.runs.create(eval_id, name=name, data_source={"type": "jsonl", "source": {
        "type": "file_content", "content": rows}})


def test_injected_failures_cancellations_and_slowness(emulator_factory: Any) -> None:
    f: Foundry = emulator_factory(speed=1.0)  # real seconds: nothing finishes unless the clock moves
    ev = make_eval(f, [EXACT])
    f.admin.eval_fault("fail", name="doomed", at=0.5, message="grader fleet on fire", times=1)
    f.admin.eval_fault("cancel", name="dropped", at=0.25)
    f.admin.eval_fault("slow", name="slow", factor=100)
    doomed, again = _jsonl_run(f, ev.id, "doomed"), _jsonl_run(f, ev.id, "doomed")
    dropped, slow, normal = _jsonl_run(f, ev.id, "dropped"), _jsonl_run(f, ev.id, "slow"), _jsonl_run(f, ev.id, "normal")
    assert doomed.status == "queued"
    f.admin.advance(seconds=60)

    def get(run_id: str, eval_id: str) -> Any:
        """The run once its background grading has caught up with the clock (a loaded machine lags)."""
        deadline = time.monotonic() + 30
        while (run := f.oai.evals.runs.retrieve(run_id, eval_id=eval_id)).status in ("queued", "in_progress") \
                and run_id != slow.id and time.monotonic() < deadline:
            time.sleep(0.05)
        return run

    failed = get(doomed.id, eval_id=ev.id)
    assert failed.status == "failed" and failed.error.message == "grader fleet on fire"
    assert failed.result_counts.total == 10  # half the items were done when it failed
    assert get(again.id, eval_id=ev.id).status == "completed"  # times=1: only the first run fails
    canceled = get(dropped.id, eval_id=ev.id)
    assert canceled.status == "canceled" and canceled.result_counts.total == 5
    assert get(normal.id, eval_id=ev.id).status == "completed"
    assert get(slow.id, eval_id=ev.id).status == "in_progress"
    deadline = time.monotonic() + 30  # the slow run's background grading catches up with the clock (loaded machine)
    while get(slow.id, eval_id=ev.id).result_counts.total == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0 < get(slow.id, eval_id=ev.id).result_counts.total < 20
    assert len(f.oai.evals.runs.output_items.list(slow.id, eval_id=ev.id, limit=100).data) < 20
    f.admin.clear_eval_faults()
    mine = _jsonl_run(f, ev.id, "doomed")
    assert f.oai.evals.runs.cancel(mine.id, eval_id=ev.id).status == "canceled"
    assert f.oai.evals.runs.cancel(mine.id, eval_id=ev.id).status == "canceled"  # cancelling twice is harmless
    with pytest.raises(openai.BadRequestError):
        f.oai.evals.runs.cancel(normal.id, eval_id=ev.id)
    assert [r.name for r in f.oai.evals.runs.list(ev.id, status="failed").data] == ["doomed"]


# -- ftops' client --------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[FoundryClient, AdminClient]]:
    c = connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)
    admin = AdminClient(Connection.load(tmp_path / ".ftops" / "emulator" / "connection.json"))
    try:
        yield c, admin
    finally:
        admin.close()
        c.close()


@jailed
def test_evals_client_scores_a_deployment_and_survives_a_failed_run(client: tuple[FoundryClient, AdminClient],
                                                                    tmp_path: Path) -> None:
    c, admin = client
    train = c.upload(write_jsonl(tmp_path / "t.jsonl", [fact(i) for i in range(60)]), "t.jsonl")
    c.wait_file(train.id)
    job = c.create_job(JobRequest("gpt-4.1-mini-2025-04-14", train.id, "supervised", "Standard",
                                  {"ftops-project": "t"}), {"ftops-project": "t"})
    while (job := c.get_job(job.id)).status != "succeeded":
        time.sleep(0.01)
    assert job.fine_tuned_model
    c.put_deployment("candidate", DeploymentWrite(job.fine_tuned_model, "Standard", 1, {}))
    evals = EvalsClient(c)
    ev = evals.create_eval("facts", [Criterion.string_check("exact"), Criterion.text_similarity("rouge", "rouge_l", 0.6),
                                     Criterion.python("short", "def grade(sample, item):\n    return 1.0 if len("
                                                      "sample['output_text']) < 200 else 0.0\n", 0.5)],
                           {"ftops-project": "t", "ftops-eval": "facts"})
    assert evals.find_evals({"ftops-eval": "facts"}) == [ev] and ev.criteria == ("exact", "rouge", "short")
    items = [it for i in range(3000, 3150) if (it := chat_eval_item(fact(i)))]
    data = evals.upload_items(items, "facts.eval.jsonl")
    admin.eval_fault("fail", model="candidate", times=1)
    failed = evals.wait_run(ev.id, evals.start_run(ev.id, "candidate", data.id, "try-1", {"ftops-try": "1"}).id)
    assert failed.status == "failed" and failed.error
    run = evals.wait_run(ev.id, evals.start_run(ev.id, "candidate", data.id, "try-2", {"ftops-try": "2"}).id)
    assert run.status == "completed" and run.total == 150 and run.tokens > 0
    scores = evals.scores(ev.id, run.id)
    assert scores.items == 150 and [s.name for s in scores.criteria] == ["exact", "rouge", "short"]
    exact, rouge = scores.score("exact"), scores.score("rouge")
    assert exact.mean is not None and rouge.mean is not None and 0 < exact.mean < rouge.mean < 1
    assert exact.pass_rate == exact.mean and scores.score("short").mean == 1.0
    assert exact.graded == 150 and exact.errored == 0
    assert run.criteria[0].passed == round(exact.mean * 150)
    assert evals.run_grader(Criterion.string_check("x").grader, "Paris", {"reference": "Paris"}).reward == 1.0
    assert evals.run_grader(Criterion.python("p", "def grade(s, i):\n    return 1 / 0\n").grader, "x").errors == (
        "python_grader_runtime_error",)
    evals.delete_eval(ev.id)
    evals.delete_eval(ev.id)  # already gone: fine
    assert evals.find_evals({"ftops-eval": "facts"}) == []


# -- runs that need a model that is missing (Azure: the run fails, status failed with an error object) ---------
def _completions_run(f: Foundry, eval_id: str, deployment: str, n: int = 30) -> Any:
    rows = [{"item": {"question": m["messages"][1]["content"], "messages": [], "reference": m["messages"][2]["content"]}}
            for m in (fact(i) for i in range(3000, 3000 + n))]
    return f.oai.evals.runs.create(eval_id, data_source={
        "type": "completions", "model": deployment, "source": {"type": "file_content", "content": rows},
        "input_messages": {"type": "template", "template": [{"role": "user", "content": "{{item.question}}"}]}})


def _failed_for(f: Foundry, eval_id: str, run_id: str, missing: str) -> Any:
    run = wait_run(f, eval_id, run_id)
    raw = f.oai.evals.runs.with_raw_response.retrieve(run_id, eval_id=eval_id).http_response.json()
    assert_schema(raw["error"], "EvalApiError")
    assert run.status == "failed" and run.error.code == "DeploymentNotFound" and missing in run.error.message
    return run


def test_a_run_against_a_missing_deployment_or_judge_fails(foundry: Foundry) -> None:
    """Created (201) and failed with EvalRun.error, not refused: the data source's deployment, or a model
    grader's model, names nothing this account deploys."""
    f = foundry
    ev = make_eval(f, [EXACT])
    created = _completions_run(f, ev.id, "no-such-deployment")
    assert created.status == "failed"
    run = _failed_for(f, ev.id, created.id, "'no-such-deployment'")
    assert run.result_counts.total == 0
    judge = {"type": "score_model", "name": "judge", "model": "no-such-judge",
             "input": [{"role": "user", "content": "{{sample.output_text}}"}]}
    judged = make_eval(f, [EXACT, judge])
    _failed_for(f, judged.id, _jsonl_run(f, judged.id, "judged").id, "'no-such-judge'")


def test_deleting_the_deployment_of_a_run_in_progress_fails_it(foundry: Foundry, tmp_path: Path) -> None:
    f = foundry
    _, checkpoints = trained(f, tmp_path)
    f.deploy("canary", checkpoints[0].id).result()
    f.deploy("judge", checkpoints[1].id).result()
    judge = {"type": "score_model", "name": "judge", "model": "judge",
             "input": [{"role": "user", "content": "{{sample.output_text}}"}]}
    ev = make_eval(f, [EXACT, judge])
    f.admin.eval_fault("slow", factor=10_000_000, times=2)  # both runs stay in progress until a deletion
    sampled, judged = _completions_run(f, ev.id, "canary"), _jsonl_run(f, ev.id, "judged")
    rg, acct = f.conn.resource_group, f.conn.account
    f.arm.deployments.begin_delete(rg, acct, "canary").result()
    _failed_for(f, ev.id, sampled.id, "'canary'")
    assert f.oai.evals.runs.retrieve(judged.id, eval_id=ev.id).status in ("queued", "in_progress")
    f.arm.deployments.begin_delete(rg, acct, "judge").result()
    _failed_for(f, ev.id, judged.id, "'judge'")
