"""Make untrusted text (Foundry's messages, file names, spec values) safe to print.

`terminal` removes ANSI/OSC escape sequences and control characters; `md_cell` makes one Markdown
table cell (one line, `|` escaped).
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal(text: str) -> str:
    """Text without escape sequences or control characters (newline and tab kept)."""
    return _CONTROL.sub("", _ESCAPES.sub("", text))


def md_cell(text: str) -> str:
    """One Markdown table cell: one line, no control characters, `|` escaped."""
    one_line = " ".join(terminal(text).split())
    return one_line.replace("|", "\\|")
