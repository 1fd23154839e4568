"""Policy expressions, random and spliced from CEL's own tokens: `ftops validate` answers with `file:line` lines,
and evaluating one that parses gives a bool or one line of error, in bounded time, never a traceback or a hang."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ftops import _cel
from tests.conftest import BASE_SPEC

from ._harness import assert_contract, run_cli, write_project

TOKENS = ["plan", "cost", "specs", "project", ".", "actions", "(", ")", "[", "]", "{", "}", ",", ":", "a", "b",
          "map", "filter", "all", "exists", "exists_one", "size", "has", "matches", "==", "!=", "<", ">=", "&&",
          "||", "!", "?", "+", "-", "*", "/", "%", "in", "1", "2.5", "0", "-1", "9223372036854775807", '"x"',
          "'", '"', "true", "false", "null", "b'x'", "r'\\\\'", "dyn", "int", "string", "double", "\\", "'.*'",
          " ", "\n", "\x00", "é", "🙂", "[1,2,3,4,5,6,7,8]"]
EXPRESSIONS = st.one_of(st.text(max_size=120), st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
VARIABLES = {"plan": {"actions": [{"kind": "Deployment", "sku": "GlobalStandard", "action": "create"}] * 3,
                      "cost": {"training_usd": 1.5}},
             "cost": {"training_usd": 1.5}, "specs": {"jobs": {}}, "project": "p"}


@given(EXPRESSIONS)
def test_validate_names_a_malformed_expression_at_its_line(expression: str) -> None:
    doc = ("---\napiVersion: ftops/v1\nkind: Policy\nmetadata: {name: rule}\nspec:\n  enforcement: advisory\n"
           f"  expression: {json.dumps(expression)}\n  message: m\n")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), BASE_SPEC + doc)
        code, out, err = run_cli("validate", "--no-tokens", "specs", where=root)
    assert_contract(code, out, err)
    assert code in (0, 1)
    for line in err.splitlines():
        assert line.startswith("specs/main.yaml:"), line


@given(EXPRESSIONS)
def test_an_expression_evaluates_to_a_bool_or_one_line_of_error_in_bounded_time(expression: str) -> None:
    started = time.monotonic()
    try:
        if _cel.problem(expression) is None:
            assert isinstance(_cel.evaluate(expression, VARIABLES), bool)
    except _cel.CelError as e:
        assert "\n" not in str(e) and str(e)
    assert time.monotonic() - started < 10  # the step budget stops nested macros long before


def test_nested_macros_run_out_of_their_budget_instead_of_hanging() -> None:
    ten = "[1,2,3,4,5,6,7,8,9,10]"
    expression = f"{ten}.map(a, {ten}.map(b, {ten}.map(c, {ten}.map(d, {ten}.map(e, 1))))).size() > 0"
    started = time.monotonic()
    try:
        _cel.evaluate(expression, VARIABLES)
        raise AssertionError("a hundred thousand evaluations ran to the end")
    except _cel.CelError as e:
        assert "steps" in str(e)
    assert time.monotonic() - started < 10
