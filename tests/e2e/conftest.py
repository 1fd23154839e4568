"""Fixtures that start the local Foundry and build the real clients against it."""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from azure.core.credentials import AccessToken
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku
from jsonschema import Draft202012Validator

from ftops.emulator import AdminClient, Connection, EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "specs" / "data" / "clippy.train.jsonl"
VALID = ROOT / "specs" / "data" / "clippy.valid.jsonl"
FAST = 20000.0  # emulated seconds per real second: a clippy job completes in ~0.03 s


class StaticToken:
    """A TokenCredential that hands out the emulator's key as the bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class Foundry:
    server: EmulatorServer
    conn: Connection
    oai: openai.OpenAI
    arm: CognitiveServicesManagementClient
    admin: AdminClient

    def upload(self, path: Path = TRAIN) -> str:
        with open(path, "rb") as f:
            fid = self.oai.files.create(file=f, purpose="fine-tune").id
        self.wait_file(fid)
        return fid

    def wait_file(self, fid: str) -> None:
        deadline = time.monotonic() + 60  # by the clock, not a count of polls: a loaded machine is slow
        while time.monotonic() < deadline:
            if self.oai.files.retrieve(fid).status != "pending":
                return
            time.sleep(0.005)
        raise AssertionError("file never processed")

    def job(self, training_file: str, **kw: Any) -> Any:
        extra = {"trainingType": kw.pop("training_type", "GlobalStandard")}
        return self.oai.fine_tuning.jobs.create(model=kw.pop("model", "gpt-4.1-mini-2025-04-14"),
                                                training_file=training_file, extra_body=extra, **kw)

    def wait_job(self, jid: str, until: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
                 timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.oai.fine_tuning.jobs.retrieve(jid)
            if job.status in until:
                return job
            time.sleep(0.01)
        raise AssertionError(f"job {jid} never reached {until}")

    def deploy(self, name: str, model: str, sku: str = "GlobalStandard", capacity: int = 1,
               **kw: Any) -> Any:
        body = Deployment(sku=Sku(name=sku, capacity=capacity), tags=kw.pop("tags", None),
                          properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model,
                                                                                version="1")))
        return self.arm.deployments.begin_create_or_update(self.conn.resource_group, self.conn.account, name,
                                                           body, **kw)


def clients(conn: Connection, server: EmulatorServer) -> Foundry:
    oai = openai.OpenAI(base_url=conn.endpoint, api_key=conn.api_key, max_retries=0,
                        http_client=httpx.Client(verify=ssl.create_default_context(cafile=conn.ca_cert)))
    arm = CognitiveServicesManagementClient(StaticToken(conn.api_key), conn.subscription,
                                            base_url=conn.arm_endpoint, connection_verify=conn.ca_cert,
                                            polling_interval=0.01, retry_total=0)
    return Foundry(server, conn, oai, arm, AdminClient(conn))


@pytest.fixture(autouse=True)
def _not_a_github_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run the CLI in-process: in a GitHub Actions job, its variables would make every apply record
    the workflow's commit (docs/reference.md, Provenance). The tests that check provenance set it themselves."""
    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[EmulatorServer] = []

    def start(speed: float = FAST, data_dir: Path | None = None) -> Foundry:
        server = EmulatorServer(data_dir or tmp_path / "emu", speed=speed).start()
        started.append(server)
        return clients(server.connection, server)

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def foundry(emulator_factory: Any) -> Foundry:
    f: Foundry = emulator_factory()
    return f


_SPEC = yaml.safe_load((ROOT / "tests" / "fixtures" / "openai-files-finetuning.openapi.yaml").read_text())


def _azure_schema() -> dict[str, Any]:
    """The OpenAI schema with Azure's documented additions: statuses pending/paused, nulls."""
    spec: dict[str, Any] = yaml.safe_load(yaml.safe_dump(_SPEC))
    _openapi30_to_jsonschema(spec)
    schemas = spec["components"]["schemas"]
    job = schemas["FineTuningJob"]["properties"]
    job["status"]["enum"] += ["pending", "paused"]
    job["organization_id"] = {"type": ["string", "null"]}
    job["result_files"] = {"anyOf": [job["result_files"], {"type": "null"}]}
    schemas["OpenAIFile"]["properties"]["status"]["enum"].append("pending")
    _allow_unresolved(schemas)
    return spec


def _allow_unresolved(node: Any) -> None:
    """Azure answers -1 for epochs and batch size it has not resolved yet (Learn fine-tuning tutorial)."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for key in ("n_epochs", "batch_size"):
                if isinstance(props.get(key), dict):
                    props[key] = {"anyOf": [props[key], {"const": -1}]}
        for value in node.values():
            _allow_unresolved(value)
    elif isinstance(node, list):
        for value in node:
            _allow_unresolved(value)


def _openapi30_to_jsonschema(node: Any) -> None:
    """OpenAPI 3.0's boolean exclusiveMinimum means 'minimum is exclusive' (a number in JSON Schema)."""
    if isinstance(node, dict):
        if node.get("exclusiveMinimum") is True:
            node["exclusiveMinimum"] = node.pop("minimum", 0)
        for value in node.values():
            _openapi30_to_jsonschema(value)
    elif isinstance(node, list):
        for value in node:
            _openapi30_to_jsonschema(value)


_AZURE = _azure_schema()


def assert_schema(body: Any, name: str) -> None:
    """Validate a raw response body against components/schemas/<name> (Azure additions allowed)."""
    schema = {**_AZURE, "$ref": f"#/components/schemas/{name}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{name}: {[e.message for e in errors][:5]}"


# -- reconciler fixtures --------------------------------------------------------------------
@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: Any, *args: str) -> Result:
    """`ftops ARGS` in this process: its exit code and what it printed (pytest's capsys)."""
    from ftops.cli import main

    capsys.readouterr()
    old = sys.argv
    sys.argv = ["ftops", *args]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


class Project:
    """A copy of the shipped specs in a temporary project root, with the CLI run in-process."""

    def __init__(self, root: Path, capsys: Any, speed: float) -> None:
        self.root = root
        self.capsys = capsys
        self.spec = root / "specs" / "clippy.yaml"
        self.set("speed", speed)

    def set(self, key: str, value: Any) -> None:
        """Set a field of the Foundry spec (`key: value` under `spec:` of the Foundry document)."""
        text = self.spec.read_text()
        lines = text.splitlines()
        i = lines.index("  local: true")
        lines = [ln for ln in lines if not ln.startswith(f"  {key}: ")]
        i = lines.index("  local: true")
        lines.insert(i + 1, f"  {key}: {value}")
        self.spec.write_text("\n".join(lines) + "\n")

    def edit(self, old: str, new: str) -> None:
        text = self.spec.read_text()
        assert old in text, old
        self.spec.write_text(text.replace(old, new, 1))

    def append(self, text: str) -> None:
        self.spec.write_text(self.spec.read_text() + text)

    def ftops(self, *args: str) -> Result:
        return run_cli(self.capsys, *args)

    def plan_json(self, *args: str) -> dict[str, Any]:
        r = self.ftops("plan", "--format", "json", *args)
        assert r.code in (0, 2), r.err
        data: dict[str, Any] = json.loads(r.out)
        return data

    def actions(self, *args: str) -> dict[str, str]:
        """resource -> action (blocked ones as 'blocked:<action>') of a fresh plan."""
        return {a["resource"]: ("blocked:" if a["blocked"] else "") + a["action"]
                for a in self.plan_json(*args)["actions"]}

    @contextlib.contextmanager
    def live(self, speed: float = FAST) -> Iterator[Foundry]:
        """The same local Foundry (same data dir), for acting behind ftops' back."""
        server = EmulatorServer(self.root / ".ftops" / "emulator", speed=speed).start()
        try:
            yield clients(server.connection, server)
        finally:
            server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    # The CLI runs in-process here, with the SDKs loaded already: a child process for the local Foundry
    # would only add its start-up to every command (subprocess tests and test_local_child cover it).
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")
    return Project(tmp_path, capsys, FAST)
