"""`ftops import [DIR] --out FILE`: specs that adopt the files, jobs and deployments made outside ftops.

The plan layer decides the specs (`ftops.plan.read_import`); this command downloads the adopted files'
content beside FILE (`data/<name>.jsonl`), renders the YAML and writes it. Nothing on Foundry changes.
The layers (and with them openai) are imported inside the command, so that `ftops --help` starts fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ... import FtopsError, PermanentFoundryError, UsageError
from .._escape import terminal
from .._options import FOUNDRY
from .._output import err, out

if TYPE_CHECKING:
    from ...foundry import FoundryClient
    from ...plan import ImportDecision


def register(app: typer.Typer) -> None:
    app.command(name="import")(import_)


def import_(
    spec_dir: Path = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory (default specs/)."),
    out_file: Path = typer.Option(..., "--out", help="The spec file to write (put it in DIR, so plans read it)."),
    ids: list[str] = typer.Option([], "--id", help="Import only this file id, job id or deployment name (and "
                                  "what it needs); repeatable. Default: everything no spec of DIR names."),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE and the data files it writes."),
    foundry: str | None = FOUNDRY,
) -> None:
    """Write specs that adopt existing files, jobs and deployments, so the next plan manages them without
    uploading, training or deploying anything again (Terraform's import, azd's clone job)."""
    _refuse_existing(out_file, force)
    if not out_file.resolve().is_relative_to(spec_dir.resolve()):
        err.print(terminal(f"note: {out_file} is outside {spec_dir}: plans of {spec_dir} do not read it"), markup=False)
    from .._local import session

    with session(spec_dir, foundry) as s:
        from ...plan import read_import

        decision = read_import(s.checked, s.client, ids)
        _refuse_data_files(decision, out_file, force)
        sha256, refused = _download(decision, s.client, out_file)
        decision = decision.without_datasets(refused)
        where = s.client.target
    _say_skipped(decision, bool(ids))
    if decision.empty:
        out.print("Nothing to import: no spec written.", markup=False)
        return
    from .._import_yaml import import_yaml

    _write(out_file, import_yaml(decision, sha256, where=where, foundry=foundry))
    counts = f"{len(decision.datasets)} Dataset, {len(decision.jobs)} FineTuningJob, " \
             f"{len(decision.deployments)} Deployment"
    out.print(f"Wrote {out_file} ({counts}). `ftops plan` should show no change.", markup=False)


def _refuse_existing(path: Path, force: bool) -> None:
    if path.is_dir():
        raise FtopsError("cannot write the specs: it is a directory", path=path)
    if path.exists() and not path.is_file():  # a device, FIFO or socket (/dev/stdout): --force would rename over it
        raise FtopsError("cannot write the specs: it is not a regular file", path=path)
    if path.exists() and not force:
        raise UsageError(f"{path} exists: ftops import does not overwrite it (--force does)")
    if not path.parent.is_dir():
        raise FtopsError("cannot write the specs: its directory does not exist", path=path)


def _say_skipped(decision: ImportDecision, asked: bool) -> None:
    """One line per object left alone; those ftops already manages only when asked for by --id (else counted)."""
    managed = 0
    for s in decision.skipped:
        if s.managed and not asked:
            managed += 1
            continue
        err.print(terminal(f"skipped {s.what}: {s.why}"), markup=False)
    if managed:
        err.print(f"left alone {managed} object(s) that ftops already manages (a spec of DIR or an ftops project "
                  "names them)", markup=False)


def _refuse_data_files(decision: ImportDecision, out_file: Path, force: bool) -> None:
    taken = [out_file.parent / d.path for d in decision.datasets if (out_file.parent / d.path).exists()]
    if taken and not force:
        raise UsageError(f"{taken[0]} exists: ftops import does not overwrite data files (--force does)")


def _download(decision: ImportDecision, client: FoundryClient, out_file: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each adopted file's content into data/<name>.jsonl beside FILE: (dataset name -> sha256, dataset name ->
    why Foundry would not give its content). A refusal leaves that dataset, and what needs it, out."""
    from ...foundry import download_file

    digests, refused = {}, {}
    for d in decision.datasets:
        target = out_file.parent / d.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            out.print(f"Downloading {d.file.id} to {target}", markup=False)
            digests[d.name] = download_file(client, d.file.id, target, d.file.bytes).sha256
        except PermanentFoundryError as e:  # Foundry will not hand out this file's content: say so, go on
            refused[d.name] = f"Foundry refused its content ({e.message})"
        except OSError as e:  # the disk, not Foundry: nothing is written (the specs come after the data)
            raise FtopsError(f"cannot write the data file: {e.strerror or e} ({e.filename or target})",
                             path=target) from None
    return digests, refused


def _write(path: Path, text: str) -> None:
    """Through a temporary file renamed over FILE: an interrupted import leaves no half-written specs."""
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise FtopsError(f"cannot write the specs: {e.strerror or e}", path=path) from None
