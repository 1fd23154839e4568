"""Entry point: the one place where exceptions become messages and exit codes."""

from __future__ import annotations

import logging
import os
import sys

import click
import typer

from .._exceptions import EXIT_ERROR, FtopsError, ValidationFailed
from ._output import err
from .commands import register

app = typer.Typer(
    name="ftops",
    help="Terraform-style, GitOps fine-tuning for Microsoft Foundry.\n\n"
    "Specs under DIR (default specs/) say which datasets, fine-tuning jobs and deployments should "
    "exist; plan shows what would change and what it costs, apply makes it so, drift exits 2 when "
    "the live world moved.\n\nExit codes: 0 ok, 1 error, 2 changes (plan --detailed-exitcode) or drift.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
register(app)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        from .. import __version__

        typer.echo(f"ftops {__version__}")
        raise typer.Exit(0)


def main() -> None:
    logging.basicConfig(level=os.environ.get("FTOPS_LOG_LEVEL", "WARNING").upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    # The Azure SDK logs request headers at DEBUG and credential chains at WARNING: keep it to real
    # errors, so no token can leak into logs and a failed login reads as our one line.
    logging.getLogger("azure").setLevel(logging.ERROR)
    try:
        code = app(standalone_mode=False)
    except ValidationFailed as e:
        for p in e.problems:
            err.print(str(p), markup=False)
        code = e.exit_code
    except FtopsError as e:
        err.print(f"error: {e}", markup=False)
        code = e.exit_code
    except click.exceptions.Abort:
        err.print("aborted", markup=False)
        code = EXIT_ERROR
    except click.ClickException as e:
        err.print(f"error: {e.format_message()}", markup=False)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        code = 130
    if code == 130:  # Ctrl-C (Typer turns KeyboardInterrupt into exit 130)
        err.print("interrupted: nothing half-done is left that the next apply cannot finish", markup=False)
    sys.exit(code if isinstance(code, int) else 0)
