"""The Entra ID token for Azure Storage that reads a blob dataset named without a SAS."""

from __future__ import annotations

from typing import Any

from ftops.foundry import storage_headers


class _Credential:
    def __init__(self, fail: bool = False) -> None:
        self.scopes: list[str] = []
        self.fail = fail

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.extend(scopes)
        if self.fail:
            raise RuntimeError("no identity here")
        return type("Token", (), {"token": "tok-123", "expires_on": 0})()


def test_a_token_for_azure_storage() -> None:
    cred = _Credential()
    headers = storage_headers("https://acct.blob.core.windows.net/c/x.jsonl", cred)
    assert headers == {"Authorization": "Bearer tok-123", "x-ms-version": "2021-08-06"}
    assert cred.scopes == ["https://storage.azure.com/.default"]


def test_no_identity_means_no_headers() -> None:
    assert storage_headers("https://acct.blob.core.windows.net/c/x.jsonl", _Credential(fail=True)) == {}
