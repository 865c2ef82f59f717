"""Public pages kept ready to send: the event list, an event's page, the events API and public calendars.

Such a page looks the same for every visitor who reads it in the same language, so a process keeps the
response it built (compressed already, with every header) and sends it again while it is right, which is
while the database's change stamps (core/stamps.py) are the ones it was built under and for at most
EVENTS_PAGE_CACHE_SECONDS (dates and opening times move with the clock, not with the data). A change by
any process, the back office, a registration or a restore shows on the next request.

A handler opts in by calling `share(request)` before it reads its data (so a change made meanwhile makes
the kept page stale, never the other way round). Only GET requests from visitors without cookies other
than the language are kept: a signed-in organiser never gets a page built for someone else. Conditional
requests (If-None-Match, If-Modified-Since) of a kept page are answered 304 here, the handler's own
validators (a feed's ETag) kept with the page.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events_app.core import stamps
from events_app.core.stamps import Stamps, StampsUnavailable
from events_app.web.middleware import LANGUAGE_COOKIE, choose_language
from events_app.web.requests import not_modified

_STATE = "page_cache"
#: Pages kept per process, the bytes they may take together, and the largest one kept (a calendar of a
#: year's events is far smaller): odd query strings or Host headers cannot make a process grow.
MAX_PAGES = 256
MAX_BYTES = 16_000_000
MAX_PAGE_BYTES = 1_000_000
#: Headers a 304 leaves out (RFC 9110, 15.4.5: it describes the kept representation, it carries none).
_NOT_IN_304 = {b"content-length", b"content-type", b"content-encoding"}
_clock = time.monotonic


@dataclass
class _Sharing:
    """Set on a request the cache may keep; `share` fills in the stamps the handler builds under and lets
    other requests for the page wait for this build (`being_built`)."""

    being_built: Callable[[], None]
    stamps: Stamps | None = None
    seats: bool = True


@dataclass
class _Kept:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stamps: Stamps
    seats: bool
    expires: float
    etag: str | None = None
    last_modified: datetime | None = None

    def still_right(self, now: Stamps) -> bool:
        return self.stamps.content == now.content and (not self.seats or self.stamps.seats == now.seats)


async def share(request: Request, *, seats: bool = True) -> bool:
    """Let the cache keep this response (call before reading the page's data). `seats=False` for a page
    that shows no seat counts (calendars), so registrations do not make it stale. Returns whether the
    cache takes it: a handler may then leave conditional requests to the cache."""
    sharing = request.scope.get("state", {}).get(_STATE)
    if sharing is None:
        return False
    try:
        sharing.stamps = await stamps.read()
    except StampsUnavailable:
        return False
    sharing.seats = seats
    sharing.being_built()
    return True


def withdraw(request: Request) -> None:
    """Take back `share`: the page turned out to show what the stamps do not cover."""
    sharing = request.scope.get("state", {}).get(_STATE)
    if sharing is not None:
        sharing.stamps = None


@dataclass
class _Request:
    """What the cache reads of a request, in one pass over its headers."""

    anonymous: bool = True
    gzip: bool = False
    host: bytes = b""
    if_none_match: str | None = None
    if_modified_since: str | None = None

    @classmethod
    def read(cls, headers) -> "_Request":
        facts = cls()
        for name, value in headers:
            if name == b"cookie":
                facts.anonymous = facts.anonymous and _only_language_cookie(value)
            elif name == b"authorization":
                facts.anonymous = False
            elif name == b"accept-encoding":
                facts.gzip = b"gzip" in value
            elif name == b"host":
                facts.host = value
            elif name == b"if-none-match":
                facts.if_none_match = value.decode("latin-1")
            elif name == b"if-modified-since":
                facts.if_modified_since = value.decode("latin-1")
        return facts


def _only_language_cookie(header: bytes) -> bool:
    names = {part.split(b"=", 1)[0].strip() for part in header.split(b";") if part.strip()}
    return names <= {LANGUAGE_COOKIE.encode()}


class PageCacheMiddleware:
    """Outermost but for Starlette's error handler, so what it keeps is compressed and has every header."""

    def __init__(self, app: ASGIApp, seconds: float = 1.0):
        self.app = app
        self.seconds = seconds
        self.pages: dict[tuple, _Kept] = {}
        self.bytes = 0
        #: Pages being built now: a request for the same page waits for that one instead of building it too
        #: (at the moment a page expires under load, every request in flight would otherwise build it).
        self.building: dict[tuple, asyncio.Future] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        facts = _Request.read(scope["headers"])
        if not facts.anonymous:
            await self.app(scope, receive, send)
            return
        language, _ = choose_language(scope)
        key = (scope["path"], scope.get("query_string", b""), language, facts.gzip, facts.host)
        if key in self.pages or key in self.building:
            current = await _current_stamps()
            # looked up after the read: meanwhile another request may have begun building the page
            kept, building = self.pages.get(key), self.building.get(key)
            if current is not None and kept is not None and kept.still_right(current) and (
                    kept.expires > _clock() or building is not None):
                # right; or past its time only while another request builds it anew
                await _send(kept, facts, send)
                return
            if current is not None and building is not None:
                built = await asyncio.shield(building)
                # built under the stamps read now: it holds every change made before this request came
                if built is not None and built.still_right(current):
                    await _send(built, facts, send)
                    return
        # announced once the handler shares the page, so requests for pages that are never kept do not wait;
        # a page kept before is announced at once: between here and the handler's `share` every request
        # for it would otherwise build it too, each time it expires
        own = asyncio.get_running_loop().create_future()
        sharing = _Sharing(being_built=lambda: self.building.setdefault(key, own))
        if key in self.pages:
            sharing.being_built()
        built = None
        try:
            built = await self._build(scope, receive, send, key, facts, sharing)
        finally:
            if self.building.get(key) is own:
                del self.building[key]
                own.set_result(built)

    async def _build(self, scope: Scope, receive: Receive, send: Send, key: tuple, facts: _Request,
                     sharing: _Sharing) -> _Kept | None:
        """Run the handler; keep what it shared, answering the client from the kept page."""
        scope.setdefault("state", {})[_STATE] = sharing
        start: Message | None = None
        parts: list[bytes] = []
        keeping = False
        built: _Kept | None = None

        async def capture(message: Message) -> None:
            nonlocal start, keeping, built
            if message["type"] == "http.response.start":
                keeping = (sharing.stamps is not None and message["status"] == 200
                           and not any(name == b"set-cookie" for name, _ in message.get("headers", [])))
                if not keeping:
                    await send(message)
                    return
                start = message
                return
            if not keeping or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            kept = _Kept(status=start["status"], headers=list(start.get("headers", [])), body=b"".join(parts),
                         stamps=sharing.stamps, seats=sharing.seats, expires=_clock() + self.seconds)
            kept.etag, kept.last_modified = _validators(kept.headers)
            if len(kept.body) <= MAX_PAGE_BYTES:
                self._keep(key, kept)
                built = kept
            await _send(kept, facts, send)

        await self.app(scope, receive, capture)
        return built

    def _keep(self, key: tuple, kept: _Kept) -> None:
        self._forget(key)
        # the longest kept go first; the pages read most come back at once
        while self.pages and (len(self.pages) >= MAX_PAGES or self.bytes + len(kept.body) > MAX_BYTES):
            self._forget(next(iter(self.pages)))
        self.pages[key] = kept
        self.bytes += len(kept.body)

    def _forget(self, key: tuple) -> None:
        gone = self.pages.pop(key, None)
        if gone is not None:
            self.bytes -= len(gone.body)


async def _current_stamps() -> Stamps | None:
    try:
        return await stamps.read()
    except StampsUnavailable:
        return None


def _validators(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, datetime | None]:
    etag = last_modified = None
    for name, value in headers:
        if name == b"etag":
            etag = value.decode("latin-1")
        elif name == b"last-modified":
            try:
                last_modified = parsedate_to_datetime(value.decode("latin-1"))
            except (TypeError, ValueError):
                last_modified = None
    return etag, last_modified


async def _send(kept: _Kept, facts: _Request, send: Send) -> None:
    conditional = facts.if_none_match is not None or facts.if_modified_since is not None
    if conditional and (kept.etag or kept.last_modified) and not_modified(
            if_none_match=facts.if_none_match, if_modified_since=facts.if_modified_since,
            etag=kept.etag or "", last_modified=kept.last_modified):
        headers = [(name, value) for name, value in kept.headers if name not in _NOT_IN_304]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": kept.status, "headers": kept.headers})
    await send({"type": "http.response.body", "body": kept.body})
