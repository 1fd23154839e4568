"""Entry point: the one place where exceptions become messages and exit codes.

Every way a command can end is mapped here to ONE line on stderr (ValidationFailed: one line per
problem) and an exit code, never a traceback: our own errors, the usage errors of the command-line
parser (Typer 0.29 bundles its own click, whose exception classes are not `click.exceptions.*`, so
both families are caught), Ctrl-C, Ctrl-D at a prompt, and, last, anything unexpected.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

import typer

from .. import EXIT_ERROR, FtopsError, ValidationFailed, redact_text
from ._escape import terminal
from ._output import err, out
from ._parser import ABORTS, NO_ARGS_HELP, USAGE_ERRORS
from ._startup import EXIT_INTERRUPTED, INTERRUPTED
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

# The parser's exceptions: Typer's bundled click (0.29+) and the standalone click (older Typer).
_USAGE_ERRORS = USAGE_ERRORS
_ABORTS = ABORTS


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        from .. import __version__

        typer.echo(f"ftops {__version__}")
        raise typer.Exit(0)


def _line(text: str) -> None:
    err.print(terminal(redact_text(text)), markup=False, highlight=False)  # a URL's query (a SAS) never shows


def _usage_line(e: Exception) -> str:
    """One line for a parser error: the message and where to find help."""
    message = e.format_message() if hasattr(e, "format_message") else str(e)
    ctx = getattr(e, "ctx", None)
    command = getattr(ctx, "command_path", None) or "ftops"
    return f"error: {message} (see `{command} --help`)"


_NO_ARGS_HELP = NO_ARGS_HELP


def _run(args: list[str] | None) -> int:
    try:
        code = app(args=args, prog_name="ftops", standalone_mode=False)
    except ValidationFailed as e:
        for p in e.problems:
            _line(str(p))
        return e.exit_code
    except FtopsError as e:
        _line(f"error: {e}")
        return e.exit_code
    except _ABORTS:  # Ctrl-D (EOF) at a prompt, or a prompt answered with an abort
        _line("aborted: no input (nothing was changed)")
        return EXIT_ERROR
    except _USAGE_ERRORS as e:
        if isinstance(e, _NO_ARGS_HELP):
            out.print(e.format_message() if hasattr(e, "format_message") else str(e), markup=False)
            return 0
        _line(_usage_line(e))
        return EXIT_ERROR
    except (KeyboardInterrupt, typer.Exit) as e:
        return getattr(e, "exit_code", EXIT_INTERRUPTED)
    except Exception as e:  # the last resort: a bug of ours, but still one line
        return _internal(e)
    return code if isinstance(code, int) else 0


def _internal(e: BaseException) -> int:
    if logging.getLogger("ftops").isEnabledFor(logging.DEBUG):
        traceback.print_exception(e, file=sys.stderr)
    _line(f"internal error: {type(e).__name__}: {e}; please report (FTOPS_LOG_LEVEL=DEBUG shows where)")
    return EXIT_ERROR


def _log_level() -> int:
    name = os.environ.get("FTOPS_LOG_LEVEL", "WARNING").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.WARNING


def _thread_exception(hook: threading.ExceptHookArgs) -> None:
    """A background thread that dies (the local Foundry's server, say, on a damaged certificate) must
    not print a traceback: the main thread reports the consequence as its one line."""
    logging.getLogger("ftops").debug("thread %s died", getattr(hook.thread, "name", "?"), exc_info=hook.exc_value)


class _RedactQueries(logging.Filter):
    """Log records with every URL's query cut to `?…`: httpx logs each request's URL and openai a request's
    body at DEBUG, and a dataset import sends a SAS in both."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def main(args: list[str] | None = None) -> None:
    logging.basicConfig(level=_log_level(), format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactQueries())
    threading.excepthook = _thread_exception
    # The Azure SDK logs request headers at DEBUG and credential chains at WARNING: keep it to real
    # errors, so no token can leak into logs and a failed login reads as our one line.
    logging.getLogger("azure").setLevel(logging.ERROR)
    try:
        code = _run(args)
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being handled
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:  # Ctrl-C (Typer turns KeyboardInterrupt into exit 130)
        _line(INTERRUPTED)
    sys.exit(code)
