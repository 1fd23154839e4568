"""Which source DefaultAzureCredential signs in with, by the environment variables that select it (their
names only, never their values): shown in a plan's identity line and in a failed sign-in's one line.

The order is DefaultAzureCredential's own (azure-identity 1.27.0, `azure/identity/_credentials/default.py`
`DefaultAzureCredential.__init__`): EnvironmentCredential (a service principal: secret, then certificate,
then username and password; `_credentials/environment.py`), WorkloadIdentityCredential
(AZURE_FEDERATED_TOKEN_FILE), ManagedIdentityCredential (IDENTITY_ENDPOINT with IDENTITY_HEADER or
IMDS_ENDPOINT, else MSI_ENDPOINT, else the instance metadata endpoint; `_credentials/managed_identity.py`),
then the developer tools (shared token cache, VS Code, Azure CLI, PowerShell, azd). The first source the
environment selects is the one whose failure the sign-in error explains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# EnvironmentVariables in `azure/identity/_constants.py`: every one must be set for that source.
_SECRET = ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID")
_CERTIFICATE = ("AZURE_CLIENT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_TENANT_ID")
_USER = ("AZURE_CLIENT_ID", "AZURE_USERNAME", "AZURE_PASSWORD")


@dataclass(frozen=True)
class SigninSource:
    name: str  # what signs in, for the plan's identity line
    where: str  # where a token was asked for, and what to check, for a failed sign-in


def signin_source() -> SigninSource:
    """The first DefaultAzureCredential source this environment selects."""
    env = os.environ

    def has(*names: str) -> bool:
        return all(env.get(n) for n in names)

    if has(*_SECRET) or has(*_CERTIFICATE):
        return SigninSource("service principal from AZURE_CLIENT_ID",
                            "the service principal in AZURE_CLIENT_ID and AZURE_TENANT_ID")
    if has(*_USER):
        return SigninSource("user from AZURE_USERNAME", "the user in AZURE_USERNAME (no MFA)")
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return SigninSource("workload identity from AZURE_FEDERATED_TOKEN_FILE",
                            "workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID)")
    if env.get("IDENTITY_ENDPOINT"):
        return SigninSource("managed identity from IDENTITY_ENDPOINT",
                            "the managed identity endpoint in IDENTITY_ENDPOINT (check that it answers, and "
                            "IDENTITY_HEADER)")
    if env.get("MSI_ENDPOINT"):
        return SigninSource("managed identity from MSI_ENDPOINT", "the managed identity endpoint in MSI_ENDPOINT")
    return SigninSource("DefaultAzureCredential", "any source: run `az login` (in CI: azure/login with OIDC)")
