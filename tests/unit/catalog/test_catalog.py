from __future__ import annotations

from pathlib import Path

import pytest

from ftops import FtopsError
from ftops.catalog import ModelInfo, load_catalog


def test_shipped_catalog_knows_the_documented_models() -> None:
    c = load_catalog()
    assert {"gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18", "o4-mini-2025-04-16"} <= set(c.models)
    assert c.models["o4-mini-2025-04-16"].methods == ("reinforcement",)
    assert "dpo" in c.models["gpt-4.1-2025-04-14"].methods


def test_fine_tuned_ids_map_to_their_base() -> None:
    info = load_catalog().get("gpt-4.1-mini-2025-04-14.ft-" + "a" * 32)
    assert info is not None and info.name == "gpt-4.1-mini-2025-04-14"


def test_regions() -> None:
    info = load_catalog().models["gpt-4.1-mini-2025-04-14"]
    assert ModelInfo.allows(info.training_regions("GlobalStandard"), "westeurope")
    assert not ModelInfo.allows(info.training_regions("Standard"), "westeurope")


def test_suffix_rules() -> None:
    c = load_catalog()
    assert c.suffix_ok("clippy-v2_1") and not c.suffix_ok("clippy.v2") and not c.suffix_ok("x" * 41)


def test_override_file_adds_models(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text(
        "models:\n  my-model:\n    encoding: cl100k_base\n    methods: [supervised]\n    maxExampleTokens: 100\n"
        "    training: {GlobalStandard: ['*']}\n")
    c = load_catalog(tmp_path)
    assert c.models["my-model"].encoding == "cl100k_base" and "gpt-4.1-2025-04-14" in c.models


def test_broken_override_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text("models:\n  bad: {encoding: x}\n")
    with pytest.raises(FtopsError, match="cannot read catalog override"):
        load_catalog(tmp_path)
