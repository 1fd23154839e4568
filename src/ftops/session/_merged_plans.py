"""The plans of one spec directory's accounts, each made on its own CI runner (`plan --out`, one Foundry per
file), read together for ONE pull-request comment (`ftops merge-plans`).

Every file is read whole by `load_plans` (one line naming the file for whatever is wrong with it). The
set is refused when it does not describe one spec directory's accounts once each: two files for one Foundry,
files made for different spec directories, a file for a Foundry the specs do not declare. The specs, when
the recorded spec directory is in the checkout, give each account its region and name the accounts no file
came for (a runner that failed or was skipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import UsageError
from ..plan import Plan
from ..spec import account_entries, load_project
from ._plan_files import load_plans

SHOWN_CHARS = 60


@dataclass(frozen=True)
class AccountPlan:
    """One account's saved plan: the file it came from, its Foundry document and that document's region."""

    path: str  # as given on the command line
    foundry: str  # the Foundry document (metadata.name); "" for an older file of a one-account directory
    region: str | None  # from the specs; None when the specs were not read
    plan: Plan


@dataclass(frozen=True)
class MergedPlans:
    """The plans of one spec directory's accounts, by Foundry name, and the accounts no plan file came for."""

    spec_dir: str
    accounts: tuple[AccountPlan, ...]
    missing: tuple[str, ...]  # Foundry documents of the specs without a plan file (empty when not read)
    specs_read: bool

    @property
    def has_changes(self) -> bool:
        return any(a.plan.has_changes for a in self.accounts)


def merge_plan_files(paths: Sequence[str | Path], cwd: Path) -> MergedPlans:
    """Read the plan files of several accounts as one set; UsageError (one line, naming the file) when they
    are not the plans of one spec directory's accounts, one file each."""
    if not paths:
        raise UsageError("no plan files given: pass the files `ftops plan --out` saved, one per account")
    # A file of a run over several accounts (`plan --out` on one machine) holds each account's plan: each counts
    # as one account's file, so it merges alone or with the runners' files (a second plan for one Foundry is
    # still refused, naming both files).
    loaded = [(str(p), plan) for p in paths for plan in load_plans(p)]
    _require_one_spec_dir(loaded)
    _require_one_file_per_foundry(loaded)
    spec_dir = loaded[0][1].spec_dir
    regions = _regions(spec_dir, cwd)
    names = set(regions) if regions is not None else set()
    accounts = [_account(path, plan, regions, spec_dir) for path, plan in loaded]
    missing = sorted(names - {a.foundry for a in accounts}) if regions is not None else []
    return MergedPlans(spec_dir=spec_dir, accounts=tuple(sorted(accounts, key=lambda a: a.foundry)),
                       missing=tuple(missing), specs_read=regions is not None)


def _require_one_spec_dir(loaded: list[tuple[str, Plan]]) -> None:
    first_path, first = loaded[0]
    for path, plan in loaded[1:]:
        if plan.spec_dir != first.spec_dir:
            raise UsageError(f"made for spec directory {_shown(plan.spec_dir)}, {first_path} for "
                             f"{_shown(first.spec_dir)}: one comment merges the plans of one spec directory",
                             path=path)


def _require_one_file_per_foundry(loaded: list[tuple[str, Plan]]) -> None:
    seen: dict[str, str] = {}
    for path, plan in loaded:
        if plan.foundry in seen:
            which = f"Foundry {plan.foundry}" if plan.foundry else "the spec directory's only Foundry"
            raise UsageError(f"a second plan for {which} (the first: {seen[plan.foundry]}): give one plan file "
                             "per account", path=path)
        seen[plan.foundry] = path


def _account(path: str, plan: Plan, regions: dict[str, str] | None, spec_dir: str) -> AccountPlan:
    if regions is None:
        return AccountPlan(path=path, foundry=plan.foundry, region=None, plan=plan)
    # An older plan file records no Foundry: it was made when its directory had only one.
    name = plan.foundry or (next(iter(regions)) if len(regions) == 1 else "")
    if name not in regions:
        raise UsageError(f"made for Foundry {_shown(plan.foundry)}, which {_shown(spec_dir)} does not declare "
                         f"(Foundry documents: {', '.join(sorted(regions)) or 'none'})", path=path)
    return AccountPlan(path=path, foundry=name, region=regions[name], plan=plan)


def _regions(spec_dir: str, cwd: Path) -> dict[str, str] | None:
    """Each Foundry document's region, from the specs the plans name when they are in the checkout (inside
    `cwd`, as for `apply PLANFILE`); None when they are not there (the files merged on another machine)."""
    where = (cwd / spec_dir).resolve()
    if not where.is_relative_to(cwd.resolve()) or not where.is_dir():
        return None
    return {e.foundry: e.region for e in account_entries(load_project(cwd / spec_dir))}


def _shown(text: str) -> str:
    return repr(text) if len(text) <= SHOWN_CHARS else repr(text[:SHOWN_CHARS]) + "..."
