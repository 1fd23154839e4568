"""Training guards, decided: which guard of a job trips on its step metrics, at which step, and why.

Pure: it reads the job's events (fetched by the refresh step, `_live.py`, or by apply's wait) and the checked
project (for the spend estimate). The plan turns a trip into a pause or a cancel (`_jobs.py`), apply's wait
enforces it as it happens (`apply/_guards.py`), and both name the guard and the values that tripped it.

A guard is re-evaluated on every run from the events Foundry keeps, so nothing records a trip: a job a guard
paused stays paused while its guard still trips on those events, and resumes when the spec removes the guard
or says `resume: true` (pause guards then no longer act on that job).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..checks import CheckedProject
from ..foundry import LiveEvent, LiveJob
from ..spec import Guard
from ._actions import GuardTrip
from ._cost import training_cost

Point = tuple[int, dict[str, float]]  # (step, metrics by results.csv's names)


def metric_points(events: Sequence[LiveEvent]) -> list[Point]:
    """The step metrics of `events` (any order), one point per step, in step order."""
    by_step: dict[int, dict[str, float]] = {}
    for e in events:
        if e.step is not None and e.metrics:
            by_step.setdefault(e.step, e.metrics)
    return sorted(by_step.items())


def first_trip(guard: Guard, points: Sequence[Point], cost_at: Callable[[int], float | None]) -> GuardTrip | None:
    """The first step at which `guard` trips on `points`, with the values that tripped it; None if it holds."""
    points = [p for p in points if p[0] >= guard.after_step]
    if guard.cost_above is not None:
        return _cost_trip(guard, guard.cost_above, points, cost_at)
    assert guard.metric is not None  # the spec model's rule: a metric, or costAbove
    series = [(step, m[guard.metric]) for step, m in points if guard.metric in m]
    if guard.rising is not None:
        return _rising_trip(guard, guard.rising, series)
    for step, value in series:
        if (guard.above is not None and value > guard.above) or (guard.below is not None and value < guard.below):
            bound = f"above {guard.above:g}" if guard.above is not None else f"below {guard.below:g}"
            return _trip(guard, step, f"{guard.metric} {value:.4g} at step {step}, {bound}")
    return None


def _rising_trip(guard: Guard, times: int, series: list[tuple[int, float]]) -> GuardTrip | None:
    run = 0
    for i in range(1, len(series)):
        run = run + 1 if series[i][1] > series[i - 1][1] else 0
        if run >= times:
            values = " -> ".join(f"{v:.4g}" for _, v in series[i - times:i + 1])
            return _trip(guard, series[i][0], f"{guard.metric} rose {times} times in a row ({values}, steps "
                                              f"{series[i - times][0]}-{series[i][0]})")
    return None


def _cost_trip(guard: Guard, limit: float, points: Sequence[Point],
               cost_at: Callable[[int], float | None]) -> GuardTrip | None:
    for step, _ in points:
        spent = cost_at(step)
        if spent is not None and spent > limit:
            return _trip(guard, step, f"about ${spent:,.2f} spent by step {step} (estimate), above ${limit:,.2f}")
    return None


def _trip(guard: Guard, step: int, why: str) -> GuardTrip:
    return GuardTrip(guard=guard.label[:200], action=guard.action, step=step, why=why[:500])


def job_trip(checked: CheckedProject, name: str, job: LiveJob, events: Sequence[LiveEvent]) -> GuardTrip | None:
    """The guard of spec `name` that trips first on live job `job`'s events (a cancel before a pause at one
    step); None when none does. With `resume: true`, pause guards do not act."""
    spec = checked.project.jobs[name].spec
    guards = [g for g in spec.guards if not (spec.resume and g.action == "pause")]
    if not guards:
        return None
    points = metric_points(events)
    cost_at = _spend(checked, name, job)
    trips = [t for g in guards if (t := first_trip(g, points, cost_at)) is not None]
    return min(trips, key=lambda t: (t.step, t.action != "cancel"), default=None)


def _spend(checked: CheckedProject, name: str, job: LiveJob) -> Callable[[int], float | None]:
    """Estimated USD spent by a step: the catalog's training price for the tokens of the steps done (an epoch
    is ceil(examples / batch_size) steps). None while Foundry has not resolved epochs and batch size."""
    spec = checked.project.jobs[name].spec
    report = checked.reports.get(spec.training_data)
    if report is None or not report.examples or not job.n_epochs or not job.batch_size:
        return lambda step: None
    total = training_cost(checked.base_model_info(name), spec.training_type, report.trained_tokens, job.n_epochs)
    steps = job.n_epochs * math.ceil(report.examples / job.batch_size)
    return lambda step: total * min(step, steps) / steps
