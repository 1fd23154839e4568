"""The import-linter contracts cover every module: what import-linter cannot say by itself is checked here."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import ftops

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    contracts: list[dict[str, Any]] = config["contracts"]
    return contracts


def _top_level() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(ftops.__path__)}


def test_the_layers_are_exhaustive_and_place_every_top_level_module() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")
    assert layers["containers"] == ["ftops"] and layers["exhaustive"] is True
    assert not layers.get("exhaustive_ignores")
    placed = {name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")}
    assert placed == _top_level()


def test_the_cli_is_forbidden_every_top_level_private_module() -> None:
    """import-linter's wildcards match whole names only (no `ftops._*`): a new private module under ftops
    must be added to the CLI's contract by hand, and this test says so."""
    cli = next(c for c in _contracts() if c["type"] == "forbidden" and c["source_modules"] == ["ftops.cli"])
    private = {f"ftops.{name}" for name in _top_level() if name.startswith("_") and not name.startswith("__")}
    assert set(cli["forbidden_modules"]) == private


def test_every_package_keeps_its_private_modules() -> None:
    assert any(c["type"] == "private_modules" and "packages_with_private_modules" not in c for c in _contracts())


def test_the_public_api_re_exports_the_whole_exception_tree() -> None:
    from ftops import _exceptions

    tree = {name for name, value in vars(_exceptions).items()
            if isinstance(value, type) and issubclass(value, Exception)}
    assert tree <= set(ftops.__all__)
    assert all(getattr(ftops, name) is getattr(_exceptions, name) for name in tree)
