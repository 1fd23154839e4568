"""Issue 17's whole story through the CLI, one spec directory, two accounts of one local Foundry: `dev`
(swedencentral) trains, evaluates and serves the winner; `prod` (eastus2) serves it through a Deployment that
follows dev's (`model: {deployment: clippy-prod}`), deployed with ARM's model `source` = dev's account.

One `apply --wait` does it all; a changed training spec makes a new winner in dev and prod moves only after dev's
evaluation passed (drift exits 2 while prod lags); kill -9 during the cross-account write leaves one deployment
and no copy after the next apply.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from ftops.emulator import EmulatorServer

from .conftest import FAST, ROOT, Foundry, Project, clients

PROD = """---
apiVersion: ftops/v1
kind: Foundry
metadata: {name: prod}
spec:
  local: true
  namespace: clippy-eval
  region: eastus2
---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: chat, foundry: prod}
spec:
  model: {deployment: clippy-prod}
  sku: {name: GlobalStandard, capacity: 5}
"""


@pytest.fixture
def stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Project:
    """The evaluation example as Foundry `dev` (its gate: the held-out thresholds), beside `prod`."""
    shutil.copytree(ROOT / "examples" / "evaluation" / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "clippy.yaml"
    text = spec.read_text().replace("metadata: {name: local}", "metadata: {name: dev}")
    text = text.replace("    beatBaselineBy: 0.05\n", "")
    text = text.replace("metadata: {name: clippy", "metadata: {foundry: dev, name: clippy")
    spec.write_text(text + PROD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTOPS_LOCAL_FOUNDRY", "thread")
    return Project(tmp_path, capsys, FAST)  # sets `speed` on the first Foundry document (dev: the primary)


@contextlib.contextmanager
def live(stages: Project) -> Iterator[tuple[Foundry, Foundry]]:
    """(dev, prod) behind ftops' back, between ftops' commands: the local Foundry ftops made, on its data dir."""
    server = EmulatorServer(stages.root / ".ftops" / "emulator", speed=FAST).start()
    try:
        conn = server.connection
        yield clients(conn, server), clients(conn.for_account("prod"), server)  # dev: the primary account
    finally:
        server.stop()


def _dev_id(dev: Foundry) -> str:
    c = dev.conn
    return (f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{c.account}")


def _served(f: Foundry, name: str) -> Any:
    return f.arm.deployments.get(f.conn.resource_group, f.conn.account, name)


def _drift(stages: Project) -> tuple[int, dict[str, Any]]:
    r = stages.ftops("drift", "--format", "json")
    assert r.code in (0, 2), r.out + r.err
    return r.code, {e["foundry"]: e for e in json.loads(r.out)["foundries"]}


def test_dev_trains_and_evaluates_prod_follows_from_devs_account(stages: Project) -> None:
    r = stages.ftops("apply", "--auto-approve", "--wait")  # one run: dev, then prod (it follows dev)
    assert r.code == 0, r.out + r.err
    with live(stages) as (dev, prod):
        winner = _served(dev, "clippy-prod")
        assert winner.tags["ftops-verdict"].startswith("evaluation clippy-quality passed")
        chat = _served(prod, "chat")
        assert chat.properties.model.name == winner.properties.model.name
        assert chat.properties.model.source == _dev_id(dev)  # ARM names dev's account as the model's source
        assert chat.tags["ftops-source"] == "dev/clippy-prod"
    assert stages.ftops("drift").code == 0
    assert stages.ftops("plan", "--detailed-exitcode").code == 0

    # A changed training spec: dev trains a new job, evaluates it and promotes the winner; prod has not moved.
    stages.edit("seed: 105", "seed: 106")
    r = stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with live(stages) as (dev, prod):
        new = _served(dev, "clippy-prod")
        assert new.properties.model.name != winner.properties.model.name
        assert new.tags["ftops-verdict"].startswith("evaluation clippy-quality passed")
        assert _served(prod, "chat").properties.model.name == winner.properties.model.name
    code, drift = _drift(stages)
    assert code == 2  # prod lags behind the stage it follows
    assert [i["kind"] for i in drift["prod"]["drift"]["items"]] == ["lags"], drift["prod"]
    assert not drift["dev"]["drift"]["items"], drift["dev"]
    r = stages.ftops("status", "--format", "json")  # the chain: dev serves the new winner, prod would
    [chain] = json.loads(r.out)["promotion"]
    assert [(s["foundry"], s["deployment"], s["state"], s["serves"], s["next_model"]) for s in chain["stages"]] == [
        ("dev", "clippy-prod", "in_sync", new.properties.model.name, None),
        ("prod", "chat", "moves", winner.properties.model.name, new.properties.model.name)]
    assert chain["job"] == "clippy" and chain["stages"][0]["passed"] is True

    r = stages.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with live(stages) as (_, prod):
        assert _served(prod, "chat").properties.model.name == new.properties.model.name
    assert stages.ftops("drift").code == 0


def test_prod_waits_while_devs_new_job_trains(stages: Project) -> None:
    assert stages.ftops("apply", "--auto-approve", "--wait").code == 0
    with live(stages) as (_, prod):
        served = _served(prod, "chat").properties.model.name
    stages.set("speed", 1)  # dev's new job now trains for some ten minutes: it is running when prod is planned
    stages.edit("seed: 105", "seed: 106")
    r = stages.ftops("apply", "--auto-approve")  # no --wait: dev submits the job, prod keeps what it serves
    assert r.code == 0, r.out + r.err
    with live(stages) as (_, prod):
        assert _served(prod, "chat").properties.model.name == served
    r = stages.ftops("plan", "--format", "json", "--foundry", "prod", "--foundry", "dev")
    assert r.code == 0, r.out + r.err
    plans = {e["foundry"]: e["plan"] for e in json.loads(r.out)["foundries"]}
    [chat] = [a for a in plans["prod"]["actions"] if a["resource"].endswith("chat")]
    assert chat["pending"] and "waits for dev/clippy-prod" in chat["reason"], chat
    [chain] = json.loads(r.out)["promotion"]  # dev waits for its job, prod for dev; both serve what they served
    dev, prod = chain["stages"]
    assert (dev["deployment"], dev["state"], dev["serves"], dev["waits_for"]) == ("clippy-prod", "waits", served, None)
    assert (prod["state"], prod["waits_for"], prod["serves"]) == ("waits", "dev/clippy-prod", served)
    assert stages.ftops("plan", "--detailed-exitcode").code == 0  # waiting on Foundry is not a change now


def _spawn(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ftops", "apply", "--auto-approve", "--wait"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "1"})


def _prod_deployments(stages: Project) -> list[str]:
    with live(stages) as (_, prod):
        return [d.name for d in prod.arm.deployments.list(prod.conn.resource_group, prod.conn.account)]


def test_kill_9_during_the_cross_account_write_leaves_one_deployment_and_no_copy(stages: Project) -> None:
    assert stages.ftops("apply", "--foundry", "dev", "--auto-approve", "--wait").code == 0
    assert stages.ftops("plan").code == 0  # both accounts now exist in the local Foundry (prod still empty)
    with live(stages) as (_, prod):
        # Every ARM request on prod's deployments is slow: the kills land before, inside and after the write.
        prod.admin.faults(latency_ms=1500, only=["/accounts/prod/deployments"])
    kills = 0
    for delay in (2.0, 3.0, 4.0, 5.0, 6.5):
        proc = _spawn(stages.root)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=120)
        assert _prod_deployments(stages) in ([], ["chat"])
    assert kills >= 2
    with live(stages) as (_, prod):
        prod.admin.clear_faults()
    r = stages.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert _prod_deployments(stages) == ["chat"]
    with live(stages) as (dev, prod):
        winner = _served(dev, "clippy-prod").properties.model.name
        assert _served(prod, "chat").properties.model.source == _dev_id(dev)
        assert _served(prod, "chat").properties.model.name == winner
        job = next(j for j in dev.oai.fine_tuning.jobs.list().data if j.fine_tuned_model)
        with pytest.raises(openai.NotFoundError, match="No copy of checkpoint"):  # ftops deploys with `source`
            dev.oai.get(f"/fine_tuning/jobs/{job.id}/checkpoints/{winner}/copy", cast_to=object,
                        options={"headers": {"aoai-copy-ft-checkpoints": "preview"}})
    assert stages.ftops("drift").code == 0
