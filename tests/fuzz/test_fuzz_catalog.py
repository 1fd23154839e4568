"""Catalog overrides, random and mutated: one FtopsError, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from ftops import FtopsError
from ftops.catalog import OVERRIDE_FILE, load_catalog

from ._harness import assert_contract, run_cli, write_project
from .strategies import dump, mutated_text, replaced_value

VALID = """defaults:
  suffix: {pattern: "^[A-Za-z0-9_-]{1,40}$", maxLength: 40}
  minExamples: 10
models:
  my-model:
    encoding: o200k_base
    methods: [supervised, dpo]
    vision: false
    maxExampleTokens: 65536
    training: {GlobalStandard: ["*"]}
    deployment: {GlobalStandard: ["*"]}
    price: {trainingPerMillionTokens: {GlobalStandard: 5.0}, hostingPerHour: {GlobalStandard: 1.7}}
"""


def check_override(content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / OVERRIDE_FILE
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            catalog = load_catalog(Path(tmp))
        except FtopsError as e:
            assert str(e).startswith(OVERRIDE_FILE), str(e)
        else:
            assert catalog.models


@given(st.text(max_size=300))
def test_random_text_override(text: str) -> None:
    check_override(text)


@given(st.binary(max_size=100))
def test_random_bytes_override(data: bytes) -> None:
    check_override(data)


@given(st.data())
def test_mutated_override(data: st.DataObject) -> None:
    check_override(data.draw(mutated_text(VALID)))


@given(st.data())
def test_override_with_a_hostile_value(data: st.DataObject) -> None:
    check_override(dump(data.draw(replaced_value([yaml.safe_load(VALID)]))))


@given(st.data())
def test_validate_with_a_hostile_override(data: st.DataObject) -> None:
    """Through the CLI: the override's problem is one line, exit 1 (or 0 when it is harmless)."""
    override = dump(data.draw(replaced_value([yaml.safe_load(VALID)])))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), files={OVERRIDE_FILE: override})
        code, out, err = run_cli("validate", "--no-tokens", "specs", where=root)
        assert_contract(code, out, err)
