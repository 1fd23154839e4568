"""Connecting, offline: what ftops prints about an endpoint never carries a credential; a bad key is one line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ftops._exceptions import FtopsError
from ftops.foundry import public_url
from ftops.foundry._connect import resolve_account
from ftops.spec import FoundrySpec


@pytest.mark.parametrize(("url", "shown"), [
    ("https://acme.openai.azure.com", "https://acme.openai.azure.com"),
    ("https://acme.openai.azure.com/openai/v1", "https://acme.openai.azure.com/openai/v1"),
    ("https://ops:hunter2@acme.openai.azure.com/openai/v1", "https://***@acme.openai.azure.com/openai/v1"),
    ("https://token@acme.openai.azure.com", "https://***@acme.openai.azure.com"),
    ("https://acme.openai.azure.com/?sig=SECRET&se=2030", "https://acme.openai.azure.com/?***"),
    ("https://acme.openai.azure.com?api-key=KEY#frag", "https://acme.openai.azure.com?***#***"),
    ("https://localhost:8443/openai/v1", "https://localhost:8443/openai/v1"),
    ("https://[::1]:8443/x", "https://[::1]:8443/x"),
    ("https://a:b@host:notaport/", "(an endpoint that is not a valid URL)"),
])
def test_public_url_drops_what_can_carry_a_credential(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_an_endpoint_matched_among_accounts_is_never_printed_with_its_password() -> None:
    # The spec refuses such an endpoint (tests/unit/spec/test_load.py); this is the defence behind it.
    spec = FoundrySpec.model_construct(endpoint="https://ops:hunter2@other.openai.azure.com", subscription="s")
    account = SimpleNamespace(name="acme", id="/subscriptions/s/resourceGroups/rg/providers/x/accounts/acme",
                              properties=SimpleNamespace(endpoint="https://acme.openai.azure.com/", endpoints={}))
    arm = SimpleNamespace(accounts=SimpleNamespace(list=lambda: [account]))
    with pytest.raises(FtopsError) as e:
        resolve_account(arm, spec)  # type: ignore[arg-type]
    assert "hunter2" not in str(e.value) and "ops" not in str(e.value) and "other.openai.azure.com" in str(e.value)


@pytest.mark.parametrize(("value", "key"), [(None, None), ("", None), ("abc123\n", "abc123"), ("  k-1_2  ", "k-1_2")])
def test_the_api_key_variable_is_read_stripped(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                               key: str | None) -> None:
    from ftops.foundry._connect import api_key_from_env

    if value is None:
        monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", value)
    assert api_key_from_env() == key


@pytest.mark.parametrize("value", [" ", "\n\t", "two words", "k\x01ey", "clé"])
def test_an_api_key_variable_that_holds_no_key_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A blank key reached the SDK and came back as "internal error ... please report"."""
    from ftops.foundry._connect import api_key_from_env

    monkeypatch.setenv("AZURE_OPENAI_API_KEY", value)
    with pytest.raises(FtopsError) as e:
        api_key_from_env()
    assert str(e.value).startswith("AZURE_OPENAI_API_KEY ") and "Entra ID" in str(e.value)
    assert value.strip() not in str(e.value) or not value.strip()
