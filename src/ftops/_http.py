"""The HTTP library of ftops' own requests (notification targets, URL datasets): the one openai already uses,
httpx2 from openai 3 and httpx before it, never a second one beside it.

Two reasons. A second library costs start-up: httpx also loads its command line (click, rich, pygments), about
20 ms of an apply. And openai 3 looks `httpx` up in `sys.modules` on every request (its support of httpx clients,
`openai/_httpx2.py`): a request made on one thread while another thread imports httpx reads the half-initialised
module and fails (`AttributeError: partially initialized module 'httpx'`), so an apply that sent its first
notification, or a plan whose listings load while it imports its planner, could fail a listing. Imported from here,
the library is openai's, loaded before any request.
"""

from __future__ import annotations

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover (openai < 3 has no httpx2: httpx is its transport, loaded with it)
    import httpx  # type: ignore[no-redef]

__all__ = ["httpx"]
