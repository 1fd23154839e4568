"""Reading scores out of eval run output items: what counts as a score, and what as an error."""

from __future__ import annotations

from typing import Any

from ftops.foundry._evals import Tally


def item(**scores: Any) -> dict[str, Any]:
    return {"results": [{"name": n, "score": s, "passed": isinstance(s, float) and s >= 0.5} for n, s in scores.items()]}


def test_scores_outside_the_range_or_not_numbers_are_errors_not_scores() -> None:
    tally = Tally(["g"], (0.0, 1.0))
    tally.add([item(g=1e9), item(g=-0.5), item(g=float("inf")), item(g=float("nan")), item(g=True), item(g="1"),
               item(g=0.25), item(g=0.75)])
    (g,) = tally.criteria()
    assert (g.mean, g.graded, g.errored, g.out_of_range) == (0.5, 2, 6, 6)
    assert tally.items == 8


def test_a_grader_error_is_an_error_and_not_out_of_range() -> None:
    tally = Tally([], (0.0, 1.0))
    tally.add([{"results": [{"name": "g", "score": 0.0, "error": "KeyError: 'x'"}]}, item(g=1.0)])
    (g,) = tally.criteria()
    assert (g.mean, g.graded, g.errored, g.out_of_range) == (1.0, 1, 1, 0)
