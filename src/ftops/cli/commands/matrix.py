"""`ftops matrix [DIR]`: the spec directory's Foundry accounts, as a GitHub Actions `strategy.matrix`.

Offline: it loads the specs (so a broken spec fails here, before any runner starts) and connects to nothing.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import orjson
import typer

from ... import UsageError
from .._escape import terminal
from .._output import out

# "A matrix will generate a maximum of 256 jobs per workflow run" (GitHub Docs, workflow syntax,
# jobs.<job_id>.strategy.matrix; github/docs data/reusables/github-actions/usage-matrix-limits.md). A longer
# matrix fails the whole workflow run when GitHub expands it: refused here, where the accounts are counted.
MATRIX_JOBS_LIMIT = 256


class MatrixFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command()(matrix)


def matrix(
    spec_dir: Path = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory (default specs/)."),
    fmt: MatrixFormat = typer.Option(MatrixFormat.text, "--format", "-f",
                                     help="text | json (json: {\"include\": [...]}, for fromJSON in a workflow)"),
) -> None:
    """List the Foundry documents (one per account): with --format json, a GitHub Actions matrix whose
    entries name each one's foundry (for --foundry), account and region."""
    from ...spec import account_entries, load_project

    entries = account_entries(load_project(spec_dir))
    if fmt is MatrixFormat.json:
        if len(entries) > MATRIX_JOBS_LIMIT:
            raise UsageError(f"{len(entries)} Foundry documents: a GitHub Actions matrix runs at most "
                             f"{MATRIX_JOBS_LIMIT} jobs per workflow run; split the accounts over several spec "
                             "directories (one matrix each)", path=spec_dir)
        # No null: GitHub's workflow schema takes strings, numbers, booleans, objects and arrays in a matrix (the
        # SchemaStore github-workflow.json that check-jsonschema vendors, definitions.configuration).
        include = [{"foundry": e.foundry, "region": e.region, **({"account": e.account} if e.account else {})}
                   for e in entries]
        out.print(orjson.dumps({"include": include}).decode(), markup=False)
        return
    for e in entries:
        where = "local" if e.local else (e.account or "-")
        out.print(terminal(f"{e.foundry}\t{where}\t{e.region}"), markup=False)
