"""Today's fine-tunable models end to end: GPT-5 (RFT) and Ministral-3B (SFT) validate, plan and train on the
local Foundry; what a model cannot do is refused by validate with its source, and by the local Foundry as
Azure would; `ftops catalog` lists every model with its page; `--live` shows where the account differs."""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest

from ftops.catalog import load_catalog
from tests.e2e.conftest import Foundry, Project

RFT_LINE = json.dumps({"messages": [{"role": "user", "content": "What is 2+2? Answer with the number."}],
                       "answer": "4"})
NEW_MODELS = """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: math-train}
spec: {path: data/math.train.jsonl}
---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: math-valid}
spec: {path: data/math.valid.jsonl}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: math}
spec:
  baseModel: gpt-5-2025-08-07
  method: reinforcement
  trainingType: GlobalStandard
  trainingData: math-train
  validationData: math-valid
  grader: {type: string_check, name: exact, input: "{{sample.output_text}}", reference: "{{item.answer}}",
           operation: eq}
  suffix: math
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: math-prod}
spec:
  model: {job: math, checkpoint: final}
  sku: {name: Standard, capacity: 1}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: tiny}
spec:
  baseModel: Ministral-3B
  method: supervised
  trainingType: GlobalStandard
  trainingData: clippy-train
  validationData: clippy-valid
  suffix: tiny
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: tiny-prod}
spec:
  model: {job: tiny, checkpoint: final}
  sku: {name: GlobalStandard, capacity: 1}
"""
LEARN_MODELS = ("https://learn.microsoft.com/azure/foundry/foundry-models/concepts/models-sold-directly-by-azure"
                "#fine-tuning-models")


def _add_new_models(project: Project) -> None:
    data = project.root / "specs" / "data"
    (data / "math.train.jsonl").write_text("\n".join([RFT_LINE] * 12) + "\n")
    (data / "math.valid.jsonl").write_text("\n".join([RFT_LINE] * 12) + "\n")
    project.append(NEW_MODELS)


def _line_of(project: Project, text: str) -> int:
    return project.spec.read_text().splitlines().index(text) + 1


def test_gpt5_reinforcement_and_ministral_supervised_validate_plan_and_train(project: Project) -> None:
    _add_new_models(project)
    r = project.ftops("validate")
    assert r.code == 0, r.err
    assert "gpt-5-2025-08-07 fine-tuning (reinforcement) is available by invitation only" in r.err  # a warning
    plan = project.plan_json()
    jobs = {a["name"]: a for a in plan["actions"] if a["op"] == "job.create"}
    assert jobs["math"]["request"]["base_model"] == "gpt-5-2025-08-07"
    assert jobs["tiny"]["request"]["base_model"] == "Ministral-3B"
    assert not plan["findings"], plan["findings"]  # the local Foundry offers both, with these skus
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.err
    with project.live() as live:
        trained = {j.model: j.status for j in live.oai.fine_tuning.jobs.list().data}
        formats = {d.name: d.properties.model.format
                   for d in live.arm.deployments.list(live.conn.resource_group, live.conn.account)}
    assert trained["gpt-5-2025-08-07"] == trained["Ministral-3B"] == "succeeded"
    # A fine-tuned open-source model deploys with its provider's model format (the catalog's `format`).
    assert formats["tiny-prod"] == "Mistral AI" and formats["math-prod"] == formats["clippy-prod"] == "OpenAI"


def test_dpo_on_ministral_fails_validate_with_the_rule_and_its_source(project: Project) -> None:
    project.edit("baseModel: gpt-4.1-mini-2025-04-14\n  method: supervised",
                 "baseModel: Ministral-3B\n  method: dpo")
    r = project.ftops("validate", "--no-tokens")
    assert r.code == 1 and "Traceback" not in r.err
    line = _line_of(project, "  method: dpo")
    assert (f"specs/clippy.yaml:{line}: method 'dpo' is not supported for Ministral-3B (supported: supervised; "
            f"source: {LEARN_MODELS}, read 2026-12-05)") in r.err.splitlines()


def test_pausing_an_open_source_job_fails_validate_with_the_source(project: Project) -> None:
    project.edit("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: gpt-oss-20b")
    project.edit("  seed: 105\n", "  seed: 105\n  paused: true\n")
    r = project.ftops("validate", "--no-tokens")
    line = _line_of(project, "  paused: true")
    assert r.code == 1
    assert (f"specs/clippy.yaml:{line}: paused: true, but Foundry cannot pause or resume jobs on gpt-oss-20b "
            "(source: https://learn.microsoft.com/azure/foundry/openai/how-to/fine-tuning, read 2026-12-05)"
            ) in r.err.splitlines()


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as e:
        call()
    body: dict[str, Any] = e.value.body  # type: ignore[assignment]
    return body


def test_the_local_foundry_refuses_what_the_model_cannot_train(foundry: Foundry) -> None:
    jobs = foundry.oai.fine_tuning.jobs
    dpo = _refusal(lambda: jobs.create(model="Ministral-3B", training_file="file-x", method={"type": "dpo"},
                                       extra_body={"trainingType": "GlobalStandard"}))
    assert (dpo["code"], dpo["param"]) == ("invalidPayload", "method")
    assert dpo["message"].startswith("The specified base model Ministral-3B does not support the dpo")
    developer = _refusal(lambda: jobs.create(model="gpt-oss-20b", training_file="file-x",
                                             extra_body={"trainingType": "Developer"}))
    assert (developer["code"], developer["param"]) == ("invalidPayload", "trainingType")
    rft = _refusal(lambda: jobs.create(model="gpt-4.1-mini-2025-04-14", training_file="file-x",
                                       method={"type": "reinforcement", "reinforcement": {"grader": {
                                           "type": "string_check", "name": "s", "input": "a", "reference": "a",
                                           "operation": "eq"}}}, extra_body={"trainingType": "GlobalStandard"}))
    assert rft["param"] == "method"


def test_the_models_list_shows_the_new_models_with_capability_and_lifecycle(foundry: Foundry) -> None:
    listed = {m.name: m for m in
              foundry.arm.accounts.list_models(foundry.conn.resource_group, foundry.conn.account)}
    assert {"gpt-5", "Ministral-3B", "Qwen-32B", "Llama-3.3-70B-Instruct", "gpt-oss-20b"} <= listed.keys()
    assert listed["gpt-5"].capabilities["fineTune"] == "true"
    assert listed["Ministral-3B"].capabilities["fineTune"] == "false"  # as Azure answers for open-source models
    assert {s.name for s in listed["Ministral-3B"].skus} == {"GlobalStandard", "DataZoneStandard"}
    assert all(m.lifecycle_status == "GenerallyAvailable" for m in listed.values())


def test_catalog_json_lists_every_model_with_its_source(project: Project) -> None:
    r = project.ftops("catalog", "--format", "json")
    assert r.code == 0, r.err
    models = {m["model"]: m for m in json.loads(r.out)["models"]}
    assert models.keys() == load_catalog().models.keys()
    assert {"gpt-5-2025-08-07", "Ministral-3B", "Qwen-32B", "Llama-3.3-70B-Instruct", "gpt-oss-20b"} <= models.keys()
    for m in models.values():
        assert m["source"]["url"].startswith("https://") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", m["source"]["checked"])
        assert all(s["url"].startswith("https://") for s in m["sources"].values())
    assert models["gpt-5-2025-08-07"]["access"] == "invitation"
    assert models["Ministral-3B"]["pause_resume"] is False and models["Ministral-3B"]["methods"] == ["supervised"]
    assert "Developer" not in models["Ministral-3B"]["training"]
    text = project.ftops("catalog")
    assert text.code == 0 and "Ministral-3B  (GA, Foundry resources only)" in text.out


def test_catalog_live_prints_where_the_account_differs(project: Project) -> None:
    r = project.ftops("catalog", "--live")
    assert r.code == 0, r.err
    assert "no differences" in r.out
    with project.live() as live:
        live.admin.model_lifecycle("gpt-9-mini-2026-01-01", name="gpt-9-mini", version="2026-01-01",
                                   methods=["supervised"])
        live.admin.model_lifecycle("Qwen-32B", offered=False)
        live.admin.model_lifecycle("gpt-4o-mini-2024-07-18", lifecycleStatus="Deprecated",
                                   fineTune="2025-01-01T00:00:00Z", inference="2099-03-31T00:00:00Z")
    r = project.ftops("catalog", "--live", "--format", "json")
    assert r.code == 0, r.err
    found = {(d["kind"], d["model"]): d for d in json.loads(r.out)["differences"]}
    assert set(found) == {("uncatalogued", "gpt-9-mini-2026-01-01"), ("not-offered", "Qwen-32B"),
                          ("deprecated", "gpt-4o-mini-2024-07-18"), ("retired", "gpt-4o-mini-2024-07-18"),
                          ("retiring", "gpt-4o-mini-2024-07-18")}
    assert found[("retired", "gpt-4o-mini-2024-07-18")]["date"] == "2025-01-01"
    assert found[("retiring", "gpt-4o-mini-2024-07-18")]["date"] == "2099-03-31"
    assert "Foundry resources only" in found[("not-offered", "Qwen-32B")]["message"]
    text = project.ftops("catalog", "--live")
    assert text.code == 0 and "5 difference(s)" in text.out
    assert "uncatalogued" in text.out and "retires for inference on 2099-03-31" in text.out


def test_catalog_of_a_mistyped_directory_is_an_error(project: Project) -> None:
    # It listed the shipped catalog and exited 0, silently without the project's ftops.catalog.yaml.
    r = project.ftops("catalog", "no-such-dir")
    assert r.code == 1 and r.err.strip() == "no-such-dir: no such spec directory" and r.out == ""

