"""`ftops plan`, `apply`, `drift` and `status`: thin wrappers over the plan and apply layers.

The layers (and with them openai and the Azure SDK) are imported inside the commands, so that
`ftops validate` and `--help` start fast.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ... import EXIT_CHANGES, ApplyFailed, FoundryNotChosen, StalePlanError, UsageError
from .._options import FOUNDRIES, chosen
from .._output import confirm, err, out, print_table

if TYPE_CHECKING:
    from ... import FtopsError
    from ...apply import ApplyResult
    from ...plan import GitSource, LiveState, Override, Plan, Upstream
    from ...session import Fleet, PlannedAccount, Session
    from ...spec import Project
    from .._progress import ProgressReporter


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
    foundry: list[str] | None = FOUNDRIES,
) -> None:
    """Read the live Foundry and show what apply would do, with estimated cost and its policies.

    Changes are what apply can do now; work that waits for Foundry (a running job, the rollout that
    follows it) is shown as pending and is not a change for --detailed-exitcode. A mandatory Policy that
    fails exits 1 naming it (after the plan is shown and saved).
    """
    from .._local import fleet
    from .._policies import overrides

    given = overrides(override, reason)
    with fleet(spec_dir, chosen(foundry)) as f:  # the SDKs load inside, while the local Foundry starts
        from ...session import plan_fleet, read_provenance, save_plan_file, save_plan_files
        from .. import _render as render

        plans = plan_fleet(f, prune=prune, provenance=read_provenance(f.project.spec_dir))
    _say_read_only(f, fmt)
    for ap in plans:
        _record_overrides(ap.plan, given)
    if len(plans) > 1:
        if out_file is not None:
            save_plan_files([ap.plan for ap in plans], out_file)
        _show_plans(plans, fmt, verbose, detailed_exitcode, out_file, f.project)
        return
    p = plans[0].plan
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


def _show_plans(plans: list[PlannedAccount], fmt: Format, verbose: bool, detailed_exitcode: bool,
                out_file: Path | None, project: Project) -> None:
    """Several accounts' plans, grouped by account, with the promotion chains they are stages of; one exit code
    for the run: 1 when any account's preflight or policies refuse it, else 2 under --detailed-exitcode when any
    account has changes."""
    from .. import _accounts as accounts

    chains = accounts.chains_of(project, plans)
    if fmt is Format.json:
        out.print(accounts.plans_json(plans, chains), markup=False)
    elif fmt is Format.markdown:
        hint = f"the whole plan is in {out_file}" if out_file is not None else ""
        out.print(accounts.plans_markdown(plans, full_plan_hint=hint, chains=chains), markup=False)
    else:
        out.print(accounts.plans_text(plans, verbose, chains))
        if out_file is not None:
            out.print(f"\nSaved the plans to {out_file}; apply them with `ftops apply {out_file}`.", markup=False)
    _refuse_any(plans)
    if detailed_exitcode and any(ap.plan.has_changes for ap in plans):
        raise typer.Exit(EXIT_CHANGES)


def _refuse_any(plans: list[PlannedAccount]) -> None:
    """Every account's preflight errors on stderr (each line naming its Foundry), then the first refusal of any
    account (preflight, then a blocking Policy) as the run's one error, before anything is applied."""
    from ...plan import require_policies
    from ...session import require_preflight
    from .. import _render as render
    from .._escape import terminal

    for ap in plans:
        for g in render.group_findings(ap.plan.refused):
            err.print(f"error: preflight: Foundry {ap.foundry}: {terminal(g.names(str))}: {terminal(g.message)}",
                      markup=False)
    for ap in plans:
        require_preflight(ap.plan)
    for ap in plans:
        require_policies(ap.plan)


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
    foundry: list[str] | None = FOUNDRIES,
) -> None:
    """Make the live Foundry match the specs (idempotent; safe to interrupt and run again).

    Run on a timer (a scheduled sync) it exits 0 when the only remaining work is Foundry's (jobs
    still training: the next run continues), and 1 when something failed or is blocked.
    """
    from .._local import fleet, session
    from .._policies import overrides

    given = overrides(override, reason)
    names = chosen(foundry)
    if target.is_file():
        from ...session import load_plans, saved_foundry, saved_spec_dir

        every = load_plans(target)
        if len(every) > 1:
            _apply_plan_files(every, names, Run(auto_approve, wait, prune, allow_downtime, given), on_stale)
            return
        [saved] = every
        if len(names) > 1:
            raise FoundryNotChosen(f"the plan file was made for Foundry {saved.foundry!r}, not --foundry "
                                   f"{', '.join(names)}")
        # The overrides the saved plan records were reviewed with it: they still let the same policies through.
        given = [*(r.override for r in saved.policies if r.override is not None), *given]
        name = saved_foundry(saved, names[0] if names else None)
        spec_dir = saved_spec_dir(saved, Path.cwd())
        if name is None:  # the only Foundry document: it follows no other account
            with session(spec_dir, name) as s:
                _apply_saved(saved, s, on_stale, Run(auto_approve, wait, prune, allow_downtime, given))
            return
        with fleet(spec_dir, [name]) as f:  # with the accounts it follows, read for their upstream facts
            upstream, live = _one_of(f, prune, Format.text)
            _apply_saved(saved, f.accounts[name].session, on_stale, Run(auto_approve, wait, prune, allow_downtime,
                                                                        given), upstream=upstream, live=live)
        return
    with fleet(target, names) as f:
        if not f.several:
            upstream, live = _one_of(f, prune, Format.text)
            _plan_confirm_execute(f.accounts[f.chosen[0]].session, auto_approve, wait, prune, allow_downtime, given,
                                  upstream=upstream, live=live)
        else:
            _apply_fleet(f, Run(auto_approve, wait, prune, allow_downtime, given))


def drift(spec_dir: Path = DIR, fmt: Format = FORMAT, foundry: list[str] | None = FOUNDRIES) -> None:
    """Read-only: git vs live. Exit 0 in sync, 2 when plan would change something (each one classified); over
    several accounts, 2 when any of them drifts."""
    from ...plan import drift_items, in_progress
    from .. import _accounts as accounts
    from .. import _render as render

    _, plans = _read_only_plans(spec_dir, chosen(foundry))
    if len(plans) > 1:
        text = {Format.json: accounts.drift_json, Format.markdown: accounts.drift_markdown}.get(fmt)
        out.print(text(plans) if text else accounts.drift_text(plans), markup=text is None)
        if accounts.drifted(plans):
            raise typer.Exit(EXIT_CHANGES)
        return
    p = plans[0].plan
    items, waiting = drift_items(p), in_progress(p)
    if fmt is Format.json:
        out.print(render.drift_json(items, waiting, p.project), markup=False)
    elif fmt is Format.markdown:
        out.print(render.drift_markdown(items, waiting, p.project), markup=False)
    else:
        out.print(render.drift_text(items, waiting, p.project))
    if items:
        raise typer.Exit(EXIT_CHANGES)


def status(spec_dir: Path = DIR, fmt: Format = FORMAT, foundry: list[str] | None = FOUNDRIES) -> None:
    """A table of managed resources with live status, progress and the model each deployment serves."""
    from ...plan import status_rows, verdicts
    from .. import _accounts as accounts
    from .. import _render as render

    project, plans = _read_only_plans(spec_dir, chosen(foundry))
    if len(plans) > 1:
        chains = accounts.chains_of(project, plans)
        if fmt is Format.json:
            out.print(accounts.status_json(plans, chains), markup=False)
        elif fmt is Format.markdown:
            out.print(accounts.status_markdown(plans, chains), markup=False)
        else:
            for part in accounts.status_text(plans, chains):
                print_table(part)
        return
    plan, live = plans[0].plan, plans[0].live
    rows = status_rows(plan, live.snapshot)
    if fmt is Format.json:
        out.print(render.status_json(rows), markup=False)
    elif fmt is Format.markdown:
        found = verdicts(plan)
        out.print(render.status_markdown(rows) + ("\n\n" + render.verdicts_markdown(found) if found else ""),
                  markup=False)
    else:
        print_table(render.status_table(rows))


def _read_only_plans(spec_dir: Path, names: list[str]) -> tuple[Project, list[PlannedAccount]]:
    """The whole Project (every Foundry's specs) and the chosen accounts' plans."""
    from .._local import fleet

    with fleet(spec_dir, names) as f:
        from ...session import plan_fleet

        _say_read_only(f, Format.json)  # on stderr: drift's and status's output stays what it was
        return f.project, plan_fleet(f)


def _say_read_only(f: Fleet, fmt: Format) -> None:
    """One line naming the accounts this run read only for what the chosen ones follow (none: nothing said);
    beside JSON, on stderr, so that stdout stays one document."""
    if not f.read_only:
        return
    line = (f"Read for upstream facts only (planned, never applied; not this run's changes): Foundry "
            f"{', '.join(sorted(f.read_only))}.")
    (err if fmt is Format.json else out).print(line, markup=False)


def _one_of(f: Fleet, prune: bool, fmt: Format) -> tuple[Upstream | None, LiveState | None]:
    """For a run of one chosen account: what the accounts it follows offer it, and its live state, all read at
    once (None, None: it follows no other account, and is read as before)."""
    from ...session import read_all, read_only_upstream

    if not f.read_only:
        return None, None
    _say_read_only(f, fmt)
    lives = read_all(f)
    return read_only_upstream(f, prune=prune, lives=lives), lives[f.chosen[0]]


def _apply_saved(saved: Plan, s: Session, on_stale: OnStale, run: Run, *, upstream: Upstream | None = None,
                 live: LiveState | None = None) -> None:
    """`apply FILE` of one account's plan: the fresh decision it approved (with what the accounts it follows
    offer now, as `plan` decided it with theirs), run."""
    fresh = _fresh_or_replan(saved, s, on_stale, run.auto_approve, run.prune, upstream=upstream, live=live)
    _record_overrides(fresh, run.given)
    _refuse_on_policies(fresh)
    _execute(fresh, s, run.wait, run.allow_downtime)


def _fresh_or_replan(saved: Plan, s: Session, on_stale: OnStale, auto_approve: bool, prune: bool, *,
                     upstream: Upstream | None = None, live: LiveState | None = None) -> Plan:
    """What the saved plan approved, if it still fits specs, data and live state; else refuse, or plan again
    if asked (only a stale plan: one that is not what ftops decides, with nothing moved, is always refused).
    `upstream` and `live`: an account of a run over several (what the accounts before it offer; its live state
    as the run read it)."""
    from ...plan import NO_UPSTREAM, make_plan
    from ...session import approve_replan, check_fresh, read_provenance
    from .. import _render as render

    upstream = upstream or NO_UPSTREAM
    try:
        # a fresh decision, run only when the file approved exactly it
        return check_fresh(saved, s, upstream=upstream, live=live)
    except StalePlanError as e:
        if on_stale is OnStale.fail:
            raise
        if not auto_approve:
            raise UsageError("--on-stale replan applies a plan nobody reviewed; it needs --auto-approve") from e
        err.print(f"the saved plan is stale ({e.message}); planning again", markup=False)
    # Replanning runs nothing of the file, and takes nothing of it but where the specs are: `prune: true` in
    # a stale file must not turn deletions on unreviewed (only `--prune` on this command line does).
    # A replan applies the specs as they are in this checkout, not the reviewed ones: it records this commit.
    fresh = make_plan(s.checked, s.client, prune=prune, upstream=upstream,
                      provenance=read_provenance(s.checked.project.spec_dir))
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
                          given: list[Override], *, upstream: Upstream | None = None,
                          live: LiveState | None = None) -> None:
    from ...apply import require_downtime_allowed
    from ...plan import NO_UPSTREAM, make_plan
    from ...session import read_provenance
    from .. import _render as render

    p = make_plan(s.checked, s.client, prune=prune, provenance=read_provenance(s.checked.project.spec_dir),
                  upstream=upstream or NO_UPSTREAM, live=live)
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
    out.print("\n" + render.apply_summary(result, p))
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


@dataclass(frozen=True)
class Run:
    """What `apply` over several accounts was asked to do (its flags)."""

    auto_approve: bool
    wait: bool
    prune: bool
    allow_downtime: bool
    given: list[Override]
    provenance: GitSource | None = None  # the git source the plans record (a plan file's: the reviewed commit)


def _runnable(p: Plan) -> bool:
    return p.has_changes or any(a.action == "wait" or a.pending for a in p.actions)


def _apply_fleet(f: Fleet, run: Run) -> None:
    """Every account's plan shown, one confirmation, then the waves applied in order (`_apply_waves`)."""
    from ...apply import require_downtime_allowed
    from ...session import plan_fleet, read_provenance
    from .. import _accounts as accounts

    run = dataclasses.replace(run, provenance=read_provenance(f.project.spec_dir))
    plans = plan_fleet(f, prune=run.prune, provenance=run.provenance)
    _say_read_only(f, Format.text)
    for ap in plans:
        _record_overrides(ap.plan, run.given)
    out.print(accounts.plans_text(plans, chains=accounts.chains_of(f.project, plans)))
    _refuse_any(plans)
    if not any(_runnable(ap.plan) for ap in plans):
        out.print("\nNothing to apply.", markup=False)
        for ap in plans:
            _notify(ap.plan, f.accounts[ap.foundry].session)
        if any(a.blocked for ap in plans for a in ap.plan.actions):
            raise ApplyFailed("some resources are blocked (see above)")
        return
    for ap in plans:
        require_downtime_allowed(ap.plan, run.allow_downtime)  # before asking: the answer could not change it
    if any(ap.plan.has_changes for ap in plans) and not run.auto_approve:
        _confirm()
    _apply_waves(f, {ap.foundry: ap.plan for ap in plans}, run)


def _apply_waves(f: Fleet, shown: dict[str, Plan], run: Run) -> None:
    """Wave by wave: the accounts of a wave at once (with --wait each followed to its end); a later wave planned
    again, since the waves before it moved its upstream, and run only when it makes no change the plan shown did
    not hold (unless --auto-approve). A failed or refused account stops the waves after it; exit 1."""
    from ...plan import NO_UPSTREAM
    from ...session import plan_wave, upstream_after
    from .._progress import ProgressReporter

    upstream, failed, applied = NO_UPSTREAM, list[str](), False
    for i, wave in enumerate(f.waves):
        mine = [n for n in wave if n not in f.read_only]  # a read-only account only offers: never applied
        # the plans shown hold until an account of this run changed something before them
        todo = {n: shown[n] for n in mine} if not applied else _replanned(f, mine, upstream, shown, run, failed)
        if todo:  # every account of a later wave may have been refused
            err.print("")
            with ProgressReporter(enabled=err.is_terminal) as reporter:
                results = _apply_accounts(f, todo, run, reporter)
            failed += _report(f, todo, results)
            applied = True
        later = [n for w in f.waves[i + 1:] for n in w if n not in f.read_only]
        if failed:
            if later:
                err.print(f"error: not applied: Foundry {', '.join(later)} (planned after Foundry "
                          f"{', '.join(failed)}, which did not apply)", markup=False)
            break
        if later:  # what this wave offers the next, read again now that it ran
            upstream = upstream.merged(upstream_after(plan_wave(f, wave, upstream, prune=run.prune,
                                                                provenance=run.provenance)))
    if failed:
        raise ApplyFailed(f"Foundry {', '.join(failed)}: some actions failed, were skipped, are blocked or were "
                          "refused (see above)")


def _replanned(f: Fleet, wave: list[str], upstream: Upstream, shown: dict[str, Plan], run: Run,
               failed: list[str]) -> dict[str, Plan]:
    """A later wave's plans, decided again with the upstream the earlier waves left: each account whose fresh
    plan makes a change nobody reviewed is refused in one line (added to `failed`), unless --auto-approve."""
    from ... import FtopsError
    from ...apply import require_downtime_allowed
    from ...plan import require_policies
    from ...session import plan_wave, require_preflight, unreviewed

    todo: dict[str, Plan] = {}
    for name, ap in plan_wave(f, wave, upstream, prune=run.prune, provenance=run.provenance).items():
        p = ap.plan
        _record_overrides(p, run.given)
        new = unreviewed(shown[name], p)
        if new and not run.auto_approve:
            first = new[0]
            err.print(f"error: Foundry {name}: planned again after the earlier accounts applied, it would "
                      f"{first.action} {first.resource} ({len(new)} change(s) the plan shown did not hold): "
                      "refusing it; review a new plan (or pass --auto-approve)", markup=False)
            failed.append(name)
            continue
        try:
            require_preflight(p)
            require_policies(p)
            require_downtime_allowed(p, run.allow_downtime)
        except FtopsError as e:
            err.print(f"error: Foundry {name}: {e.message}", markup=False)
            failed.append(name)
            continue
        todo[name] = p
    return todo


def _apply_accounts(f: Fleet, todo: dict[str, Plan], run: Run,
                    reporter: ProgressReporter) -> dict[str, ApplyResult | FtopsError]:
    """Each account's plan applied at once on a thread of its own (one deployment write at a time per account,
    as apply does for one); an account's error is its result, not the others' end."""
    from ... import FtopsError
    from ...apply import INTERRUPT_GRACE, apply_plan, require_permissions
    from ...session import for_each

    # Ctrl-C reaches this (the main) thread only: it sets `stop`, and each account's apply ends as one account's
    # apply ends on Ctrl-C (nothing new starts, its steps in flight finish their requests within the grace).
    stop = threading.Event()

    def applied(name: str) -> ApplyResult | FtopsError:
        s, p = f.accounts[name].session, todo[name]
        foundry = s.checked.project.foundry
        try:
            require_permissions(p, s.client)
            return apply_plan(p, s.checked, s.client, wait_jobs=run.wait,
                              concurrency=foundry.spec.concurrency if foundry else 8,
                              reporter=reporter.for_account(name), allow_downtime=run.allow_downtime,
                              interrupt=stop)
        except FtopsError as e:
            return e

    return for_each(list(todo), applied, stop=stop, grace=INTERRUPT_GRACE + 1.0)


def _report(f: Fleet, todo: dict[str, Plan], results: dict[str, ApplyResult | FtopsError]) -> list[str]:
    """Each account's apply summary under its Foundry's name, its notifications delivered; the accounts that
    failed."""
    from ... import FtopsError
    from .. import _render as render
    from .._escape import terminal

    failed: list[str] = []
    for name, result in results.items():
        out.print(f"\n[bold]== Foundry {name}[/]")
        if isinstance(result, FtopsError):
            err.print(f"error: Foundry {name}: {terminal(result.message)}", markup=False)
            failed.append(name)
            continue
        out.print(render.apply_summary(result, todo[name]))
        _notify(todo[name], f.accounts[name].session)
        if not result.ok:
            failed.append(name)
    return failed


def _apply_plan_files(saved: list[Plan], names: list[str], run: Run, on_stale: OnStale) -> None:
    """`apply FILE` of a run over several accounts: every saved plan verified against a fresh decision (wave by
    wave, each with the upstream of the fresh plans before it) before any change, then the waves applied as
    `apply DIR` applies them, a later wave again only within what the file approved."""
    from ...session import saved_spec_dir

    recorded = [p.foundry for p in saved]
    if names and sorted(names) != sorted(recorded):
        raise FoundryNotChosen(f"the plan file was made for Foundry {', '.join(recorded)}, not --foundry "
                               f"{', '.join(names)}")
    # The overrides the saved plans record were reviewed with them: they still let the same policies through.
    given = [*(r.override for p in saved for r in p.policies if r.override is not None), *run.given]
    run = Run(run.auto_approve, run.wait, run.prune, run.allow_downtime, given, saved[0].provenance)
    from .._local import fleet

    with fleet(saved_spec_dir(saved[0], Path.cwd()), recorded) as f:
        _say_read_only(f, Format.text)
        fresh = _fresh_fleet(f, {p.foundry: p for p in saved}, on_stale, run)
        for p in fresh.values():
            _record_overrides(p, run.given)
            _refuse_on_policies(p)
        _apply_waves(f, fresh, run)


def _fresh_fleet(f: Fleet, saved: dict[str, Plan], on_stale: OnStale, run: Run) -> dict[str, Plan]:
    """Each account's fresh decision, approved by its saved plan (`check_fresh`), read at once and decided wave
    by wave as `plan` decided them; a refusal names its Foundry."""
    from ... import FtopsError
    from ...plan import NO_UPSTREAM
    from ...session import PlannedAccount, plan_wave, read_all, upstream_after

    lives, upstream, fresh = read_all(f), NO_UPSTREAM, {}
    for wave in f.waves:
        # a read-only account is planned (not checked: the file holds no plan of it) for what it offers
        ro = [n for n in wave if n in f.read_only]
        planned = plan_wave(f, ro, upstream, prune=run.prune, lives=lives) if ro else {}
        for name in wave:
            if name in f.read_only:
                continue
            acc = f.accounts[name]
            try:
                fresh[name] = _fresh_or_replan(saved[name], acc.session, on_stale, run.auto_approve, run.prune,
                                               upstream=upstream, live=lives[name])
            except FtopsError as e:
                e.message = f"Foundry {name}: {e.message}"
                e.args = (e.message,)
                raise
            planned[name] = PlannedAccount(name, acc.region, acc.client.account_id, fresh[name], lives[name])
        upstream = upstream.merged(upstream_after(planned))
    return fresh
