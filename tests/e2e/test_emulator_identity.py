"""The local Foundry's Entra ID, on the wire: the managed-identity token endpoint as azure-identity speaks it,
tokens checked on both planes with Azure's 401 bodies, roles answered with Azure's refusals, and how
ftops reads each refusal (one line naming the action and the roles that grant it)."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential, get_bearer_token_provider
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from ftops.emulator import Connection
from ftops.emulator._managed_identity import Principal, issue
from ftops.foundry import classify
from tests.e2e.conftest import TRAIN, Foundry

DATA = "https://cognitiveservices.azure.com/.default"
ARM = "https://management.azure.com/.default"


@pytest.fixture
def credential(foundry: Foundry, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedIdentityCredential]:
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", foundry.conn.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", foundry.conn.identity_header)
    cred = ManagedIdentityCredential(connection_verify=foundry.conn.ca_cert)
    yield cred
    cred.close()


def _ctx(c: Connection) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=c.ca_cert)


def _oai(c: Connection, cred: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=c.endpoint, api_key=get_bearer_token_provider(cred, DATA), max_retries=0,
                         http_client=httpx.Client(verify=_ctx(c)))


def _arm(c: Connection, cred: Any) -> CognitiveServicesManagementClient:
    return CognitiveServicesManagementClient(cred, c.subscription, base_url=c.arm_endpoint,
                                             connection_verify=c.ca_cert, polling_interval=0.01, retry_total=0)


def _deployments_url(c: Connection) -> str:
    return (f"{c.arm_endpoint}/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{c.account}/deployments?api-version=2025-09-01")


def _token(foundry: Foundry, audience: str, lifetime: float = 600) -> str:
    principal = Principal.load(foundry.server.data_dir)
    return issue(principal, audience, lifetime, time.time())[0]


def test_connection_json_names_the_identity_endpoint_and_header(foundry: Foundry) -> None:
    saved = Connection.load(foundry.server.data_dir / "connection.json")
    assert saved.identity_endpoint == f"{foundry.conn.arm_endpoint}/msi/token"
    assert saved.identity_header == foundry.conn.identity_header and len(saved.identity_header) == 32


def test_azure_identity_gets_tokens_for_each_audience_and_both_planes_take_them(
        foundry: Foundry, credential: ManagedIdentityCredential) -> None:
    c = foundry.conn
    assert 3500 < credential.get_token(ARM).expires_on - time.time() <= 3600  # an hour by default
    assert _oai(c, credential).files.list().data == []
    assert list(_arm(c, credential).deployments.list(c.resource_group, c.account)) == []
    assert foundry.admin.state()["identity_stats"]["tokens_issued"] == 2  # one per audience, then cached
    foundry.admin.identity(token_lifetime=120)
    fresh = ManagedIdentityCredential(connection_verify=c.ca_cert)
    assert 100 < fresh.get_token(DATA).expires_on - time.time() <= 120


def test_the_token_endpoint_refuses_a_wrong_header_and_bad_requests(foundry: Foundry) -> None:
    c = foundry.conn
    bad = httpx.get(c.identity_endpoint, params={"api-version": "2019-08-01", "resource": "https://x"},
                    headers={"X-IDENTITY-HEADER": "wrong"}, verify=_ctx(c))
    assert bad.status_code == 401 and set(bad.json()) == {"statusCode", "message"}
    for params in ({"resource": "https://x"}, {"api-version": "2019-08-01"}):
        r = httpx.get(c.identity_endpoint, params=params, headers={"X-IDENTITY-HEADER": c.identity_header},
                      verify=_ctx(c))
        assert r.status_code == 400 and r.json()["statusCode"] == 400
    ok = httpx.get(c.identity_endpoint, params={"api-version": "2019-08-01", "resource": "https://x"},
                   headers={"X-IDENTITY-HEADER": c.identity_header}, verify=_ctx(c)).json()
    assert set(ok) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert ok["resource"] == "https://x" and ok["token_type"] == "Bearer" and ok["expires_on"].isdigit()


def test_a_wrong_header_leaves_default_azure_credential_without_a_token(foundry: Foundry,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", foundry.conn.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    with pytest.raises(ClientAuthenticationError) as e:
        DefaultAzureCredential(connection_verify=foundry.conn.ca_cert).get_token(ARM)
    assert "the managed identity endpoint in IDENTITY_ENDPOINT" in str(classify(e.value, "list files"))


@pytest.mark.parametrize("token,code", [
    ("data", "InvalidAuthenticationTokenAudience"),
    ("expired", "ExpiredAuthenticationToken"),
    ("unsigned", "InvalidAuthenticationToken"),
    ("tampered", "InvalidAuthenticationToken"),
])
def test_arm_refuses_bad_tokens_with_azure_codes(foundry: Foundry, token: str, code: str) -> None:
    c = foundry.conn
    value = {"data": _token(foundry, "https://cognitiveservices.azure.com"),
             "expired": _token(foundry, "https://management.azure.com", lifetime=-5),
             "unsigned": "eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.",
             "tampered": _token(foundry, "https://management.azure.com")[:-4] + "AAAA"}[token]
    r = httpx.get(_deployments_url(c), headers={"Authorization": f"Bearer {value}"}, verify=_ctx(c))
    assert r.status_code == 401 and r.json()["error"]["code"] == code
    assert r.headers["www-authenticate"].startswith("Bearer ")
    if token == "data":
        assert "obtained for wrong audience or resource 'https://cognitiveservices.azure.com'" in r.text
    if token == "expired":
        assert re.search(r"expiry UTC time '\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M' is earlier than current UTC time",
                         r.json()["error"]["message"])


@pytest.mark.parametrize("audience,lifetime", [("https://management.azure.com", 600),
                                               ("https://cognitiveservices.azure.com", -5)])
def test_the_data_plane_refuses_bad_tokens_with_azures_body(foundry: Foundry, audience: str, lifetime: float) -> None:
    c = foundry.conn
    r = httpx.get(f"{c.endpoint}/files", headers={"Authorization": f"Bearer {_token(foundry, audience, lifetime)}"},
                  verify=_ctx(c))
    assert r.status_code == 401
    assert r.json() == {"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is "
                        "incorrect (https://cognitiveservices.azure.com), or have expired."}


def test_the_local_key_still_works_on_both_planes(foundry: Foundry) -> None:
    c = foundry.conn
    for headers in ({"api-key": c.api_key}, {"Authorization": f"Bearer {c.api_key}"}):
        assert httpx.get(f"{c.endpoint}/files", headers=headers, verify=_ctx(c)).status_code == 200
    foundry.admin.identity(role="Cognitive Services OpenAI User")  # a key is not subject to roles
    assert foundry.upload()  # the conftest clients use the key
    assert httpx.get(_deployments_url(c), headers={"Authorization": f"Bearer {c.api_key}"},
                     verify=_ctx(c)).status_code == 200


def test_an_openai_user_reads_but_may_not_upload(foundry: Foundry, credential: ManagedIdentityCredential) -> None:
    foundry.admin.identity(role="Cognitive Services OpenAI User")
    oai = _oai(foundry.conn, credential)
    assert oai.files.list().data == []
    with pytest.raises(openai.AuthenticationError) as e, open(TRAIN, "rb") as f:
        oai.files.create(file=f, purpose="fine-tune")
    assert e.value.status_code == 401 and e.value.code == "PermissionDenied"  # Azure's status for it: 401
    assert re.fullmatch(r"The principal `[0-9a-f-]{36}` lacks the required data action `Microsoft\.CognitiveServices/"
                        r"accounts/OpenAI/files/write` to perform `POST /openai/v1/files` operation\.",
                        e.value.body["message"])  # type: ignore[index]
    assert str(classify(e.value, "upload clippy-train")) == (
        "upload clippy-train: the identity lacks Microsoft.CognitiveServices/accounts/OpenAI/files/write; a role "
        "that grants it: Azure AI Owner, Azure AI User or Cognitive Services OpenAI Contributor")


def test_an_azure_ai_user_trains_but_may_not_deploy(foundry: Foundry, credential: ManagedIdentityCredential) -> None:
    c = foundry.conn
    foundry.admin.identity(role="Azure AI User")
    oai = _oai(c, credential)
    with open(TRAIN, "rb") as f:
        fid = oai.files.create(file=f, purpose="fine-tune").id
    foundry.wait_file(fid)
    job = foundry.wait_job(oai.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=fid).id)
    assert job.status == "succeeded"
    entra = Foundry(foundry.server, c, oai, _arm(c, credential), foundry.admin)
    with pytest.raises(HttpResponseError) as e:
        entra.deploy("clippy-prod", job.fine_tuned_model).result()
    assert e.value.status_code == 403 and e.value.error is not None and e.value.error.code == "AuthorizationFailed"
    assert ("does not have authorization to perform action 'Microsoft.CognitiveServices/accounts/deployments/write' "
            f"over scope '/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{c.account}/deployments/clippy-prod'") in str(e.value)
    assert str(classify(e.value, "deploy clippy-prod")) == (
        "deploy clippy-prod: the identity lacks Microsoft.CognitiveServices/accounts/deployments/write; a role "
        "that grants it: Azure AI Owner or Cognitive Services OpenAI Contributor")
    foundry.admin.identity(role="Foundry Owner")  # the new name of Azure AI Owner (reference 003)
    assert entra.deploy("clippy-prod", job.fine_tuned_model).result().name == "clippy-prod"


def test_the_permissions_api_answers_the_role(foundry: Foundry, credential: ManagedIdentityCredential) -> None:
    c = foundry.conn
    url = (f"{c.arm_endpoint}/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
           f"Microsoft.CognitiveServices/accounts/{c.account}/providers/Microsoft.Authorization/permissions"
           "?api-version=2022-04-01")
    foundry.admin.identity(role="Azure AI User")
    body = httpx.get(url, headers={"Authorization": f"Bearer {credential.get_token(ARM).token}"},
                     verify=_ctx(c)).json()
    # The role's control- and data-plane halves, as two permissions (one page: 100 a page by default).
    assert body == {"value": [{"actions": ["Microsoft.CognitiveServices/*/read",
                                           "Microsoft.CognitiveServices/accounts/listkeys/action"],
                               "notActions": [], "dataActions": [], "notDataActions": []},
                              {"actions": [], "notActions": [], "dataActions": ["Microsoft.CognitiveServices/*"],
                               "notDataActions": []}]}


def test_identity_settings_are_checked(foundry: Foundry) -> None:
    for bad in ({"role": "Owner of everything"}, {"token_lifetime": 0}, {"colour": "blue"}):
        with pytest.raises(httpx.HTTPStatusError):
            foundry.admin.identity(**bad)
    assert foundry.admin.identity(role="azure ai user")["identity"]["role"] == "Azure AI User"
