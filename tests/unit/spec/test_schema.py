from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ftops.spec import json_schema, spec_files
from ftops.spec._yaml import load_documents

ROOT = Path(__file__).resolve().parents[3]
SPEC_FILES = [*spec_files(ROOT / "specs"), *(f for d in sorted((ROOT / "examples").glob("*/specs")) for f in spec_files(d))]


def test_shipped_schema_file_is_current() -> None:
    shipped = json.loads((ROOT / "schema" / "ftops.schema.json").read_text())
    assert shipped == json_schema(), "run: ftops schema > schema/ftops.schema.json"


@pytest.mark.parametrize("path", SPEC_FILES, ids=[str(p.relative_to(ROOT)) for p in SPEC_FILES])
def test_every_shipped_spec_validates_against_the_schema(path: Path) -> None:
    schema = json_schema()
    docs = load_documents(path.read_text(), str(path))
    assert docs
    for doc in docs:
        jsonschema.validate(doc.data, schema)
    assert "yaml-language-server: $schema=" in path.read_text().splitlines()[0]


def test_schema_rejects_unknown_fields() -> None:
    doc = {"apiVersion": "ftops/v1", "kind": "Dataset", "metadata": {"name": "x"}, "spec": {"path": "a", "pth": "b"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_schema())


def _job(method: str | None, hyper: dict[str, object]) -> dict[str, object]:
    spec: dict[str, object] = {"baseModel": "gpt-4.1-mini-2025-04-14", "trainingData": "train", "hyperparameters": hyper}
    if method is not None:
        spec["method"] = method
    return {"apiVersion": "ftops/v1", "kind": "FineTuningJob", "metadata": {"name": "j"}, "spec": spec}


@pytest.mark.parametrize(("method", "hyper"), [
    (None, {"n_epochs": True}), (None, {"n_epochs": 0}), (None, {"batch_size": -1}), (None, {"beta": 0.1}),
    ("supervised", {"learning_rate_multiplier": 0}), ("dpo", {"beta": 3}),
    ("reinforcement", {"reasoning_effort": "max"}), ("reinforcement", {"compute_multiplier": 11}),
])
def test_schema_knows_hyperparameters_per_method(method: str | None, hyper: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_job(method, hyper), json_schema())


@pytest.mark.parametrize(("method", "hyper"), [
    (None, {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.1}), ("dpo", {"beta": 0.1}),
    ("reinforcement", {"eval_samples": 4, "reasoning_effort": "high", "compute_multiplier": 1.5}),
])
def test_schema_accepts_valid_hyperparameters(method: str | None, hyper: dict[str, object]) -> None:
    jsonschema.validate(_job(method, hyper), json_schema())


@pytest.mark.parametrize(("soak", "valid"), [
    ("3h", True), ("1h30m", True), ("2d", True), (" 90s ", True), (3600, True),
    ("3 hours", False), ("h", False), ("", False), (-1, False), (91 * 86_400, False),
])
def test_schema_reads_a_soak_as_the_spec_writes_it(soak: object, valid: bool) -> None:
    """A soak is written `24h` (the model holds seconds): editors must accept what the loader accepts."""
    doc = {"apiVersion": "ftops/v1", "kind": "Deployment", "metadata": {"name": "p"},
           "spec": {"model": {"deployment": "d", "soak": soak}, "sku": {"name": "GlobalStandard", "capacity": 1}}}
    if valid:
        jsonschema.validate(doc, json_schema())
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, json_schema())
