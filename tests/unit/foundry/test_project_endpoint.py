"""A Foundry project endpoint in a remote Foundry spec: what ftops derives from it before any request."""

from __future__ import annotations

import pytest

from ftops import FtopsError
from ftops.foundry._connect import PROJECT_SCOPE, _account_from_host, _api_key, data_plane_endpoint
from ftops.spec import FoundrySpec

PORTAL = "https://acme-ai.services.ai.azure.com/api/projects/clippy-lab"


def remote(**fields: object) -> FoundrySpec:
    return FoundrySpec.model_validate({"subscription": "s", **fields})


def test_the_data_plane_is_the_project_endpoint_plus_openai_v1() -> None:
    spec = remote(endpoint=PORTAL)
    assert spec.project_in_endpoint == "clippy-lab"
    assert data_plane_endpoint(PORTAL) == f"{PORTAL}/openai/v1"
    assert data_plane_endpoint(PORTAL + "/") == f"{PORTAL}/openai/v1"
    assert PROJECT_SCOPE == "https://ai.azure.com/.default"  # what azure-ai-projects' get_openai_client asks for
    assert remote(endpoint="https://acme.openai.azure.com").project_in_endpoint is None


def test_the_account_is_the_host_label_unless_the_spec_names_it() -> None:
    assert _account_from_host(remote(endpoint=PORTAL)).account == "acme-ai"
    assert _account_from_host(remote(endpoint=PORTAL, account="acme")).account == "acme"  # a custom subdomain
    local = remote(endpoint="https://127.0.0.1:8443/api/projects/clippy-lab")
    assert _account_from_host(local).account is None  # no label to take: found by ARM from the endpoint


def test_an_api_key_is_refused_for_a_project_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "not-shown-0123456789")
    assert _api_key(None) == "not-shown-0123456789"
    with pytest.raises(FtopsError) as refused:
        _api_key("clippy-lab")
    assert "Entra ID only; unset AZURE_OPENAI_API_KEY" in str(refused.value)
    assert "not-shown" not in str(refused.value)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "")
    assert _api_key("clippy-lab") is None
