"""Policy expressions in CEL (Common Expression Language, as Kubernetes admission policies write them), bounded.

One place checks (`ftops validate`: `problem`) and evaluates (`plan`: `evaluate`) them, over `cel-python`
(module `celpy`), which is imported only when a Policy has an expression (it costs about 0.7 s to load).
An expression is text from a spec anyone with write access to the repository can edit, so it is bounded
before it is parsed (length, bracket depth) and while it runs (a budget of evaluation steps: nested macros
over a list multiply, `[1,2,...].map(a, [1,2,...].map(b, ...))` would otherwise run for hours). Every failure,
the library's included, becomes a `CelError` with one line of text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

MAX_CHARS = 2000  # longer than any rule a person reviews in a pull request
MAX_DEPTH = 24  # brackets inside brackets: the parser and the evaluator recurse per level
MAX_STEPS = 100_000  # evaluation steps (nodes visited): about 1.5 s at worst, far above any real rule
VARIABLES = ("plan", "cost", "specs", "project")  # what an expression sees (docs/reference.md "Policy")


class CelError(Exception):
    """An expression that cannot be parsed, or that failed or ran out of its budget while evaluated."""


class _OverBudget(Exception):
    pass


def problem(expression: str) -> str | None:
    """Why `expression` is not a CEL expression ftops can run (one line), or None when it parses."""
    try:
        _compiled(expression)
    except CelError as e:
        return str(e)
    return None


def evaluate(expression: str, variables: Mapping[str, Any]) -> bool:
    """The boolean `expression` gives over `variables` (JSON-like values); CelError if it is not a boolean, fails,
    or spends more than MAX_STEPS."""
    from celpy import celtypes
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    ast = _compiled(expression)
    activation = {name: json_to_cel(value) for name, value in variables.items()}
    try:
        result = _BudgetRunner(_environment(), ast).evaluate(activation)
    except _OverBudget:
        raise CelError(f"evaluation took more than {MAX_STEPS} steps (bound nested macros)") from None
    except RecursionError:
        raise CelError("the expression nests too deeply") from None
    except CELEvalError as e:
        raise CelError(_eval_message(e)) from None
    except Exception as e:  # the library's own failures (a TypeError deep inside): still one line
        raise CelError(f"evaluation failed: {type(e).__name__}: {_one_line(str(e))}") from None
    if isinstance(result, CELEvalError):
        raise CelError(_eval_message(result))
    if not isinstance(result, celtypes.BoolType):
        raise CelError(f"the expression gave {type(result).__name__.removesuffix('Type').lower()}, not a bool")
    return bool(result)


@cache
def _environment() -> Any:
    import celpy

    # celpy logs an ERROR line for each exception it re-raises: ftops reports the one line itself.
    logging.getLogger("celpy").setLevel(logging.CRITICAL)
    return celpy.Environment()


def _compiled(expression: str) -> Any:
    """A fresh parse tree for each evaluation (a few milliseconds): celpy may annotate the tree it evaluates."""
    if len(expression) > MAX_CHARS:
        raise CelError(f"the expression is {len(expression)} characters; the limit is {MAX_CHARS}")
    if _depth(expression) > MAX_DEPTH:
        raise CelError(f"the expression nests brackets more than {MAX_DEPTH} deep")
    if not expression.strip():
        raise CelError("the expression is empty")
    from celpy.celparser import CELParseError

    try:
        return _environment().compile(expression)
    except CELParseError as e:
        where = f" at column {e.column}" if getattr(e, "column", None) else ""
        raise CelError(f"not a CEL expression{where}: {_first_line(e)}") from None
    except RecursionError:
        raise CelError("the expression nests too deeply") from None
    except Exception as e:  # the parser's own failures on odd input: one line, never a traceback
        raise CelError(f"not a CEL expression: {type(e).__name__}: {_one_line(str(e))}") from None


def _depth(expression: str) -> int:
    """The deepest nesting of (, [ and { (in strings too: a cheap, safe upper bound)."""
    depth = deepest = 0
    for c in expression:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth = max(0, depth - 1)
    return deepest


def _first_line(e: BaseException) -> str:
    text = str(e.args[0]) if e.args else str(e)
    return _one_line(text.splitlines()[0] if text.strip() else type(e).__name__)


def _eval_message(e: Any) -> str:
    """celpy's evaluation error: its first argument is the message (the rest names Python classes)."""
    args = getattr(e, "args", ())
    text = str(args[0]) if args else str(e)
    if text.startswith("undeclared reference to "):
        name = text.split("'")[1] if text.count("'") >= 2 else "?"
        return f"undeclared reference to {name!r} (an expression sees {', '.join(VARIABLES)})"
    return _one_line(text)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class _Steps:
    def __init__(self) -> None:
        self.left = MAX_STEPS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _OverBudget


def _budget_evaluator() -> type:
    """An Evaluator that counts every node it visits, its macros' nested evaluators included."""
    from celpy.evaluation import Evaluator

    class BudgetEvaluator(Evaluator):
        steps: _Steps

        def sub_evaluator(self, ast: Any) -> Evaluator:
            nested = BudgetEvaluator(ast, activation=self.activation)
            nested.steps = self.steps
            return nested

        # lark's Interpreter reaches every node through `_visit_tree` (`visit` is only the entry point).
        def _visit_tree(self, tree: Any) -> Any:
            self.steps.spend()
            return super()._visit_tree(tree)

    return BudgetEvaluator


def _matches(text: Any, pattern: Any) -> Any:
    """CEL's `matches`, as celpy's (RE2: linear time, whatever the pattern), but quiet: celpy's leaves RE2's C++
    logging on, which writes its own lines to the process's stderr for a pattern that does not compile."""
    import re2  # type: ignore[import-untyped]
    from celpy import celtypes
    from celpy.evaluation import CELEvalError

    options = re2.Options()
    options.log_errors = False
    try:
        return celtypes.BoolType(re2.compile(pattern, options).search(text) is not None)
    except re2.error:  # RE2's reason quotes the pattern, which an expression can build from any value it sees
        return CELEvalError("match error: the pattern is not a regular expression (RE2 syntax)")


class _BudgetRunner:
    def __init__(self, environment: Any, ast: Any) -> None:
        from celpy import InterpretedRunner

        self._runner = InterpretedRunner(environment, ast, functions={"matches": _matches})
        self._ast = ast

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        evaluator = _evaluator_class()(ast=self._ast, activation=self._runner.new_activation())
        evaluator.steps = _Steps()
        return evaluator.evaluate(dict(activation))


@cache
def _evaluator_class() -> type:
    return _budget_evaluator()
