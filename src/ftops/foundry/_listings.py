"""An account's listings (files, jobs, deployments, models, quota usages, content filter policies), read at once,
and read early: a command starts reading them as soon as it has connected, while it loads what deciding needs.

The listings mostly wait on Foundry (two planes; the local Foundry serves them from another process), and loading
ftops' planner and renderers takes about as long in this process, so a `plan` starts the one while it does the
other instead of one after the other (`start_reading`). The first `take_listings` of the client then gets that
read; every later one reads anew, so only the read a command makes first is ever early, and only by the time its
imports took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .._exceptions import FoundryError
from ._concurrent import at_once
from ._live_objects import LiveModel, LiveUsage, Snapshot

if TYPE_CHECKING:
    from ._client import FoundryClient
    from ._rai_policies import LiveRaiPolicy

T = TypeVar("T")


@dataclass(frozen=True)
class Listings:
    """What one read of an account lists. The model list and the quota usages are advice (preflight): when they
    cannot be read, the error says why and the plan goes on without them."""

    snapshot: Snapshot
    models: list[LiveModel] | FoundryError
    usages: dict[str, LiveUsage] | FoundryError
    rai_policies: list[LiveRaiPolicy]
    api_calls: int  # the calls this read made


def read_listings(client: FoundryClient) -> Listings:
    """The listings, read at once: a number of calls that grows with pages, not with resources."""
    before = client.api_calls
    snap, models, usages, policies = at_once(client.snapshot, _or_error(client.list_models),
                                             _or_error(client.usages), client.list_rai_policies)
    return Listings(snap, models, usages, policies, client.api_calls - before)


class EarlyRead:
    """A read running on a daemon thread (a Ctrl-C meanwhile ends the command at once, as `at_once`'s reads)."""

    def __init__(self, client: FoundryClient) -> None:
        self.calls_before = client.api_calls  # to tell whether any other call was made meanwhile
        self._done = threading.Event()
        self._result: Listings | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(client,), name="ftops-early-read", daemon=True).start()

    def _run(self, client: FoundryClient) -> None:
        try:
            self._result = read_listings(client)
        except BaseException as e:  # raised where the read is taken, as a read made then would raise it
            self._error = e
        finally:
            self._done.set()

    def result(self) -> Listings:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def start_reading(client: FoundryClient) -> None:
    """Begin reading `client`'s listings now, on a thread; the first `take_listings` gets them."""
    client.early_read = EarlyRead(client)


def take_listings(client: FoundryClient) -> Listings:
    """The listings: the read `start_reading` began, the first time after it, else read now. The early read
    serves only when the client made no other call since it began: after a write (an upload, a rollout) it would
    be older than what the command did, so it is read again."""
    early, client.early_read = client.early_read, None
    if early is not None:
        read = early.result()
        if client.api_calls - early.calls_before == read.api_calls:
            return read
    return read_listings(client)


def _or_error(fn: Callable[[], T]) -> Callable[[], T | FoundryError]:
    def call() -> T | FoundryError:
        try:
            return fn()
        except FoundryError as e:
            return e
    return call
