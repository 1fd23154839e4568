"""The bounded, line-keeping YAML loader, on both parsers: libyaml's C one and PyYAML's pure-Python one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ftops import _yaml
from ftops._yaml import MAX_DEPTH, MAX_DOCUMENTS, MAX_NODES, Document, ParserName, YamlError, load_documents
from tests.conftest import BASE_SPEC

REPO = Path(__file__).resolve().parents[2]
PARSERS: list[Any] = [
    "python",
    pytest.param("libyaml", marks=pytest.mark.skipif(not _yaml.HAS_LIBYAML, reason="PyYAML built without libyaml")),
]

Outcome = list[tuple[Any, int, dict[Any, int]]] | tuple[str, int]


def outcome(text: str, parser: ParserName) -> Outcome:
    """Each document's data, line and lines; or the refusal's line."""
    try:
        return [(d.data, d.line, d.lines) for d in load_documents(text, "f.yaml", parser=parser)]
    except YamlError as e:
        return ("refused", e.line)


def refusal(text: str, parser: ParserName) -> YamlError:
    with pytest.raises(YamlError) as e:
        load_documents(text, "f.yaml", parser=parser)
    return e.value


ALIASES = """\
base: &b
  x: 1
  y: [1, 2]
use:
  - *b
  - z: *b
"""

SPECS = {
    "base": BASE_SPEC,
    "demo": (REPO / "specs" / "clippy.yaml").read_text(),
    "aliases": ALIASES,
    "scalars": "a: !!binary aGVsbG8=\nb: 2025-01-01\nc: !!str 12\nd: '12'\ne: ~\nf: yes\ng: 0x1f\nh: 1:20\n"
               "i: .inf\nj: 1_000\nk: \"\\u00e9\\t\"\nl: 2025-13-45\nm: " + "9" * 5000 + "\nn: ! 12\n",
    "block scalars": "a: |\n  line\n  more\nb: >-\n  folded\n  text\n\nc: |+\n  kept\n\n",
    "flow and comments": "# top\na: {x: [1, {y: 2}], z: 'q'}  # end\nb: [\n  1,\n  2,\n]\n",
    "crlf and cr": "a: 1\r\nb:\r\n  - x\r\n  - y\r\nc: 2\rd: 3\r",
    "documents": "---\na: 1\n...\n---\n- 1\n---\n---\nlast\n",
    "explicit keys": "? a\n: 1\n? b\n",
    "no final line break": "---",
    "anchored key": "&k name: 1\nother: *k\n",
}


@pytest.mark.skipif(not _yaml.HAS_LIBYAML, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("name", SPECS)
def test_both_parsers_give_the_same_data_and_lines(name: str) -> None:
    assert outcome(SPECS[name], "libyaml") == outcome(SPECS[name], "python")


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", ["base", "demo", "flow and comments", "crlf and cr", "documents", "block scalars"])
def test_the_data_is_what_safe_load_gives(name: str, parser: ParserName) -> None:
    assert [d.data for d in load_documents(SPECS[name], "f", parser=parser)] == list(yaml.safe_load_all(SPECS[name]))


@pytest.mark.parametrize("parser", PARSERS)
def test_scalars_resolve_as_safe_load_and_odd_ones_stay_text(parser: ParserName) -> None:
    [doc] = load_documents(SPECS["scalars"], "f", parser=parser)
    assert doc.data == {"a": "aGVsbG8=", "b": "2025-01-01", "c": "12", "d": "12", "e": None, "f": True, "g": 31,
                        "h": 80, "i": float("inf"), "j": 1000, "k": "é\t", "l": "2025-13-45", "m": "9" * 5000,
                        "n": "12"}


@pytest.mark.parametrize("parser", PARSERS)
def test_lines_of_keys_items_and_aliased_values(parser: ParserName) -> None:
    [doc] = load_documents(ALIASES, "f", parser=parser)
    assert doc.data == {"base": {"x": 1, "y": [1, 2]}, "use": [{"x": 1, "y": [1, 2]}, {"z": {"x": 1, "y": [1, 2]}}]}
    assert doc.data["use"][0] is not doc.data["base"]  # each use of an alias is its own copy
    assert doc.line == 1
    assert doc.lines[("base", "y", 1)] == 3
    assert doc.lines[("use",)] == 4  # a mapping value: the line of its key
    assert doc.lines[("use", 0)] == 1  # an aliased item: where the anchored value starts
    assert doc.lines[("use", 0, "y")] == 3  # inside an aliased value: the lines of the anchored one
    assert doc.lines[("use", 1, "z")] == 6
    assert doc.lines[("use", 1, "z", "x")] == 2
    assert doc.line_of(("use", 1, "z", "nope", 3)) == 6  # nearest ancestor with a line


@pytest.mark.parametrize("parser", PARSERS)
def test_lines_of_a_spec(parser: ParserName) -> None:
    docs = load_documents(BASE_SPEC, "specs/main.yaml", parser=parser)
    assert [d.line for d in docs] == [1, 6, 11, 16, 29]
    job = docs[3]
    assert isinstance(job, Document) and job.path == "specs/main.yaml"
    assert job.line_of(("spec", "hyperparameters", "n_epochs")) == 25
    assert job.line_of(("metadata", "name")) == 18


@pytest.mark.parametrize("parser", PARSERS)
def test_the_end_of_a_text_without_a_final_line_break_is_on_its_last_line(parser: ParserName) -> None:
    assert outcome("---", parser) == [(None, 1, {(): 1})]
    assert outcome("a: [1,", parser) == ("refused", 1)
    assert outcome("a: 1\n---\n", parser) == [({"a": 1}, 1, {(): 1, ("a",): 1}), (None, 3, {(): 3})]


# --- the bounds, each refused with its line, on both parsers -------------------------------------------


def nested(levels: int, inner: str = "") -> str:
    return "[" * levels + inner + "]" * levels + "\n"


@pytest.mark.parametrize("parser", PARSERS)
def test_depth(parser: ParserName) -> None:
    assert load_documents(nested(MAX_DEPTH), "f", parser=parser)  # 64 nested lists
    assert load_documents(nested(MAX_DEPTH - 1, "1"), "f", parser=parser)  # 63 lists and a scalar: 64 levels
    e = refusal(nested(MAX_DEPTH, "1"), parser)  # the scalar would be the 65th level
    assert e.message == f"nested more than {MAX_DEPTH} levels deep" and e.line == 1
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(200))  # the mapping on line n is level n
    e = refusal(block, parser)
    assert "nested more than" in e.message and e.line == MAX_DEPTH  # its keys are the 65th level


@pytest.mark.parametrize("parser", PARSERS)
def test_depth_is_refused_before_any_deep_recursion(parser: ParserName) -> None:
    e = refusal("x:\n  " + "[" * 500_000, parser)  # within the 1 MB spec limit; far past the recursion limit
    assert "nested more than" in e.message and e.line == 2


@pytest.mark.parametrize("parser", PARSERS)
def test_documents(parser: ParserName) -> None:
    assert len(load_documents("---\na: 1\n" * MAX_DOCUMENTS, "f", parser=parser)) == MAX_DOCUMENTS
    e = refusal("---\na: 1\n" * (MAX_DOCUMENTS + 1), parser)
    assert e.message == f"more than {MAX_DOCUMENTS} documents in one file" and e.line == 2 * MAX_DOCUMENTS + 1


def alias_uses(uses: int) -> str:
    """1 mapping + key a + a list of 100 + key b + list b + `uses` aliases of 100 each = 104 + 100 * uses."""
    return "a: &a [" + ",".join(["x"] * 99) + "]\nb:\n" + "- *a\n" * uses


@pytest.mark.parametrize("parser", PARSERS)
def test_expanded_nodes_count_every_alias(parser: ParserName) -> None:
    uses = (MAX_NODES - 104) // 100
    [doc] = load_documents(alias_uses(uses), "f", parser=parser)
    assert len(doc.data["b"]) == uses
    e = refusal(alias_uses(uses + 1), parser)
    assert e.message.startswith(f"the document expands to more than {MAX_NODES} values") and e.line == 3 + uses
    plain = "- x\n" * MAX_NODES  # no alias at all: the bound is on values
    assert refusal(plain, parser).line == MAX_NODES


ALIAS_BOMB = "".join(f"{c}: &{c} [{','.join(['*' + p] * 9) if p else ','.join(['lol'] * 9)}]\n"
                     for p, c in zip(["", *"abcdefgh"], "abcdefghi", strict=True))


@pytest.mark.parametrize("parser", PARSERS)
def test_alias_bomb(parser: ParserName, monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[int] = []
    nesting: list[int] = []
    real_copy = _yaml._copy

    def counting_copy(value: Any) -> Any:  # _copy recurses through the module: count the outermost calls
        nesting.append(1)
        try:
            out = real_copy(value)
        finally:
            nesting.pop()
        if not nesting:
            copied.append(values(out))
        return out

    monkeypatch.setattr(_yaml, "_copy", counting_copy)
    e = refusal(ALIAS_BOMB, parser)
    assert "expands to more than" in e.message and e.line == 5
    assert 0 < sum(copied) <= MAX_NODES  # the alias that crosses the bound is refused before it is copied


def values(data: Any) -> int:
    if isinstance(data, dict):
        return 1 + sum(values(v) + 1 for v in data.values())
    if isinstance(data, list):
        return 1 + sum(values(v) for v in data)
    return 1


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(("text", "line"), [
    ("a: &a [*a]\n", 1),
    ("a: &a\n  b:\n    c: *a\n", 3),
    ("- &x\n  - &y\n    - *x\n", 3),
])
def test_alias_cycle(parser: ParserName, text: str, line: int) -> None:
    e = refusal(text, parser)
    assert "refers to a value that contains it" in e.message and e.line == line


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(("text", "message", "line"), [
    ("a: *nope\n", "invalid YAML: found undefined alias 'nope'", 1),
    ("a: &x 1\nb: &x 2\n", "invalid YAML: duplicate anchor &x (first defined at line 1)", 2),
    ("a: 1\n? [1, 2]\n: 3\n", "a mapping key must be a plain value, not a list or mapping", 2),
    ("a: &m {x: 1}\n*m : 3\n", "a mapping key must be a plain value, not a list or mapping", 1),
    ("a: &x {x: 1}\nb: {<<: *x}\n", "merge keys (<<) are not supported", 2),
    ("a: 1\n'<<': 2\n", "merge keys (<<) are not supported", 2),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'", 3),
    ("1: a\n1.0: b\n", "duplicate key '1.0'", 2),
    ("a: 1\nb: \x00\n", "invalid YAML: unacceptable character #x0000: special characters are not allowed", 2),
    ("a: é\r\nb: \x07\n", "invalid YAML: unacceptable character #x0007: special characters are not allowed", 2),
    ("a: 1\nb: \ud800\n", "invalid YAML: unacceptable character #xd800: special characters are not allowed", 2),
    ("a: !nope x\n", "invalid YAML: could not determine a constructor for the tag '!nope'", 1),
])
def test_refusals_and_their_lines(parser: ParserName, text: str, message: str, line: int) -> None:
    e = refusal(text, parser)
    assert (e.message, e.line) == (message, line)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("text", ["a: [1,\n", "a: b: c\n", "- a\nb: c\n", "a: 'x\n", "%YAML 2.0\n---\na\n", "[a]]\n"])
def test_a_syntax_error_is_one_line_with_a_line_number(parser: ParserName, text: str) -> None:
    e = refusal(text, parser)
    assert e.message.startswith("invalid YAML: ") and "\n" not in e.message and 1 <= e.line <= text.count("\n") + 1


@pytest.mark.parametrize("has_libyaml", [False, pytest.param(True, marks=PARSERS[1].marks)])
def test_the_default_parser(monkeypatch: pytest.MonkeyPatch, has_libyaml: bool) -> None:
    used: list[str] = []
    real_events = _yaml._events

    def events(text: str, parser: ParserName) -> Any:
        used.append(parser)
        return real_events(text, parser)

    monkeypatch.setattr(_yaml, "_events", events)
    monkeypatch.setattr(_yaml, "HAS_LIBYAML", has_libyaml)
    assert load_documents("a: 1\n", "f")[0].data == {"a": 1}
    assert used == ["libyaml" if has_libyaml else "python"]
