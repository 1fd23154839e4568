"""The corpus of bad input: every case must fail validation with its own specific message and line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from ftops import ValidationFailed, validate_dir
from tests.conftest import BASE_SPEC, FOUNDRY, SYSTEM, MakeProject, chat_jsonl, chat_line


@dataclass
class Case:
    id: str
    expect: str  # substring of the message
    where: str  # "file:line" or "file" (no line)
    files: dict[str, str | bytes] = field(default_factory=dict)
    spec: str | None = None


def sub(old: str, new: str) -> str:
    assert old in BASE_SPEC, old
    return BASE_SPEC.replace(old, new, 1)


def msg(role: str, content: object, **kw: object) -> dict[str, object]:
    return {"role": role, "content": content, **kw}


def jl(*records: object, pad: int = 12) -> str:
    """JSONL with `records` first, then enough good lines to pass the example minimum."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    lines += [chat_line(i) for i in range(pad)]
    return "\n".join(lines) + "\n"


def bad_train(*records: object, pad: int = 12) -> dict[str, str | bytes]:
    return {"specs/data/train.jsonl": jl(*records, pad=pad)}


S = "specs/main.yaml"
LEARN_MODELS = ("source: https://learn.microsoft.com/azure/foundry/foundry-models/concepts/models-sold-directly-by-azure"
                "#fine-tuning-models, read 2026-12-05)")
T = "specs/data/train.jsonl"
NOTIFY = """---
apiVersion: ftops/v1
kind: Notification
metadata: {name: ops}
spec:
  webhook: {url: "https://hooks.example.com/x"}
  on: [job.succeeded]
"""
DPO_SPEC = sub("baseModel: gpt-4.1-mini-2025-04-14\n  method: supervised",
               "baseModel: gpt-4.1-mini-2025-04-14\n  method: dpo")
RFT_SPEC = BASE_SPEC[:BASE_SPEC.index("---\napiVersion: ftops/v1\nkind: FineTuningJob")] + """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: rft}
spec:
  baseModel: o4-mini-2025-04-16
  method: reinforcement
  trainingData: train
  validationData: valid
  grader: {type: string_check, name: exact, input: "{{sample.output_text}}", reference: "{{item.answer}}", operation: eq}
"""
ALIAS_BOMB = "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9) if p else ','.join(['lol'] * 9)}]\n"
    for p, c in zip(["", *"abcdefgh"], "abcdefghi", strict=True))
RFT_LINE = json.dumps({"messages": [msg("user", "2+2?")], "answer": "4"})


def dpo_rec(pref: int = 1, nonpref: int = 1) -> dict[str, object]:
    return {"input": {"messages": [msg("user", "Hi")]},
            "preferred_output": [msg("assistant", "Hello!")] * pref,
            "non_preferred_output": [msg("assistant", "What.")] * nonpref}


def dpo_file(*bad: object) -> dict[str, str | bytes]:
    good = [json.dumps(dpo_rec()) for _ in range(12)]
    body = "\n".join([*(json.dumps(b) for b in bad), *good]) + "\n"
    return {T: body, "specs/data/valid.jsonl": "\n".join(good) + "\n"}


H = "specs/data/heldout.jsonl"
EVAL_DOC = """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: heldout}
spec: {path: data/heldout.jsonl}
---
apiVersion: ftops/v1
kind: Evaluation
metadata: {name: quality}
spec:
  dataset: heldout
  criteria:
    - {type: text_similarity, name: similar, metric: fuzzy_match, threshold: 0.6}
    - {type: python, name: graded, source: graders/grade.py}
  pass: {thresholds: {similar: 0.5}, minItems: 10}
"""
EVAL_SPEC = sub("  sku: {name: GlobalStandard, capacity: 50}\n",
                "  sku: {name: GlobalStandard, capacity: 50}\n  evaluation: {name: quality}\n") + EVAL_DOC
GRADER = "import re\n\ndef grade(sample, item):\n    return 1.0\n"


def heldout(n: int = 12) -> str:
    return "".join(json.dumps({"messages": [msg("user", f"Held-out {i}?"), msg("assistant", f"Answer {i}.")]}) + "\n"
                   for i in range(n))


def ev(old: str = "", new: str = "", files: dict[str, str | bytes] | None = None) -> dict[str, object]:
    """An evaluation-gated project (spec edited old -> new) with its held-out set and grader, `files` on top."""
    spec = EVAL_SPEC
    if old:
        assert old in spec, old
        spec = spec.replace(old, new, 1)
    return {"spec": spec, "files": {H: heldout(), "specs/graders/grade.py": GRADER, **(files or {})}}


def ln(spec: str, needle: str) -> int:
    return next(i for i, line in enumerate(spec.splitlines(), 1) if needle in line)


def eval_case(id: str, expect: str, needle: str | None, old: str = "", new: str = "",
              files: dict[str, str | bytes] | None = None, where: str | None = None) -> Case:
    kw = ev(old, new, files)
    spec = str(kw["spec"])
    return Case(id, expect, where or f"{S}:{ln(spec, needle or new)}", files=kw["files"], spec=spec)  # type: ignore[arg-type]


EVAL_CASES = [
    eval_case("eval-unknown-dataset", "dataset names Dataset 'heldot'", None, "dataset: heldout", "dataset: heldot"),
    eval_case("eval-unknown-criterion-type", "does not match any of the expected tags", None,
              "{type: text_similarity, name: similar", "{type: regex, name: similar"),
    eval_case("eval-bad-metric", "spec.criteria.0.metric: must be one of", None, "metric: fuzzy_match", "metric: fuzzy"),
    eval_case("eval-threshold-names-no-criterion", "pass.thresholds names 'simlar', which is not a criterion", None,
              "thresholds: {similar: 0.5}", "thresholds: {simlar: 0.5}"),
    eval_case("eval-no-pass-rule", "a pass rule needs thresholds and/or beatBaselineBy", None,
              "pass: {thresholds: {similar: 0.5}, minItems: 10}", "pass: {minItems: 10}"),
    eval_case("eval-duplicate-criteria", "two criteria are named 'similar'", "  criteria:",
              "name: graded, source", "name: similar, source"),
    eval_case("eval-judge-unknown-deployment", "deployment names Deployment 'judge', which no spec defines", None,
              "- {type: python, name: graded, source: graders/grade.py}",
              "- {type: score_model, name: judged, deployment: judge}"),
    eval_case("eval-grader-outside-root", "python grader source '../../../grade.py' resolves outside the project root",
              None, "source: graders/grade.py", "source: ../../../grade.py"),
    eval_case("eval-grader-missing", "python grader source 'graders/nope.py' does not exist", None,
              "source: graders/grade.py", "source: graders/nope.py"),
    eval_case("eval-grader-import", "python grader imports 'requests'", None,
              files={"specs/graders/grade.py": "import json\nimport requests\n\ndef grade(sample, item):\n    return 1\n"},
              where="specs/graders/grade.py:2"),
    eval_case("eval-grader-no-grade", "python grader must define grade(sample, item)", None,
              files={"specs/graders/grade.py": "def score(sample):\n    return 1\n"}, where="specs/graders/grade.py:1"),
    eval_case("eval-grader-too-big", "Foundry accepts less than 256 kB", None,
              files={"specs/graders/grade.py": GRADER + "#" * 262144 + "\n"}, where="specs/graders/grade.py:1"),
    eval_case("eval-heldout-overlaps-training", "held-out record shared with training data 'train'", None,
              files={H: heldout(3) + chat_line(7) + "\n" + heldout(12)}, where=f"{H}:4"),
    Case("eval-heldout-overlaps-an-ancestors-training",  # continuous fine-tuning learned its base job's data too
         "held-out record shared with training data 'train' of job 'clippy', which job 'clippy-more' continues",
         f"{H}:4", spec=EVAL_SPEC.replace("model: {job: clippy, checkpoint: best}", "model: {job: clippy-more}") + """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: train-more}
spec: {path: data/train-more.jsonl}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: clippy-more}
spec: {baseModel: {job: clippy}, trainingData: train-more, suffix: more}
""", files={**ev()["files"], H: heldout(3) + chat_line(7) + "\n" + heldout(12),  # type: ignore[dict-item]
            "specs/data/train-more.jsonl": "".join(json.dumps({"messages": [msg("user", f"More {i}?"), msg(
                "assistant", f"More {i}.")]}) + "\n" for i in range(12))}),
    Case("deployment-named-like-a-canary", "deployment name 'clippy-prod-eval-0badc0de' is reserved",
         f"{S}:{ln(BASE_SPEC, 'name: clippy-prod}')}",
         spec=sub("metadata: {name: clippy-prod}", "metadata: {name: clippy-prod-eval-0badc0de}")),
    eval_case("eval-judge-is-the-gated-deployment", "deployment 'clippy-prod' judges its own candidates", None,
              "- {type: python, name: graded, source: graders/grade.py}",
              "- {type: score_model, name: judged, deployment: clippy-prod}"),
    Case("eval-judge-cycle", "deployment 'clippy-prod' is in a judge cycle: clippy-prod -> judge -> clippy-prod",
         f"{S}:{ln(EVAL_SPEC, 'type: python, name: graded')}",
         spec=EVAL_SPEC.replace("- {type: python, name: graded, source: graders/grade.py}",
                                "- {type: score_model, name: graded, deployment: judge}") + """---
apiVersion: ftops/v1
kind: Evaluation
metadata: {name: judged}
spec:
  dataset: heldout
  criteria: [{type: score_model, name: judged, deployment: clippy-prod}]
  pass: {thresholds: {judged: 0.5}, minItems: 10}
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: judge}
spec: {model: {job: clippy}, sku: {name: GlobalStandard, capacity: 1}, evaluation: {name: judged}}
""", files=ev()["files"]),  # type: ignore[arg-type]
    eval_case("eval-too-few-items", "has 12 records, fewer than pass.minItems (50)", None, "minItems: 10",
              "minItems: 50"),
    eval_case("deployment-unknown-evaluation", "evaluation.name names Evaluation 'qualty'", None,
              "evaluation: {name: quality}", "evaluation: {name: qualty}"),
    eval_case("eval-bad-candidates", "spec.evaluation.candidates", None, "evaluation: {name: quality}",
              "evaluation: {name: quality, candidates: [latest]}"),
]

CASES = [
    # --- spec files -------------------------------------------------------------------------
    Case("yaml-syntax", "invalid YAML", f"{S}:4", spec="apiVersion: ftops/v1\nkind: Foundry\nmetadata: {name: [\n"),
    Case("duplicate-key", "duplicate key 'kind'", f"{S}:3", spec="apiVersion: ftops/v1\nkind: Foundry\nkind: Dataset\n"),
    Case("not-a-mapping", "must be a mapping", f"{S}:1", spec="- just\n- a list\n"),
    Case("bad-api-version", "apiVersion", f"{S}:1", spec=BASE_SPEC.replace("apiVersion: ftops/v1", "apiVersion: ftops/v2", 1)),
    Case("unknown-kind", "kind", f"{S}:2", spec=BASE_SPEC.replace("kind: Foundry", "kind: Foundary", 1)),
    Case("unknown-top-field", "unknown field 'extra'", f"{S}:5", spec=FOUNDRY + "extra: 1\n"),
    Case("unknown-spec-field", "unknown field 'spec.hyperparameter'", f"{S}:25",
         spec=sub("hyperparameters: {n_epochs: 3}", "hyperparameter: {n_epochs: 3}")),
    Case("typo-in-deployment", "unknown field 'spec.skus'", f"{S}:34", spec=sub("sku: {name", "skus: {name")),
    Case("missing-name", "missing required field 'metadata.name'", f"{S}:3",
         spec=FOUNDRY.replace("metadata: {name: local}", "metadata: {}")),
    Case("bad-name", "metadata.name", f"{S}:3", spec=FOUNDRY.replace("name: local", "name: Local_Foundry")),
    Case("missing-training-data", "missing required field 'spec.trainingData'", f"{S}:19",
         spec=sub("  trainingData: train\n", "")),
    Case("bad-method", "must be one of", f"{S}:21", spec=sub("method: supervised", "method: sft")),
    Case("bad-training-type", "must be one of", f"{S}:22", spec=sub("trainingType: GlobalStandard", "trainingType: Global")),
    Case("bad-checkpoint", "spec.model.checkpoint", f"{S}:33", spec=sub("checkpoint: best", "checkpoint: latest")),
    Case("zero-capacity", "spec.sku.capacity", f"{S}:34", spec=sub("capacity: 50", "capacity: 0")),
    Case("duplicate-name", "duplicate Dataset 'train'", f"{S}:13",
         spec=sub("metadata: {name: valid}", "metadata: {name: train}")),
    Case("missing-dataset-ref", "trainingData names Dataset 'trian'", f"{S}:23", spec=sub("trainingData: train", "trainingData: trian")),
    Case("missing-job-ref", "model.job names FineTuningJob 'clipy'", f"{S}:33", spec=sub("model: {job: clippy", "model: {job: clipy")),
    Case("missing-base-job", "baseModel names FineTuningJob 'nope'", f"{S}:20",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: {job: nope}")),
    Case("cycle", "continuous fine-tuning cycle: clippy -> clippy", f"{S}:20",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: {job: clippy}")),
    Case("no-foundry", "no Foundry document", "specs", spec=BASE_SPEC.split("---\n", 1)[1]),
    Case("two-foundries", "Dataset 'train' names no Foundry, and this directory has several", f"{S}:8",
         files={"specs/zz.yaml": FOUNDRY.replace("name: local", "name: other")}),
    Case("remote-missing-coordinates", "a remote Foundry needs its endpoint, or its resourceId", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{region: swedencentral}")),
    Case("env-var-not-allowed", "variable CI_SECRET may not be used", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}",
                                "{local: true, region: swedencentral, account: '${CI_SECRET}'}")),
    Case("env-var-outside-connection-fields", "is expanded only in endpoint", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, region: '${FTOPS_REGION}'}")),
    Case("env-var-bad-reference", "is not a variable reference", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, account: '${1-x}'}")),
    Case("data-dir-escape", "dataDir '../../elsewhere' resolves outside the project root", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, dataDir: ../../elsewhere}")),
    Case("path-escape", "resolves outside the project root", f"{S}:9",
         spec=sub("path: data/train.jsonl", "path: ../../../etc/passwd")),
    Case("path-missing", "does not exist", f"{S}:9", spec=sub("path: data/train.jsonl", "path: data/nope.jsonl")),
    Case("unknown-base-model", "is not in the catalog", f"{S}:20", spec=sub("gpt-4.1-mini-2025-04-14", "gpt-9")),
    Case("dpo-on-o4-mini", "method 'dpo' is not supported for o4-mini-2025-04-16 (supported: reinforcement; source: "
         "https://learn.microsoft.com/", f"{S}:21",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14\n  method: supervised",
                  "baseModel: o4-mini-2025-04-16\n  method: dpo")),
    # --- what a model cannot do, with the rule and the page it comes from ----------------------------
    Case("dpo-on-ministral", f"method 'dpo' is not supported for Ministral-3B (supported: supervised; {LEARN_MODELS}",
         f"{S}:21", spec=sub("baseModel: gpt-4.1-mini-2025-04-14\n  method: supervised",
                             "baseModel: Ministral-3B\n  method: dpo")),
    Case("rft-on-gpt-4.1-mini", "method 'reinforcement' is not supported for gpt-4.1-mini-2025-04-14 (supported: "
         f"supervised, dpo; {LEARN_MODELS}", f"{S}:21", spec=sub("method: supervised", "method: reinforcement")),
    Case("developer-on-open-source", "trainingType Developer is not available for gpt-oss-20b at all (available there: "
         f"DataZoneStandard, GlobalStandard; {LEARN_MODELS}", f"{S}:22",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: gpt-oss-20b").replace(
             "trainingType: GlobalStandard", "trainingType: Developer").replace(
             "region: swedencentral", "region: eastus2")),
    Case("standard-training-on-open-source", "trainingType Standard is not available for Qwen-32B at all", f"{S}:22",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: Qwen-32B").replace(
             "trainingType: GlobalStandard", "trainingType: Standard")),
    Case("data-zone-outside-the-us", "trainingType DataZoneStandard is not available for gpt-4.1-mini-2025-04-14 in "
         "region swedencentral", f"{S}:22", spec=sub("trainingType: GlobalStandard", "trainingType: DataZoneStandard")),
    Case("sku-not-offered-in-region", "sku Standard is not available for fine-tuned gpt-4.1-mini-2025-04-14 in "
         "westeurope (available: GlobalStandard, Developer; source: https://learn.microsoft.com/azure/foundry/"
         "fine-tuning/overview, read 2026-12-05)", f"{S}:34",
         spec=sub("sku: {name: GlobalStandard", "sku: {name: Standard").replace(
             "region: swedencentral", "region: westeurope")),
    Case("developer-sku-on-open-source", "sku Developer is not available for fine-tuned Llama-3.3-70B-Instruct", f"{S}:34",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: Llama-3.3-70B-Instruct").replace(
             "sku: {name: GlobalStandard", "sku: {name: Developer")),
    Case("pause-on-open-source", "paused: true, but Foundry cannot pause or resume jobs on Ministral-3B (source: "
         "https://learn.microsoft.com/azure/foundry/openai/how-to/fine-tuning, read 2026-12-05)", f"{S}:28",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: Ministral-3B").replace(
             "  seed: 105\n", "  seed: 105\n  paused: true\n")),
    Case("pause-guard-on-open-source", "guards[0] pauses the job, but Foundry cannot pause or resume jobs on "
         "Ministral-3B: use action: cancel", f"{S}:29",
         spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: Ministral-3B").replace(
             "  seed: 105\n", "  seed: 105\n  guards:\n  - {metric: valid_loss, rising: 3, action: pause}\n")),
    Case("guard-without-a-condition", "a guard names a metric and exactly one of rising, above, below", f"{S}:29",
         spec=sub("  seed: 105\n", "  seed: 105\n  guards:\n  - {metric: valid_loss, action: pause}\n")),
    Case("notification-with-two-targets", "exactly one target", f"{S}:39",
         spec=BASE_SPEC + NOTIFY.replace("  on:", "  slack: {url: \"${FTOPS_SLACK}\"}\n  on:")),
    Case("notification-secret-in-git", "is a secret", f"{S}:40",
         spec=BASE_SPEC + NOTIFY.replace("webhook: {url: \"https://hooks.example.com/x\"}",
                                           "teams: {url: \"https://example.webhook.office.com/x\"}")),
    Case("notification-plain-http", "plain http is refused", f"{S}:40",
         spec=BASE_SPEC + NOTIFY.replace("https://hooks.example.com/x", "http://hooks.example.com/x")),
    Case("notification-unknown-event", "must be one of", f"{S}:41",
         spec=BASE_SPEC + NOTIFY.replace("job.succeeded", "job.done")),
    Case("continuous-on-open-source", "continuous fine-tuning (baseModel: {job: clippy}) is not supported for gpt-oss-20b",
         f"{S}:40", spec=sub("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: gpt-oss-20b") + """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: again}
spec:
  baseModel: {job: clippy}
  method: supervised
  trainingData: train
"""),
    Case("standard-region", "trainingType Standard is not available for gpt-4.1-mini-2025-04-14 in region westeurope",
         f"{S}:22", spec=sub("trainingType: GlobalStandard", "trainingType: Standard").replace(
             "region: swedencentral", "region: westeurope")),
    Case("suffix-dot", "suffix 'clippy.v2' is invalid", f"{S}:26", spec=sub("suffix: clippy", "suffix: clippy.v2")),
    # A 100,000-character suffix was repeated whole in its one-line error.
    Case("suffix-huge", "suffix 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100,000 characters) "
         "is invalid", f"{S}:26", spec=sub("suffix: clippy", "suffix: " + "x" * 100_000)),
    Case("unknown-hyperparameter", "unknown hyperparameter 'epochs'", f"{S}:25",
         spec=sub("hyperparameters: {n_epochs: 3}", "hyperparameters: {epochs: 3}")),
    Case("epochs-range", 'n_epochs: must be "auto" or an integer from 1 to 50 (got 99)', f"{S}:25",
         spec=sub("{n_epochs: 3}", "{n_epochs: 99}")),
    Case("epochs-bool", 'n_epochs: must be "auto" or an integer from 1 to 50 (got True)', f"{S}:25",
         spec=sub("{n_epochs: 3}", "{n_epochs: true}")),
    Case("epochs-float", "n_epochs: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{n_epochs: 3.0}")),
    Case("batch-size-zero", "batch_size: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{batch_size: 0}")),
    Case("batch-size-negative", "batch_size: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{batch_size: -4}")),
    Case("lr-nan", "learning_rate_multiplier: must be \"auto\" or a finite number above 0 (got nan)", f"{S}:25",
         spec=sub("{n_epochs: 3}", "{learning_rate_multiplier: .nan}")),
    Case("lr-inf", "learning_rate_multiplier: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{learning_rate_multiplier: .inf}")),
    Case("lr-zero", "learning_rate_multiplier: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{learning_rate_multiplier: 0}")),
    Case("lr-bool", "learning_rate_multiplier: must be", f"{S}:25", spec=sub("{n_epochs: 3}", "{learning_rate_multiplier: true}")),
    Case("beta-on-sft", "unknown hyperparameter 'beta' for method supervised", f"{S}:25", spec=sub("{n_epochs: 3}", "{beta: 0.1}")),
    Case("beta-range", "beta: must be", f"{S}:25",
         spec=DPO_SPEC.replace("{n_epochs: 3}", "{beta: 2.5}")),
    Case("seed-negative", "seed: Input should be greater than or equal to 0", f"{S}:27", spec=sub("seed: 105", "seed: -1")),
    Case("seed-too-big", "seed: Input should be less than or equal to 2147483647", f"{S}:27",
         spec=sub("seed: 105", "seed: 2147483648")),
    Case("seed-bool", "seed: Input should be a valid integer", f"{S}:27", spec=sub("seed: 105", "seed: true")),
    Case("capacity-bool", "sku.capacity: Input should be a valid integer", f"{S}:34",
         spec=sub("capacity: 50", "capacity: true")),
    Case("speed-inf", "speed: Input should be a finite number", f"{S}:4",
         spec=BASE_SPEC.replace("{local: true, region: swedencentral}", "{local: true, speed: .inf}")),
    Case("rft-reasoning-effort", "reasoning_effort", f"{S}:24",
         spec=RFT_SPEC.replace("  grader:", "  hyperparameters: {reasoning_effort: max}\n  grader:"),
         files={T: "\n".join([RFT_LINE] * 12) + "\n", "specs/data/valid.jsonl": "\n".join([RFT_LINE] * 12) + "\n"}),
    Case("rft-compute-multiplier", "compute_multiplier: must be", f"{S}:24",
         spec=RFT_SPEC.replace("  grader:", "  hyperparameters: {compute_multiplier: 0}\n  grader:"),
         files={T: "\n".join([RFT_LINE] * 12) + "\n", "specs/data/valid.jsonl": "\n".join([RFT_LINE] * 12) + "\n"}),
    # --- hostile YAML: bounded, refused fast with a line -------------------------------------------
    Case("alias-bomb", "expands to more than", f"{S}:5", spec=ALIAS_BOMB),
    Case("alias-recursive", "refers to a value that contains it", f"{S}:1", spec="a: &a [*a]\n"),
    Case("deep-nesting", "nested more than 64 levels deep", f"{S}:1", spec="[" * 200 + "]" * 200 + "\n"),
    Case("complex-key", "a mapping key must be a plain value", f"{S}:1", spec="? [1, 2]\n: 3\n"),
    Case("merge-key", "merge keys (<<) are not supported", f"{S}:2", spec="a: &a {x: 1}\nb: {<<: *a}\n"),
    Case("too-many-documents", "more than 1000 documents", f"{S}:2001", spec="---\na: 1\n" * 1001),
    Case("huge-int-and-bad-timestamp", "unknown field 'a'", f"{S}:1", spec="a: " + "9" * 5000 + "\nb: 2025-13-45\n"),
    Case("nul-byte", "invalid YAML", f"{S}:1", spec="a: \x00\n"),
    Case("dataset-path-too-long", "cannot be resolved (File name too long)", f"{S}:9",
         spec=sub("path: data/train.jsonl", "path: " + "a/" * 3000)),
    Case("dataset-path-nul", "cannot be resolved (embedded null byte)", f"{S}:9",
         spec=sub("path: data/train.jsonl", 'path: "a\\0b"')),
    Case("dataset-path-a-directory", "dataset file 'data' is not a regular file", f"{S}:9",
         spec=sub("path: data/train.jsonl", "path: data")),
    Case("spec-too-big", "the limit is 1048576", S, spec="# " + "x" * (1 << 20) + "\n"),
    Case("rft-without-validation", "needs validationData", f"{S}:18",
         spec=RFT_SPEC.replace("  validationData: valid\n", ""),
         files={T: "\n".join([RFT_LINE] * 12) + "\n"}),
    Case("rft-without-grader", "needs a grader", f"{S}:18", spec=RFT_SPEC.rsplit("  grader:", 1)[0],
         files={T: "\n".join([RFT_LINE] * 12) + "\n", "specs/data/valid.jsonl": "\n".join([RFT_LINE] * 12) + "\n"}),
    Case("grader-on-sft", "grader is only used by method reinforcement", f"{S}:28",
         spec=sub("  seed: 105\n", "  seed: 105\n  grader: {type: string_check}\n")),
    Case("sku-region", "sku Standard is not available for fine-tuned gpt-4.1-mini-2025-04-14 in eastus2",
         f"{S}:34", spec=sub("sku: {name: GlobalStandard", "sku: {name: Standard").replace(
             "region: swedencentral", "region: eastus2")),
    # --- JSONL datasets ---------------------------------------------------------------------
    Case("invalid-json", "invalid JSON", f"{T}:1", files=bad_train('{"messages": [')),
    Case("invalid-utf8", "invalid UTF-8", f"{T}:1",
         files={T: b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}\n' + chat_jsonl(12).encode()}),
    Case("blank-line", "blank line", f"{T}:2", files={T: chat_line(0) + "\n\n" + chat_jsonl(12)}),
    Case("not-an-object", "each line must be a JSON object", f"{T}:2", files={T: chat_line(0) + "\n[1, 2]\n" + chat_jsonl(12)}),
    Case("no-messages", "missing \"messages\"", f"{T}:2", files={T: chat_line(0) + "\n" + '{"prompt": "x"}\n' + chat_jsonl(12)}),
    Case("unknown-role", "unknown role 'bot'", f"{T}:1",
         files=bad_train({"messages": [msg("user", "hi"), msg("bot", "yo")]})),
    Case("no-assistant", "no assistant message", f"{T}:2",
         files={T: chat_line(0) + "\n" + json.dumps({"messages": [msg("system", SYSTEM), msg("user", "hi")],
                                                      "tools": []}) + "\n" + chat_jsonl(12)}),
    Case("bad-weight", "weight must be 0 or 1 (got 0.5)", f"{T}:1",
         files=bad_train({"messages": [msg("user", "hi"), msg("assistant", "yo", weight=0.5)]})),
    Case("weight-on-user", "weight is only allowed on assistant messages", f"{T}:1",
         files=bad_train({"messages": [msg("user", "hi", weight=1), msg("assistant", "yo")]})),
    Case("empty-content", "empty content in a assistant message", f"{T}:1",
         files=bad_train({"messages": [msg("user", "hi"), msg("assistant", "  ")]})),
    Case("tool-calls-without-tools", "tool calls without their tools", f"{T}:1",
         files=bad_train({"messages": [msg("user", "hi"), msg("assistant", None, tool_calls=[{"id": "1"}])]})),
    Case("bad-content-type", "content must be a string or a list", f"{T}:1",
         files=bad_train({"messages": [msg("user", 42), msg("assistant", "yo")]})),
    Case("bad-content-part", "a content part must be", f"{T}:1",
         files=bad_train({"messages": [msg("user", [{"type": "audio"}]), msg("assistant", "yo")]})),
    Case("vision-unsupported", "image_url needs a model with vision", f"{T}:1",
         files=bad_train({"messages": [msg("user", [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]),
                                       msg("assistant", "a cat")]})),
    Case("too-few-examples", "5 examples; Foundry needs at least 10", T, files={T: chat_jsonl(5)}),
    Case("empty-file", "no examples: the file is empty", T, files={T: ""}),
    Case("wrong-format-for-method", "record is in chat format, but this dataset must be preference", f"{T}:1",
         spec=DPO_SPEC),
    Case("dpo-two-preferred", "exactly one preferred_output message (found 2)", f"{T}:1", spec=DPO_SPEC,
         files=dpo_file(dpo_rec(pref=2))),
    Case("dpo-missing-nonpreferred", "exactly one non_preferred_output message (found 0)", f"{T}:1", spec=DPO_SPEC,
         files=dpo_file(dpo_rec(nonpref=0))),
    Case("rft-last-not-user", "the last message of an RFT record must be from the user", f"{T}:1", spec=RFT_SPEC,
         files={T: json.dumps({"messages": [msg("user", "2+2?"), msg("developer", "be brief")]}) + "\n"
                + "\n".join([RFT_LINE] * 12) + "\n", "specs/data/valid.jsonl": "\n".join([RFT_LINE] * 12) + "\n"}),
    Case("too-many-tokens", "tokens; the model accepts at most 65536 per example", f"{T}:1",
         files=bad_train({"messages": [msg("user", "word " * 70000), msg("assistant", "ok")]})),
    Case("format-mismatch-spec", "dataset format preference does not match the method", f"{S}:9",
         spec=sub("spec: {path: data/train.jsonl}", "spec: {path: data/train.jsonl, format: preference}")),
    *EVAL_CASES,
]


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.expect for c in CASES}) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_reported(case: Case, make_project: MakeProject) -> None:
    make_project(case.files, case.spec)
    with pytest.raises(ValidationFailed) as info:
        validate_dir("specs", use_cache=False)
    rendered = [str(p) for p in info.value.problems if p.severity == "error"]
    matching = [r for r in rendered if case.expect in r]
    assert matching, f"expected {case.expect!r} in {rendered}"
    assert any(r.startswith(case.where + ":") for r in matching), f"expected at {case.where}: {matching}"
