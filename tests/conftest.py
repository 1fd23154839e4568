from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests outside tests/fuzz (which loads its own profiles) run with Hypothesis' example counts but no
# 200 ms deadline and no too-slow check: on a loaded machine (make test runs four workers on two cores) those
# failed correct code. A 30 s deadline still catches a hang.
settings.register_profile("ftops-unit", deadline=30_000, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ftops-unit")

SYSTEM = "Clippy is a factual chatbot that is also sarcastic."


def chat_line(i: int, **extra: object) -> str:
    rec = {"messages": [{"role": "system", "content": SYSTEM},
                        {"role": "user", "content": f"Question number {i}?"},
                        {"role": "assistant", "content": f"Answer {i}, obviously."}]}
    rec.update(extra)
    return json.dumps(rec)


def chat_jsonl(n: int = 12) -> str:
    return "".join(chat_line(i) + "\n" for i in range(n))


FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: local}
spec: {local: true, region: swedencentral}
"""

BASE_SPEC = FOUNDRY + """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: train}
spec: {path: data/train.jsonl}
---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: valid}
spec: {path: data/valid.jsonl}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: clippy}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  method: supervised
  trainingType: GlobalStandard
  trainingData: train
  validationData: valid
  hyperparameters: {n_epochs: 3}
  suffix: clippy
  seed: 105
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: clippy-prod}
spec:
  model: {job: clippy, checkpoint: best}
  sku: {name: GlobalStandard, capacity: 50}
"""

# BASE_SPEC as Foundry `dev` (swedencentral) beside a Foundry `prod` (eastus2) with a job of its own: one spec
# directory of two local accounts, each planned on its own (a CI fleet, `ftops merge-plans`).
TWO_ACCOUNTS_SPEC = re.sub(r"metadata: \{name: (?!local\})", "metadata: {foundry: dev, name: ",
                           BASE_SPEC).replace("metadata: {name: local}", "metadata: {name: dev}") + """---
apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec: {local: true, region: eastus2, namespace: clippy-prod}
---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: prod-train, foundry: prod}
spec: {path: data/train.jsonl}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: prod-job, foundry: prod}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  method: supervised
  trainingType: GlobalStandard
  trainingData: prod-train
  hyperparameters: {n_epochs: 1}
  suffix: prodjob
"""



def follower_spec(name: str, follows: str, foundry: str | None = None, extra: str = "") -> str:
    """A Deployment document that follows Deployment `follows` (`extra`: more of its model, `, soak: 3h`)."""
    where = f", foundry: {foundry}" if foundry else ""
    return f"""---
apiVersion: ftops/v1
kind: Deployment
metadata: {{name: {name}{where}}}
spec:
  model: {{deployment: {follows}{extra}}}
  sku: {{name: GlobalStandard, capacity: 5}}
"""


# prod's Deployment `chat`, following dev's `clippy-prod`
FOLLOWER = follower_spec("chat", "clippy-prod", "prod")

MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeProject:
    """Write a valid project under tmp_path (cwd = project root); `files` override or add files."""

    def make(files: dict[str, str | bytes] | None = None, spec: str | None = None) -> Path:
        all_files: dict[str, str | bytes] = {
            "specs/main.yaml": BASE_SPEC if spec is None else spec,
            "specs/data/train.jsonl": chat_jsonl(60),
            "specs/data/valid.jsonl": chat_jsonl(12),
        }
        all_files.update(files or {})
        for name, content in all_files.items():
            p = tmp_path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return tmp_path

    return make
