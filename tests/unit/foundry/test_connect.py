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
    spec = FoundrySpec(endpoint="https://ops:hunter2@other.openai.azure.com", subscription="s")
    account = SimpleNamespace(name="acme", id="/subscriptions/s/resourceGroups/rg/providers/x/accounts/acme",
                              properties=SimpleNamespace(endpoint="https://acme.openai.azure.com/", endpoints={}))
    arm = SimpleNamespace(accounts=SimpleNamespace(list=lambda: [account]))
    with pytest.raises(FtopsError) as e:
        resolve_account(arm, spec)  # type: ignore[arg-type]
    assert "hunter2" not in str(e.value) and "ops" not in str(e.value) and "other.openai.azure.com" in str(e.value)
