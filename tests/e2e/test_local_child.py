"""The local Foundry in a child process (what the CLI starts for local: true): it serves, and it never outlives us."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ftops.emulator import spawn
from ftops.foundry import connect
from ftops.spec import FoundrySpec


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                if "zombie" in f.read():
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_spawned_foundry_serves_the_client_and_stops_with_it(tmp_path: Path) -> None:
    started: list[int] = []

    def launcher(data_dir: Path, **kwargs: object) -> object:
        child = spawn(data_dir, **kwargs)  # type: ignore[arg-type]
        started.append(child._proc.pid)
        return child

    client = connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launcher)  # type: ignore[arg-type]
    try:
        snap = client.snapshot()
        assert snap.files == [] and snap.jobs == [] and snap.api_calls == 3
    finally:
        client.close()
    assert started and _gone(started[0], within=0.5)  # stop() waits for the child: nothing lingers


def test_a_spawned_foundry_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from ftops.emulator import spawn\n"
            "c = spawn(Path(sys.argv[1]), speed=1.0, subscription=None, resource_group=None, account=None, "
            "region='swedencentral')\n"
            "c.connection; print(c._proc.pid, flush=True); time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "emu")], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not _gone(child, within=0.2)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _gone(child), "the local Foundry outlived the process that started it"


def test_a_spawned_foundry_ignores_ctrl_c_until_its_parent_lets_go(tmp_path: Path) -> None:
    child = spawn(tmp_path / "emu", speed=1.0, subscription=None, resource_group=None, account=None,
                  region="swedencentral")
    try:
        child.connection  # noqa: B018 (waits until it serves)
        os.kill(child._proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole process group
        assert not _gone(child._proc.pid, within=0.5)
    finally:
        child.stop()
    assert _gone(child._proc.pid, within=0.5)


def test_a_foundry_that_cannot_start_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "emu"
    blocker.mkdir()
    (blocker / "tls").write_text("not a directory")  # certificates cannot be written there
    child = spawn(blocker, speed=1.0, subscription=None, resource_group=None, account=None, region="swedencentral")
    with pytest.raises(RuntimeError, match="the local Foundry exited"):
        child.connection  # noqa: B018
    child.stop()


def test_the_cli_says_in_one_line_when_the_local_foundry_cannot_start(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).resolve().parents[2] / "specs", tmp_path / "specs")
    (tmp_path / ".ftops" / "emulator").mkdir(parents=True)
    (tmp_path / ".ftops" / "emulator" / "tls").write_text("not a directory")
    r = subprocess.run([sys.executable, "-m", "ftops", "plan", "specs/"], cwd=tmp_path, capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "FTOPS_LOCAL_FOUNDRY"}, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "cannot start the local Foundry" in r.stderr


def test_two_foundries_starting_at_once_on_a_new_data_dir_both_serve_over_tls(tmp_path: Path) -> None:
    """Two applies at once each start one: the certificates and key are made once, never half of each."""
    import ssl

    import httpx

    children = [spawn(tmp_path / "emu", speed=1.0, subscription=None, resource_group=None, account=None,
                      region="swedencentral") for _ in range(3)]
    try:
        for child in children:
            c = child.connection
            r = httpx.get(f"{c.endpoint}/files", headers={"api-key": c.api_key},
                          verify=ssl.create_default_context(cafile=c.ca_cert), timeout=30)
            assert r.status_code == 200, r.text
    finally:
        for child in children:
            child.stop()
    # No temporary file left behind; the .gitignore the new data dir was created with stays.
    assert sorted(p.name for p in (tmp_path / "emu").iterdir() if p.name.startswith(".")) == [".gitignore"]


def test_a_data_dir_serves_the_account_it_was_made_for_and_no_other(tmp_path: Path) -> None:
    """In Azure another account is another world: a data dir made for one account refuses another name
    (one line, no traceback) instead of answering with the first one's files, jobs and deployments."""
    names = {"subscription": None, "resource_group": "rg-a", "account": "team-a"}
    first = spawn(tmp_path / "emu", speed=1.0, region="swedencentral", **names)  # type: ignore[arg-type]
    assert first.connection.account == "team-a"
    first.stop()
    same = spawn(tmp_path / "emu", speed=1.0, region="swedencentral", subscription=None, resource_group="RG-A",
                 account=None)  # ARM names in any case; a name not given is the recorded one
    assert (same.connection.resource_group, same.connection.account) == ("rg-a", "team-a")
    same.stop()
    other = spawn(tmp_path / "emu", speed=1.0, region="swedencentral", subscription=None, resource_group="rg-a",
                  account="team-b")
    with pytest.raises(RuntimeError) as refused:
        other.connection  # noqa: B018
    other.stop()
    line = str(refused.value)
    assert "holds the local Foundry of account 00000000-0000-0000-0000-000000000000/rg-a/team-a" in line
    assert "another account is another world" in line and "Traceback" not in line and "\n" not in line


def test_renaming_the_local_account_in_the_spec_does_not_reach_the_old_world(project: Any) -> None:
    project.set("account", "team-a")
    assert project.ftops("apply", "--auto-approve").code == 0
    project.set("account", "team-b")
    r = project.ftops("plan")
    assert r.code == 1 and "another account is another world" in r.out + r.err
    project.set("dataDir", ".ftops/team-b")  # its own world: everything is to create again
    r = project.ftops("plan")
    assert r.code == 0 and "create" in r.out, r.out + r.err


def test_two_local_accounts_are_served_by_one_child_the_cli_starts(tmp_path: Path) -> None:
    """`ftops plan` over two `local: true` documents, as a user runs it: one child process serves both accounts
    (connected at once), and their plans come back grouped."""
    import json

    shutil.copytree(Path(__file__).resolve().parents[2] / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "clippy.yaml"
    spec.write_text(spec.read_text().replace("metadata: {name: local}", "metadata: {name: dev}").replace(
        "metadata: {name: clippy", "metadata: {foundry: dev, name: clippy") +
        "---\napiVersion: ftops/v1\nkind: Foundry\nmetadata: {name: prod}\nspec: {local: true, region: eastus2}\n")
    r = subprocess.run([sys.executable, "-m", "ftops", "plan", "specs/", "--format", "json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "FTOPS_LOCAL_FOUNDRY"})
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)["foundries"]
    assert [(e["foundry"], e["region"], e["account"].rsplit("/", 1)[1]) for e in entries] == [
        ("dev", "swedencentral", "ftops-local"), ("prod", "eastus2", "prod")]
    assert not (tmp_path / ".ftops" / "emulators").exists()
    assert (tmp_path / ".ftops" / "emulator" / "accounts" / "prod").is_dir()  # an account of dev's local Foundry
