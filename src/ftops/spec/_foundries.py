"""Several Foundry documents in one spec directory: which Foundry each resource lives in, the references that
cross from one to another (only a Deployment's model may), the order accounts are planned in (`account_waves`),
and the Project of one Foundry (`narrow`, `choose_foundry`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import FoundryNotChosen, Problem
from ._documents import FoundrySpec, JobRef

if TYPE_CHECKING:
    from ._project import Project, Resource

def foundry_names(project: Project) -> list[str]:
    return sorted(project.foundries)


def assign_foundries(project: Project, problems: list[Problem]) -> None:
    """Resolve every resource's `metadata.foundry` (the only Foundry when one, else required and known)."""
    names = foundry_names(project)
    for res in project.foundries.values():
        if res.foundry is not None:
            problems.append(Problem("metadata.foundry is for the resources of a Foundry, not a Foundry document",
                                    res.path, res.doc.line_of(("metadata", "foundry"))))
    for collection in project.resources.values():
        for name, res in collection.items():
            chosen = _chosen(res, names, problems)
            if chosen is not None:
                collection[name] = dataclasses.replace(res, foundry=chosen)


def _chosen(res: Resource[Any], names: list[str], problems: list[Problem]) -> str | None:
    if res.foundry is None:
        if len(names) == 1:
            return names[0]
        if names:
            problems.append(Problem(f"{res.kind} {res.name!r} names no Foundry, and this directory has several: add "
                                    f"metadata.foundry: one of {', '.join(names)}", res.path, res.line))
        return None
    if res.foundry not in names:
        problems.append(Problem(f"metadata.foundry names Foundry {res.foundry!r}, which no spec defines (Foundry "
                                f"documents: {', '.join(names) or 'none'})", res.path,
                                res.doc.line_of(("metadata", "foundry"))))
        return None
    return res.foundry


def _references(project: Project) -> Iterator[tuple[Resource[Any], tuple[str | int, ...], Resource[Any] | None]]:
    """(resource, where in its spec, the resource it names) for every reference between resources."""
    for job in project.jobs.values():
        for field_name, ref in (("trainingData", job.spec.training_data), ("validationData", job.spec.validation_data)):
            if ref is not None:
                yield job, (field_name,), project.datasets.get(ref)
        if isinstance(job.spec.base_model, JobRef):
            yield job, ("baseModel",), project.jobs.get(job.spec.base_model.job)
    for dep in project.deployments.values():
        if (job_ref := dep.spec.job_ref) is not None:
            yield dep, ("model", "job"), project.jobs.get(job_ref.job)
        if (follow := dep.spec.follows) is not None:
            yield dep, ("model", "deployment"), project.deployments.get(follow.deployment)
        if dep.spec.evaluation is not None:
            yield dep, ("evaluation", "name"), project.evaluations.get(dep.spec.evaluation.name)
        if dep.spec.rai_policy_name is not None:
            yield dep, ("raiPolicyName",), project.rai_policies.get(dep.spec.rai_policy_name)
    for ev in project.evaluations.values():
        yield ev, ("dataset",), project.datasets.get(ev.spec.dataset)
        for i, c in enumerate(ev.spec.criteria):
            judge = getattr(c, "deployment", None)
            if isinstance(judge, str):
                yield ev, ("criteria", i, "deployment"), project.deployments.get(judge)


# The references that may cross from one Foundry account to another: a Deployment's model (a follower, and a
# cross-account deployment of a job's final model; `_promotion.check_follows` says what each may be).
ACROSS_ACCOUNTS = frozenset({("model", "job"), ("model", "deployment")})


def _crossing(project: Project) -> Iterator[tuple[Resource[Any], tuple[str | int, ...], Resource[Any]]]:
    for res, loc, target in _references(project):
        if target is not None and res.foundry is not None and target.foundry is not None and \
                res.foundry != target.foundry:
            yield res, loc, target


def check_cross_references(project: Project, problems: list[Problem]) -> None:
    """A reference from a resource of one Foundry to one of another: only a Deployment's model may cross."""
    for res, loc, target in _crossing(project):
        if loc in ACROSS_ACCOUNTS:
            continue
        problems.append(Problem(
            f"{'.'.join(str(p) for p in loc)} names {target.kind} {target.name!r} of Foundry {target.foundry!r}, but "
            f"this {res.kind} is in Foundry {res.foundry!r}: across Foundry accounts only a Deployment's model may "
            "refer (model: {job: NAME} or {deployment: NAME}); training on another account's data is not supported",
            res.path, res.line_of(*loc)))


def _upstream_accounts(project: Project) -> dict[str, set[str]]:
    """Each Foundry's accounts to plan before it: those whose Deployment or job one of its Deployments names."""
    before: dict[str, set[str]] = {name: set() for name in foundry_names(project)}
    for res, loc, target in _crossing(project):
        if loc in ACROSS_ACCOUNTS and res.foundry in before and target.foundry in before:
            before[res.foundry].add(str(target.foundry))
    return before


def _waves(before: dict[str, set[str]]) -> tuple[list[list[str]], set[str]]:
    """Topological waves of `before`, and the accounts left in a cycle (none when it has none)."""
    waves: list[list[str]] = []
    done: set[str] = set()
    left = dict(before)
    while left:
        wave = sorted(name for name, deps in left.items() if deps <= done)
        if not wave:
            break
        waves.append(wave)
        done.update(wave)
        for name in wave:
            del left[name]
    return waves, set(left)


def account_waves(project: Project) -> list[list[str]]:
    """The Foundry documents in the order a run over several accounts plans and applies them: each wave after
    the accounts its resources name (a Deployment following or serving another account's), the accounts of
    one wave independent of each other (read, planned and applied concurrently). Validate refuses a cycle;
    were one left, its accounts would come last, in one wave, by name."""
    waves, cycle = _waves(_upstream_accounts(project))
    return [*waves, sorted(cycle)] if cycle else waves


def upstream_closure(project: Project, chosen: Iterable[str]) -> list[str]:
    """The accounts the chosen ones depend on through `account_waves`, transitively (a follower of a follower
    of dev needs dev's plan too), the chosen ones left out; by name. A run narrowed to `chosen` reads and plans
    them for what they offer (`upstream_of`) only, never applies them."""
    before = _upstream_accounts(project)
    picked = set(chosen)
    seen: set[str] = set()
    todo = [n for n in picked if n in before]
    while todo:
        for dep in before[todo.pop()]:
            if dep not in seen and dep not in picked:
                seen.add(dep)
                todo.append(dep)
    return sorted(seen)


def check_account_order(project: Project, problems: list[Problem]) -> None:
    """Accounts that follow each other in a circle have no order to be planned in: refused at each reference
    that closes it."""
    before = _upstream_accounts(project)
    _, cycle = _waves(before)
    if not cycle:
        return
    shown = ", ".join(sorted(cycle))
    for res, loc, target in _crossing(project):
        if loc in ACROSS_ACCOUNTS and res.foundry in cycle and target.foundry in cycle:
            problems.append(Problem(
                f"{'.'.join(str(p) for p in loc)} names {target.kind} {target.name!r} of Foundry {target.foundry!r}, "
                f"and Foundry accounts {shown} depend on each other in a cycle: no account can be planned first",
                res.path, res.line_of(*loc)))


def local_groups(project: Project) -> list[list[str]]:
    """The `local: true` Foundry documents by the local Foundry that serves them: one process per data
    directory, its accounts the documents naming that directory, each group by name (the first is the
    primary account, the data directory's own; the others are added to it, `EmulatorServer(accounts=...)`)."""
    groups: dict[Path, list[str]] = {}
    for name in foundry_names(project):
        spec = project.foundries[name].spec
        if spec.local:
            groups.setdefault((project.root / spec.data_dir).resolve(), []).append(name)
    return list(groups.values())


def name_local_accounts(project: Project) -> None:
    """Several `local: true` documents of one data directory are several accounts of one local Foundry (as
    Azure's accounts are of one tenant: a deployment's `source` in one resolves the other). The primary keeps
    the account it names (or the data directory's default); another that names none is the account of its
    document's name, so each document reaches its own account."""
    for group in local_groups(project):
        for name in group[1:]:
            res = project.foundries[name]
            if res.spec.account is None:
                project.foundries[name] = dataclasses.replace(
                    res, spec=res.spec.model_copy(update={"account": name}))


def _account_key(spec: FoundrySpec, root: Path) -> tuple[str, ...] | None:
    """What makes two Foundry documents the same account (None: nothing to compare yet, an unset ${VAR})."""
    if spec.local:  # one local Foundry serves several accounts: the same data directory and account is one
        return ("local", str((root / spec.data_dir).resolve()), (spec.account or "").lower())
    if spec.endpoint and "${" not in spec.endpoint:
        return ("endpoint", spec.endpoint.strip().rstrip("/").lower())
    if spec.account and "${" not in spec.account:
        return ("account", (spec.subscription or "").lower(), (spec.resource_group or "").lower(), spec.account.lower())
    return None


def check_distinct_accounts(project: Project, problems: list[Problem]) -> None:
    """Two Foundry documents naming one account (one endpoint, one local data directory) would manage it twice."""
    seen: dict[tuple[str, ...], Resource[FoundrySpec]] = {}
    for name in foundry_names(project):
        res = project.foundries[name]
        key = _account_key(res.spec, project.root)
        if key is None:
            continue
        first = seen.setdefault(key, res)
        if first is not res:
            what = {"local": "local data directory and account", "endpoint": "endpoint", "account": "account"}[key[0]]
            problems.append(Problem(f"Foundry {name!r} names the same {what} as Foundry {first.name!r} (at "
                                    f"{first.path}:{first.line}): one account is managed by one Foundry document",
                                    res.path, res.line))


def narrow(project: Project, name: str) -> Project:
    """The Project of Foundry `name` alone: its document as `foundry`, and only the resources that live in it."""
    foundry = project.foundries[name]
    resources = {kind: {n: r for n, r in col.items() if r.foundry == name} for kind, col in project.resources.items()}
    evaluations = resources["Evaluation"]
    return dataclasses.replace(
        project, foundry=foundry, foundries={name: foundry}, resources=resources,
        grader_paths={k: v for k, v in project.grader_paths.items() if k[0] in evaluations},
        grader_sha256={k: v for k, v in project.grader_sha256.items() if k[0] in evaluations},
        dataset_paths={k: v for k, v in project.dataset_paths.items() if k in resources["Dataset"]},
        unresolved_env=[u for u in project.unresolved_env if u.foundry == name],
        warnings=list(project.warnings), whole=project.whole or project.resources)


def choose_foundry(project: Project, name: str | None) -> Project:
    """The Project a command that connects works on: Foundry `name`, or the only one. Several and no name, or
    an unknown name, is a usage error (exit 2) naming the choices."""
    names = foundry_names(project)
    if name is None:
        if len(names) <= 1:
            return project
        raise FoundryNotChosen(f"{project.spec_dir_shown} declares several Foundry documents ({', '.join(names)}): "
                               "pass --foundry NAME to work on one, or use `ftops matrix` for one CI job per account")
    if name not in project.foundries:
        raise FoundryNotChosen(f"--foundry {name}: no such Foundry document in {project.spec_dir_shown} "
                               f"(Foundry documents: {', '.join(names) or 'none'})")
    return narrow(project, name)


def choose_foundries(project: Project, names: list[str]) -> list[str]:
    """The Foundry documents a run over several accounts works on: `names` (each known, in name order, once),
    or every one when none is given. An unknown name is a usage error (exit 2) naming the choices."""
    for name in names:
        choose_foundry(project, name)  # refuses an unknown one, in its words
    return [n for n in foundry_names(project) if not names or n in names]


@dataclass(frozen=True)
class AccountEntry:
    """One Foundry document as a CI matrix entry (`ftops matrix`): its name, account and region as written."""

    foundry: str
    account: str | None
    region: str
    local: bool


def account_entries(project: Project) -> list[AccountEntry]:
    """Every Foundry document of the project, by name."""
    return [AccountEntry(name, res.spec.account, res.spec.region, res.spec.local)
            for name in foundry_names(project) for res in (project.foundries[name],)]
