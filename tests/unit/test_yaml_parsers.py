"""libyaml's C parser and PyYAML's pure-Python one under the same bounded composer: on hostile, random
YAML text they give the same data and lines, or both refuse; where the two scanners are known to read
YAML differently, the difference is written down here (and checked, so a fixed one shows up)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftops import _yaml
from tests.unit.test_yaml import ALIAS_BOMB, Outcome, outcome

pytestmark = pytest.mark.skipif(not _yaml.HAS_LIBYAML, reason="PyYAML built without libyaml")

# Pieces of YAML, joined at random: structure, indentation, flow, anchors and aliases (a bomb's worth),
# tags, quotes and escapes, block scalars, documents and directives, YAML 1.1 scalars, every line
# break, characters YAML refuses. Left out: the known differences below (tabs, `?` and other flow
# indicators next to text, a BOM after the start, a comment glued to a block scalar's header).
PIECES = [
    "a", "b", "key", ":", ": ", " ", "  ", "\n", "\n  ", "\n    ", "- ", "-", "\n- ", "\n  - ", "key: ", "\n  key: ",
    "[", "]", "{", "}", ", ", ",", "&a ", "&b ", "*a", "*b", "!!str ", "!!int ", "!!float ", "!!map ", "! ", "!t ",
    "'", '"', "'y'", '"x"', '"\\x41"', '"\\u00e9"', '"\\q"', " # c", "| ", "|-\n", "> ", "---", "--- ", "...",
    "\n...\n", "%YAML 1.1\n", "%TAG !e! tag:e.com,2000:\n", "!e!x ", "1", "<<", "<<: ", "~", "yes", "0x1f", "1.5",
    "\\", "@", "`", "%", "2025-01-01", "é", "\r\n", "\r", "\u2028", "\x85", "\x00", "\x07", "null", ".inf",
    "1_000", "0o17", "017", "9" * 30, ALIAS_BOMB, "[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]",
]


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_both_parsers_agree_on_random_yaml(text: str) -> None:
    c, python = outcome(text, "libyaml"), outcome(text, "python")
    assert same(c, python), (text, c, python)


def same(a: Outcome, b: Outcome) -> bool:
    """Equal data and lines, or both refused (the wording and line of a syntax error may differ)."""
    return (isinstance(a, tuple) and isinstance(b, tuple)) or a == b


@pytest.mark.parametrize("text", [
    # libyaml reads a tab as separation (as YAML 1.2 does); PyYAML's scanner refuses it after a value.
    "a: b\t\n",
    "a:\tb\n",
    # Inside [...] or {...}, libyaml reads `?` as part of a plain value; PyYAML refuses it there.
    "q: [why?]\n",
    "q: {a: why?}\n",
    # A comment right after a block scalar's header: libyaml accepts it, PyYAML wants a space first.
    "a: |# note\n  text\n",
    # Flow indicators in a tag: PyYAML takes them into the tag, libyaml refuses.
    "!t[ {a: 1}\n",
    # A byte order mark at the start of a later line: libyaml skips it, PyYAML reads it as text.
    "---\n\ufeffa: 1\n",
])
def test_known_differences_between_the_scanners(text: str) -> None:
    assert not same(outcome(text, "libyaml"), outcome(text, "python"))
