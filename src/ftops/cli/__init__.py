"""The command line: parse flags, call the core, render. The only layer that prints."""

from ._main import app, main

__all__ = ["app", "main"]
