"""Cost estimates: training tokens x epochs x catalog price; monthly hosting per deployment; the hourly
hosting of evaluation canaries; and the hosting of live deployments no spec describes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import Catalog, ModelInfo
from ..foundry import LiveDeployment, LiveJob, Snapshot
from . import _matching as ident

HOURS_PER_MONTH = 730
AUTO_EPOCHS = 3  # what we assume when n_epochs is "auto"
# A canary lives for one evaluation run (minutes) and hosting is billed by the hour: one hour each.
CANARY_HOURS = 1


def training_cost(info: ModelInfo | None, training_type: str, trained_tokens: int, n_epochs: object) -> float:
    if info is None:
        return 0.0
    epochs = n_epochs if isinstance(n_epochs, int) else AUTO_EPOCHS
    price = info.training_price.get(training_type, 0.0)
    return round(trained_tokens * epochs * price / 1_000_000, 4)


def monthly_hosting(info: ModelInfo | None, sku: str) -> float:
    if info is None:
        return 0.0
    return round(info.hosting_price.get(sku, 0.0) * HOURS_PER_MONTH, 2)


def canary_hosting(info: ModelInfo | None, sku: str, canaries: int) -> float:
    """Hosting of `canaries` throwaway deployments for one evaluation (tokens are billed besides)."""
    if info is None:
        return 0.0
    return round(info.hosting_price.get(sku, 0.0) * CANARY_HOURS * canaries, 2)


@dataclass
class LivePrices:
    """Monthly hosting of a live deployment from what the listings say of it: the job whose fine-tuned
    model it serves (or, for ftops' own, the job its tag names) gives the base model's catalog price.
    None when no job says which model it is (a checkpoint or a base model deployed by hand)."""

    catalog: Catalog
    snapshot: Snapshot
    _by_model: dict[str, LiveJob] = field(init=False)
    _by_id: dict[str, LiveJob] = field(init=False)

    def __post_init__(self) -> None:
        self._by_model = {j.fine_tuned_model: j for j in self.snapshot.jobs if j.fine_tuned_model}
        self._by_id = {j.id: j for j in self.snapshot.jobs}

    def monthly(self, d: LiveDeployment) -> float | None:
        job = self._by_model.get(d.model or "") or self._by_id.get(d.tags.get(ident.TAG_JOB, ""))
        info = self.catalog.get(job.model) if job is not None else None
        if info is None or d.sku is None:
            return None
        return monthly_hosting(info, d.sku)
