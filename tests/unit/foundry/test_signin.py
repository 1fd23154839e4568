"""Which DefaultAzureCredential source the environment selects, in azure-identity's order (`_signin.py`)."""

from __future__ import annotations

import pytest

from ftops.foundry._signin import signin_source

SOURCES = ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH",
           "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
           "MSI_ENDPOINT"]


@pytest.mark.parametrize("env,name", [
    ({}, "DefaultAzureCredential"),
    # EnvironmentCredential comes first, even where a managed identity endpoint is set too
    ({"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "t", "IDENTITY_ENDPOINT": "e"},
     "service principal from AZURE_CLIENT_ID"),
    ({"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "p", "AZURE_TENANT_ID": "t"},
     "service principal from AZURE_CLIENT_ID"),
    # a secret without its tenant is no EnvironmentCredential: workload identity is next
    ({"AZURE_CLIENT_SECRET": "s", "AZURE_FEDERATED_TOKEN_FILE": "f"}, "workload identity from AZURE_FEDERATED_TOKEN_FILE"),
    ({"AZURE_FEDERATED_TOKEN_FILE": "f", "IDENTITY_ENDPOINT": "e"}, "workload identity from AZURE_FEDERATED_TOKEN_FILE"),
    ({"IDENTITY_ENDPOINT": "e", "IDENTITY_HEADER": "h", "MSI_ENDPOINT": "m"}, "managed identity from IDENTITY_ENDPOINT"),
    ({"MSI_ENDPOINT": "m"}, "managed identity from MSI_ENDPOINT"),
])
def test_the_first_source_in_default_azure_credential_order(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                            name: str) -> None:
    for var in SOURCES:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    source = signin_source()
    assert source.name == name
    assert not any(value in source.where for value in env.values() if len(value) > 1)  # names, never values
