"""The promotion chains of a run over several accounts (`ftops.plan.promotion_chains`), one line each:

    clippy: dev/clippy-dev serves …2891743f (evaluation passed) → staging/clippy-staging serves …2891743f
      → prod/clippy-prod serves nothing, would serve …2891743f after soak (2 h 59 min left)

as text (rich markup), as Markdown (the PR comment) and as JSON (`promotion` in the run's JSON). A fine-tuned
model's name is long and its tail is what tells two apart: the text and Markdown show `…` and its last 8
characters (the JSON names every model whole)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.markup import escape

from ..plan import ChainStage, PromotionChain
from ._escape import md_cell, md_text, terminal

SHOWN_TAIL = 8  # characters of a long model name the chain shows


def short_model(model: str) -> str:
    """A model's name for a chain line: whole when short (a base model), else `…` and its tail."""
    return model if len(model) <= 2 * SHOWN_TAIL + 8 else "…" + model[-SHOWN_TAIL:]


def left(seconds: float) -> str:
    minutes = int(seconds + 59) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def stage_words(s: ChainStage, model: Callable[[str], str], words: Callable[[str], str]) -> str:
    """One stage: what it serves, and what the plan does with it. `model` and `words` escape for the output."""
    if s.state == "not_planned":
        return f"{s.ref} (its account is not in this run)"
    text = f"{s.ref} serves {model(short_model(s.serves))}" if s.serves else f"{s.ref} serves nothing"
    if s.serves and s.passed is True:
        text += " (evaluation passed)"
    elif s.serves and s.passed is False:
        text += " (not passed by its evaluation)"
    nxt = model(short_model(s.next_model)) if s.next_model else "a model known after apply"
    if s.state == "moves":
        text += f", would serve {nxt}"
    elif s.state == "soaks":
        text += f", would serve {nxt} after soak ({left(s.soak_left or 0.0)} left)"
    elif s.state == "waits":
        text += f", waits for {s.waits_for}" if s.waits_for else f", waits: {words(s.why or '')}"
    elif s.state == "blocked":
        text += f", blocked: {words(s.why or '')}"
    return text


def _title(c: PromotionChain) -> str:
    return c.job or c.stages[0].deployment


def chains_text(chains: Sequence[PromotionChain]) -> str:
    """`Promotion` and a line per chain (rich markup); "" without chains."""
    if not chains:
        return ""

    def line(c: PromotionChain) -> str:
        stages = [stage_words(s, lambda m: escape(terminal(m)), lambda w: escape(terminal(w))) for s in c.stages]
        return f"  {escape(terminal(_title(c)))}: " + " → ".join(stages)

    return "\n".join(["[bold]Promotion[/] (each stage serves what the one before it passed)",
                      *(line(c) for c in chains)])


def chains_markdown(chains: Sequence[PromotionChain]) -> str:
    """`### Promotion` and a bullet per chain; "" without chains."""
    if not chains:
        return ""

    def line(c: PromotionChain) -> str:
        stages = [stage_words(s, lambda m: f"`{md_cell(m)}`", md_text) for s in c.stages]
        return f"- **{md_text(_title(c))}**: " + " → ".join(stages)

    return "\n".join(["### Promotion", "", *(line(c) for c in chains)])


def chains_json(chains: Sequence[PromotionChain]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in chains]
