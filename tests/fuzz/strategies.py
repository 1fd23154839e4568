"""Hostile values and texts for the fuzzer."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import strategies as st

CONTROL_TEXT = st.text(alphabet=st.sampled_from(["a", "-", " ", "\n", "\t", "\x1b", "[", "]", "\x07", "\x00", "\x9b",
                                                 "|", "`", "$", "{", "}", "\u202e", "é", ":", "#", "&", "*", "!"]),
                       max_size=40)
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308]),
    st.text(max_size=30), CONTROL_TEXT,
    st.sampled_from(["auto", "", "${FTOPS_X}", "${HOME}", "${", "../../../../etc/passwd", "/etc/passwd", "a" * 300,
                     "2025-13-45", "0x1F", "1e400", "~", "null", "yes", "no", ".nan"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), CONTROL_TEXT), inner, max_size=4)),
    max_leaves=12)
YAML_TOKENS = st.sampled_from([
    "&a ", "*a", "<<: *a", "? ", ": ", "- ", "[", "]", "{", "}", "!!binary ", "!!python/object:os.system ", "!!set ",
    "---\n", "...\n", "%YAML 1.1\n", "\t", "\n", "  ", "\"", "'", "|\n", ">\n", "#", "\x00", "\ufeff", "\x1b[31m",
    "apiVersion: ftops/v1\n", "kind: Foundry\n", "n_epochs: true", "9" * 5000, "[" * 100, "&b [*a,*a,*a,*a]",
])


def dump(docs: list[Any]) -> str:
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


@st.composite
def replaced_value(draw: st.DrawFn, docs: list[Any]) -> list[Any]:
    """`docs` with one value somewhere (any depth) replaced by a hostile one, or a key added/removed."""
    doc = docs[draw(st.integers(0, len(docs) - 1))]
    node: Any = doc
    while True:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if draw(st.booleans()) and isinstance(node[key], dict | list) and node[key]:
                node = node[key]
                continue
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = draw(VALUES)
            elif action == "delete":
                del node[key]
            else:
                node[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
            return docs
        if isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
            return docs
        return docs


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """`text` with a few splices: deletions, insertions of YAML syntax, duplicated slices."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(YAML_TOKENS) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.text(max_size=10)) + text[j:]
    return text
