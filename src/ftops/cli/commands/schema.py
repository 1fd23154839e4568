"""`ftops schema`: the JSON Schema of spec documents, for editors (yaml-language-server)."""

from __future__ import annotations

import orjson
import typer

from ...spec import json_schema
from .._output import out


def register(app: typer.Typer) -> None:
    @app.command()
    def schema() -> None:
        """Print the JSON Schema of ftops spec documents."""
        out.print(orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2).decode(), markup=False)
