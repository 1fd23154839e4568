"""Delivering the plan's notices: each at most once across runs and racing runs, with no state file.

For each notice, in this order (claims kept where Foundry keeps files, `plan/_notifications.py`):
1. a claim is already listed for its (notification, key): sent before, or being sent by another run; skip;
2. upload this run's claim (a one-line file of purpose `evals` whose name carries a random nonce);
3. wait CLAIM_SETTLE_SECONDS, then list the claims of that key: a rival created in the same second as
   ours is listed by then (the rule apply's race settling uses for uploads). The oldest claim (created_at,
   then id) wins; a loser deletes its claim and sends nothing;
4. the winner sends, retrying with backoff; if every attempt failed without the target answering 2xx, the
   claim is deleted so a later run tries again. A target that timed out may have received it: it is not
   retried, and the claim is kept.
A failed delivery never fails an apply: it is a warning line. Secrets (${VAR} URLs and tokens) are expanded
only here, to send, and never appear in an outcome.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._exceptions import FoundryError, FtopsError
from .._urls import target_problem
from ..checks import CheckedProject
from ..foundry import EvalsClient, FoundryClient, LiveFile
from ..plan import Notice, Plan, claim_name, parse_claim
from ..spec import NotificationSpec, expand_env

CLAIM_SETTLE_SECONDS = 1.5
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
SEND_TIMEOUT = 10.0

Outcome = Literal["sent", "already sent", "failed"]


@dataclass(frozen=True)
class Delivery:
    notice: Notice
    outcome: Outcome
    detail: str = ""  # why it failed: never a URL or a token


class SendFailed(Exception):
    """A target refused or could not be reached. `delivered_maybe`: it may have received it (a timeout)."""

    def __init__(self, message: str, delivered_maybe: bool = False) -> None:
        super().__init__(message)
        self.delivered_maybe = delivered_maybe


@dataclass(frozen=True)
class Request:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


Send = Callable[[Request], None]


class Claims(Protocol):
    """Where claims are kept: Foundry's files of purpose `evals` (`FoundryClaims`); tests hand in others."""

    def listed(self) -> list[LiveFile]: ...
    def create(self, filename: str, line: dict[str, str]) -> LiveFile: ...
    def delete(self, file_id: str) -> None: ...


@dataclass
class FoundryClaims:
    client: FoundryClient

    def listed(self) -> list[LiveFile]:
        return EvalsClient(self.client).list_item_files()

    def create(self, filename: str, line: dict[str, str]) -> LiveFile:
        return EvalsClient(self.client).upload_items([line], filename)

    def delete(self, file_id: str) -> None:
        self.client.delete_file(file_id)


def payload(notice: Notice, project: str) -> dict[str, Any]:
    """The webhook's JSON (documented in docs/reference.md): the event by name, and what it is about."""
    return {"event": notice.event, "project": project, "notification": notice.notification,
            "resource": notice.resource, "text": notice.text, "id": notice.key}


def request_for(spec: NotificationSpec, notice: Notice, project: str) -> Request:
    """The HTTP request a target receives; ${VAR}s expanded here only (an unset one is an FtopsError)."""
    text = f"ftops {project}: {notice.event}: {notice.text}"
    if spec.github is not None:
        g = spec.github
        token = expand_env(g.token, "github.token")
        body = f"ftops {project}: {notice.event}: {_inert(notice.text)}"
        return Request(f"{g.api_url.rstrip('/')}/repos/{g.repo}/issues/{g.issue}/comments", {"body": body},
                       {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"})
    if spec.webhook is not None:
        return Request(expand_env(spec.webhook.url, "webhook.url"), payload(notice, project))
    target = spec.slack or spec.teams
    assert target is not None  # exactly one target (the spec model's rule)
    # The notice carries the server's words: inert in each target's markup (Teams reads Markdown, where
    # `[text](url)` would forge a link).
    inert = _slack_escaped(notice.text) if spec.slack is not None else _inert(notice.text)
    text = f"ftops {project}: {notice.event}: {inert}"
    return Request(expand_env(target.url, f"{spec.target}.url"), {"text": text})


def _inert(text: str) -> str:
    """The notice's text (the server's words) in a Markdown code span, where GitHub and Teams act on nothing: no
    `@team` ping, no `#12` back-link, no `[forged](link)`; its backticks and line breaks (which would end the
    span) made a quote and spaces."""
    return "`" + " ".join(text.replace("`", "'").splitlines()) + "`"


def _slack_escaped(text: str) -> str:
    """Slack's three control characters as entities (api.slack.com/reference/surfaces/formatting#escaping): a
    notice carries the server's text (a job's error message), which must not ping `<!channel>` or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def http_send(req: Request) -> None:
    """POST `req` as JSON; no redirects (a redirect could carry the body elsewhere). The status is all that is
    read (a target's body, however long, is not), and SEND_TIMEOUT bounds the whole exchange: httpx's timeouts
    are per read, so a target that trickles its answer a byte at a time would hold apply forever. The request
    runs in a daemon thread that is abandoned at the deadline."""
    import httpx  # only a notice that is sent needs it (with click and pygments, 20 ms of every apply's start-up)

    answered: list[int | Exception] = []
    worker = threading.Thread(target=_post, args=(req, answered), daemon=True, name="ftops-notify")
    worker.start()
    worker.join(SEND_TIMEOUT)
    if not answered:
        raise SendFailed("the target did not answer in time", delivered_maybe=True)
    status = answered[0]
    if isinstance(status, _Refused):
        raise SendFailed(f"the target URL is refused: {str(status).replace(req.url, '(url)')}")
    if isinstance(status, httpx.TimeoutException):
        raise SendFailed("the target did not answer in time", delivered_maybe=True) from status
    if isinstance(status, Exception):
        raise SendFailed(f"the target could not be reached ({type(status).__name__})") from status
    if not 200 <= status < 300:
        raise SendFailed(f"the target answered HTTP {status}")


class _Refused(Exception):
    """The target's URL or address is refused before any connection (`_urls.target_problem`)."""


def _post(req: Request, answered: list[int | Exception]) -> None:
    """The POST, its answer's status (or what failed) appended to `answered`; the body is left unread. The
    target's addresses are checked here, inside SEND_TIMEOUT: resolving its host may hang too."""
    if (problem := target_problem(req.url)) is not None:
        answered.append(_Refused(problem))
        return
    import httpx

    try:
        with httpx.Client(timeout=SEND_TIMEOUT, follow_redirects=False) as http, \
                http.stream("POST", req.url, json=req.body, headers=req.headers) as r:
            answered.append(r.status_code)
    except Exception as e:  # handed to http_send, which says it in one line
        answered.append(e)


@dataclass
class Notifier:
    checked: CheckedProject
    claims: Claims
    send: Send = http_send
    sleep: Callable[[float], None] = time.sleep

    def deliver(self, plan: Plan) -> list[Delivery]:
        """Deliver every notice of `plan` (claimed first, settled together, then sent)."""
        if not plan.notifications:
            return []
        try:
            before = self._claims(plan.project)
        except FoundryError as e:
            return [Delivery(n, "failed", f"claims could not be read ({e.message})") for n in plan.notifications]
        mine: dict[int, LiveFile] = {}
        results: dict[int, Delivery] = {}
        for i, n in enumerate(plan.notifications):
            if before.get((n.notification, n.key)):
                results[i] = Delivery(n, "already sent")
                continue
            try:
                mine[i] = self.claims.create(claim_name(plan.project, n.notification, n.key, secrets.token_hex(6)),
                                             {"event": n.event, "key": n.key})
            except FoundryError as e:
                results[i] = Delivery(n, "failed", f"could not claim it in Foundry ({e.message})")
        if mine:
            self.sleep(CLAIM_SETTLE_SECONDS)
            results.update(self._settle_and_send(plan, mine))
        return [results[i] for i in range(len(plan.notifications))]

    def _claims(self, project: str) -> dict[tuple[str, str], list[LiveFile]]:
        out: dict[tuple[str, str], list[LiveFile]] = {}
        for f in self.claims.listed():
            if (p := parse_claim(f.filename)) is not None and p[0] == project:
                out.setdefault((p[1], p[2]), []).append(f)
        return out

    def _settle_and_send(self, plan: Plan, mine: dict[int, LiveFile]) -> dict[int, Delivery]:
        try:
            claims = self._claims(plan.project)
        except FoundryError as e:
            return {i: Delivery(plan.notifications[i], "failed", f"claims could not be read ({e.message})")
                    for i in mine}
        out: dict[int, Delivery] = {}
        for i, claim in mine.items():
            n = plan.notifications[i]
            # Ours counts even if the listing does not show it yet: else two runs could each yield to the other.
            rivals = [f for f in claims.get((n.notification, n.key), []) if f.id != claim.id] + [claim]
            if min(rivals, key=lambda f: (f.created_at, f.id)).id != claim.id:
                self._drop(claim)
                out[i] = Delivery(n, "already sent")
                continue
            out[i] = self._send(plan.project, n, claim)
        return out

    def _send(self, project: str, n: Notice, claim: LiveFile) -> Delivery:
        spec = self.checked.project.notifications[n.notification].spec
        delay, last = BACKOFF_SECONDS, SendFailed("not sent")
        try:
            req = request_for(spec, n, project)
        except FtopsError as e:
            self._drop(claim)
            return Delivery(n, "failed", e.message)
        for attempt in range(ATTEMPTS):
            try:
                self.send(req)
                return Delivery(n, "sent")
            except SendFailed as e:
                last = e
            if last.delivered_maybe:  # at most once: a retry could post it a second time; the claim stays
                return Delivery(n, "failed", f"{last} (it may have received it: not sent again)")
            if attempt + 1 < ATTEMPTS:
                self.sleep(delay)
                delay *= 2
        self._drop(claim)  # never received: a later run tries again
        return Delivery(n, "failed", f"{last} (after {ATTEMPTS} attempts)")

    def _drop(self, claim: LiveFile) -> None:
        with contextlib.suppress(FoundryError):  # a leftover claim only means this event is not sent again
            self.claims.delete(claim.id)


def deliver(plan: Plan, checked: CheckedProject, client: FoundryClient) -> list[Delivery]:
    """Deliver the plan's notices (after apply, or when there was nothing to apply)."""
    return Notifier(checked, FoundryClaims(client)).deliver(plan)
