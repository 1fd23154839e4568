"""`ftops merge-plans FILE...`: the plans several CI runners saved (one account each) as ONE pull-request comment.

Offline: it reads the plan files and, when the spec directory they name is in the checkout, the specs (each
account's region, and the accounts no file came for); it connects to nothing.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ... import EXIT_CHANGES, FtopsError, UsageError
from .._output import out

if TYPE_CHECKING:
    from ...session import MergedPlans


class MergedFormat(StrEnum):
    markdown = "markdown"
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("merge-plans")(merge_plans)


def merge_plans(
    files: list[Path] = typer.Argument(..., metavar="FILE...",
                                       help="Plan files saved by `plan --out`, one per account."),
    fmt: MergedFormat = typer.Option(MergedFormat.markdown, "--format", "-f", help="markdown | text | json"),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                           help="Exit 0 when no account has changes, 2 when any has."),
    require_all: bool = typer.Option(False, "--require-all",
                                     help="Exit 1 (after the output) when an account of the spec directory has no "
                                          "plan file: its runner failed. Needs the spec directory in the checkout."),
) -> None:
    """Merge the plans of one spec directory's accounts, each saved on its own runner (`plan --foundry NAME --out
    FILE`), into one comment: a table of the accounts (region, changes, cost, policies), then each account's plan,
    cut per account to fit GitHub's comment size. Two files for one Foundry, or files of different spec
    directories, are refused. Like `plan`, exits 1 after the output when an account's plan fails preflight or a
    mandatory Policy."""
    from ...session import merge_plan_files
    from .. import _render as render

    merged = merge_plan_files(files, Path("."))
    if require_all and not merged.specs_read:
        raise UsageError(f"--require-all: the spec directory the plan files name ({merged.spec_dir[:80]}) is not in "
                         "the current directory, so the accounts it declares are not known")
    if fmt is MergedFormat.json:
        out.print(render.merged_json(merged), markup=False)
    elif fmt is MergedFormat.markdown:
        out.print(render.merged_markdown(merged), markup=False)
    else:
        out.print(render.merged_text(merged))
    _refuse_as_plan_does(merged)
    if require_all and merged.missing:
        raise FtopsError(f"no plan file for Foundry {', '.join(merged.missing)} of {merged.spec_dir[:80]}: its plan "
                         "job failed or was skipped (its log says why)")
    if detailed_exitcode and merged.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def _refuse_as_plan_does(merged: MergedPlans) -> None:
    """The first account whose plan `plan` itself ends in exit 1 (preflight, a mandatory Policy): the same
    error, naming its file and account, with a count of the others."""
    from ...plan import require_policies
    from ...session import require_preflight

    failed: list[tuple[str, FtopsError]] = []
    for a in merged.accounts:
        try:
            require_preflight(a.plan)
            require_policies(a.plan)
        except FtopsError as e:
            failed.append((a.path, type(e)(f"Foundry {a.foundry or '(the only one)'}: {e.message}")))
    if failed:
        path, first = failed[0]
        more = f" (and {len(failed) - 1} more account(s))" if len(failed) > 1 else ""
        raise type(first)(first.message + more, path=path)
