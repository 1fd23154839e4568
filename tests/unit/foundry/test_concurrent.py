"""`at_once`: listings that wait on the service run on threads of their own."""

from __future__ import annotations

import threading
import time

import pytest

from ftops.foundry import at_once


def test_results_come_back_in_the_order_asked() -> None:
    assert at_once(lambda: 1, lambda: "two", lambda: [3]) == [1, "two", [3]]


def test_the_calls_overlap() -> None:
    barrier = threading.Barrier(3, timeout=10)  # broken (an error) unless all three wait at once
    assert at_once(barrier.wait, barrier.wait, barrier.wait) is not None


def test_the_first_error_by_order_is_raised_after_every_call_ended() -> None:
    ended: list[str] = []

    def slow_ok() -> str:
        time.sleep(0.2)
        ended.append("slow")
        return "ok"

    def fails(message: str) -> str:
        raise ValueError(message)

    with pytest.raises(ValueError, match="first"):
        at_once(lambda: fails("first"), slow_ok, lambda: fails("second"))
    assert ended == ["slow"]


def test_the_threads_are_daemons() -> None:
    seen: list[bool] = []
    at_once(lambda: seen.append(threading.current_thread().daemon))
    assert seen == [True]
