"""The chat examples of a training file, as the local Foundry's simulated models learn them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


def user_text(messages: list[Any]) -> str:
    """The user turns of one example, joined."""
    return " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") == "user")


def examples(path: Path, limit: int) -> Iterator[tuple[str, str]]:
    """(user text, last assistant answer) of each chat example in the first `limit` lines of a JSONL file.
    Lines that are not chat examples are skipped; the caller handles OSError (an unreadable file)."""
    with open(path, "rb") as f:
        for n, line in enumerate(f):
            if n >= limit:
                return
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            msgs = rec.get("messages") if isinstance(rec, dict) else None
            if not isinstance(msgs, list):
                continue
            answers = [str(m["content"]) for m in msgs if isinstance(m, dict) and m.get("role") == "assistant"
                       and isinstance(m.get("content"), str)]
            if answers:
                yield user_text(msgs), answers[-1]
