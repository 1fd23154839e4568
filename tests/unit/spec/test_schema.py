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
