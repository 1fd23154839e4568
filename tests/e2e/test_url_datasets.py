"""A Dataset named by `url`: validate streams it, plan says what identifies it, apply has Foundry import it
(the local Foundry over HTTPS, the real openai client), and no SAS ever shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import Project
from tests.urlserver import DataServer, Route, serve

SAS = "sv=2024-11-04&sr=b&sig=TOPSECRETSIGNATURE"
PATH_FIELD = "spec: {path: data/clippy.train.jsonl}"


def _use_url(project: Project, url: str) -> int:
    """Point clippy-train at `url`; the spec line of the field."""
    project.edit(PATH_FIELD, f"spec: {{url: '{url}'}}")
    lines = project.spec.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "url:" in line)


@pytest.fixture
def train_server(project: Project) -> DataServer:
    data = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    with serve({"/clippy.train.jsonl": Route(data, require_query="sig=TOPSECRETSIGNATURE")}) as server:
        yield server  # type: ignore[misc]


def test_validate_plan_apply_then_nothing(project: Project, train_server: DataServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TEST_SAS", SAS)
    _use_url(project, train_server.url("/clippy.train.jsonl", "${AZURE_TEST_SAS}"))
    assert project.ftops("validate", "specs").code == 0
    plan = project.plan_json()
    (imp,) = [a for a in plan["actions"] if a["op"] == "dataset.import"]
    assert imp["identity"] == "sha256" and "identity: sha256 of the content" in imp["reason"]
    assert imp["url"].endswith("/clippy.train.jsonl?${AZURE_TEST_SAS}")
    r = project.ftops("apply", "specs", "--auto-approve", "--wait")
    assert r.code == 0, r.err
    assert any(s.query == SAS for s in train_server.requests("/clippy.train.jsonl"))  # expanded when sent
    status = json.loads(project.ftops("status", "specs", "--format", "json").out)
    assert "succeeded" in json.dumps(status)  # a job trained on the imported file
    again = project.ftops("plan", "specs", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_no_output_nor_plan_file_nor_debug_log_carries_the_sas(project: Project, train_server: DataServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TEST_SAS", SAS)
    _use_url(project, train_server.url("/clippy.train.jsonl", "${AZURE_TEST_SAS}"))
    outputs = [project.ftops("plan", "specs", "--format", fmt) for fmt in ("text", "json", "markdown")]
    outputs.append(project.ftops("plan", "specs", "--out", "plan.json"))
    assert all(r.code == 0 for r in outputs), [r.err for r in outputs]
    assert "?…" in outputs[0].out and "?…" in outputs[2].out
    texts = [r.out + r.err for r in outputs] + [(project.root / "plan.json").read_text()]
    env = {**os.environ, "FTOPS_LOG_LEVEL": "DEBUG"}
    applied = subprocess.run([sys.executable, "-m", "ftops", "apply", "plan.json", "--auto-approve"],
                             cwd=project.root, env=env, capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert "DEBUG" in applied.stderr  # the logs were on
    for text in [*texts, applied.stdout, applied.stderr]:
        assert "TOPSECRETSIGNATURE" not in text


def test_an_unreadable_url_is_identified_by_etag_and_still_imported(project: Project) -> None:
    data = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    with serve({"/t.jsonl": Route(data, refuse_agent="ftops")}) as server:  # Foundry reads it, ftops cannot
        _use_url(project, server.url("/t.jsonl"))
        v = project.ftops("validate", "specs")
        assert v.code == 0 and "not readable here (HTTP 404)" in v.err
        (imp,) = [a for a in project.plan_json()["actions"] if a["op"] == "dataset.import"]
        assert imp["identity"] == "etag" and 'identity: ETag "0x8DC0FFEE" and size (not readable here)' in imp["reason"]
        r = project.ftops("apply", "specs", "--auto-approve", "--wait")
        assert r.code == 0, r.err
        assert project.ftops("plan", "specs", "--detailed-exitcode").code == 0


def test_a_url_that_changed_after_validation_is_not_imported(project: Project) -> None:
    data = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    with serve({"/t.jsonl": Route(data, etag_after_get='"0x8DCNEW"')}) as server:  # rewritten once read
        _use_url(project, server.url("/t.jsonl"))
        r = project.ftops("apply", "specs", "--auto-approve")
        assert r.code == 1 and "changed since the plan was made (its ETag or size)" in r.err, r.err
        assert not [s for s in server.seen if s.agent == "ftops-local-foundry"]  # never imported


def test_a_saved_plan_imports_when_only_the_etag_moved(project: Project) -> None:
    """Same bytes under a new ETag (a blob rewritten with what it held): the approval still holds."""
    data = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    route = Route(data)
    with serve({"/t.jsonl": route}) as server:
        _use_url(project, server.url("/t.jsonl"))
        assert project.ftops("plan", "specs", "--out", "plan.json").code == 0
        route.etag = '"0x8DCNEW"'
        r = project.ftops("apply", "plan.json", "--auto-approve")
        assert r.code == 0, r.err


def test_an_import_of_other_bytes_than_validated_is_deleted(project: Project) -> None:
    data = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    with serve({"/t.jsonl": Route(data, other_body=("ftops-local-foundry", data + data))}) as server:
        _use_url(project, server.url("/t.jsonl"))
        r = project.ftops("apply", "specs", "--auto-approve")
        assert r.code == 1 and "the import was deleted" in r.err, r.err
    with project.live() as live:
        assert [f.filename for f in live.oai.files.list().data if "clippy-train" in f.filename] == []


def _one_line_error(project: Project, line: int, *words: str) -> str:
    r = project.ftops("validate", "specs")
    assert r.code == 1
    (err,) = r.err.strip().splitlines()
    assert err.startswith(f"specs/clippy.yaml:{line}: "), err
    assert all(w in err for w in words), err
    return err


def test_unreadable_and_no_head_fails_validate_in_one_line(project: Project) -> None:
    with serve({"/t.jsonl": Route(status=404)}) as server:
        line = _use_url(project, server.url("/t.jsonl", "${AZURE_TEST_SAS}"))
        os.environ["AZURE_TEST_SAS"] = SAS
        try:
            err = _one_line_error(project, line, "cannot read", "HTTP 404", "HEAD")
        finally:
            del os.environ["AZURE_TEST_SAS"]
    assert "TOPSECRET" not in err


@pytest.mark.parametrize("target", ["http://10.0.0.1/train.jsonl", "http://169.254.169.254/latest/meta-data/"])
def test_a_redirect_to_a_private_address_is_refused_at_validate(project: Project, target: str) -> None:
    with serve({"/r": Route(status=302, location=target)}) as server:
        line = _use_url(project, server.url("/r"))
        _one_line_error(project, line, "redirected to", "refused")
        assert [s.path for s in server.seen] == ["/r"]  # and nothing else was asked for


@pytest.mark.parametrize(("url", "words"), [
    ("file:///etc/passwd", "file: URLs are refused"),
    ("http://example.com/train.jsonl", "plain http is refused"),
    ("https://user:secret@example.com/train.jsonl", "credentials"),
])
def test_refused_urls_at_validate(project: Project, url: str, words: str) -> None:
    line = _use_url(project, url)
    err = _one_line_error(project, line, words)
    assert "secret" not in err


def test_an_unset_variable_is_one_line(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_TEST_SAS", raising=False)
    line = _use_url(project, "https://acct.blob.core.windows.net/c/t.jsonl?${AZURE_TEST_SAS}")
    _one_line_error(project, line, "environment variable AZURE_TEST_SAS is not set (spec.url)")


GIB = 1 << 30
_MEASURE = """
import resource, subprocess, sys
r = subprocess.run([sys.executable, "-m", "ftops", "validate", "specs"], capture_output=True, text=True)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(r.stdout + r.stderr, file=sys.stderr)
"""


def _validate_rss(project: Project) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, output) of `ftops validate specs` in a fresh process: its own children
    only are measured (RUSAGE_CHILDREN of a parent that starts nothing else)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE], cwd=project.root, capture_output=True, text=True,
                          timeout=900)
    code, rss_kib = map(int, done.stdout.split())
    return code, rss_kib * 1024, done.stderr


def test_a_1_gib_stream_validates_in_bounded_memory(project: Project) -> None:
    """1 GiB generated lazily by the server (never on disk, never whole in memory); the catalog override lifts
    Foundry's 512 MiB cap so the whole stream is read. Peak RSS of `ftops validate` stays under 150 MB, and
    within a few MB of the same validation over a 13 kB URL. Neither loads the token tables (tens of MB):
    the local validation set's counts come from the hash cache a first run fills, and tokens of a stream are
    counted only when it declares 64 MiB or less (the small one declares no length)."""
    small = (project.root / "specs" / "data" / "clippy.train.jsonl").read_bytes()
    block = small * 80  # ~1 MiB of records
    count = GIB // len(block)
    (project.root / "ftops.catalog.yaml").write_text(f"defaults: {{maxFileBytes: {2 * GIB}}}\n")
    routes = {"/big.jsonl": Route(lambda: (block for _ in range(count)), length=len(block) * count),
              "/small.jsonl": Route(lambda: [small], length=None)}
    with serve(routes) as server:
        _use_url(project, server.url("/small.jsonl"))
        assert project.ftops("validate", "specs").code == 0  # fills the hash cache
        code, baseline, _ = _validate_rss(project)
        assert code == 0
        project.edit(server.url("/small.jsonl"), server.url("/big.jsonl"))
        code, rss, out = _validate_rss(project)
    assert code == 0, out[-2000:]
    assert f"{52 * 80 * count} examples" in out  # every record of the 1 GiB was read and checked
    print(f"peak RSS of ftops validate: {rss / 2**20:.0f} MiB over a {len(block) * count / 2**30:.2f} GiB stream, "
          f"{baseline / 2**20:.0f} MiB over a {len(small) / 1000:.0f} kB one")
    assert rss < 150 * 10**6
    assert rss - baseline < 32 * 2**20
