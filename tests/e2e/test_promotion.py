"""Promotion across accounts against the local Foundry, through ftops' Python API: a `dev` account (swedencentral)
trains, evaluates and serves the winner; a `prod` account (eastus2) follows dev's deployment
(`model: {deployment: clippy-prod}`) and serves the same model with `source` = dev's account (read back through
ARM); a second prod Deployment names dev's job (`model: {job: clippy}`) and serves its final model, also with
`source`. A changed training spec makes prod wait while dev trains and evaluates; once dev promoted the new winner,
prod lags (drift) until its next apply.

One local Foundry serves both accounts (`EmulatorServer(accounts=...)`); the launcher hands each Foundry document
the connection of the account it names. Each account is planned with `make_plan(..., upstream=...)`, the facts
`upstream_of` read from dev's plan, as the multi-account run does wave by wave.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ftops.apply import DEFERRED, DONE, NOOP, apply_plan
from ftops.emulator import AccountSpec, AdminClient, Connection, EmulatorServer
from ftops.plan import Plan, Promote, RollOut, Upstream, make_plan, read_live, upstream_of
from ftops.plan._drift import drift_items
from ftops.session import open_session
from tests.e2e.conftest import FAST, ROOT

# Emulated seconds per real second while dev's new job must still be training when prod is planned (a clippy job
# takes some 600 emulated seconds: 30 s here, ten times the margin it needs on a loaded machine); FAST for the rest.
TRAINS = 20.0

PROD = """---
apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec: {local: true, account: prod, region: eastus2, dataDir: .ftops/prod}
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: chat-prod, foundry: prod}
spec:
  model: {deployment: clippy-prod}
  sku: {name: GlobalStandard, capacity: 5}
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: clippy-final, foundry: prod}
spec:
  model: {job: clippy}
  sku: {name: GlobalStandard, capacity: 5}
"""


@dataclass
class Shared:
    """One account of a running local Foundry, as a launcher hands it out (stopping it is the test's business)."""

    connection: Connection

    def stop(self) -> None:
        pass


class Servers:
    """The local Foundry of both accounts, restarted on the same data dir at another speed when a phase needs it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server = self._start(FAST)

    def _start(self, speed: float) -> EmulatorServer:
        return EmulatorServer(self.data_dir, speed=speed, account="dev", region="swedencentral",
                              accounts=(AccountSpec("prod", "eastus2"),)).start()

    def restart(self, speed: float) -> EmulatorServer:
        self.server.stop()
        self.server = self._start(speed)
        return self.server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(tmp_path / "emu")
    try:
        yield s
    finally:
        s.server.stop()


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The evaluation example as Foundry `dev` (its gate: the held-out thresholds only), beside `prod`."""
    shutil.copytree(ROOT / "examples" / "evaluation" / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "clippy.yaml"
    text = spec.read_text().replace("metadata: {name: local}", "metadata: {name: dev}")
    text = text.replace("  local: true\n", "  local: true\n  account: dev\n  dataDir: .ftops/dev\n")
    text = text.replace("    beatBaselineBy: 0.05\n", "")
    text = text.replace("metadata: {name: clippy", "metadata: {foundry: dev, name: clippy")
    spec.write_text(text + PROD)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "specs"


def _run(specs: Path, server: EmulatorServer, foundry: str, upstream: Upstream, *, apply: bool = True,
         wait: bool = True) -> tuple[Plan, Upstream]:
    """Plan (and apply) one account; the facts its plan afterwards offers the accounts after it."""

    def launcher(_: Path, **kw: Any) -> Shared:
        return Shared(server.connection.for_account(kw["account"]))

    with open_session(specs, foundry=foundry, launcher=launcher) as s:
        plan = make_plan(s.checked, s.client, upstream=upstream)
        if apply:
            result = apply_plan(plan, s.checked, s.client, wait_jobs=wait)
            failed = [o for o in result.outcomes if o.state not in (DONE, NOOP, DEFERRED)]
            assert not failed, failed
        live = read_live(s.client)
        after = make_plan(s.checked, s.client, live=live, upstream=upstream)
        region = s.checked.project.foundries[foundry].spec.region
        return plan, upstream_of(foundry, after, live, s.client.account_id, region)


def _prod_deployment(server: EmulatorServer, name: str = "chat-prod") -> Any:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from tests.e2e.conftest import StaticToken

    c = server.connection.for_account("prod")
    arm = CognitiveServicesManagementClient(StaticToken(c.api_key), c.subscription, base_url=c.arm_endpoint,
                                            connection_verify=c.ca_cert)
    return arm.deployments.get(c.resource_group, c.account, name)


def _dev_id(server: EmulatorServer) -> str:
    c = server.connection.for_account("dev")
    return (f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/dev")


def test_prod_follows_what_dev_passed_from_devs_account(specs: Path, servers: Servers) -> None:
    server = servers.server
    _, dev = _run(specs, server, "dev", Upstream())
    fact = dev.deployments[("dev", "clippy-prod")]
    assert fact.settled and fact.passed is True and fact.model and fact.since is not None, fact
    assert fact.account_id == _dev_id(server)

    plan, _ = _run(specs, server, "prod", dev)
    [promote] = [a for a in plan.actions if a.name == "chat-prod"]
    assert isinstance(promote, Promote) and promote.action == "create" and promote.source == _dev_id(server)
    served = _prod_deployment(server)
    assert served.properties.model.name == fact.model
    assert served.properties.model.source == _dev_id(server)  # ARM names dev's account as the model's source
    assert served.tags["ftops-source"] == "dev/clippy-prod" and served.tags["ftops-verdict"] == fact.verdict
    final = _prod_deployment(server, "clippy-final")  # dev's job's final model, deployed from dev
    assert final.properties.model.name == dev.jobs[("dev", "clippy")].model
    assert final.properties.model.source == _dev_id(server) and final.tags["ftops-source"] == "dev/clippy"
    again, _ = _run(specs, server, "prod", dev, apply=False)
    assert not again.has_changes and not drift_items(again)

    # A changed training spec: dev trains a new job; prod keeps serving and waits, as a pending change.
    spec = specs / "clippy.yaml"
    spec.write_text(spec.read_text().replace("seed: 105", "seed: 106"))
    server = servers.restart(TRAINS)
    _, dev = _run(specs, server, "dev", Upstream(), wait=False)
    moving = dev.deployments[("dev", "clippy-prod")]
    assert not moving.settled and moving.model == fact.model
    assert dev.jobs[("dev", "clippy")].model is None  # the new job trains
    waiting, _ = _run(specs, server, "prod", dev, apply=False)
    [pending] = [a for a in waiting.actions if a.name == "chat-prod"]
    assert isinstance(pending, Promote) and pending.pending and not waiting.has_changes
    assert pending.reason.startswith(f"keeps serving {fact.model}; waits for dev/clippy-prod: ")
    [waits] = [a for a in waiting.actions if a.name == "clippy-final"]
    assert isinstance(waits, Promote) and waits.pending and "waits for dev/clippy: " in waits.reason

    # Dev promotes the new winner: prod lags behind it until its next apply.
    AdminClient(server.connection).advance(seconds=3600)  # dev's job ends now (its schedule is Foundry's clock)
    server = servers.restart(FAST)
    dev_plan, dev = _run(specs, server, "dev", Upstream())
    assert any(isinstance(a, RollOut) and a.name == "clippy-prod" for a in dev_plan.actions)
    new = dev.deployments[("dev", "clippy-prod")]
    assert new.settled and new.passed and new.model != fact.model
    lagging, _ = _run(specs, server, "prod", dev, apply=False)
    assert sorted(d.kind for d in drift_items(lagging)) == ["lags", "lags"]
    _run(specs, server, "prod", dev)
    assert _prod_deployment(server).properties.model.name == new.model
    assert _prod_deployment(server, "clippy-final").properties.model.name == dev.jobs[("dev", "clippy")].model
