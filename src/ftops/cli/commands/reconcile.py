"""`ftops plan`, `apply`, `drift` and `status`: thin wrappers over the plan and apply layers.

The layers (and with them openai and the Azure SDK) are imported inside the commands, so that
`ftops validate` and `--help` start fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ... import EXIT_CHANGES, ApplyFailed, StalePlanError, UsageError
from .._options import FOUNDRY
from .._output import confirm, err, out

if TYPE_CHECKING:
    from ...plan import Override, Plan
    from ...session import Session


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class OnStale(StrEnum):
    fail = "fail"
    replan = "replan"


DIR = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory (default specs/).")
FORMAT = typer.Option(Format.text, "--format", "-f", help="text | json | markdown")
OVERRIDE = typer.Option(None, "--override", metavar="NAME",
                        help="Let a failed soft-mandatory Policy through (repeatable; needs --reason). Recorded in the "
                             "plan, and as the ftops-override tag or metadata of what it lets through.")
REASON = typer.Option(None, "--reason", metavar="TEXT", help="Why the --override policies are let through.")


def register(app: typer.Typer) -> None:
    app.command()(plan)
    app.command()(apply)
    app.command()(drift)
    app.command()(status)


def plan(
    spec_dir: Path = DIR,
    out_file: Path = typer.Option(None, "--out", help="Save the plan (versioned JSON) for `apply FILE`."),
    fmt: Format = FORMAT,
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                           help="Exit 0 when there are no changes, 2 when there are."),
    prune: bool = typer.Option(False, "--prune", help="Plan deletion of managed objects no spec names."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list resources with no change."),
    override: list[str] | None = OVERRIDE,
    reason: str | None = REASON,
    foundry: str | None = FOUNDRY,
) -> None:
    """Read the live Foundry and show what apply would do, with estimated cost and its policies.

    Changes are what apply can do now; work that waits for Foundry (a running job, the rollout that
    follows it) is shown as pending and is not a change for --detailed-exitcode. A mandatory Policy that
    fails exits 1 naming it (after the plan is shown and saved).
    """
    from .._local import session
    from .._policies import overrides

    given = overrides(override, reason)

    with session(spec_dir, foundry) as s:  # the SDKs load inside, while the local Foundry starts on the other core
        from ...plan import make_plan
        from ...session import read_provenance, save_plan_file
        from .. import _render as render

        p = make_plan(s.checked, s.client, prune=prune, provenance=read_provenance(s.checked.project.spec_dir))
    _record_overrides(p, given)
    if out_file is not None:
        save_plan_file(p, out_file)
    if fmt is Format.json:
        out.print(render.plan_json(p), markup=False)
    elif fmt is Format.markdown:
        hint = f"the whole plan is in {out_file}" if out_file is not None else ""
        out.print(render.plan_markdown(p, full_plan_hint=hint), markup=False)
    else:
        out.print(render.plan_text(p, verbose))
        if out_file is not None:
            out.print(f"\nSaved the plan to {out_file}; apply it with `ftops apply {out_file}`.", markup=False)
    _refuse_on_preflight(p)
    _refuse_on_policies(p)
    if detailed_exitcode and p.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def apply(
    target: Path = typer.Argument(Path("specs"), metavar="[DIR|PLANFILE]",
                                  help="Spec directory, or a plan file saved by `plan --out`."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    wait: bool = typer.Option(False, "--wait", help="Follow jobs to the end, then roll out deployments."),
    prune: bool = typer.Option(False, "--prune", help="Delete managed objects no spec names (never jobs)."),
    on_stale: OnStale = typer.Option(OnStale.fail, "--on-stale",
                                     help="For a PLANFILE whose specs, data or live state changed since it was "
                                          "made: fail (default), or replan (show a new plan and apply it; "
                                          "needs --auto-approve)."),
    allow_downtime: bool = typer.Option(False, "--allow-downtime",
                                        help="Allow changes Azure makes only by deleting a deployment and creating "
                                             "it again (a new sku name): it serves nothing in between. The plan "
                                             "marks them INTERRUPTS SERVING; without this flag apply refuses them "
                                             "before any change."),
    override: list[str] | None = OVERRIDE,
    reason: str | None = REASON,
    foundry: str | None = FOUNDRY,
) -> None:
    """Make the live Foundry match the specs (idempotent; safe to interrupt and run again).

    Run on a timer (a scheduled sync) it exits 0 when the only remaining work is Foundry's (jobs
    still training: the next run continues), and 1 when something failed or is blocked.
    """
    from .._local import session
    from .._policies import overrides

    given = overrides(override, reason)
    if target.is_file():
        from ...session import load_plan_file, saved_foundry, saved_spec_dir

        saved = load_plan_file(target)
        # The overrides the saved plan records were reviewed with it: they still let the same policies through.
        given = [*(r.override for r in saved.policies if r.override is not None), *given]
        with session(saved_spec_dir(saved, Path.cwd()), saved_foundry(saved, foundry)) as s:
            fresh = _fresh_or_replan(saved, s, on_stale, auto_approve, prune)
            _record_overrides(fresh, given)
            _refuse_on_policies(fresh)
            _execute(fresh, s, wait, allow_downtime)
        return
    with session(target, foundry) as s:
        _plan_confirm_execute(s, auto_approve, wait, prune, allow_downtime, given)


def drift(spec_dir: Path = DIR, fmt: Format = FORMAT, foundry: str | None = FOUNDRY) -> None:
    """Read-only: git vs live. Exit 0 in sync, 2 when plan would change something (each one classified)."""
    from ...plan import drift_items, in_progress
    from .. import _render as render

    p = _read_only_plan(spec_dir, foundry)
    items, waiting = drift_items(p), in_progress(p)
    if fmt is Format.json:
        out.print(render.drift_json(items, waiting, p.project), markup=False)
    elif fmt is Format.markdown:
        out.print(render.drift_markdown(items, waiting, p.project), markup=False)
    else:
        out.print(render.drift_text(items, waiting, p.project))
    if items:
        raise typer.Exit(EXIT_CHANGES)


def status(spec_dir: Path = DIR, fmt: Format = FORMAT, foundry: str | None = FOUNDRY) -> None:
    """A table of managed resources with live status, progress and the model each deployment serves."""
    from ...plan import status_rows, verdicts
    from .. import _render as render
    from .._local import session

    with session(spec_dir, foundry) as s:
        from ...plan import make_plan, read_live

        live = read_live(s.client)
        plan = make_plan(s.checked, s.client, live=live)
    rows = status_rows(plan, live.snapshot)
    if fmt is Format.json:
        out.print(render.status_json(rows), markup=False)
    elif fmt is Format.markdown:
        found = verdicts(plan)
        out.print(render.status_markdown(rows) + ("\n\n" + render.verdicts_markdown(found) if found else ""),
                  markup=False)
    else:
        out.print(render.status_table(rows))


def _read_only_plan(spec_dir: Path, foundry: str | None) -> Plan:
    from .._local import session

    with session(spec_dir, foundry) as s:
        from ...plan import make_plan

        return make_plan(s.checked, s.client)


def _fresh_or_replan(saved: Plan, s: Session, on_stale: OnStale, auto_approve: bool, prune: bool) -> Plan:
    """What the saved plan approved, if it still fits specs, data and live state; else refuse, or plan again
    if asked (only a stale plan: one that is not what ftops decides, with nothing moved, is always refused)."""
    from ...plan import make_plan
    from ...session import approve_replan, check_fresh, read_provenance
    from .. import _render as render

    try:
        return check_fresh(saved, s)  # a fresh decision, run only when the file approved exactly it
    except StalePlanError as e:
        if on_stale is OnStale.fail:
            raise
        if not auto_approve:
            raise UsageError("--on-stale replan applies a plan nobody reviewed; it needs --auto-approve") from e
        err.print(f"the saved plan is stale ({e.message}); planning again", markup=False)
    # Replanning runs nothing of the file, and takes nothing of it but where the specs are: `prune: true` in
    # a stale file must not turn deletions on unreviewed (only `--prune` on this command line does).
    # A replan applies the specs as they are in this checkout, not the reviewed ones: it records this commit.
    fresh = make_plan(s.checked, s.client, prune=prune, provenance=read_provenance(s.checked.project.spec_dir))
    out.print(render.plan_text(fresh))
    _refuse_on_preflight(fresh)
    return approve_replan(saved, fresh)


def _refuse_on_preflight(p: Plan) -> None:
    """Preflight errors: one line per cause on stderr (naming its resources), then exit 1 before anything
    is applied."""
    from ...session import require_preflight
    from .. import _render as render
    from .._escape import terminal

    for g in render.group_findings(p.refused):
        err.print(f"error: preflight: {terminal(g.names(str))}: {terminal(g.message)}", markup=False)
    require_preflight(p)


def _record_overrides(p: Plan, given: list[Override]) -> None:
    from ...plan import apply_overrides

    apply_overrides(p, given)


def _refuse_on_policies(p: Plan) -> None:
    """A failed mandatory Policy that no override lets through: one error line naming each such Policy and its
    rule (exit 1), before anything is applied."""
    from ...plan import require_policies

    require_policies(p)


def _plan_confirm_execute(s: Session, auto_approve: bool, wait: bool, prune: bool, allow_downtime: bool,
                          given: list[Override]) -> None:
    from ...apply import require_downtime_allowed
    from ...plan import make_plan
    from ...session import read_provenance
    from .. import _render as render

    p = make_plan(s.checked, s.client, prune=prune, provenance=read_provenance(s.checked.project.spec_dir))
    _record_overrides(p, given)
    out.print(render.plan_text(p))
    _refuse_on_preflight(p)
    _refuse_on_policies(p)
    runnable = p.has_changes or any(a.action == "wait" or a.pending for a in p.actions)
    if not runnable:
        out.print("\nNothing to apply.", markup=False)
        _notify(p, s)
        if any(a.blocked for a in p.actions):
            raise ApplyFailed("some resources are blocked (see above)")
        return
    require_downtime_allowed(p, allow_downtime)  # before asking: the answer could not change it
    if p.has_changes and not auto_approve:
        _confirm()
    _execute(p, s, wait, allow_downtime)


def _confirm() -> None:
    confirm("apply", "\nApply these actions?")


def _execute(p: Plan, s: Session, wait: bool, allow_downtime: bool) -> None:
    from ...apply import apply_plan, require_permissions
    from .. import _render as render
    from .._progress import ProgressReporter

    require_permissions(p, s.client)  # Entra ID: a role that lacks an action refuses the apply before any change
    foundry = s.checked.project.foundry
    concurrency = foundry.spec.concurrency if foundry else 8
    err.print("")
    with ProgressReporter(enabled=err.is_terminal) as reporter:
        result = apply_plan(p, s.checked, s.client, wait_jobs=wait, concurrency=concurrency, reporter=reporter,
                            allow_downtime=allow_downtime)
    out.print("\n" + render.apply_summary(result))
    _notify(p, s)
    if not result.ok:
        raise ApplyFailed("some actions failed, were skipped or are blocked (see above)")


def _notify(p: Plan, s: Session) -> None:
    """Deliver the plan's notifications: a line each; a failed one is a warning, never a failed apply."""
    from ...apply import deliver
    from .._escape import terminal

    for d in deliver(p, s.checked, s.client):
        what = f"notification {d.notice.notification} ({d.notice.event}, {d.notice.resource})"
        if d.outcome == "failed":
            err.print(f"warning: {terminal(what)} not delivered: {terminal(d.detail)}", markup=False)
        elif d.outcome == "sent":
            out.print(f"sent {terminal(what)}", markup=False)
