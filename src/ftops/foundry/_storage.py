"""An Entra ID token for Azure Storage, so ftops can read a blob dataset named without a SAS (`Dataset.url`).

Asked only for an Azure Blob URL whose query holds no SAS (`_urls.needs_storage_token`): the identity that
runs ftops then needs a data role on the blob (Storage Blob Data Reader). Without a token (no identity
here, or no role) ftops reads without one, and identifies an unreadable blob by its ETag and size.
"""

from __future__ import annotations

import threading
from typing import Any

STORAGE_SCOPE = "https://storage.azure.com/.default"
# Blob Storage takes a bearer token only with an x-ms-version of 2017-11-09 or later.
BLOB_API_VERSION = "2021-08-06"
_credential: Any = None
_lock = threading.Lock()


def storage_headers(url: str, credential: Any | None = None) -> dict[str, str]:
    """The headers that read the blob at `url` as the identity running ftops; {} when no token can be had
    (the read then goes without, and a refused one falls back to a HEAD). The token is never logged."""
    try:
        token = (credential or _default_credential()).get_token(STORAGE_SCOPE).token
    except Exception:
        return {}
    return {"Authorization": f"Bearer {token}", "x-ms-version": BLOB_API_VERSION}


def _default_credential() -> Any:
    global _credential
    with _lock:  # one credential per process: its token cache serves every dataset
        if _credential is None:
            from azure.identity import DefaultAzureCredential

            _credential = DefaultAzureCredential()
        return _credential
