"""The planner's registry: one step per resource kind, in the order their dependencies run.

`decide()` runs these in order over one `Ctx` and names no kind itself. A kind's step reads the specs of
its kind and `ctx.live`, and adds typed actions (and what later kinds need: a job's `JobState`, a dataset's
file); a kind planned later may depend on the actions of one planned before it, never the other way round.
The last steps are not kinds of their own: the managed objects no spec names (prune candidates), and the
evaluation item uploads a killed apply left behind.

Adding a kind: its planning module beside this one, then one line here, where its dependencies are planned
before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._context import Ctx
from ._datasets import plan_datasets
from ._deployments import plan_deployment, plan_orphans
from ._evaluations import plan_eval_items
from ._follow import deployment_order, plan_promotion, promotes
from ._jobs import identify_jobs, job_order, plan_job
from ._notifications import plan_notifications
from ._rai_policies import order_with_deployments, plan_rai_policies


def plan_jobs(ctx: Ctx) -> None:
    """Every FineTuningJob: identities first (a renamed spec re-attaches), then in continuous-FT order."""
    identify_jobs(ctx)
    for name in job_order(ctx.checked):
        plan_job(ctx, ctx.checked.project.jobs[name])


def plan_deployments(ctx: Ctx) -> None:
    """Every Deployment (and the Evaluation that gates it, planned with it: its candidates are the job's); one
    that serves another stage's model after the Deployments of this account it follows (`_follow.py`)."""
    for dep in deployment_order(ctx):
        if promotes(ctx, dep):
            plan_promotion(ctx, dep)
        else:
            plan_deployment(ctx, dep)


@dataclass(frozen=True)
class Step:
    """One planning step: what it plans (a spec kind, or a concern across kinds) and the function."""

    plans: str
    run: Callable[[Ctx], None]


STEPS: tuple[Step, ...] = (
    Step("Dataset", plan_datasets),
    Step("FineTuningJob", plan_jobs),
    Step("RaiPolicy", plan_rai_policies),  # before the deployments that name them
    Step("Deployment", plan_deployments),  # with the Evaluations that gate them
    Step("content filter policies and their deployments", order_with_deployments),  # order, prune
    Step("objects no spec names", plan_orphans),
    Step("evaluation item uploads", plan_eval_items),
    Step("Notification", plan_notifications),  # last: it reads what every other step decided
)
