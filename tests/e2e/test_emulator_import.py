"""The local Foundry's Files - Import (`POST /openai/v1/files/import`): it fetches a loopback content_url
itself, and the file is processed as an upload is; anything else is a 400 in Azure's error shape."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx
import openai
import pytest
from openai.types import FileObject

from tests.e2e.conftest import TRAIN, Foundry, assert_schema
from tests.urlserver import Route, serve


def _http(foundry: Foundry) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=foundry.conn.ca_cert),
                        headers={"api-key": foundry.conn.api_key})


def _import(foundry: Foundry, body: dict[str, Any], path: str = "/openai/v1/files/import") -> httpx.Response:
    base = foundry.conn.endpoint.removesuffix("/openai/v1")
    with _http(foundry) as http:
        return http.post(base + path, json=body)


def _settled(foundry: Foundry, fid: str) -> Any:
    for _ in range(500):
        f = foundry.oai.files.retrieve(fid)
        if f.status != "pending":
            return f
        time.sleep(0.01)
    raise AssertionError("import never settled")


def test_the_openai_client_imports_a_loopback_url(foundry: Foundry) -> None:
    data = TRAIN.read_bytes()
    with serve({"/train.jsonl": Route(data, require_query="sig=abc")}) as server:
        body = {"purpose": "fine-tune", "filename": "train.jsonl", "content_url": server.url("/train.jsonl", "sig=abc")}
        created = foundry.oai.post("/files/import", body=body, cast_to=FileObject)
        assert created.status == "pending" and created.filename == "train.jsonl"
        assert [s.query for s in server.requests("/train.jsonl")] == ["sig=abc"]
    done = _settled(foundry, created.id)
    assert (done.status, done.bytes) == ("processed", len(data))
    assert foundry.oai.files.content(created.id).read() == data
    job = foundry.job(created.id)  # trains on it like on an upload
    assert foundry.wait_job(job.id).status == "succeeded"


def test_import_answers_201_pending_with_location_on_both_surfaces(foundry: Foundry) -> None:
    with serve({"/t.jsonl": Route(TRAIN.read_bytes())}) as server:
        body = {"purpose": "fine-tune", "filename": "t.jsonl", "content_url": server.url("/t.jsonl")}
        v1 = _import(foundry, body)
        dated = _import(foundry, body, "/openai/files/import?api-version=2024-10-21")
    for r in (v1, dated):
        assert r.status_code == 201, r.text
        assert_schema(r.json(), "OpenAIFile")
        assert r.json()["status"] == "pending" and r.headers["location"].split("?")[0].endswith("/" + r.json()["id"])
    assert "api-version=2024-10-21" in dated.headers["location"]


def test_invalid_content_ends_in_error_with_details(foundry: Foundry) -> None:
    with serve({"/bad.jsonl": Route(b'{"messages": []}\nnot json\n'), "/gone": Route(status=404)}) as server:
        bad = foundry.oai.post("/files/import", cast_to=FileObject, body={
            "purpose": "fine-tune", "filename": "bad.jsonl", "content_url": server.url("/bad.jsonl")})
        gone = foundry.oai.post("/files/import", cast_to=FileObject, body={
            "purpose": "fine-tune", "filename": "gone.jsonl", "content_url": server.url("/gone")})
    bad_f, gone_f = _settled(foundry, bad.id), _settled(foundry, gone.id)
    assert bad_f.status == "error" and "Line 2" in bad_f.status_details
    assert gone_f.status == "error" and "HTTP 404" in gone_f.status_details
    assert_schema(bad_f.model_dump(exclude_none=True), "OpenAIFile")


@pytest.mark.parametrize(("body", "param"), [
    ({"purpose": "fine-tune", "filename": "x.jsonl"}, "content_url"),
    ({"purpose": "fine-tune", "filename": "x.jsonl", "content_url": "https://example.com/x.jsonl"}, "content_url"),
    ({"purpose": "fine-tune", "filename": "x.jsonl", "content_url": "file:///etc/passwd"}, "content_url"),
    ({"purpose": "fine-tune", "filename": "x.jsonl", "content_url": "http://169.254.169.254/latest"}, "content_url"),
    ({"purpose": "fine-tune", "filename": "x.jsonl", "content_url": 7}, "content_url"),
    ({"purpose": "fine-tune", "content_url": "http://127.0.0.1:9/x"}, "filename"),
    ({"purpose": "nope", "filename": "x.jsonl", "content_url": "http://127.0.0.1:9/x"}, "purpose"),
])
def test_a_missing_or_refused_content_url_is_a_400_in_azures_shape(foundry: Foundry, body: dict[str, Any],
                                                                   param: str) -> None:
    r = _import(foundry, body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == param and error["message"]
    with pytest.raises(openai.BadRequestError):
        foundry.oai.post("/files/import", body=body, cast_to=FileObject)
    assert foundry.oai.files.list().data == []  # nothing stored


def test_a_redirect_out_of_loopback_is_not_followed(foundry: Foundry) -> None:
    with serve({"/r": Route(status=302, location="http://10.0.0.1:9/x")}) as server:
        created = foundry.oai.post("/files/import", cast_to=FileObject, body={
            "purpose": "fine-tune", "filename": "r.jsonl", "content_url": server.url("/r")})
    f = _settled(foundry, created.id)
    assert f.status == "error" and "outside the local machine" in f.status_details
