"""What a client needs to reach a local Foundry (connection.json); no server code, so clients load it cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import orjson


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

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Connection:
        data = orjson.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def load(cls, path: Path) -> Connection:
        return cls.from_json(path.read_bytes())
