"""Cost estimates: training tokens x epochs x catalog price; monthly hosting per deployment."""

from __future__ import annotations

from ..catalog import ModelInfo

HOURS_PER_MONTH = 730
AUTO_EPOCHS = 3  # what we assume when n_epochs is "auto"


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
