"""Safe YAML loading that remembers the line of every mapping key and sequence item.

PyYAML's safe constructor forgets positions; we compose nodes ourselves so that a pydantic
error at `spec.hyperparameters.n_epochs` can be reported at the line that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]


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


def _scalar(node: yaml.ScalarNode) -> Any:
    # Resolve tags exactly as SafeLoader would (ints, floats, bools, nulls, timestamps as str).
    loader = yaml.SafeLoader("")
    try:
        value = loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
    if not isinstance(value, str | int | float | bool | type(None)):
        return node.value
    return value


def _convert(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key == "<<":
                raise yaml.YAMLError("merge keys (<<) are not supported")
            if key in out:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            out[key] = _convert(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), lines) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


class YamlError(Exception):
    """A file that is not valid YAML; carries the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_documents(text: str, path: str) -> list[Document]:
    """Every non-empty document in `text`, with positions. Raises YamlError."""
    docs: list[Document] = []
    try:
        for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
            if node is None:
                continue
            lines: dict[Loc, int] = {}
            data = _convert(node, (), lines)
            docs.append(Document(data, path, node.start_mark.line + 1, lines))
    except _DuplicateKey as e:
        raise YamlError(f"duplicate key {e.key!r}", e.line) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(f"invalid YAML: {e.problem or e.context}", line) from None
    except yaml.YAMLError as e:
        raise YamlError(f"invalid YAML: {e}", 1) from None
    return docs
