"""Training guards enforced while `apply --wait` follows a job: its step metrics read as it trains.

The decision is the plan layer's (`plan.job_trip`, pure); this module reads the job's newest events between
polls, and pauses or cancels the job when a guard trips. The sync tick (`apply --auto-approve` on a timer)
needs none of this: its plan already holds the pause or cancel (`plan/_jobs.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._exceptions import FoundryError, FtopsError
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveJob
from ..plan import EVENTS_READ, GuardTrip, job_trip


class GuardTripped(FtopsError):
    """A training guard stopped the job apply was waiting for: its dependents do not run."""


@dataclass
class GuardWatch:
    """The guards of the jobs one apply waits for. `check` is the wait's `until`: a trip ends the wait."""

    checked: CheckedProject
    client: FoundryClient
    trips: dict[str, GuardTrip] = field(default_factory=dict)  # job id -> the guard that tripped

    def check(self, name: str, job: LiveJob) -> bool:
        spec = self.checked.project.jobs.get(name)
        if spec is None or not spec.spec.guards or job.status != "running":
            return False
        try:
            events = self.client.latest_events(job.id, limit=EVENTS_READ)
        except FoundryError:
            return False  # an unreadable moment: the next poll reads again (the wait rides out outages)
        trip = job_trip(self.checked, name, job, events)
        if trip is not None:
            self.trips[job.id] = trip
        return trip is not None

    def enforce(self, name: str, job: LiveJob) -> None:
        """Pause or cancel `job` for the guard that tripped on it (if one did), then end the wait in error."""
        trip = self.trips.get(job.id)
        if trip is None:
            return
        done = (self.client.cancel_job(job.id) if trip.action == "cancel" else self.client.pause_job(job.id)).status
        how = "resume: true in the spec, or remove the guard, resumes it" if trip.action == "pause" else \
            "change the training content to train again"
        raise GuardTripped(f"job {name} ({job.id}) is {done}: its {trip}; {how}")
