"""Notifications against the local Foundry: a webhook on loopback receives each event once over sync ticks,
and a failing webhook never fails an apply."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import Project

NOTIFICATION = """---
apiVersion: ftops/v1
kind: Notification
metadata: {name: team-hook}
spec:
  webhook: {url: "${FTOPS_TEST_HOOK}"}
  on: [job.succeeded, job.failed, rollout.done]
"""


class Hook:
    """A webhook on loopback that records what it receives, answering `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                hook.received.append(json.loads(body))
                self.send_response(hook.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [r["event"] for r in self.received]


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    h = Hook()
    monkeypatch.setenv("FTOPS_TEST_HOOK", h.url)
    yield h
    h.server.shutdown()


def test_a_webhook_receives_each_event_once_over_three_sync_ticks(project: Project, hook: Hook) -> None:
    project.append(NOTIFICATION)
    for _ in range(3):  # submit; the job has finished: roll out; in sync
        r = project.ftops("apply", "--auto-approve")
        assert r.code == 0, r.out + r.err
    assert sorted(hook.events()) == ["job.succeeded", "rollout.done"]
    done = next(r for r in hook.received if r["event"] == "rollout.done")
    assert done["resource"] == "Deployment/clippy-prod" and done["notification"] == "team-hook"
    assert done["project"] == "clippy-demo"
    # A fourth run, and a plan: nothing left to send.
    assert project.ftops("apply", "--auto-approve").code == 0
    assert project.plan_json()["notifications"] == []
    assert len(hook.received) == 2


def test_the_plan_says_what_would_be_sent(project: Project, hook: Hook) -> None:
    project.append(NOTIFICATION)
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    plan = project.plan_json()
    assert sorted(n["event"] for n in plan["notifications"]) == ["job.succeeded", "rollout.done"]
    text = project.ftops("plan")
    assert "notify team-hook (webhook) job.succeeded" in text.out and hook.url not in text.out
    assert hook.received == []  # plan sends nothing


def test_a_failing_webhook_does_not_fail_apply_and_is_tried_again(project: Project, hook: Hook) -> None:
    project.append(NOTIFICATION)
    hook.status = 500
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    r = project.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    assert "warning: notification team-hook" in r.err and "HTTP 500" in r.err and hook.url not in r.err
    assert len(hook.received) == 6  # two events, three attempts each
    hook.status = 200
    assert project.ftops("apply", "--auto-approve").code == 0  # never received: sent by the next run
    assert sorted(hook.events()[6:]) == ["job.succeeded", "rollout.done"]
