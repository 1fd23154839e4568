"""`ftops validate [DIR]`: parse specs, check references, datasets and catalog support; offline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import orjson
import typer

from ...checks import CheckedProject, validate_every
from .._escape import terminal
from .._local import storage_auth
from .._options import FOUNDRY
from .._output import err, out


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        spec_dir: Path = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory."),
        tokens: bool = typer.Option(True, "--tokens/--no-tokens",
                                    help="Count tokens (needed for per-example limits and cost)."),
        fmt: ValidateFormat = typer.Option(ValidateFormat.text, "--format", "-f", help="text | json"),
        foundry: str | None = FOUNDRY,
    ) -> None:
        """Check specs, references and datasets offline (every Foundry's, or --foundry's). Exit 0 valid, 1 invalid."""
        every = validate_every(spec_dir, foundry=foundry, count_tokens=tokens, url_auth=storage_auth)
        warnings = list(dict.fromkeys(w for c in every for w in c.warnings))  # the loader's come with each Foundry
        for w in warnings:
            err.print(terminal(str(w)), markup=False)
        if fmt is ValidateFormat.json:
            data = {
                "valid": True,
                "datasets": {n: {k: v for k, v in r.to_dict().items() if k != "problems"}
                             for c in every for n, r in c.reports.items()},
                "warnings": [str(w) for w in warnings],
            }
            out.print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), markup=False)
            return
        for checked in every:
            _text(checked, spec_dir, len(every) > 1)


def _text(checked: CheckedProject, spec_dir: Path, several: bool) -> None:
    p = checked.project
    where = f"Foundry {p.foundry.name} of {spec_dir}" if several and p.foundry is not None else str(spec_dir)
    out.print(terminal(f"valid: {len(p.datasets)} dataset(s), {len(p.jobs)} job(s), "
                       f"{len(p.deployments)} deployment(s) in {where}"), markup=False)
    for name, r in checked.reports.items():
        if r.identity == "etag":  # not read: only what a HEAD said
            out.print(terminal(f"  dataset {name}: {r.size:,} bytes, not readable here: identity ETag {r.etag} "
                               "and size"), markup=False)
            continue
        tokens_s = f", {r.trained_tokens} trained tokens" if r.tokens_counted else ""
        bom = "UTF-8 with BOM" if r.bom else "UTF-8 without BOM"
        out.print(f"  dataset {name}: {r.format}, {r.examples} examples{tokens_s}, {bom}, "
                  f"sha256 {r.sha256[:12]}", markup=False)
