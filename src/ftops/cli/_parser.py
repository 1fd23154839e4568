"""The command-line parser's exception classes, wherever they live.

Typer 0.29+ bundles its own click (`typer._click`), whose classes are not the standalone
`click.exceptions.*`; older Typer uses the standalone click. ftops depends on neither directly: each
family is caught when it is installed (`pip install ftops` may have no standalone click at all).
"""

from __future__ import annotations

import contextlib
import importlib
import sys

import typer

_MODULES = ("typer._click.exceptions", "click.exceptions")


def parser_classes(name: str) -> tuple[type[Exception], ...]:
    """The class `name` (ClickException, Abort, NoArgsIsHelpError) of each click in use: Typer's own, and the
    standalone click if it is loaded (an older Typer imports it; else nothing can raise its classes, and
    importing it only to compare would cost every command its import)."""
    found: list[type[Exception]] = []
    for module in _MODULES:
        with contextlib.suppress(ImportError):
            loaded = importlib.import_module(module) if module.startswith("typer.") else sys.modules.get(module)
            cls = getattr(loaded, name, None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls not in found:
                found.append(cls)
    return tuple(found)


USAGE_ERRORS: tuple[type[Exception], ...] = (typer.TyperException, *parser_classes("ClickException"))
ABORTS: tuple[type[BaseException], ...] = (typer.Abort, *parser_classes("Abort"), EOFError)
NO_ARGS_HELP: tuple[type[Exception], ...] = parser_classes("NoArgsIsHelpError")
