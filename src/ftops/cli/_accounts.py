"""The output of a run over several Foundry accounts: each account's plan, drift or status under a heading naming
its Foundry document, account and region, then one line for the run; JSON with one entry per Foundry; Markdown
(the PR comment) with one summary table and a section per account. One account prints as it always did: these
are used only when a run covers several."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from rich.markup import escape

from ..plan import PromotionChain, drift_items, in_progress, promotion_chains, status_rows, verdicts
from . import _render as render
from ._chains import chains_json, chains_markdown, chains_text
from ._escape import md_cell, terminal

if TYPE_CHECKING:
    from ..session import PlannedAccount
    from ..spec import Project

FORMAT_VERSION = 1  # of the several-accounts JSON shapes (plan, drift, status); each entry's inner shape is
# the one-account output's, versioned by its own format_version


def heading(ap: PlannedAccount) -> str:
    """`Foundry dev · account <subscription>/<group>/<account> · swedencentral` (rich markup)."""
    return (f"[bold]== Foundry {escape(ap.foundry)}[/] · account {escape(terminal(ap.plan.endpoint))} · "
            f"{escape(ap.region)}")


def _entry(ap: PlannedAccount) -> dict[str, Any]:
    return {"foundry": ap.foundry, "account": ap.plan.endpoint, "account_id": ap.account_id, "region": ap.region}


def _dumps(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def chains_of(project: Project, plans: Sequence[PlannedAccount]) -> list[PromotionChain]:
    """The promotion chains (dev → staging → prod) the run's accounts are stages of."""
    return promotion_chains(project, {ap.foundry: (ap.plan, ap.live) for ap in plans})


def _with_chains(parts: list[Any], chains: Sequence[PromotionChain],
                 render_chains: Callable[[Sequence[PromotionChain]], str]) -> list[Any]:
    shown = render_chains(chains)
    return [*parts, shown] if shown else parts


def run_line(plans: Sequence[PlannedAccount]) -> str:
    """The run in one line: how many accounts, which have changes."""
    changed = [ap.foundry for ap in plans if ap.plan.has_changes]
    which = f": {', '.join(changed)}" if changed else ""
    return f"{len(plans)} Foundry accounts, {len(changed)} with changes{which}."


# -- plan ------------------------------------------------------------------------------------------------------
def plans_text(plans: Sequence[PlannedAccount], verbose: bool = False,
               chains: Sequence[PromotionChain] = ()) -> str:
    """Each account's plan under its heading, then the promotion chains, then the run's line."""
    parts = [f"{heading(ap)}\n\n{render.plan_text(ap.plan, verbose)}" for ap in plans]
    return "\n\n".join([*_with_chains(parts, chains, chains_text), f"[bold]{escape(run_line(plans))}[/]"])


def plans_json(plans: Sequence[PlannedAccount], chains: Sequence[PromotionChain] = ()) -> str:
    """`{"format_version": 1, "foundries": [{"foundry", "account", "account_id", "region", "plan": <a plan
    file's JSON>}], "changes": any account has changes, "promotion": [<chain>]}` (see `PromotionChain`)."""
    return _dumps({"format_version": FORMAT_VERSION, "changes": any(ap.plan.has_changes for ap in plans),
                   "foundries": [{**_entry(ap), "plan": ap.plan.to_dict()} for ap in plans],
                   "promotion": chains_json(chains)})


def plans_markdown(plans: Sequence[PlannedAccount], *, limit: int = render.MARKDOWN_LIMIT,
                   full_plan_hint: str = "", chains: Sequence[PromotionChain] = ()) -> str:
    """One PR comment: a table of the accounts with their summary line, then each account's plan as one account
    shows it, each within an equal share of the comment's limit."""
    head = ["## ftops plan over several Foundry accounts", "", f"**{run_line(plans)}**", "",
            "| Foundry | account | region | plan |", "|---|---|---|---|"]
    head += [f"| `{md_cell(ap.foundry)}` | `{md_cell(ap.plan.endpoint)}` | {md_cell(ap.region)} | "
             f"{md_cell(render.plan_summary_line(ap.plan))} |" for ap in plans]
    if chains:  # under the table: the chain is what a reviewer of a promotion reads first
        head += ["", chains_markdown(chains)]
    share = (limit - sum(len(x) + 1 for x in head)) // max(len(plans), 1) - 200
    sections = [f"## Foundry `{md_cell(ap.foundry)}` ({md_cell(ap.region)})\n\n"
                + render.plan_markdown(ap.plan, limit=share, full_plan_hint=full_plan_hint) for ap in plans]
    return "\n".join(head) + "\n\n" + "\n\n".join(sections)


# -- drift -----------------------------------------------------------------------------------------------------
def drifted(plans: Sequence[PlannedAccount]) -> bool:
    """Any account drifts (`ftops drift` exits 2)."""
    return any(drift_items(ap.plan) for ap in plans)


def drift_text(plans: Sequence[PlannedAccount]) -> str:
    parts = [f"{heading(ap)}\n{render.drift_text(drift_items(ap.plan), in_progress(ap.plan), ap.plan.project)}"
             for ap in plans]
    return "\n\n".join(parts)


def drift_json(plans: Sequence[PlannedAccount]) -> str:
    """`{"format_version": 1, "drift": any, "foundries": [{"foundry", "account", "account_id", "region",
    "drift": <one account's drift JSON>}]}`."""
    entries = [{**_entry(ap), "drift": orjson.loads(render.drift_json(drift_items(ap.plan), in_progress(ap.plan),
                                                                       ap.plan.project))} for ap in plans]
    return _dumps({"format_version": FORMAT_VERSION, "drift": drifted(plans), "foundries": entries})


def drift_markdown(plans: Sequence[PlannedAccount]) -> str:
    return "\n\n".join(f"## Foundry `{md_cell(ap.foundry)}` ({md_cell(ap.region)})\n\n"
                       + render.drift_markdown(drift_items(ap.plan), in_progress(ap.plan), ap.plan.project)
                       for ap in plans)


# -- status ----------------------------------------------------------------------------------------------------
def status_json(plans: Sequence[PlannedAccount], chains: Sequence[PromotionChain] = ()) -> str:
    """`{"format_version": 1, "foundries": [{"foundry", "account", "account_id", "region", "rows": [<one
    account's status rows>]}], "promotion": [<chain>]}`."""
    entries = [{**_entry(ap), "rows": [r.to_dict() for r in status_rows(ap.plan, ap.live.snapshot)]}
               for ap in plans]
    return _dumps({"format_version": FORMAT_VERSION, "foundries": entries, "promotion": chains_json(chains)})


def status_text(plans: Sequence[PlannedAccount], chains: Sequence[PromotionChain] = ()) -> list[Any]:
    """What `status` prints over several accounts, in order: a heading and a table per account, then the
    promotion chains."""
    parts: list[Any] = []
    for ap in plans:
        parts += [heading(ap), render.status_table(status_rows(ap.plan, ap.live.snapshot))]
    return _with_chains(parts, chains, chains_text)


def status_markdown(plans: Sequence[PlannedAccount], chains: Sequence[PromotionChain] = ()) -> str:
    parts = []
    for ap in plans:
        found = verdicts(ap.plan)
        parts.append(f"## Foundry `{md_cell(ap.foundry)}` ({md_cell(ap.region)})\n\n"
                     + render.status_markdown(status_rows(ap.plan, ap.live.snapshot))
                     + ("\n\n" + render.verdicts_markdown(found) if found else ""))
    return "\n\n".join(_with_chains(parts, chains, chains_markdown))
