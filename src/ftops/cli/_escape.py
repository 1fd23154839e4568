"""Make untrusted text safe to print: on a terminal, and in one Markdown table cell.

Text that ftops did not write (Foundry's error messages, file names, spec values) can hold ANSI/OSC
escape sequences that recolour or retitle a terminal, hide text or forge hyperlinks, and newlines or
`|` that break a Markdown table. Every function is total: any str in, a safe str out.

- `terminal(text)`: no escape sequences or control characters; one line unless `multiline`.
- `md_cell(text)`: one table cell, safe inside a code span too (`|` escaped, backticks become `'`).
- `md_text(text)`: one table cell of plain text: also escapes what Markdown would read as emphasis,
  links, HTML or entities (`* _ [ ] < > & \\`), and what GitHub would act on: an @mention (a ping), an
  issue or pull request reference (`#123`, `GH-123`, `owner/repo#1`, a github.com URL: a back-link on that
  issue). Not for code spans, where a backslash shows as itself (GitHub acts on nothing in a code span).
"""

from __future__ import annotations

import re

# ECMA-48 sequences, 7-bit and 8-bit forms: CSI (ESC [ / 0x9b ... final byte), OSC, DCS, SOS, PM, APC
# (ESC ] P X ^ _ / 0x9d 0x90 0x98 0x9e 0x9f ... up to BEL or ST), and two-byte ESC sequences.
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
_STRING = r"(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
_ESC2 = r"\x1b[\x20-\x7e]?"
_SEQUENCE = re.compile(f"{_STRING}|{_CSI}|{_ESC2}")
# C0 controls except \t and \n, DEL, C1 controls; also the bidi overrides that reorder shown text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>&])")
# GitHub links a mention or reference only when it starts right there: a zero-width space (as an entity,
# which a code span never holds) after `@`, `#`, `GH-` or inside `github.com` shows the same text, acted on by
# nothing (what Renovate does in release notes).
_ZWSP = "&#8203;"
_GITHUB_ACTS = re.compile(r"(@|#|\bGH-)(?=[A-Za-z0-9])|(github)(?=\.com)", re.IGNORECASE)


def terminal(text: str, *, multiline: bool = False) -> str:
    """`text` without escape sequences or control characters. Tabs stay; newlines stay only when
    `multiline`, otherwise they become a space so that one message stays one line."""
    text = _SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n") if multiline else _LINE_BREAKS.sub(" ", text)
    return _CONTROL.sub("", text)


def _one_line(text: str) -> str:
    text = _LINE_BREAKS.sub(" ", _SEQUENCE.sub("", text)).replace("\t", " ")
    return _CONTROL.sub("", text).strip()


def md_cell(text: str) -> str:
    """`text` as one Markdown table cell, plain or inside a code span: one line, no control characters,
    `|` escaped (GitHub reads `\\|` as a pipe even in a code span), a backtick (which would end a code
    span) replaced by an apostrophe."""
    return _one_line(text).replace("|", "\\|").replace("`", "'")


def md_text(text: str) -> str:
    """`text` as one Markdown table cell of plain text (not in a code span): `md_cell`, the characters
    Markdown gives a meaning (emphasis, links, HTML, entities, backslash) escaped, and mentions and issue
    references that GitHub would act on broken by a zero-width space."""
    escaped = _MD_SPECIAL.sub(r"\\\1", _one_line(text))
    return md_cell(_GITHUB_ACTS.sub(lambda m: m.group(0) + _ZWSP, escaped))
