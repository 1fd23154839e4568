"""`ftops destroy`: delete the project's deployments and files (jobs stay), after showing the plan and asking."""

from __future__ import annotations

from pathlib import Path

import typer

from .._options import FOUNDRY
from .._output import confirm, out
from .reconcile import DIR, OVERRIDE, REASON


def register(app: typer.Typer) -> None:
    app.command()(destroy)


def destroy(
    spec_dir: Path = DIR,
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    override: list[str] | None = OVERRIDE,
    reason: str | None = REASON,
    foundry: str | None = FOUNDRY,
) -> None:
    """Delete every deployment and file of the project's namespace (jobs stay: Foundry keeps them).

    Shows the plan and the hosting it saves, then asks on a terminal; without a terminal it refuses unless
    --auto-approve. The project's policies judge the plan (noDeleteServing blocks it, for one).
    """
    from .._local import session
    from .._policies import overrides

    given = overrides(override, reason)
    with session(spec_dir, foundry) as s:
        from ...plan import apply_overrides, make_destroy_plan, require_policies
        from .. import _render as render
        from .reconcile import _execute

        p = make_destroy_plan(s.checked, s.client)
        apply_overrides(p, given)
        out.print(render.plan_text(p))
        require_policies(p)
        if not p.has_changes:
            out.print("\nNothing to destroy.", markup=False)
            return
        if not auto_approve:
            _confirm()
        _execute(p, s, wait=False, allow_downtime=False)


def _confirm() -> None:
    confirm("destroy", "\nDelete these deployments and files? Only 'y' goes on")
