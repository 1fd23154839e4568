"""How tables reach standard output when it is not a terminal (a CI log, a file)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ftops.cli._output import MAX_PIPED_WIDTH, out, print_table

LIVE_ID = "ftjob-aeb58169dd8a918e21b74b1da980d56f"
MODEL = "gpt-4.1-mini-2025-04-14.ft-c6e51315eca94c4e34a9ad7ead167cd6"


def _table(*cells: str) -> Table:
    table = Table()
    for i in range(len(cells)):
        table.add_column(f"c{i}", overflow="fold")
    table.add_row(*cells)
    return table


def test_a_piped_table_keeps_each_id_on_one_line(capsys: Any) -> None:
    # rich assumes 80 columns when stdout is no terminal, and would fold both ids over several lines
    print_table(_table("FineTuningJob", LIVE_ID, "succeeded", f"model {MODEL}"))
    text = capsys.readouterr().out
    assert LIVE_ID in text and MODEL in text
    assert out.width == 80  # the console is as it was for what is printed next


def test_a_piped_table_is_no_wider_than_the_cap(capsys: Any) -> None:
    print_table(_table(*(["x" * 150] * 3)))
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= MAX_PIPED_WIDTH
