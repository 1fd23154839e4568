"""Foundry projects end to end (issue 16 item 3): the shipped demo, unchanged but for its Foundry document,
runs through a project endpoint `/api/projects/<p>/openai/v1`, on the local Foundry (`local: true` with
`foundryProject`) and as a remote Foundry named by the project endpoint as the portal shows it (Entra ID
tokens for https://ai.azure.com on the project, ARM on the account). Also: the old `project:` spelling of
`namespace:`."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ftops.emulator import AdminClient, EmulatorServer
from tests.e2e.conftest import Project, clients
from tests.e2e.test_entra_id import OTHER_CREDENTIALS, assert_no_secret

LAB = "clippy-lab"


def project_client(server: EmulatorServer, project: str, api_key: str) -> openai.OpenAI:
    """The real openai client on a project's data plane, as azure-ai-projects' get_openai_client builds it."""
    c = server.connection
    http = httpx.Client(verify=ssl.create_default_context(cafile=c.ca_cert))
    return openai.OpenAI(base_url=f"{c.arm_endpoint}/api/projects/{project}/openai/v1", api_key=api_key,
                         http_client=http, max_retries=0)


def token(server: EmulatorServer, resource: str) -> str:
    """A token of the local Entra ID for `resource`, as DefaultAzureCredential's managed identity asks."""
    c = server.connection
    r = httpx.get(c.identity_endpoint, params={"api-version": "2019-08-01", "resource": resource},
                  headers={"X-IDENTITY-HEADER": c.identity_header},
                  verify=ssl.create_default_context(cafile=c.ca_cert))
    r.raise_for_status()
    found: str = r.json()["access_token"]
    return found


def test_local_foundry_project_runs_the_demo(project: Project) -> None:
    project.set("foundryProject", LAB)
    applied = project.ftops("apply", "--auto-approve", "--wait")
    assert applied.code == 0, applied.err
    assert f"/api/projects/{LAB}/openai/v1 (Foundry project {LAB})" in applied.out
    assert "Deployment/clippy-prod create: serves" in applied.out + applied.err
    again = project.ftops("apply", "--auto-approve", "--wait")
    assert again.code == 0 and "Nothing to apply" in again.out, again.out
    server = EmulatorServer(project.root / ".ftops" / "emulator", speed=20000.0).start()
    try:  # what ftops made is there through the project's route, for the real openai client
        oai = project_client(server, LAB, server.connection.api_key)
        names = sorted(f.filename for f in oai.files.list().data if f.purpose == "fine-tune")
        assert [n.split(".")[2] for n in names] == ["clippy-train", "clippy-valid"]
        jobs = oai.fine_tuning.jobs.list().data
        assert len(jobs) == 1 and jobs[0].status == "succeeded" and jobs[0].metadata
        assert jobs[0].metadata["ftops-project"] == "clippy-demo"  # the namespace, unchanged
        resource = clients(server.connection, server).oai  # the account's own /openai/v1 sees the same
        assert [j.id for j in resource.fine_tuning.jobs.list().data] == [jobs[0].id]
        with pytest.raises(openai.NotFoundError) as unknown:  # a project that was never created
            project_client(server, "no-such-project", server.connection.api_key).files.list()
        assert unknown.value.body == {"code": "404", "message": "Resource not found"}
    finally:
        server.stop()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A local Foundry started on its own with project clippy-lab, as `ftops emulator --project clippy-lab`."""
    server = EmulatorServer(tmp_path / "foundry", speed=20000.0, project=LAB).start()
    yield server
    server.stop()


@pytest.fixture
def remote_lab(project: Project, lab: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """The demo with its Foundry document naming `lab` by the project endpoint, with only a managed identity's
    variables. The local Foundry's host is 127.0.0.1, not <resource>.services.ai.azure.com: the account is
    named in the spec, as the ARM endpoint is."""
    for name in OTHER_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    c = lab.connection
    monkeypatch.setenv("IDENTITY_ENDPOINT", c.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", c.identity_header)
    monkeypatch.setenv("SSL_CERT_FILE", c.ca_cert)
    assert c.project_endpoint == f"{c.arm_endpoint}/api/projects/{LAB}"
    foundry = (f"apiVersion: ftops/v1\nkind: Foundry\nmetadata: {{name: local}}\nspec:\n  namespace: clippy-demo\n"
               f"  endpoint: {c.project_endpoint}\n  armEndpoint: {c.arm_endpoint}\n"
               f"  subscription: {c.subscription}\n  resourceGroup: {c.resource_group}\n  account: {c.account}\n"
               f"  region: {c.region}\n  pollInterval: 0.02\n")
    docs = project.spec.read_text().split("---\n")
    project.spec.write_text("---\n".join(foundry if "kind: Foundry" in d else d for d in docs))
    yield project


def test_a_remote_project_endpoint_applies_with_entra_id(remote_lab: Project, lab: EmulatorServer) -> None:
    c = lab.connection
    plan = remote_lab.ftops("plan")
    assert plan.code == 0, plan.err
    header = plan.out.splitlines()[:2]
    assert header[0].endswith(f"account {c.subscription}/{c.resource_group}/{c.account}"), header
    assert header[1].startswith(f"data plane {c.project_endpoint}/openai/v1 (Foundry project {LAB}) · identity: "
                                "Entra ID (managed identity from IDENTITY_ENDPOINT)"), header
    applied = remote_lab.ftops("apply", "--auto-approve", "--wait")
    assert applied.code == 0, applied.err
    assert "Deployment/clippy-prod create: serves" in applied.out + applied.err
    for r in (plan, applied):
        assert_no_secret(r, lab)
    # The project's data plane took ai.azure.com tokens (no key was set): the files and job are there.
    oai = project_client(lab, LAB, token(lab, "https://ai.azure.com"))
    assert len(oai.fine_tuning.jobs.list().data) == 1
    assert AdminClient(c).state()["identity_stats"].get("refused", 0) == 0
    deps = clients(c, lab).arm.deployments.list(c.resource_group, c.account)
    assert [d.name for d in deps] == ["clippy-prod"]  # deployed by ARM on the account


def test_the_account_is_found_by_arm_from_a_project_endpoint(remote_lab: Project, lab: EmulatorServer) -> None:
    """Endpoint and subscription only: the account is the one whose endpoints include the project's host."""
    c = lab.connection
    text = remote_lab.spec.read_text()
    remote_lab.spec.write_text(text.replace(f"  resourceGroup: {c.resource_group}\n", "")
                               .replace(f"  account: {c.account}\n", ""))
    r = remote_lab.ftops("plan")
    assert r.code == 0, r.err
    assert f"account {c.subscription}/{c.resource_group}/{c.account}" in r.out


def test_a_wrong_audience_on_the_project_route(remote_lab: Project, lab: EmulatorServer) -> None:
    """A token for the resource's audience is refused on the project's data plane: 401 for the real client,
    one line from ftops (ARM, asked for its own audience, still answers)."""
    oai = project_client(lab, LAB, token(lab, "https://cognitiveservices.azure.com"))
    with pytest.raises(openai.AuthenticationError) as refused:
        oai.files.list()
    assert refused.value.status_code == 401
    assert "audience is incorrect (https://ai.azure.com)" in str(refused.value.body)
    AdminClient(lab.connection).identity(audience={"https://ai.azure.com": "https://cognitiveservices.azure.com"})
    r = remote_lab.ftops("plan")
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "HTTP 401: the Entra ID token was refused" in r.err and "returns for https://ai.azure.com" in r.err
    assert_no_secret(r, lab)


def test_an_unknown_project_or_an_api_key_is_one_line(remote_lab: Project, lab: EmulatorServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    remote_lab.edit(f"/api/projects/{LAB}\n", "/api/projects/no-such-project\n")
    r = remote_lab.ftops("plan")
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert f"account {lab.connection.account} has no Foundry project 'no-such-project'" in r.err
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", lab.connection.api_key)
    r = remote_lab.ftops("plan")
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "which ftops reaches with Entra ID only; unset AZURE_OPENAI_API_KEY" in r.err
    assert_no_secret(r, lab)


def old_spelling(project: Project, *lines: str) -> Any:
    project.edit("  namespace: clippy-demo\n", "".join(f"  {ln}\n" for ln in lines))
    return project.ftops("validate", "specs")


def test_the_old_project_spelling_validates_with_a_notice(project: Project) -> None:
    r = old_spelling(project, "project: clippy-demo")
    assert r.code == 0, r.err
    line = project.spec.read_text().splitlines().index("  project: clippy-demo") + 1
    assert r.err.splitlines() == [f"specs/clippy.yaml:{line}: warning: spec.project is now spec.namespace (ftops' "
                                  "namespace for its tags and metadata, not a Foundry project); rename it, the value "
                                  "stays"], r.err
    plan = project.plan_json()
    assert plan["project"] == "clippy-demo"  # the same namespace: live objects keep matching


def test_both_spellings_are_one_located_error(project: Project) -> None:
    r = old_spelling(project, "project: clippy-demo", "namespace: clippy-demo")
    assert r.code == 1
    line = project.spec.read_text().splitlines().index("  project: clippy-demo") + 1
    assert r.err.strip() == (f"specs/clippy.yaml:{line}: spec.project and spec.namespace are both set: "
                             "spec.project is the old spelling of spec.namespace; keep only namespace"), r.err


def test_projects_through_the_arm_client(foundry: Any) -> None:
    """Projects_Create, Get, List and Delete with azure-mgmt-cognitiveservices, as Azure's spec shapes them."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.mgmt.cognitiveservices.models import Project as ArmProject

    c, projects = foundry.conn, foundry.arm.projects
    with pytest.raises(ResourceNotFoundError) as missing:
        projects.get(c.resource_group, c.account, LAB)
    assert missing.value.error is not None and missing.value.error.code == "ResourceNotFound"
    created = projects.begin_create(c.resource_group, c.account, LAB, ArmProject(location=c.region)).result()
    assert created.name == LAB and created.properties.is_default
    endpoint = created.properties.endpoints["AI Foundry API"]
    assert endpoint == f"{c.arm_endpoint}/api/projects/{LAB}"
    projects.begin_create(c.resource_group, c.account, "second", ArmProject(location=c.region)).result()
    assert [(p.name, p.properties.is_default) for p in projects.list(c.resource_group, c.account)] == [
        (LAB, True), ("second", False)]
    oai = project_client(foundry.server, LAB, c.api_key)  # the local key works on a project too
    assert oai.files.list().data == []
    projects.begin_delete(c.resource_group, c.account, "second").result()
    with pytest.raises(openai.NotFoundError):
        project_client(foundry.server, "second", c.api_key).files.list()
