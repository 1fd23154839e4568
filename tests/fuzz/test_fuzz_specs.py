"""Spec YAML, random and mutated: `ftops validate` answers with lines and exit 0/1, never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import BASE_SPEC

from ._harness import assert_contract, run_cli, write_project
from .strategies import dump, mutated_text, replaced_value

_LINE = re.compile(r"^(specs|error: |warning: |ftops\.catalog\.yaml)")


def check_validate(spec: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), spec)
        code, out, err = run_cli("validate", "--no-tokens", "specs", where=root)
        assert_contract(code, out, err)
        assert code in (0, 1)
        for line in err.splitlines():
            assert _LINE.match(line), line


@given(st.text(max_size=400))
def test_random_text_as_a_spec_file(text: str) -> None:
    check_validate(text)


@given(st.binary(max_size=200))
def test_random_bytes_as_a_spec_file(data: bytes) -> None:
    check_validate(data)


@given(st.data())
def test_valid_spec_with_splices(data: st.DataObject) -> None:
    check_validate(data.draw(mutated_text(BASE_SPEC)))


@given(st.data())
def test_valid_spec_with_a_hostile_value(data: st.DataObject) -> None:
    docs = list(yaml.safe_load_all(BASE_SPEC))
    check_validate(dump(data.draw(replaced_value(docs))))
