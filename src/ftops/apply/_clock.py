"""The clock apply reads and waits by: `time.monotonic` and `Event.wait`, or a test's fake.

Race settling and the executor measure intervals and wait for Foundry's clock; tests hand in a clock whose
waits move time forward at once, so settling is tested offline in milliseconds.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds, as time.monotonic()."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until `event` is set or `seconds` have passed; whether `event` is set (as Event.wait)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


SYSTEM = SystemClock()
