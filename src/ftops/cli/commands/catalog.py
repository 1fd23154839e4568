"""`ftops catalog [DIR] [--live]`: the models ftops knows, with the page behind each; `--live` compares
them with the account's own models list. The data comes from the catalog and plan layers; this module
only renders it. Exit 0 (differences are advice), 1 only on errors.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

from ... import Problem, ValidationFailed
from .._escape import terminal
from .._options import FOUNDRY
from .._output import out

if TYPE_CHECKING:
    from ...plan import CatalogComparison


DEFAULT_DIR = Path("specs")  # without it, the shipped catalog alone


class Format(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command()
    def catalog(
        spec_dir: Path | None = typer.Argument(None, metavar="[DIR]",
                                        help="Spec directory: its project's ftops.catalog.yaml is merged in, and "
                                             "--live reads the Foundry it names (default specs/)."),
        live: bool = typer.Option(False, "--live", help="Compare with the account's models list (connects)."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="text | json"),
        foundry: str | None = FOUNDRY,
    ) -> None:
        """List every model the catalog knows (methods, training types, skus by region, pause/resume) with the
        page and date each entry was read from; with --live, show where the account's models list differs."""
        if live:
            _live(spec_dir or DEFAULT_DIR, fmt, foundry)
            return
        from ...catalog import catalog_listing, load_catalog
        from ...spec import find_root

        if spec_dir is not None and not spec_dir.is_dir():  # a mistyped DIR must not list without its override
            raise ValidationFailed([Problem("no such spec directory", str(spec_dir))])
        root = spec_dir or (DEFAULT_DIR if DEFAULT_DIR.is_dir() else None)
        listing = catalog_listing(load_catalog(find_root(root) if root is not None else None))
        if fmt is Format.json:
            out.print(orjson.dumps(listing, option=orjson.OPT_INDENT_2).decode(), markup=False)
        else:
            _lines(_listing_text(listing["models"]))


def _live(spec_dir: Path, fmt: Format, foundry: str | None) -> None:
    from .._local import session

    with session(spec_dir, foundry) as s:  # the SDKs load inside, while the local Foundry starts on the other core
        from ...plan import read_catalog_comparison

        comparison = read_catalog_comparison(s.checked, s.client)
    if fmt is Format.json:
        out.print(orjson.dumps(comparison.to_dict(), option=orjson.OPT_INDENT_2).decode(), markup=False)
    else:
        _lines(_comparison_text(comparison))


def _lines(lines: list[str]) -> None:
    """Each line escaped on its own (catalog text can come from an override file)."""
    out.print("\n".join(terminal(line) for line in lines), markup=False, highlight=False)


def _regions(regions: list[str]) -> str:
    if "*" in regions:
        return "all regions"
    return ", ".join(regions) if len(regions) <= 6 else f"{len(regions)} regions (listed by --format json)"


def _model_text(m: dict[str, Any]) -> list[str]:
    flags = [m["status"]] + (["by invitation"] if m["access"] == "invitation" else []) + (
        ["Foundry resources only"] if m["foundry_resources_only"] else [])
    pause = "pause/resume" if m["pause_resume"] else "no pause/resume"
    lines = [f"{m['model']}  ({', '.join(flags)})",
             f"  methods: {', '.join(m['methods'])}; {pause}; "
             f"max tokens per example: {m['max_example_tokens'] or 'not published'}"]
    lines += [f"  training {k}: {_regions(v)}" for k, v in m["training"].items()]
    lines += [f"  deploy {k}: {_regions(v)}" for k, v in m["deployment"].items()]
    source = m["source"]
    lines.append(f"  source: {source['url']}" + (f" (read {source['checked']})" if source["checked"] else ""))
    return lines


def _listing_text(models: list[dict[str, Any]]) -> list[str]:
    lines = [f"{len(models)} models (the page each rule comes from: `ftops catalog --format json`)"]
    for m in models:
        lines += ["", *_model_text(m)]
    return lines


def _comparison_text(c: CatalogComparison) -> list[str]:
    head = (f"catalog ({c.catalog_models} models) vs the account's models list ({c.account_models} models, "
            f"region {c.region}): ")
    if not c.differences:
        return [head + "no differences"]
    lines = [head + f"{len(c.differences)} difference(s)"]
    width = max(len(d.kind) for d in c.differences)
    lines += [f"  {d.kind:<{width}}  {d.message}" for d in c.differences]
    return lines
