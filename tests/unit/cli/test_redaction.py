"""No URL query (a SAS) reaches a log record or an error line."""

from __future__ import annotations

import logging

import pytest

from ftops.cli._main import _line, _RedactQueries

SAS = "sv=1&sig=SECRETSIG"


def test_log_records_lose_url_queries() -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", (
        "POST", f"https://acct.blob.core.windows.net/c/x.jsonl?{SAS}"), None)
    assert _RedactQueries().filter(record)
    assert record.getMessage() == "HTTP Request: POST https://acct.blob.core.windows.net/c/x.jsonl?…"
    body = logging.LogRecord("openai", logging.DEBUG, __file__, 1, "Request options: %s",
                             ({"json_data": {"content_url": f"https://h/x?{SAS}"}},), None)
    _RedactQueries().filter(body)
    assert "SECRETSIG" not in body.getMessage()


def test_error_lines_lose_url_queries(capsys: pytest.CaptureFixture[str]) -> None:
    _line(f"error: Foundry said: cannot download 'https://h/x.jsonl?{SAS}'")
    err = capsys.readouterr().err
    assert "SECRETSIG" not in err and "https://h/x.jsonl?…" in err
