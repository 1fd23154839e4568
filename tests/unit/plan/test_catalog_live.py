"""The catalog beside the account's models list (pure), and the pause/resume rule at plan time."""

from __future__ import annotations

import datetime as dt

from ftops.catalog import load_catalog
from ftops.foundry import LiveModel
from ftops.plan import ResumeJob, compare_catalog
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import world

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC).timestamp()


def _listed(model_id: str, name: str, **kw: object) -> LiveModel:
    fields: dict[str, object] = {"lifecycle_status": "GenerallyAvailable", "fine_tune_retires": None,
                                 "inference_retires": None, "skus": (), "name": name, "fine_tunable": True}
    return LiveModel(id=model_id, **{**fields, **kw})  # type: ignore[arg-type]


def _account_as_the_catalog() -> list[LiveModel]:
    """Every catalog model, listed as ARM lists it: versioned ids; the open-source ones flagged not fine-tunable
    (as Azure answers for them) and with a version Learn does not name."""
    out = []
    for name, info in load_catalog().models.items():
        if info.foundry_resources_only:
            out.append(_listed(f"{name}-1", name, fine_tunable=False))
        else:
            out.append(_listed(name, name.rsplit("-", 3)[0]))
    return out


def test_an_account_that_offers_the_catalog_shows_no_difference() -> None:
    result = compare_catalog(load_catalog(), _account_as_the_catalog(), "swedencentral", NOW)
    assert result.differences == [] and result.catalog_models == result.account_models


def test_each_kind_of_difference_with_its_date() -> None:
    listed = [m for m in _account_as_the_catalog() if m.name != "Llama-3.3-70B-Instruct"]
    listed.append(_listed("gpt-9-2026-06-01", "gpt-9"))
    listed.append(_listed("gpt-4.1-mini-2025-04-14.ft-" + "a" * 32, "gpt-4.1-mini-2025-04-14.ft-" + "a" * 32))
    listed = [m if m.id != "o4-mini-2025-04-16" else _listed(
        m.id, m.name, lifecycle_status="Deprecating", inference_retires=NOW + 10 * 86400,
        fine_tune_retires=NOW - 86400) for m in listed]
    result = compare_catalog(load_catalog(), listed, "swedencentral", NOW)
    got = {(d.kind, d.model, d.date) for d in result.differences}
    assert got == {("uncatalogued", "gpt-9-2026-06-01", None), ("not-offered", "Llama-3.3-70B-Instruct", None),
                   ("deprecated", "o4-mini-2025-04-16", None), ("retired", "o4-mini-2025-04-16", "2026-12-04"),
                   ("retiring", "o4-mini-2025-04-16", "2026-12-15")}
    missing = next(d for d in result.differences if d.kind == "not-offered")
    assert "Foundry resources only" in missing.message and "source: https://learn.microsoft.com/" in missing.message


def test_a_model_flagged_not_fine_tunable_is_a_difference_unless_it_is_open_source() -> None:
    listed = [m if m.id != "gpt-4o-2024-08-06" else _listed(m.id, m.name, fine_tunable=False)
              for m in _account_as_the_catalog()]
    result = compare_catalog(load_catalog(), listed, "swedencentral", NOW)
    assert [(d.kind, d.model) for d in result.differences] == [("not-fine-tunable", "gpt-4o-2024-08-06")]


def test_models_the_catalog_does_not_train_in_the_region_are_not_expected() -> None:
    listed = [m for m in _account_as_the_catalog() if m.name != "gpt-5"]
    result = compare_catalog(load_catalog(), listed, "centralus", NOW)  # no training type in centralus for gpt-5
    assert "gpt-5-2025-08-07" not in {d.model for d in result.differences}


def test_resuming_a_job_on_a_model_without_pause_is_refused_with_the_source(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("baseModel: gpt-4.1-mini-2025-04-14", "baseModel: Ministral-3B")))
    w.uploads()
    w.job("clippy", status="paused")  # paused outside ftops (validate refuses `paused: true` for this model)
    plan = w.plan()
    assert any(isinstance(a, ResumeJob) for a in plan.actions)
    [finding] = [f for f in plan.findings if f.severity == "error"]
    assert finding.kind == "unavailable" and finding.resource == "FineTuningJob/clippy"
    assert "Foundry does not pause or resume jobs on Ministral-3B (source: https://learn.microsoft.com/azure/" \
           "foundry/openai/how-to/fine-tuning, read 2026-12-05)" in finding.message
