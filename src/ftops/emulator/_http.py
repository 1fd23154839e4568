"""Small HTTP helpers shared by the emulator's route modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ._state import Emulator


def emulator_of(request: Request) -> Emulator:
    """The Emulator serving this request (set on the Starlette app by build_app)."""
    emu: Emulator = request.app.state.emulator
    return emu


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def openai_error(status: int, message: str, code: str | None = None, param: str | None = None,
                 etype: str = "invalid_request_error", headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"message": message, "type": etype, "param": param, "code": code}}, status_code=status,
                headers=headers)


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def paginate(items: list[dict[str, Any]], after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Cursor pagination as OpenAI does it: items after the one whose id is `after`."""
    if after:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    return items[:limit], len(items) > limit


def arm_page(request: Request, items: list[dict[str, Any]], size: int,
             view: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> JSON:
    """An ARM list page: `value`, and `nextLink` (the same URL with `$skipToken`) while more remain. `view`, if
    given, makes the answer of each stored item on the page (only those: a page costs its own items)."""
    try:
        start = max(0, int(request.query_params.get("$skipToken", "0")))
    except ValueError:
        start = 0
    page = items[start:start + size]
    body: dict[str, Any] = {"value": page if view is None else [view(i) for i in page]}
    if start + size < len(items):
        body["nextLink"] = str(request.url.include_query_params(**{"$skipToken": str(start + size)}))
    return JSON(body)


def int_param(request: Request, name: str, default: int, maximum: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        value = default
    return max(1, min(maximum, value))


def list_page(request: Request, items: list[dict[str, Any]], default_limit: int, max_limit: int, *,
              with_ids: bool = False, view: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> JSON:
    """A cursor-paginated `list` object (`after`, `limit`, `has_more`; `first_id`/`last_id` if asked)."""
    page, more = paginate(items, request.query_params.get("after"), int_param(request, "limit", default_limit,
                                                                               max_limit))
    if view is not None:
        page = [view(i) for i in page]
    body: dict[str, Any] = {"object": "list", "data": page, "has_more": more}
    if with_ids:
        body["first_id"] = page[0]["id"] if page else None
        body["last_id"] = page[-1]["id"] if page else None
    return JSON(body)



class BadListing(Exception):
    """A list request outside the bounds Foundry documents; `answer` is the error response."""

    def __init__(self, answer: JSON) -> None:
        super().__init__("bad listing request")
        self.answer = answer


def bounded_limit(request: Request, default: int, maximum: int, *, clamp: bool) -> int:
    """The `limit` query parameter: an integer of at least 1 and at most `maximum` (clamped to it where
    Foundry documents no maximum, refused where it does)."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (value > maximum and not clamp):
        raise BadListing(openai_error(400, f"Invalid value for 'limit': {raw!r}. It must be an integer between 1 "
                                      f"and {maximum}.", "invalid_value", "limit"))
    return min(value, maximum)


def newest_first(request: Request, default: str) -> bool:
    """The `order` query parameter (`asc` or `desc`, by created_at)."""
    order = request.query_params.get("order", default)
    if order not in ("asc", "desc"):
        raise BadListing(openai_error(400, f"Invalid value for 'order': {order!r}. Supported values are: 'asc' "
                                      "and 'desc'.", "invalid_value", "order"))
    return order == "desc"


def list_body(page: list[dict[str, Any]], more: bool, *, with_ids: bool = False) -> JSON:
    """A cursor-paginated `list` object (`has_more`; `first_id`/`last_id` if asked)."""
    body: dict[str, Any] = {"object": "list", "data": page, "has_more": more}
    if with_ids:
        body["first_id"] = page[0]["id"] if page else None
        body["last_id"] = page[-1]["id"] if page else None
    return JSON(body)
