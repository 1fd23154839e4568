"""`ftops validate [DIR]`: parse specs, check references, datasets and catalog support; offline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import orjson
import typer

from ...checks import validate_dir
from .._escape import terminal
from .._local import storage_auth
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
    ) -> None:
        """Check specs, references and datasets offline. Exit 0 valid, 1 invalid."""
        checked = validate_dir(spec_dir, count_tokens=tokens, url_auth=storage_auth)
        for w in checked.warnings:
            err.print(terminal(str(w)), markup=False)
        if fmt is ValidateFormat.json:
            data = {
                "valid": True,
                "datasets": {n: {k: v for k, v in r.to_dict().items() if k != "problems"}
                             for n, r in checked.reports.items()},
                "warnings": [str(w) for w in checked.warnings],
            }
            out.print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), markup=False)
            return
        p = checked.project
        out.print(terminal(f"valid: {len(p.datasets)} dataset(s), {len(p.jobs)} job(s), "
                           f"{len(p.deployments)} deployment(s) in {spec_dir}"), markup=False)
        for name, r in checked.reports.items():
            if r.identity == "etag":  # not read: only what a HEAD said
                out.print(terminal(f"  dataset {name}: {r.size:,} bytes, not readable here: identity ETag {r.etag} "
                                   "and size"), markup=False)
                continue
            tokens_s = f", {r.trained_tokens} trained tokens" if r.tokens_counted else ""
            bom = "UTF-8 with BOM" if r.bom else "UTF-8 without BOM"
            out.print(f"  dataset {name}: {r.format}, {r.examples} examples{tokens_s}, {bom}, "
                      f"sha256 {r.sha256[:12]}", markup=False)
