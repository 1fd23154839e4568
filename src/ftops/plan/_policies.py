"""Policies judged on a plan: pure, after the plan and its cost are decided, before anything is applied.

Each Policy spec (`spec/_policy.py`) holds one rule. A built-in reads the plan's typed actions (and, for a
job's training type or a deployment's evaluation, the spec the action names; for `noDeleteServing`, the
live deployment); an `expression` is CEL over `policy_variables` (the plan as `plan --format json` prints
it, its cost, the specs and the namespace). Actions a plan blocks for other reasons never run, so no rule
counts them. An expression that fails to evaluate fails its rule (closed, not open), saying why.

Overrides (`apply --override NAME --reason TEXT`) are recorded on the results they let through; apply
writes them as the `ftops-override` tag (deployments) or metadata (jobs) of the actions concerned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import _cel
from .._exceptions import PolicyBlocked, UsageError
from ..spec import PolicySpec, Resource
from . import _matching as ident
from ._actions import ActionBase, CreateJob, DeleteDeployment, Plan, Promote, RollOut
from ._context import Ctx
from ._policy_results import Override, PolicyResult

TAG_OVERRIDE = "ftops-override"
TAG_VALUE_CHARS = 256  # Azure's limit for a tag value (job metadata allows 512: the shorter one for both)
SHOWN_RESOURCES = 5


def judge_policies(ctx: Ctx, plan: Plan) -> list[PolicyResult]:
    """Every Policy of the project judged on `plan` (sorted by name)."""
    policies = ctx.checked.project.policies
    if not policies:
        return []
    variables = policy_variables(ctx, plan) if any(p.spec.expression for p in policies.values()) else {}
    return [_judge(ctx, plan, policies[name], variables) for name in sorted(policies)]


def policy_variables(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    """What a CEL expression sees (docs/reference.md "Policy"): JSON values, stable across versions."""
    shown = plan.to_dict()
    shown.pop("policies", None)
    shown.pop("policy_blocks", None)
    p = ctx.checked.project
    specs: dict[str, Any] = {"foundry": _dump(p.foundry) if p.foundry else {}}
    for collection in ("datasets", "jobs", "deployments", "evaluations"):
        specs[collection] = {name: _dump(res) for name, res in getattr(p, collection).items()}
    return {"plan": shown, "cost": shown["cost"], "specs": specs, "project": plan.project}


def _dump(res: Resource[Any]) -> Any:
    return res.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _judge(ctx: Ctx, plan: Plan, res: Resource[PolicySpec], variables: dict[str, Any]) -> PolicyResult:
    spec = res.spec
    rule = spec.rule
    message, offending = RULES[rule](ctx, plan, spec, variables)
    if message is None:
        return PolicyResult(policy=res.name, rule=rule, enforcement=spec.enforcement, passed=True,  # type: ignore[arg-type]
                            message="passed")
    resources = list(dict.fromkeys(a.resource for a in offending))
    return PolicyResult(policy=res.name, rule=rule, enforcement=spec.enforcement, passed=False,  # type: ignore[arg-type]
                        message=message[:2000], resources=resources, actions=[a.id for a in offending])


Verdict = tuple[str | None, Sequence[ActionBase]]  # why the rule fails (None: it passes), and the actions concerned


def _runnable(plan: Plan) -> list[ActionBase]:
    """What apply would run now or later (changes and pending work), not what the plan blocks."""
    return [a for a in plan.actions if a.changes_something and not a.blocked]


def _training_types(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    allowed = spec.allowed_training_types or []
    jobs = ctx.checked.project.jobs
    bad = [a for a in _runnable(plan) if isinstance(a, CreateJob) and a.name in jobs
           and jobs[a.name].spec.training_type not in allowed]
    return _listed(bad, lambda a: f"{a.resource} trains as {jobs[a.name].spec.training_type}",
                   f"allowed training types: {', '.join(allowed)}")


def _deployment_skus(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    allowed = spec.allowed_deployment_skus or []
    bad = [a for a in _runnable(plan) if isinstance(a, RollOut | Promote) and a.sku not in allowed]
    return _listed(bad, lambda a: f"{a.resource} deploys as {a.sku}",
                   f"allowed deployment skus: {', '.join(allowed)}")


def _regions(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    allowed = spec.allowed_regions or []
    foundry = ctx.checked.project.foundry
    region = foundry.spec.region if foundry is not None else ""
    if region.lower() in allowed:
        return None, []
    bad = [a for a in _runnable(plan) if a.action in ("create", "update", "replace")]
    return _listed(bad, lambda a: a.resource, f"the Foundry's region {region} is not one of {', '.join(allowed)}")


def _hosting_increase(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    limit = spec.max_hosting_increase_per_month or 0.0
    delta = plan.totals()["monthly_hosting_delta_usd"]
    if delta <= limit:
        return None, []
    bad = [a for a in _runnable(plan) if isinstance(a, RollOut | Promote) and a.cost.monthly_usd > 0]
    return f"the plan adds ${delta:,.2f}/month of hosting; the limit is ${limit:,.2f}", bad


def _training_cost(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    limit = spec.max_training_cost_per_plan or 0.0
    training = plan.totals()["training_usd"]
    if training <= limit:
        return None, []
    bad = [a for a in _runnable(plan) if isinstance(a, CreateJob) and a.cost.training_usd > 0]
    return f"the plan's training costs ${training:,.2f}; the limit is ${limit:,.2f}", bad


def _delete_serving(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    serving = {d.name for d in ctx.live.snapshot.deployments
               if d.model and (d.provisioning_state or "").lower() == "succeeded"}
    bad = [a for a in _runnable(plan)
           if (isinstance(a, DeleteDeployment) and a.name in serving)
           or (isinstance(a, RollOut | Promote) and a.action == "replace" and a.name in serving)]
    gone = {"delete": "deleted", "replace": "replaced"}
    return _listed(bad, lambda a: f"{a.resource} serves and would be {gone[a.action]}",
                   "a serving deployment is never deleted")


def _evaluation_required(ctx: Ctx, plan: Plan, spec: PolicySpec, _: dict[str, Any]) -> Verdict:
    pattern = spec.require_evaluation or ""
    deployments = ctx.checked.project.deployments
    bad: list[ActionBase] = [a for a in _runnable(plan) if isinstance(a, RollOut) and name_matches(pattern, a.name)
                             and a.name in deployments and deployments[a.name].spec.evaluation is None]
    # A promotion passes through the gate of the stage it follows: its model must carry that stage's verdict
    # (one still waiting for its model is judged when it knows it).
    bad += [a for a in _runnable(plan) if isinstance(a, Promote) and name_matches(pattern, a.name)
            and a.model is not None and ident.TAG_VERDICT not in a.tags]
    return _listed(bad, lambda a: f"{a.resource} serves {a.upstream}'s model, which no evaluation passed"
                   if isinstance(a, Promote) else f"{a.resource} has no evaluation:",
                   f"deployments matching {pattern} roll out only through an evaluation gate")


def _expression(ctx: Ctx, plan: Plan, spec: PolicySpec, variables: dict[str, Any]) -> Verdict:
    try:
        if _cel.evaluate(spec.expression or "", variables):
            return None, []
        why = spec.message or "the expression is false"
    except _cel.CelError as e:
        why = f"the expression failed ({e}), so the rule fails"
    return why, _runnable(plan)


Rule = Callable[[Ctx, Plan, PolicySpec, dict[str, Any]], Verdict]
RULES: dict[str, Rule] = {
    "allowedTrainingTypes": _training_types,
    "allowedDeploymentSkus": _deployment_skus,
    "allowedRegions": _regions,
    "maxHostingIncreasePerMonth": _hosting_increase,
    "maxTrainingCostPerPlan": _training_cost,
    "noDeleteServing": _delete_serving,
    "requireEvaluation": _evaluation_required,
    "expression": _expression,
}


def _listed(bad: Sequence[Any], what: Callable[[Any], str], rule_text: str) -> Verdict:
    if not bad:
        return None, []
    shown = "; ".join(what(a) for a in bad[:SHOWN_RESOURCES])
    more = f" (and {len(bad) - SHOWN_RESOURCES} more)" if len(bad) > SHOWN_RESOURCES else ""
    return f"{shown}{more} ({rule_text})", bad


def name_matches(pattern: str, name: str) -> bool:
    """`name` against a pattern of `*` (any run) and `?` (one character), in at most len(pattern) * len(name)
    steps: no regular expression, so no pattern can make matching slow."""
    pi = ni = 0
    star, mark = -1, 0
    while ni < len(name):
        if pi < len(pattern) and pattern[pi] == "*":
            star, mark = pi, ni
            pi += 1
        elif pi < len(pattern) and pattern[pi] in ("?", name[ni]):
            pi += 1
            ni += 1
        elif star >= 0:
            pi, mark = star + 1, mark + 1
            ni = mark
        else:
            return False
    return all(c == "*" for c in pattern[pi:])


def apply_overrides(plan: Plan, overrides: Iterable[Override]) -> None:
    """Record each override on the failed soft-mandatory Policy it names. A name no Policy has, or a
    hard-mandatory one, is a usage error: an override must never silently do nothing."""
    results = {r.policy: r for r in plan.policies}
    for o in overrides:
        r = results.get(o.policy)
        if r is None:
            known = ", ".join(results) or "none"
            raise UsageError(f"--override {o.policy}: no Policy of that name (policies: {known})")
        if r.enforcement == "hard-mandatory":
            raise UsageError(f"--override {o.policy}: the Policy is hard-mandatory and cannot be overridden")
        if not r.passed and r.enforcement == "soft-mandatory":
            r.override = o


def require_policies(plan: Plan) -> None:
    """PolicyBlocked naming every policy that blocks `plan` (nothing is applied), else nothing."""
    blocks = plan.policy_blocks
    if blocks:
        raise PolicyBlocked("; ".join(_blocked_line(r) for r in blocks))


def _blocked_line(r: PolicyResult) -> str:
    hint = f" (override with --override {r.policy} --reason TEXT)" if r.enforcement == "soft-mandatory" else ""
    return f"policy {r.policy} ({r.enforcement}, {r.rule}) blocks the plan: {r.message}{hint}"


def override_tags(plan: Plan, action_id: str) -> dict[str, str]:
    """The `ftops-override` tag (or job metadata) of an action an override let through; {} for any other."""
    notes = [f"{r.policy} by {r.override.author}: {r.override.reason}" for r in plan.policies
             if r.override is not None and action_id in r.actions]
    if not notes:
        return {}
    return {TAG_OVERRIDE: " | ".join(notes)[:TAG_VALUE_CHARS]}
