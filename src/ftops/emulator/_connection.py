"""What a client needs to reach a local Foundry (connection.json); no server code, so clients load it cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson


@dataclass(frozen=True)
class AccountConnection:
    """One account of a local Foundry that serves several: what differs from the first account's connection."""

    account: str
    endpoint: str  # its data plane, ending in /openai/v1 (under /accounts/<name> for an added account)
    api_key: str  # its key: its data plane, and ARM and the admin API on this account
    region: str
    subscription: str
    resource_group: str
    tenant: str


@dataclass(frozen=True)
class Connection:
    """Everything a client needs, as written to connection.json (like Azurite's connection string)."""

    endpoint: str  # data plane, ending in /openai/v1
    arm_endpoint: str
    subscription: str
    resource_group: str
    account: str
    api_key: str
    ca_cert: str
    region: str
    # The managed identity's token endpoint and its header secret: set them as IDENTITY_ENDPOINT and
    # IDENTITY_HEADER and azure-identity (DefaultAzureCredential) gets Entra ID tokens from this Foundry.
    identity_endpoint: str = ""
    identity_header: str = ""
    # The project asked for at start, as the portal shows its endpoint (`.../api/projects/<name>`; its data
    # plane is that plus /openai/v1, with tokens for https://ai.azure.com). Empty: none was asked for.
    project_endpoint: str = ""
    # Every account this local Foundry serves, the first included (its fields above are the first account's,
    # so a client of one account reads connection.json as before). See `for_account`.
    accounts: tuple[AccountConnection, ...] = ()

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Connection:
        data = orjson.loads(text)
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["accounts"] = tuple(AccountConnection(**{k: a[k] for k in AccountConnection.__dataclass_fields__})
                                   for a in data.get("accounts") or ())
        return cls(**fields)

    def for_account(self, name: str) -> Connection:
        """The connection of account `name` (any case) as a one-account connection: its data plane, key,
        region and names; the ARM host, the CA and the identity are shared. KeyError when there is none."""
        found = next((a for a in self.accounts if a.account.lower() == name.lower()), None)
        if found is None:
            raise KeyError(name)
        return replace(self, endpoint=found.endpoint, api_key=found.api_key, region=found.region,
                       subscription=found.subscription, resource_group=found.resource_group, account=found.account,
                       project_endpoint="", accounts=self.accounts)

    @classmethod
    def load(cls, path: Path) -> Connection:
        return cls.from_json(path.read_bytes())
