"""Calendar feeds over HTTP: validators first, the calendar only when the client's copy is stale.

Every feed answers with ETag and Last-Modified. A conditional GET (If-None-Match, or
If-Modified-Since without it) whose validator still matches gets 304 from `feeds.feed_state`'s
aggregate queries, without loading the events or building the calendar.
"""

from __future__ import annotations

import gzip
from email.utils import format_datetime

from starlette.requests import Request
from starlette.responses import Response

from events_app.calendar import feeds
from events_app.core import i18n
from events_app.calendar.feeds import Feed, FeedState
from events_app.core.timeutil import utcnow
from events_app.web import page_cache
from events_app.web.requests import accepts_gzip, not_modified

MEDIA_TYPE = "text/calendar; charset=utf-8"


def _language(request: Request, feed: Feed) -> str:
    """?lang= when it names a language we have, else the feed's own (a registration's language, or German).

    Deliberately not the cookie or Accept-Language: calendar clients send neither, and the same
    URL should give the same calendar to everyone.
    """
    chosen = request.query_params.get("lang")
    return chosen if chosen in i18n.LANGUAGES else feed.language


def _not_modified(request: Request, state: FeedState) -> bool:
    return not_modified(if_none_match=request.headers.get("if-none-match"),
                        if_modified_since=request.headers.get("if-modified-since"),
                        etag=state.etag, last_modified=state.last_modified)


def _headers(state: FeedState, *, private: bool, filename: str) -> dict[str, str]:
    headers = {
        "ETag": state.etag,
        "Last-Modified": format_datetime(state.last_modified, usegmt=True),
        # clients may keep a copy but must ask again; the 304 makes asking cheap
        "Cache-Control": ("private" if private else "public") + ", no-cache",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if private:
        headers["X-Robots-Tag"] = "noindex"
    return headers


async def _serve(request: Request, feed: Feed, *, filename: str, private: bool = False) -> Response:
    """A private feed (a person's, a staff member's) is built for its token; a public one may be kept by
    the page cache, which then answers conditional requests itself."""
    kept = not private and await page_cache.share(request, seats=False)
    settings = request.app.state.settings
    language = _language(request, feed)
    now = utcnow()  # one moment for both, so validator and body see the same window of dates
    # the validator is taken before the body: if data changes in between, the client's next ETag is
    # stale and it gets the new calendar, never the other way round
    state = await feeds.feed_state(feed, language=language, base_url=settings.base_url, tz_name=settings.timezone,
                                   now=now)
    headers = _headers(state, private=private, filename=filename)
    if not kept and _not_modified(request, state):
        return Response(status_code=304, headers=headers)
    packed = await feeds.compressed_feed(feed, state, language=language, base_url=settings.base_url,
                                         tz_name=settings.timezone, now=now)
    headers["Vary"] = "Accept-Encoding"
    if accepts_gzip(request):
        return Response(packed, media_type=MEDIA_TYPE, headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(packed), media_type=MEDIA_TYPE, headers=headers)


async def event_calendar(request: Request) -> Response:
    event_id = request.path_params["event_id"]
    return await _serve(request, feeds.event_feed(event_id=event_id), filename=f"event-{event_id}.ics")


async def public_calendar(request: Request) -> Response:
    return await _serve(request, feeds.public_feed(), filename="calendar.ics")


async def kind_calendar(request: Request) -> Response:
    kind = request.path_params["kind"]
    return await _serve(request, feeds.public_feed(kind=kind), filename=f"calendar-{kind}.ics")


async def registration_calendar(request: Request) -> Response:
    feed = await feeds.registration_feed(token=request.path_params["token"])
    return await _serve(request, feed, filename="my-calendar.ics", private=True)


async def staff_calendar(request: Request) -> Response:
    feed = await feeds.staff_feed(token=request.path_params["token"])
    return await _serve(request, feed, filename="staff-calendar.ics", private=True)

