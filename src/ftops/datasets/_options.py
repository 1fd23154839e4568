"""What a scan is asked (ScanOptions) and what it answers (DatasetReport, LineProblem), with the bounds
that keep a hostile file from costing unbounded time or memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

BOM = b"\xef\xbb\xbf"
MAX_PROBLEMS = 50  # per file; the rest are counted, not listed

# The longest line ftops parses. Foundry caps an example at the model's token limit (65,536 tokens
# for every model in the catalog). Even at 32 bytes a token (8x the ~4 bytes of English text, which
# covers JSON escapes such as \u00e9 and long runs of whitespace or punctuation) such an example is
# 2 MiB of JSON. Vision models also take images inline as base64 data URIs (at most 10 MB an image,
# 4/3 larger once encoded): ftops reads two full-size inline images (28 MiB) on top of the text; an
# example with more image bytes should reference its images by URL. Longer lines are reported, not
# parsed, so a 100 MB line costs neither minutes of token counting nor its size in memory.
BYTES_PER_TOKEN = 32
DEFAULT_EXAMPLE_TOKENS = 65_536
INLINE_IMAGE_BYTES = 28 * 2**20


@dataclass
class ScanOptions:
    expected_format: str | None = None  # chat | preference | reinforcement; None = infer
    vision: bool = True  # may image_url parts appear (the model supports vision)?
    count_tokens: bool = False
    encoding: str = "o200k_base"
    max_example_tokens: int | None = None
    min_examples: int = 10
    recommended_examples: int = 50
    max_file_bytes: int = 512 * 1024 * 1024

    def key(self) -> str:
        return orjson.dumps(self.__dict__, option=orjson.OPT_SORT_KEYS).decode()

    def record_checks(self) -> tuple[object, ...]:
        """What decides how a range's records are checked (`_chunk.scan_chunk`), but vision: two options equal
        here and in `vision` check every record the same way. The format is the job's; the example counts and
        the file size are the whole file's, judged once the ranges are merged."""
        counting = self.count_tokens
        return (counting, self.encoding if counting else "", self.max_example_tokens if counting else None,
                self.max_line_bytes() - (INLINE_IMAGE_BYTES if self.vision else 0))

    def max_line_bytes(self) -> int:
        text = (self.max_example_tokens or DEFAULT_EXAMPLE_TOKENS) * BYTES_PER_TOKEN
        return text + (INLINE_IMAGE_BYTES if self.vision else 0)


@dataclass
class LineProblem:
    line: int | None
    message: str
    severity: str = "error"


@dataclass
class DatasetReport:
    """What a scan found. `sha256` is "" for a file that was not read (over the size limit, not a
    regular file, unreadable): such a report always carries an error, so nothing uploads it."""

    sha256: str
    size: int
    bom: bool
    format: str | None
    examples: int = 0
    tokens_by_role: dict[str, int] = field(default_factory=dict)
    trained_tokens: int = 0
    max_tokens_in_example: int = 0
    tokens_counted: bool = False
    problems: list[LineProblem] = field(default_factory=list)
    problems_omitted: int = 0
    # URL datasets: "sha256" when the content was read and hashed; "etag" when only a HEAD answered, and
    # `sha256` then stands for the ETag and size (`_remote.etag_identity`). `etag` as the server gave it.
    identity: str = "sha256"
    etag: str | None = None

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems) and self.problems_omitted == 0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["problems"] = [p.__dict__ for p in self.problems]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetReport:
        d = dict(d)
        d["problems"] = [LineProblem(**p) for p in d["problems"]]
        return cls(**d)
