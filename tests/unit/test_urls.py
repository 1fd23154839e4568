"""Dataset URL rules (`ftops/_urls.py`): what is read, where a redirect may lead, how a URL is shown."""

from __future__ import annotations

import pytest

from ftops._urls import (
    literal_sas,
    needs_storage_token,
    plan_form,
    redact_text,
    redirect_problem,
    shown,
    url_problem,
)

SAS = "sv=2024-01-01&sr=b&sig=SECRETSIGNATURE%3D"


def test_a_query_is_shown_as_an_ellipsis() -> None:
    assert shown(f"https://acct.blob.core.windows.net/c/train.jsonl?{SAS}") == \
        "https://acct.blob.core.windows.net/c/train.jsonl?…"
    assert shown("https://h/x.jsonl?${AZURE_SAS}#frag") == "https://h/x.jsonl?…"
    assert shown("https://h/x.jsonl") == "https://h/x.jsonl"


def test_the_plan_keeps_variable_references_only() -> None:
    assert plan_form("https://h/x.jsonl?${AZURE_SAS}") == "https://h/x.jsonl?${AZURE_SAS}"
    assert plan_form("https://h/x.jsonl?${AZURE_A}&${FTOPS_B}") == "https://h/x.jsonl?${AZURE_A}&${FTOPS_B}"
    assert plan_form(f"https://h/x.jsonl?{SAS}") == "https://h/x.jsonl?…"
    assert plan_form("https://h/x.jsonl?sig=${AZURE_SIG}") == "https://h/x.jsonl?…"  # literal text around it
    assert plan_form("https://${AZURE_ACCT}.blob.core.windows.net/c/x") == "https://${AZURE_ACCT}.blob.core.windows.net/c/x"


def test_urls_in_free_text_lose_their_query() -> None:
    text = f"Failed to download 'https://acct.blob.core.windows.net/c/x.jsonl?{SAS}': 403; see http://a/b?c=d"
    out = redact_text(text)
    assert "SECRET" not in out and "c=d" not in out
    assert "https://acct.blob.core.windows.net/c/x.jsonl?…'" in out and "http://a/b?…" in out


def test_a_sas_written_into_the_spec_is_found() -> None:
    assert literal_sas(f"https://h/x?{SAS}")
    assert not literal_sas("https://h/x?${AZURE_SAS}")
    assert not literal_sas("https://h/x")


@pytest.mark.parametrize(("url", "words"), [
    ("file:///etc/passwd", "file: URLs are refused"),
    ("https://user:pw@host/x.jsonl", "credentials"),
    ("http://example.com/x.jsonl", "plain http is refused"),
    ("http://10.0.0.1/x.jsonl", "plain http is refused"),
    ("ftp://example.com/x.jsonl", "scheme 'ftp' is refused"),
    ("gopher://127.0.0.1/x", "scheme 'gopher' is refused"),
    ("https:///x.jsonl", "no host"),
    ("https://host:99999999/x", "not a valid URL"),
    ("https://host/a b", "whitespace"),
    ("x.jsonl", "no host"),
])
def test_refused_urls(url: str, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None and words in problem


@pytest.mark.parametrize("url", ["https://acct.blob.core.windows.net/c/x.jsonl?sv=1", "http://127.0.0.1:8000/x",
                                 "http://127.8.9.10/x", "http://[::1]:9/x", "http://localhost/x", "HTTPS://Host/x"])
def test_accepted_urls(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize("target", ["http://10.0.0.1/x", "https://10.0.0.1/x", "https://169.254.169.254/latest",
                                    "https://192.168.1.1/x", "https://[fd00::1]/x", "https://[::ffff:10.0.0.1]/x",
                                    "https://0.0.0.0/x", "file:///etc/passwd"])
def test_redirects_to_private_addresses_are_refused(target: str) -> None:
    for original_loopback in (True, False):
        problem = redirect_problem(target, original_loopback)
        assert problem is not None and "refused" in problem, (target, problem)


def test_loopback_may_redirect_to_loopback_only_from_loopback() -> None:
    assert redirect_problem("http://127.0.0.1:9/x", original_loopback=True) is None
    refused = redirect_problem("https://127.0.0.1:9/x", original_loopback=False)
    assert refused is not None and "loopback" in refused
    assert redirect_problem("https://93.184.215.14/x", original_loopback=False) is None  # a public address


def test_a_redirect_target_is_shown_without_its_query() -> None:
    problem = redirect_problem(f"https://169.254.169.254/x?{SAS}", original_loopback=False)
    assert problem is not None and "SECRET" not in problem and "?…" in problem


def test_only_blob_urls_without_a_sas_ask_for_a_storage_token() -> None:
    assert needs_storage_token("https://acct.blob.core.windows.net/c/x.jsonl")
    assert not needs_storage_token(f"https://acct.blob.core.windows.net/c/x.jsonl?{SAS}")
    assert not needs_storage_token("https://example.com/x.jsonl")
    assert not needs_storage_token("http://acct.blob.core.windows.net/c/x.jsonl")


@pytest.mark.parametrize("url", ["https://hooks.example.com:s3cr3t/x", "https://ho\uff03s3cr3t.example.com/x",
                                 "https://[s3cr3t/x"])
def test_a_malformed_url_is_refused_without_quoting_it(url: str) -> None:
    """A URL expanded from a ${FTOPS_*} variable is a secret (a Slack webhook's): the reason quotes none of it."""
    problem = url_problem(url)
    assert problem is not None and "not a valid URL" in problem and "s3cr3t" not in problem


def test_a_notification_target_may_be_private_but_not_where_clouds_serve_metadata() -> None:
    from ftops._urls import target_problem

    assert target_problem("https://10.1.2.3/hooks/ftops") is None  # a team's own relay
    assert target_problem("http://127.0.0.1:8080/hook") is None  # loopback named as such (tests)
    for metadata in ("https://169.254.169.254/metadata/identity/oauth2/token", "https://[fe80::1]/x",
                     "https://0.0.0.0/x", "https://224.0.0.1/x"):
        problem = target_problem(metadata)
        assert problem is not None and "link-local, unspecified or multicast" in problem
        assert metadata not in problem  # an expanded URL may hold a secret: never quoted
    assert "does not resolve" in (target_problem("https://hook.example.invalid/x") or "")  # refused, not guessed
