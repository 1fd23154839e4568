"""The path a team takes against Azure, end to end: a remote Foundry spec, DefaultAzureCredential, Entra ID
tokens on both planes, roles, 401/403 answers. The Foundry is a local one started on its own (as `ftops
emulator` runs in another team's CI); ftops reaches it exactly as it reaches Azure, with only
IDENTITY_ENDPOINT, IDENTITY_HEADER and SSL_CERT_FILE set (no API key, no `local: true`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ftops.emulator import AdminClient, EmulatorServer
from tests.e2e.conftest import ROOT, Foundry, Result, clients

# Variables that would make DefaultAzureCredential pick another source than the managed identity.
OTHER_CREDENTIALS = ("AZURE_OPENAI_API_KEY", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID",
                     "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME", "MSI_ENDPOINT",
                     "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS",
                     "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")
DEPLOY_LINE = ("Deployment/clippy-prod: the identity lacks Microsoft.CognitiveServices/accounts/deployments/write; "
               "a role that grants it: Azure AI Owner or Cognitive Services OpenAI Contributor")


@dataclass
class Remote:
    """A copy of the demo specs naming a separately started local Foundry as a remote one."""

    project: Any  # conftest.Project: runs the CLI in-process
    foundry: Foundry  # the same Foundry through the API key, to look behind ftops' back
    admin: AdminClient

    def ftops(self, *args: str) -> Result:
        result: Result = self.project.ftops(*args)
        return result

    def without_deployment(self) -> str:
        """Drop the Deployment document (an identity that may train but not deploy can apply the rest)."""
        text: str = self.project.spec.read_text()
        head, _, _ = text.partition("---\napiVersion: ftops/v1\nkind: Deployment")
        self.project.spec.write_text(head)
        return text

    def stats(self) -> dict[str, int]:
        found: dict[str, int] = self.admin.state()["identity_stats"]
        return found

    def live(self) -> tuple[int, int, list[str]]:
        """(files, jobs, deployment names) as the local key sees them."""
        oai, c = self.foundry.oai, self.foundry.conn
        deps = [d.name for d in self.foundry.arm.deployments.list(c.resource_group, c.account)]
        uploads = [f for f in oai.files.list().data if f.purpose == "fine-tune"]  # not the results files
        return len(uploads), len(oai.fine_tuning.jobs.list().data), deps


def remote_spec(server: EmulatorServer, poll: float = 0.02) -> str:
    c = server.connection
    base = c.arm_endpoint
    return (f"apiVersion: ftops/v1\nkind: Foundry\nmetadata: {{name: local}}\nspec:\n  namespace: clippy-demo\n"
            f"  endpoint: {base}\n  armEndpoint: {base}\n  subscription: {c.subscription}\n"
            f"  resourceGroup: {c.resource_group}\n  account: {c.account}\n  region: {c.region}\n"
            f"  pollInterval: {poll}\n")


def as_remote(spec: Path, server: EmulatorServer) -> None:
    """Replace the demo's `local: true` Foundry document with one naming `server` as Azure names an account."""
    docs = spec.read_text().split("---\n")
    first = next(i for i, d in enumerate(docs) if "kind: Foundry" in d)
    docs[first] = remote_spec(server)
    spec.write_text("---\n".join(docs))


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A local Foundry started on its own, as `ftops emulator --port 8443` in a CI service step."""
    server = EmulatorServer(tmp_path / "foundry", speed=20000.0).start()
    yield server
    server.stop()


@pytest.fixture
def entra_env(monkeypatch: pytest.MonkeyPatch, standalone: EmulatorServer) -> None:
    """Only what a managed identity's host sets, plus the CA bundle: no key, no other credential."""
    for name in OTHER_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    c = standalone.connection
    monkeypatch.setenv("IDENTITY_ENDPOINT", c.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", c.identity_header)
    monkeypatch.setenv("SSL_CERT_FILE", c.ca_cert)


@pytest.fixture
def remote(project: Any, standalone: EmulatorServer, entra_env: None) -> Iterator[Remote]:
    as_remote(project.spec, standalone)
    admin = AdminClient(standalone.connection)
    yield Remote(project, clients(standalone.connection, standalone), admin)
    admin.close()


def assert_no_secret(r: Result, server: EmulatorServer) -> None:
    c = server.connection
    for secret in (c.api_key, c.identity_header, "eyJ"):  # "eyJ": how every JWT starts
        assert secret not in r.out and secret not in r.err


def test_the_demo_applies_end_to_end_with_entra_id_only(remote: Remote, standalone: EmulatorServer) -> None:
    plan = remote.ftops("plan")
    assert plan.code == 0, plan.err
    assert "identity: Entra ID (managed identity from IDENTITY_ENDPOINT) for the data plane and deployments" in plan.out
    applied = remote.ftops("apply", "--auto-approve", "--wait")
    assert applied.code == 0, applied.err
    assert "Deployment/clippy-prod create: serves" in applied.out + applied.err
    files, jobs, deps = remote.live()
    assert (files, jobs, deps) == (2, 1, ["clippy-prod"])
    again = remote.ftops("apply", "--auto-approve", "--wait")
    assert again.code == 0 and "Nothing to apply" in again.out
    assert remote.stats().get("tokens_issued", 0) >= 2 and remote.stats().get("refused", 0) == 0
    for r in (plan, applied, again):
        assert_no_secret(r, standalone)


def test_the_account_is_discovered_by_arm_with_entra_id(remote: Remote, standalone: EmulatorServer) -> None:
    """A spec naming only the endpoint and subscription: ftops finds resource group and account by ARM."""
    text = remote.project.spec.read_text()
    c = standalone.connection
    remote.project.spec.write_text(text.replace(f"  resourceGroup: {c.resource_group}\n", "")
                                   .replace(f"  account: {c.account}\n", ""))
    r = remote.ftops("plan")
    assert r.code == 0, r.err
    assert f"{c.subscription}/{c.resource_group}/{c.account}" in r.out


def test_tokens_expire_during_apply_wait_and_the_credential_refreshes(remote: Remote,
                                                                      standalone: EmulatorServer) -> None:
    remote.admin.identity(token_lifetime=2)
    standalone.emulator.speed = 60.0  # jobs created from now on train for several real seconds (about 6.5)
    start = time.monotonic()
    applied = remote.ftops("apply", "--auto-approve", "--wait")
    took = time.monotonic() - start
    assert applied.code == 0, applied.err
    assert took > 3 * 2, "the apply must outlive several tokens"
    stats = remote.stats()
    assert stats.get("tokens_issued", 0) > 6 and stats.get("refused", 0) == 0
    assert remote.live()[2] == ["clippy-prod"]


def test_an_azure_ai_user_trains_but_is_refused_at_deploy_before_anything_changes(remote: Remote) -> None:
    remote.admin.identity(role="Azure AI User")
    full = remote.without_deployment()
    trained = remote.ftops("apply", "--auto-approve", "--wait")
    assert trained.code == 0, trained.err
    before = remote.live()
    assert before == (2, 1, [])
    remote.project.spec.write_text(full)
    refused = remote.ftops("apply", "--auto-approve", "--wait")
    assert refused.code == 1
    assert refused.err.strip() == f"error: preflight: {DEPLOY_LINE}; nothing was applied"
    assert remote.live() == before
    remote.admin.identity(role="Cognitive Services OpenAI Contributor")  # the role the line names
    assert remote.ftops("apply", "--auto-approve", "--wait").code == 0
    assert remote.live()[2] == ["clippy-prod"]


def test_permissions_on_several_pages_are_all_read(remote: Remote) -> None:
    """ARM pages Permissions - List For Resource with nextLink: the data actions on page 2 count too."""
    remote.admin.identity(role="Cognitive Services OpenAI Contributor")
    remote.admin.fidelity(arm_page_size=1)
    r = remote.ftops("apply", "--auto-approve")
    assert r.code == 0, r.err
    assert remote.live()[0] == 2


def test_an_openai_user_may_plan_but_not_apply(remote: Remote) -> None:
    """The read-only identity docs/ci.md recommends for pull requests: plan works, apply changes nothing."""
    remote.admin.identity(role="Cognitive Services OpenAI User")
    assert remote.ftops("plan").code == 0
    refused = remote.ftops("apply", "--auto-approve")
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert ("Dataset/clippy-train: the identity lacks Microsoft.CognitiveServices/accounts/OpenAI/files/write; a "
            "role that grants it: Azure AI Owner, Azure AI User or Cognitive Services OpenAI Contributor; it also "
            "lacks Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/write") in refused.err
    assert remote.live() == (0, 0, [])


def test_without_the_permissions_api_the_refused_action_fails_alone_with_one_line(remote: Remote) -> None:
    remote.admin.identity(role="Azure AI User", permissions_api=False)
    applied = remote.ftops("apply", "--auto-approve", "--wait")
    assert applied.code == 1
    line = ("deploy clippy-prod: the identity lacks Microsoft.CognitiveServices/accounts/deployments/write; a role "
            "that grants it: Azure AI Owner or Cognitive Services OpenAI Contributor")
    assert line in applied.out + applied.err
    assert "Traceback" not in applied.err
    files, jobs, deps = remote.live()
    assert (files, jobs, deps) == (2, 1, [])  # uploaded and trained; the deployment alone failed
    assert remote.foundry.oai.fine_tuning.jobs.list().data[0].status == "succeeded"


def test_a_token_for_the_wrong_audience_is_one_line(remote: Remote, standalone: EmulatorServer) -> None:
    remote.admin.identity(audience="https://storage.azure.com")
    r = remote.ftops("plan")
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "HTTP 401: the Entra ID token was refused (a wrong audience, expired, or not for this tenant)" in r.err
    assert remote.stats().get("refused", 0) >= 1
    assert_no_secret(r, standalone)


def test_an_unreachable_token_endpoint_is_one_line_in_bounded_time(remote: Remote,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"https://localhost:{port}/msi/token")
    start = time.monotonic()
    r = remote.ftops("plan")
    assert time.monotonic() - start < 60
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "Entra ID sign-in failed: DefaultAzureCredential got no token from the managed identity endpoint in " \
           "IDENTITY_ENDPOINT" in r.err


ENV_FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: local}
spec:
  namespace: clippy-demo
  endpoint: ${AZURE_OPENAI_ENDPOINT}
  armEndpoint: ${AZURE_ARM_ENDPOINT}
  subscription: ${AZURE_SUBSCRIPTION_ID}
  resourceGroup: ${AZURE_RESOURCE_GROUP}
  account: ${AZURE_OPENAI_RESOURCE}
  pollInterval: 0.05
"""


def test_the_ci_recipe_of_docs_ci_md(tmp_path: Path) -> None:
    """docs/ci.md section 9 as a CI job runs it: `ftops emulator` in its own process, the variables taken
    from its connection JSON, the team's foundry.yaml with every coordinate from a variable, ftops in a
    process of its own."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "clippy.yaml"
    docs = spec.read_text().split("---\n")
    spec.write_text("---\n".join(ENV_FOUNDRY if "kind: Foundry" in d else d for d in docs))
    env = {k: v for k, v in os.environ.items() if k not in OTHER_CREDENTIALS and not k.startswith("FTOPS_")}
    foundry = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "--port", "0", "--data-dir",
                                str(tmp_path / "foundry"), "--speed", "20000", "--role", "Azure AI Owner"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    try:
        assert foundry.stdout is not None
        c = json.loads(foundry.stdout.readline())
        env.update(IDENTITY_ENDPOINT=c["identity_endpoint"], IDENTITY_HEADER=c["identity_header"],
                   SSL_CERT_FILE=c["ca_cert"], AZURE_OPENAI_ENDPOINT=c["arm_endpoint"],
                   AZURE_ARM_ENDPOINT=c["arm_endpoint"], AZURE_SUBSCRIPTION_ID=c["subscription"],
                   AZURE_RESOURCE_GROUP=c["resource_group"], AZURE_OPENAI_RESOURCE=c["account"])
        # With every library's debug log on (FTOPS_LOG_LEVEL=DEBUG): still no token, key or header in it.
        r = subprocess.run([sys.executable, "-m", "ftops", "apply", "specs", "--auto-approve", "--wait"],
                           capture_output=True, text=True, env={**env, "FTOPS_LOG_LEVEL": "DEBUG"}, cwd=tmp_path,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "identity: Entra ID (managed identity from IDENTITY_ENDPOINT)" in r.stdout
        assert "Deployment/clippy-prod create: serves" in r.stdout + r.stderr and "DEBUG" in r.stderr
        for secret in (c["identity_header"], c["api_key"], "eyJ"):
            assert secret not in r.stdout + r.stderr
    finally:
        foundry.terminate()
        foundry.wait(timeout=30)
        if foundry.stdout is not None:
            foundry.stdout.close()
