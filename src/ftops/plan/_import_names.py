"""Spec names for objects `ftops import` adopts: derived from the live object, valid and unique."""

from __future__ import annotations

import re
from collections.abc import Collection

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a spec's metadata.name (spec/_documents.py)
NAME_MAX = 63
_OTHER = re.compile(r"[^a-z0-9]+")


def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def spec_name(text: str, fallback: str) -> str:
    """`text` as a spec name: lower case, every run of other characters one '-', at most 63 characters, no
    '-' at either end; `fallback` when nothing is left (a name of only punctuation or other scripts)."""
    name = _OTHER.sub("-", text.lower()).strip("-")[:NAME_MAX].strip("-")
    return name or fallback


def unique_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name-2`, `name-3`... (shortened to fit 63 characters) when it is taken."""
    if name not in taken:
        return name
    n = 2
    while True:
        tail = f"-{n}"
        candidate = name[:NAME_MAX - len(tail)].rstrip("-") + tail
        if candidate not in taken:
            return candidate
        n += 1


def dataset_stem(filename: str) -> str:
    """A file's name without its directory and its `.jsonl`/`.json`/`.txt` ending: what it calls its data."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    for ending in (".jsonl", ".json", ".txt"):
        if base.lower().endswith(ending):
            return base[: -len(ending)]
    return base
