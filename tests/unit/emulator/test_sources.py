"""The regions a fine-tuned model deploys in (Learn, "Deploy a fine-tuned model", Deployment types)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftops.emulator._sources import base_family, region_refusal
from ftops.emulator._state import Emulator
from ftops.emulator._store import Store


@pytest.mark.parametrize(("model", "family"), [
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"), ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("gpt-4o-mini-2024-07-18.ft-0123", "gpt-4o-mini"), ("Ministral-3B", "Ministral-3B"), ("davinci-002", None),
])
def test_a_jobs_base_family(model: str, family: str | None) -> None:
    assert base_family(model) == family


@pytest.mark.parametrize(("region", "sku", "model", "refused"), [
    ("eastus2", "Standard", "gpt-4.1-mini-2025-04-14", True),
    ("swedencentral", "Standard", "gpt-4.1-mini-2025-04-14", False),
    ("eastus2", "Standard", "gpt-4o-2024-08-06", False),
    ("eastus2", "GlobalStandard", "gpt-4.1-mini-2025-04-14", False),  # every region
    ("westeurope", "DeveloperTier", "gpt-4.1-nano-2025-04-14", False),
    ("eastus2", "ProvisionedManaged", "gpt-4.1-2025-04-14", True),
    ("eastus2", "DataZoneStandard", "gpt-4.1-mini-2025-04-14", False),  # no table: not checked
    ("eastus2", "Standard", "gpt-5-2025-08-07", False),
])
def test_fine_tuned_deployments_by_region_and_sku(tmp_path: Path, region: str, sku: str, model: str,
                                                  refused: bool) -> None:
    emu = Emulator(store=Store(tmp_path), api_key="k", subscription="s", resource_group="g", account="a",
                   region=region, speed=1.0)
    answer = region_refusal(emu, {"model": model}, sku)
    assert (answer is not None) == refused
    if answer is not None:
        assert answer.status_code == 400
        assert orjson.loads(answer.body)["error"]["code"] == "InvalidResourceProperties"
