"""Notification delivery offline: at most once across runs and racing runs (claims in a fake Foundry),
retried with backoff, a failed delivery an outcome (never an exception), secrets never in an outcome."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from ftops.apply._notify import ATTEMPTS, Notifier, Request, SendFailed
from ftops.checks import CheckedProject, validate_dir
from ftops.foundry import LiveFile
from ftops.plan import Notice, Plan
from tests.conftest import BASE_SPEC, MakeProject

HOOK = """---
apiVersion: ftops/v1
kind: Notification
metadata: {name: ops}
spec:
  webhook: {url: "${FTOPS_HOOK_URL}"}
  on: [job.succeeded]
"""
SECRET = "https://hooks.example.com/T000/SECRET"


class FakeClaims:
    """Foundry's files as claims: created_at in whole seconds of a clock the test moves; a listing shows a file
    only once its creation second is over (the lag racing runs must ride out)."""

    def __init__(self) -> None:
        self.files: list[LiveFile] = []
        self.now = 100
        self._ids = itertools.count()

    def listed(self) -> list[LiveFile]:
        return [f for f in self.files if f.created_at < self.now]

    def create(self, filename: str, line: dict[str, str]) -> LiveFile:
        f = LiveFile(id=f"file-{next(self._ids):04d}", filename=filename, bytes=1, status="processed",
                     purpose="evals", created_at=self.now)
        self.files.append(f)
        return f

    def delete(self, file_id: str) -> None:
        self.files = [f for f in self.files if f.id != file_id]


@pytest.fixture
def checked(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> CheckedProject:
    monkeypatch.setenv("FTOPS_HOOK_URL", SECRET)
    root = make_project(spec=BASE_SPEC + HOOK)
    return validate_dir(root / "specs", root)


def _plan(checked: CheckedProject) -> Plan:
    notice = Notice(notification="ops", target="webhook", event="job.succeeded", key="0123456789abcdef",
                    resource="FineTuningJob/clippy", text="ftjob-1 succeeded")
    return Plan(project=checked.project.project_name, endpoint="s/g/a", fingerprint="0" * 16,
                spec_fingerprint="0" * 16, spec_dir="specs", created_at=1.8e9, notifications=[notice])


def _notifier(checked: CheckedProject, claims: FakeClaims, sent: list[Request],
              sleep: Callable[[float], None] = lambda s: None, fail: int = 0) -> Notifier:
    failures = itertools.count()

    def send(req: Request) -> None:
        if next(failures) < fail:
            raise SendFailed("the target answered HTTP 500")
        sent.append(req)
    return Notifier(checked, claims, send=send, sleep=sleep)


def test_sent_once_across_runs(checked: CheckedProject) -> None:
    claims, sent = FakeClaims(), []
    first = _notifier(checked, claims, sent).deliver(_plan(checked))
    claims.now += 2
    again = _notifier(checked, claims, sent).deliver(_plan(checked))
    assert [d.outcome for d in first + again] == ["sent", "already sent"]
    assert len(sent) == 1 and sent[0].url == SECRET and sent[0].body["event"] == "job.succeeded"


def test_racing_runs_send_once(checked: CheckedProject) -> None:
    """B lists before A's claim shows and claims in the same second, while A waits for its claim to settle:
    the oldest claim sends, the other is withdrawn."""
    claims, sent = FakeClaims(), []
    results = []

    def b_waits(seconds: float) -> None:
        claims.now += 2

    def a_waits(seconds: float) -> None:
        results.extend(_notifier(checked, claims, sent, sleep=b_waits).deliver(_plan(checked)))  # B meanwhile

    results.extend(_notifier(checked, claims, sent, sleep=a_waits).deliver(_plan(checked)))
    assert sorted(d.outcome for d in results) == ["already sent", "sent"]
    assert len(sent) == 1 and len(claims.files) == 1


def test_a_failing_target_is_retried_then_a_warning_and_tried_again_later(checked: CheckedProject) -> None:
    claims, sent, waits = FakeClaims(), [], []
    out = _notifier(checked, claims, sent, sleep=waits.append, fail=ATTEMPTS).deliver(_plan(checked))
    assert [d.outcome for d in out] == ["failed"] and "HTTP 500" in out[0].detail and SECRET not in out[0].detail
    assert waits[1:] == [0.5, 1.0]  # settling, then backoff doubling
    assert claims.files == []  # never received: the claim is withdrawn so a later run sends it
    claims.now += 2
    assert [d.outcome for d in _notifier(checked, claims, sent).deliver(_plan(checked))] == ["sent"]


def test_a_target_that_may_have_received_it_keeps_its_claim(checked: CheckedProject) -> None:
    claims = FakeClaims()

    def timeout(req: Request) -> None:
        raise SendFailed("the target did not answer in time", delivered_maybe=True)
    out = Notifier(checked, claims, send=timeout, sleep=lambda s: None).deliver(_plan(checked))
    assert out[0].outcome == "failed" and len(claims.files) == 1


def test_an_unset_variable_is_a_failed_delivery_naming_it(checked: CheckedProject,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTOPS_HOOK_URL")
    out = _notifier(checked, FakeClaims(), []).deliver(_plan(checked))
    assert out[0].outcome == "failed" and "FTOPS_HOOK_URL is not set" in out[0].detail


def test_slack_text_from_live_objects_cannot_ping_or_forge_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's error message is the server's text: Slack reads `<!channel>`, `<@U1>` and `<url|label>` in it
    (api.slack.com/reference/surfaces/formatting#escaping: escape &, < and >)."""
    from ftops.apply._notify import request_for
    from ftops.spec import NotificationSpec

    monkeypatch.setenv("FTOPS_SLACK_URL", SECRET)
    spec = NotificationSpec.model_validate({"slack": {"url": "${FTOPS_SLACK_URL}"}, "on": ["job.failed"]})
    notice = Notice(notification="ops", target="slack", event="job.failed", key="0123456789abcdef",
                    resource="FineTuningJob/clippy", text="ftjob-1: <!channel> see <https://evil.example|the fix> & co")
    text = request_for(spec, notice, "p").body["text"]
    assert text == ("ftops p: job.failed: ftjob-1: &lt;!channel&gt; see &lt;https://evil.example|the fix&gt; "
                    "&amp; co")


def test_a_github_comment_from_live_objects_cannot_mention_or_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub acts on `@team` (a ping to every member) and `#12`/`owner/repo#1` (a back-link there) in a comment,
    never inside a code span: the server's text goes into one, its backticks and line breaks made inert."""
    from ftops.apply._notify import request_for
    from ftops.spec import NotificationSpec

    monkeypatch.setenv("FTOPS_GITHUB_TOKEN", "t0ken")
    spec = NotificationSpec.model_validate({"github": {"repo": "o/r", "issue": 3}, "on": ["job.failed"]})
    notice = Notice(notification="ops", target="github", event="job.failed", key="0123456789abcdef",
                    resource="FineTuningJob/clippy", text="ftjob-1: ask @org/everyone ` see #12\n\n@x")
    body = request_for(spec, notice, "p").body["body"]
    assert body == "ftops p: job.failed: `ftjob-1: ask @org/everyone ' see #12  @x`"


def test_a_teams_message_from_live_objects_cannot_forge_a_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teams renders Markdown in an incoming webhook's `text`: the server's words go into a code span."""
    from ftops.apply._notify import request_for
    from ftops.spec import NotificationSpec

    monkeypatch.setenv("FTOPS_TEAMS_URL", SECRET)
    spec = NotificationSpec.model_validate({"teams": {"url": "${FTOPS_TEAMS_URL}"}, "on": ["job.failed"]})
    notice = Notice(notification="ops", target="teams", event="job.failed", key="0123456789abcdef",
                    resource="FineTuningJob/clippy", text="ftjob-1: [log in again](https://evil.example) `x`")
    text = request_for(spec, notice, "p").body["text"]
    assert text == "ftops p: job.failed: `ftjob-1: [log in again](https://evil.example) 'x'`"


def test_a_send_that_may_have_been_received_is_not_sent_again_in_the_same_run(checked: CheckedProject) -> None:
    """At most once: a target that timed out may have the notice; a retry could post it a second time."""
    calls: list[Request] = []

    def timeout(req: Request) -> None:
        calls.append(req)
        raise SendFailed("the target did not answer in time", delivered_maybe=True)
    out = Notifier(checked, FakeClaims(), send=timeout, sleep=lambda s: None).deliver(_plan(checked))
    assert out[0].outcome == "failed" and len(calls) == 1
    assert out[0].detail == "the target did not answer in time (it may have received it: not sent again)"
