"""CEL policy expressions: parsed for `validate`, evaluated for `plan`, every failure one line."""

from __future__ import annotations

import pytest

from ftops import _cel

VARS = {"plan": {"actions": [{"kind": "Deployment", "sku": "GlobalStandard"}]}, "cost": {"training_usd": 2.0},
        "specs": {}, "project": "p"}


@pytest.mark.parametrize(("expression", "message"), [
    ("plan.actions.exists(a, ", "not a CEL expression at column"),
    ("", "the expression is empty"),
    ("x" * (_cel.MAX_CHARS + 1), "the limit is 2000"),
    ("(" * 30 + "1" + ")" * 30, "nests brackets more than 24 deep"),
    ('"unterminated', "not a CEL expression"),
])
def test_malformed_expressions_are_one_line_problems(expression: str, message: str) -> None:
    why = _cel.problem(expression)
    assert why is not None and message in why and "\n" not in why


@pytest.mark.parametrize(("expression", "message"), [
    ("nothing == 1", "undeclared reference to 'nothing' (an expression sees plan, cost, specs, project)"),
    ("1 / 0 == 1", "divide by zero"),
    ("plan.nope == 1", "no such member in mapping: 'nope'"),
    ("1 + 1", "the expression gave int, not a bool"),
    ('"s"', "the expression gave string, not a bool"),
])
def test_evaluation_failures_are_one_line_errors(expression: str, message: str) -> None:
    with pytest.raises(_cel.CelError) as e:
        _cel.evaluate(expression, VARS)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_expressions_over_the_plan_and_its_cost() -> None:
    assert _cel.evaluate('plan.actions.exists(a, a.sku == "GlobalStandard")', VARS) is True
    assert _cel.evaluate("cost.training_usd < 1.0", VARS) is False
    assert _cel.evaluate('true || nothing == 1', VARS) is True  # CEL's short circuit over an error


def test_a_bad_regular_expression_is_one_line_and_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """Was: RE2 (C++) wrote its own two lines to the process's stderr (an absl warning and the parse error)."""
    with pytest.raises(_cel.CelError, match=r"^match error: the pattern is not a regular expression \(RE2 syntax\)$"):
        _cel.evaluate('"abc".matches("[")', {})
    assert _cel.evaluate('"abc".matches("^a.c$")', {}) and not _cel.evaluate('"abc".matches("x")', {})
    assert _cel.evaluate('matches("abc", "b")', {})
    assert capfd.readouterr().err == ""
