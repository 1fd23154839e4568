"""Safe, bounded YAML loading that remembers the line of every mapping key and sequence item (spec files,
the catalog override).

PyYAML's safe constructor forgets positions; we compose nodes ourselves so that a pydantic
error at `spec.hyperparameters.n_epochs` can be reported at the line that holds it.

A spec file is untrusted input (a pull request can change it), so composing is bounded: nesting
depth, the number of documents, and the number of nodes a document expands to once aliases are
followed (a 300-byte "billion laughs" file would otherwise expand to billions). Aliases stay
allowed for the usual small reuse; an alias to a node that contains it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]

MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_NODES = 20_000  # nodes of one document, aliases expanded
MAX_DOCUMENTS = 1_000  # documents in one file


@dataclass
class Document:
    """One YAML document: its data, where it starts, and the line of each location in it."""

    data: Any
    path: str
    line: int
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest ancestor that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.line


class YamlError(Exception):
    """A file that is not valid YAML, or exceeds a bound; carries the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 1


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts depth, documents and expanded nodes as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._documents = 0
        self._nodes = 0  # expanded nodes so far in the current document
        self._size: dict[int, int] = {}  # id(node) -> its expanded size, for aliases to it
        self._open: set[str] = set()  # anchors of the nodes being composed (an alias to one is a cycle)

    def compose_document(self) -> Any:
        self._documents += 1
        if self._documents > MAX_DOCUMENTS:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YamlError(f"more than {MAX_DOCUMENTS} documents in one file", _line(event.start_mark))
        self._nodes = 0
        self._size.clear()
        return super().compose_document()

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise YamlError(f"the document expands to more than {MAX_NODES} values once aliases are followed; "
                            "refusing it (an alias bomb?)", _line(mark))

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise YamlError(f"alias *{event.anchor} refers to a value that contains it", _line(event.start_mark))
            node = super().compose_node(parent, index)
            self._count(self._size.get(id(node), 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlError(f"nested more than {MAX_DEPTH} levels deep", _line(event.start_mark))
        anchor = event.anchor
        if anchor is not None:
            self._open.add(anchor)
        before = self._nodes
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        self._size[id(node)] = self._nodes - before
        return node


class _Scalars:
    """Resolves scalar tags exactly as SafeLoader would (ints, floats, bools, nulls; the rest as text)."""

    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()

    def value(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, ArithmeticError):
            return node.value  # e.g. a 5000-digit int or a timestamp like 2025-13-45: keep the text
        if not isinstance(value, str | int | float | bool | type(None)):
            return node.value
        return value


def _convert(node: yaml.Node, loc: Loc, lines: dict[Loc, int], scalars: _Scalars) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("a mapping key must be a plain value, not a list or mapping",
                                key_node.start_mark.line + 1)
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                raise YamlError("merge keys (<<) are not supported", key_node.start_mark.line + 1)
            key = scalars.value(key_node)
            if key in out:
                raise YamlError(f"duplicate key {_short(key)!r}", key_node.start_mark.line + 1)
            out[key] = _convert(value_node, (*loc, key), lines, scalars)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), lines, scalars) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return scalars.value(node)


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def load_documents(text: str, path: str) -> list[Document]:
    """Every non-empty document in `text`, with positions. Raises YamlError."""
    docs: list[Document] = []
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Loc, int] = {}
            data = _convert(node, (), lines, _Scalars())
            docs.append(Document(data, path, node.start_mark.line + 1, lines))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise YamlError(f"invalid YAML: {_short(e.problem or e.context, 200)}", _line(mark)) from None
    except yaml.YAMLError as e:
        raise YamlError(f"invalid YAML: {_short(e, 200)}", 1) from None
    finally:
        if loader is not None:
            loader.dispose()
    return docs
