"""The promotion chains as the CLI shows them: one line per chain, each stage's words from its typed state."""

from __future__ import annotations

from ftops.cli._chains import chains_markdown, chains_text, short_model
from ftops.plan import ChainStage, PromotionChain

A1 = "gpt-4.1-mini-2025-04-14.ft-755c51bd27065ecea49c47df2891743f"
F9 = "gpt-4.1-mini-2025-04-14.ft-0000000000000000000000000000009f"


def _chain(*stages: ChainStage) -> PromotionChain:
    return PromotionChain("clippy", stages)


def test_a_three_stage_chain_reads_as_one_line() -> None:
    chain = _chain(ChainStage("dev", "clippy-dev", "in_sync", serves=A1, passed=True),
                   ChainStage("staging", "clippy-staging", "in_sync", serves=A1),
                   ChainStage("prod", "clippy-prod", "soaks", serves=F9, next_model=A1, soak_left=3 * 3600 - 30))
    assert chains_text([chain]).splitlines()[1] == (
        "  clippy: dev/clippy-dev serves …2891743f (evaluation passed) → staging/clippy-staging serves …2891743f"
        " → prod/clippy-prod serves …0000009f, would serve …2891743f after soak (3 h 00 min left)")


def test_each_state_has_its_words() -> None:
    chain = _chain(ChainStage("dev", "a", "waits", why="job clippy runs"),
                   ChainStage("dev", "b", "moves", serves="gpt-4o-mini", passed=False),
                   ChainStage("staging", "c", "waits", waits_for="dev/b"),
                   ChainStage("prod", "d", "blocked", serves=A1, why="dev/b serves nothing"),
                   ChainStage("qa", "e", "not_planned"))
    assert chains_text([chain]).splitlines()[1] == (
        "  clippy: dev/a serves nothing, waits: job clippy runs → dev/b serves gpt-4o-mini (not passed by its "
        "evaluation), would serve a model known after apply → staging/c serves nothing, waits for dev/b → prod/d "
        "serves …2891743f, blocked: dev/b serves nothing → qa/e (its account is not in this run)")


def test_markdown_escapes_what_foundry_and_specs_say() -> None:
    chain = _chain(ChainStage("dev", "a", "waits", why="*job* `x` | @someone"),
                   ChainStage("prod", "b", "moves", serves="m|`x`", next_model=A1))
    md = chains_markdown([chain])
    assert md.startswith("### Promotion\n\n- **clippy**: ")
    assert "waits: \\*job\\* 'x' \\| @&#8203;someone" in md and "serves `m\\|'x'`" in md and "`…2891743f`" in md


def test_no_chains_show_nothing_and_short_names_stay_whole() -> None:
    assert chains_text([]) == "" and chains_markdown([]) == ""
    assert short_model("gpt-4.1-mini-2025-04-14") == "gpt-4.1-mini-2025-04-14" and short_model(A1) == "…2891743f"


def test_an_apply_left_waiting_only_for_a_soak_says_so() -> None:
    from ftops.apply import ApplyResult, Outcome
    from ftops.cli._render import apply_summary
    from ftops.plan import Plan, Promote, Soaking

    soaking = Promote.model_construct(id="deployment.p:create", soaking=Soaking(model=A1, until=1.0), pending=True)
    waiting = Promote.model_construct(id="deployment.q:create", soaking=None, pending=True)
    result = ApplyResult([Outcome(soaking.id, "deferred")])
    assert "Waiting out a soak" in apply_summary(result, Plan.model_construct(actions=[soaking]))
    both = ApplyResult([Outcome(soaking.id, "deferred"), Outcome(waiting.id, "deferred")])
    assert "Waiting for Foundry" in apply_summary(both, Plan.model_construct(actions=[soaking, waiting]))
    assert "Waiting for Foundry" in apply_summary(result)  # no plan given: as before
