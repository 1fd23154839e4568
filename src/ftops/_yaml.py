"""Safe, bounded YAML loading that remembers the line of every mapping key and sequence item (spec files,
the catalog override).

PyYAML's safe constructor forgets positions, so we compose the data ourselves from the parser's events
and record, for each location (`("spec", "hyperparameters", "n_epochs")`), the line that holds it; a
pydantic error there is then reported at that line.

A spec file is untrusted input (a pull request can change it), so composing is bounded: nesting
depth, the number of documents, and the number of values a document expands to once aliases are
followed (a 300-byte "billion laughs" file would otherwise expand to billions). Each bound is checked
on the event that would exceed it, before the value is built: an alias's expanded size is counted
before it is copied, and nesting is refused at level 65, before any deeper recursion. Aliases stay
allowed for the usual small reuse; an alias to a node that contains it is refused.

The events come from libyaml's C parser when PyYAML was built with it (about 5x faster on a large spec
tree), else from PyYAML's pure-Python scanner and parser; both feed the same composer, so the bounds,
the data and the lines are the same either way. Only the wording of a syntax error can differ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from yaml.events import AliasEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent
from yaml.nodes import ScalarNode

Loc = tuple[str | int, ...]
ParserName = Literal["libyaml", "python"]

MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_NODES = 20_000  # nodes of one document, aliases expanded
MAX_DOCUMENTS = 1_000  # documents in one file

HAS_LIBYAML: bool = yaml.__with_libyaml__

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_NOT_ALLOWED = "special characters are not allowed"


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


class YamlBoundError(YamlError):
    """One of ftops' own bounds (depth, documents, expanded values): its message is ftops' whatever the parser."""


def _line(mark: Any, last: int) -> int:
    """The 1-based line of `mark`, at most `last`: libyaml puts the end of a text that does not end with a
    line break on the line after it, PyYAML on its last line; both say the last line."""
    return min(int(mark.line) + 1, last) if mark is not None else 1


def _last_line(text: str) -> int:
    """The number of lines of `text` as an editor shows them (YAML's line breaks: \\n, \\r\\n, \\r, NEL, LS, PS)."""
    crlf = text.count("\r\n")
    return 1 + sum(text.count(c) for c in "\n\r\x85\u2028\u2029") - crlf


class _PythonEvents(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python reader, scanner and parser: the events SafeLoader composes from."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)  # checks every character here
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


def _events(text: str, parser: ParserName) -> Any:
    """An event source (`get_event()`) over `text`: libyaml's C parser or PyYAML's Python one."""
    if parser == "python":
        return _PythonEvents(text)
    from yaml._yaml import CParser  # only when PyYAML has libyaml (HAS_LIBYAML)

    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate: the Python reader refuses it too
        raise YamlError(f"invalid YAML: unacceptable character #x{ord(text[e.start]):04x}: {_NOT_ALLOWED}",
                        _line_at(text, e.start)) from None
    return CParser(data)


_RESOLVER = yaml.resolver.Resolver()


def _plain_tag(value: str) -> str:
    """The tag YAML 1.1 gives a plain scalar (int, float, bool, null, timestamp... or str), as SafeLoader."""
    return str(_RESOLVER.resolve(ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]


# Keys and short values repeat across documents; a long value is not kept alive by the cache.
_short_plain_tag = functools.lru_cache(maxsize=4096)(_plain_tag)


@dataclass
class _Anchored:
    """A node with an anchor, for its aliases: its value, its lines and its size once expanded."""

    value: Any
    line: int  # where the node starts
    loc_len: int  # len() of the node's location; its lines are self._lines[start:end]
    start: int
    end: int
    size: int
    key_like: bool  # a scalar other than "<<": allowed as a mapping key


class _Composer:
    """Builds each document's data and lines from parser events, enforcing the bounds as it goes."""

    def __init__(self, events: Any, path: str, last_line: int) -> None:
        self._get = events.get_event
        self._path = path
        self._last = last_line
        self._constructor = yaml.constructor.SafeConstructor()
        self._nodes = 0  # values so far in the current document, aliases expanded
        self._anchors: dict[str, _Anchored] = {}
        self._open: dict[str, int] = {}  # anchor -> line, of the nodes being composed
        self._lines: list[tuple[Loc, int]] = []  # in order; a later entry for a location wins

    def documents(self) -> list[Document]:
        get = self._get
        get()  # StreamStart
        docs: list[Document] = []
        while not isinstance(start := get(), StreamEndEvent):  # DocumentStart
            if len(docs) == MAX_DOCUMENTS:
                raise YamlBoundError(f"more than {MAX_DOCUMENTS} documents in one file",
                                     _line(start.start_mark, self._last))
            docs.append(self._document())
        return docs

    def _document(self) -> Document:
        self._nodes = 0
        self._anchors.clear()
        self._lines = []
        first = self._get()
        data = self._node(first, (), 0)
        self._get()  # DocumentEnd
        return Document(data, self._path, _line(first.start_mark, self._last), dict(self._lines))

    def _node(self, event: Any, loc: Loc, depth: int) -> Any:
        """The value starting at `event`, located at `loc`, `depth` collections deep."""
        if event.__class__ is AliasEvent:
            return self._alias(event, loc)
        line = event.start_mark.line + 1
        if line > self._last:
            line = self._last
        if depth >= MAX_DEPTH:  # checked before recursing any deeper
            raise YamlBoundError(f"nested more than {MAX_DEPTH} levels deep", line)
        self._count(1, line)
        before = self._nodes - 1
        anchor = event.anchor
        if anchor is not None:
            self._open_anchor(anchor, line)
        self._lines.append((loc, line))
        start = len(self._lines)
        if event.__class__ is ScalarEvent:
            value = self._scalar(event)
        elif event.__class__ is SequenceStartEvent:
            value = self._sequence(loc, depth + 1)
        else:
            value = self._mapping(loc, depth + 1)
        if anchor is not None:
            del self._open[anchor]
            self._anchors[anchor] = _Anchored(value, line, len(loc), start, len(self._lines), self._nodes - before,
                                              event.__class__ is ScalarEvent and event.value != "<<"
                                              and event.tag != _MERGE)
        return value

    def _count(self, n: int, line: int) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise YamlBoundError(f"the document expands to more than {MAX_NODES} values once aliases are followed; "
                            "refusing it (an alias bomb?)", line)

    def _open_anchor(self, anchor: str, line: int) -> None:
        first = self._anchors[anchor].line if anchor in self._anchors else self._open.get(anchor)
        if first is not None:
            raise YamlError(f"invalid YAML: duplicate anchor &{anchor} (first defined at line {first})", line)
        self._open[anchor] = line

    def _target(self, event: Any) -> _Anchored:
        anchor, line = event.anchor, _line(event.start_mark, self._last)
        if anchor in self._open:
            raise YamlError(f"alias *{anchor} refers to a value that contains it", line)
        target = self._anchors.get(anchor)
        if target is None:
            raise YamlError(f"invalid YAML: found undefined alias {anchor!r}", line)
        self._count(target.size, line)  # before copying anything
        return target

    def _alias(self, event: Any, loc: Loc) -> Any:
        """A copy of the aliased value, its lines repeated under `loc`."""
        target = self._target(event)
        n = target.loc_len
        self._lines.append((loc, target.line))
        self._lines.extend([((*loc, *sub[n:]), line) for sub, line in self._lines[target.start:target.end]])
        return _copy(target.value)

    def _scalar(self, event: Any) -> Any:
        tag, value = event.tag, event.value
        if tag is None:
            if not event.implicit[0]:
                return value  # quoted: text
            tag = _short_plain_tag(value) if len(value) <= 64 else _plain_tag(value)
        elif tag == "!":
            return value  # the non-specific tag: text (libyaml and PyYAML disagree on `!` alone otherwise)
        if tag == _STR:
            return value
        node = ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        try:
            result = self._constructor.construct_object(node, deep=True)
        except (ValueError, ArithmeticError, LookupError, AttributeError, TypeError):
            # e.g. a 5000-digit int, a timestamp like 2025-13-45, `!!int ''`, `!!bool maybe`: keep the text
            return value
        finally:
            self._constructor.constructed_objects.clear()
        return result if isinstance(result, str | int | float | bool | type(None)) else value

    def _sequence(self, loc: Loc, depth: int) -> list[Any]:
        out: list[Any] = []
        get = self._get
        while (event := get()).__class__ is not SequenceEndEvent:
            out.append(self._node(event, (*loc, len(out)), depth))
        return out

    def _mapping(self, loc: Loc, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        get = self._get
        while (event := get()).__class__ is not MappingEndEvent:
            key, line = self._key(event, depth)
            if key in out:
                raise YamlError(f"duplicate key {_short(key)!r}", line)
            child = (*loc, key)
            out[key] = self._node(get(), child, depth)
            self._lines.append((child, line))  # a value's location is the line of its key
        return out

    def _key(self, event: Any, depth: int) -> tuple[Any, int]:
        """A mapping key and its line: a plain value (a scalar, or an alias to one), not a merge key."""
        if event.__class__ is AliasEvent:
            target = self._target(event)
            _check_key(target.key_like, isinstance(target.value, dict | list), target.line)
            return target.value, target.line
        line = _line(event.start_mark, self._last)
        _check_key(event.__class__ is ScalarEvent and event.value != "<<" and event.tag != _MERGE,
                   event.__class__ is not ScalarEvent, line)
        key = self._node(event, (), depth)
        self._lines.pop()  # a key has no location of its own (an anchor on it keeps its line)
        return key, line


def _check_key(plain: bool, collection: bool, line: int) -> None:
    if collection:
        raise YamlError("a mapping key must be a plain value, not a list or mapping", line)
    if not plain:
        raise YamlError("merge keys (<<) are not supported", line)


def _copy(value: Any) -> Any:
    """A fresh copy of the containers of an aliased value (each use gets its own, as if written out)."""
    if value.__class__ is dict:
        return {k: _copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_copy(v) for v in value]
    return value


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _line_at(text: str, index: int) -> int:
    """The line of character `index`."""
    return _last_line(text[:index])


def _reader_error(e: yaml.reader.ReaderError, text: str, parser: ParserName) -> YamlError:
    index = e.position
    if parser == "libyaml":  # libyaml counts bytes of the UTF-8 text
        index = len(text.encode("utf-8")[:index].decode("utf-8", errors="ignore"))
    character = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
    return YamlError(f"invalid YAML: unacceptable character {character}: {_NOT_ALLOWED}", _line_at(text, index))


def load_documents(text: str, path: str, *, parser: ParserName | None = None) -> list[Document]:
    """Every document in `text`, with positions. Raises YamlError.

    `parser`: libyaml's (the default when PyYAML has it) or PyYAML's pure-Python one (tests compare them).
    """
    which: ParserName = parser or ("libyaml" if HAS_LIBYAML else "python")
    try:
        return _load(text, path, which)
    except YamlBoundError:
        raise
    except YamlError as refused:
        if which == "python":
            raise
        # libyaml has bounds of its own (flow nesting refused by its scanner's look-ahead, before any event
        # of depth 64 reaches the composer) with its own words. Where one of ftops' bounds is crossed no
        # later in the text, ftops' message wins; the pure-Python parser delivers events lazily enough to
        # tell. Only a file libyaml refused pays for this.
        try:
            _load(text, path, "python")
        except YamlBoundError as bound:
            if bound.line <= refused.line:
                raise bound from None
        except YamlError:
            pass
        raise


def _load(text: str, path: str, which: ParserName) -> list[Document]:
    events: Any = None
    last = _last_line(text)
    try:
        events = _events(text, which)
        return _Composer(events, path, last).documents()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise YamlError(f"invalid YAML: {_short(e.problem or e.context, 200)}", _line(mark, last)) from None
    except yaml.reader.ReaderError as e:
        raise _reader_error(e, text, which) from None
    except yaml.YAMLError as e:
        raise YamlError(f"invalid YAML: {_short(str(e).splitlines()[0], 200)}", 1) from None
    finally:
        if events is not None:
            events.dispose()
