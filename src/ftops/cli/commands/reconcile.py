"""`ftops plan`, `apply`, `drift` and `status`: thin wrappers over the plan and apply layers.

The layers (and with them openai and the Azure SDK) are imported inside the commands, so that
`ftops validate` and `--help` start fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..._exceptions import EXIT_CHANGES, ApplyFailed, UsageError
from .._output import err, is_tty, out

if TYPE_CHECKING:
    from ...apply import Session
    from ...plan import Plan


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


DIR = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory (default specs/).")
FORMAT = typer.Option(Format.text, "--format", "-f", help="text | json | markdown")


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        spec_dir: Path = DIR,
        out_file: Path = typer.Option(None, "--out", help="Save the plan (versioned JSON) for `apply FILE`."),
        fmt: Format = FORMAT,
        detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                               help="Exit 0 when there are no changes, 2 when there are."),
        prune: bool = typer.Option(False, "--prune", help="Plan deletion of managed objects no spec names."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list resources with no change."),
    ) -> None:
        """Read the live Foundry and show what apply would do, with estimated cost."""
        from ...apply import open_session, save_plan_file
        from ...plan import make_plan
        from .. import _render as render

        with open_session(spec_dir) as s:
            p = make_plan(s.checked, s.client, prune=prune)
        if out_file is not None:
            save_plan_file(p, out_file)
        if fmt is Format.json:
            out.print(render.plan_json(p), markup=False)
        elif fmt is Format.markdown:
            out.print(render.plan_markdown(p), markup=False)
        else:
            out.print(render.plan_text(p, verbose))
            if out_file is not None:
                out.print(f"\nSaved the plan to {out_file}; apply it with `ftops apply {out_file}`.", markup=False)
        if detailed_exitcode and p.has_changes:
            raise typer.Exit(EXIT_CHANGES)

    @app.command()
    def apply(
        target: Path = typer.Argument(Path("specs"), metavar="[DIR|PLANFILE]",
                                      help="Spec directory, or a plan file saved by `plan --out`."),
        auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
        wait: bool = typer.Option(False, "--wait", help="Follow jobs to the end, then roll out deployments."),
        prune: bool = typer.Option(False, "--prune", help="Delete managed objects no spec names (never jobs)."),
    ) -> None:
        """Make the live Foundry match the specs (idempotent; safe to interrupt and run again)."""
        from ...apply import check_fresh, load_plan_file, open_session
        from ...plan import make_plan
        from .. import _render as render

        if target.is_file():
            saved = load_plan_file(target)
            with open_session(saved.spec_dir) as s:
                check_fresh(saved, s)  # a plan file is applied verbatim, or refused if stale
                _execute(saved, s, wait)
            return
        with open_session(target) as s:
            p = make_plan(s.checked, s.client, prune=prune)
            out.print(render.plan_text(p))
            runnable = p.has_changes or (wait and any(a.action == "wait" for a in p.actions))
            if not runnable:
                out.print("\nNothing to apply.", markup=False)
                if any(a.blocked for a in p.actions):
                    raise ApplyFailed("some resources are blocked (see above)")
                return
            if not auto_approve:
                if not is_tty():
                    raise UsageError("refusing to apply without a terminal to confirm; pass --auto-approve")
                if not typer.confirm("\nApply these actions?", default=False):
                    raise UsageError("apply cancelled")
            _execute(p, s, wait)

    @app.command()
    def drift(spec_dir: Path = DIR, fmt: Format = FORMAT) -> None:
        """Read-only: classify how the live Foundry differs from the specs. Exit 0 in sync, 2 drift."""
        from ...plan._drift import drift_items
        from .. import _render as render

        p = _read_only_plan(spec_dir)
        items = drift_items(p)
        if fmt is Format.json:
            out.print(render.drift_json(items, p.project), markup=False)
        elif fmt is Format.markdown:
            out.print(render.drift_markdown(items, p.project), markup=False)
        else:
            out.print(render.drift_text(items, p.project))
        if items:
            raise typer.Exit(EXIT_CHANGES)

    @app.command()
    def status(spec_dir: Path = DIR, fmt: Format = FORMAT) -> None:
        """A table of managed resources with live status, progress and the model each deployment serves."""
        from ...plan._status import status_rows
        from .. import _render as render

        rows = status_rows(_read_only_plan(spec_dir))
        if fmt is Format.json:
            out.print(render.status_json(rows), markup=False)
        elif fmt is Format.markdown:
            out.print(render.status_markdown(rows), markup=False)
        else:
            out.print(render.status_table(rows))


def _read_only_plan(spec_dir: Path) -> Plan:
    from ...apply import open_session
    from ...plan import make_plan

    with open_session(spec_dir) as s:
        return make_plan(s.checked, s.client)


def _execute(p: Plan, s: Session, wait: bool) -> None:
    from ...apply import apply_plan
    from .. import _render as render
    from .._progress import ProgressReporter

    foundry = s.checked.project.foundry
    concurrency = foundry.spec.concurrency if foundry else 8
    err.print("")
    with ProgressReporter(enabled=err.is_terminal) as reporter:
        result = apply_plan(p, s.checked, s.client, wait_jobs=wait, concurrency=concurrency, reporter=reporter)
    out.print("\n" + render.apply_summary(result))
    if not result.ok:
        raise ApplyFailed("some actions failed or were skipped (see above)")
